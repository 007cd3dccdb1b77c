"""Reflection from the Informix system catalogs (IBM Informix Guide to SQL: Reference).

Tables and views are ``systables`` rows (``tabtype`` T, V; Q is a sequence); columns are
``syscolumns`` (``coltype`` mod 256 is the type, +256 means NOT NULL; ``collength`` packs
lengths, precision/scale and DATETIME/INTERVAL qualifiers); defaults ``sysdefaults``;
constraints ``sysconstraints`` (P, U, R, C) with their index in ``sysindexes`` (``part1`` ...
``part16`` hold column numbers, negative when descending) and foreign keys in
``sysreferences``. Catalog names are stored in lower case unless created quoted.

Every query here needs a real server to prove; the tests that run them are in
``tests/sqlalchemy/test_informix_reflection.py`` (run with INFORMIX_AIO_TEST_INFORMIX set).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy import util
from sqlalchemy.engine import Connection, reflection
from sqlalchemy.engine.interfaces import (
    ReflectedCheckConstraint,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedUniqueConstraint,
)
from sqlalchemy.sql import text

from . import types as ifxtypes

__all__ = ["ReflectionMixin", "column_type", "decode_qualifier"]

_PARTS = ", ".join(f"i.part{n}" for n in range(1, 17))
_QUALIFIER_CODES = {0: "year", 2: "month", 4: "day", 6: "hour", 8: "minute", 10: "second"}
# syscolumns.coltype mod 256 (IBM's syscolumns table); 40/41 are opaque types told apart by
# extended_id (1 LVARCHAR, 5 BOOLEAN, 10 BLOB, 11 CLOB).
_SIMPLE_TYPES: dict[int, Any] = {
    1: sqltypes.SMALLINT,
    2: sqltypes.INTEGER,
    3: sqltypes.FLOAT,
    4: ifxtypes.SMALLFLOAT,
    6: ifxtypes.SERIAL,
    7: sqltypes.DATE,
    11: ifxtypes.BYTE,
    12: sqltypes.TEXT,
    17: ifxtypes.INT8,
    18: ifxtypes.SERIAL8,
    45: sqltypes.BOOLEAN,
    52: sqltypes.BIGINT,
    53: ifxtypes.BIGSERIAL,
}
_OPAQUE_TYPES: dict[int, Any] = {
    1: ifxtypes.LVARCHAR,
    5: sqltypes.BOOLEAN,
    10: sqltypes.BLOB,
    11: sqltypes.CLOB,
}
_SERIALS = frozenset({6, 18, 53})
# sysdefaults.type: L literal, U USER, C CURRENT, N NULL, T TODAY, S DBSERVERNAME.
_DEFAULT_WORDS = {"U": "USER", "C": "CURRENT", "N": "NULL", "T": "TODAY", "S": "DBSERVERNAME"}


def decode_qualifier(collength: int) -> tuple[str, str, int | None, int]:
    """``syscolumns.collength`` of a DATETIME/INTERVAL -> ``(start, end, fraction, length)``.

    The value is ``length * 256 + first * 16 + last`` with field codes 0 YEAR, 2 MONTH, 4 DAY,
    6 HOUR, 8 MINUTE, 10 SECOND, 11-15 FRACTION(1-5).
    """
    length, rest = divmod(collength, 256)
    first, last = divmod(rest, 16)

    def field(code: int) -> tuple[str, int | None]:
        if code > 10:
            return "fraction", code - 10
        return _QUALIFIER_CODES.get(code, "second"), None

    start, _ = field(first)
    end, fraction = field(last)
    return start, end, fraction, length


def column_type(coltype: int, collength: int, extended_id: int | None) -> Any:
    """A SQLAlchemy type for a ``syscolumns`` row (``coltype`` with or without the +256)."""
    code = coltype % 256
    if code in (0, 15):  # CHAR, NCHAR
        return (sqltypes.CHAR if code == 0 else sqltypes.NCHAR)(collength)
    if code in (13, 16):  # VARCHAR, NVARCHAR: collength = min * 256 + max
        return (sqltypes.VARCHAR if code == 13 else sqltypes.NVARCHAR)(collength % 256)
    if code == 43:
        return ifxtypes.LVARCHAR(collength)
    if code in (5, 8):  # DECIMAL, MONEY: precision * 256 + scale (255: floating DECIMAL(p))
        precision, scale = divmod(collength, 256)
        cls = sqltypes.DECIMAL if code == 5 else ifxtypes.MONEY
        return cls(precision) if scale == 255 else cls(precision, scale)
    if code == 10:
        start, end, fraction, _ = decode_qualifier(collength)
        return ifxtypes.DATETIME(start, end, fraction=fraction)
    if code == 14:
        start, end, fraction, _ = decode_qualifier(collength)
        # The first field's precision would be the digit count left by the others: not kept.
        return ifxtypes.INTERVAL(start, end, precision=None, fraction=fraction)
    if code in (40, 41) and extended_id in _OPAQUE_TYPES:
        opaque = _OPAQUE_TYPES[extended_id]
        return opaque(collength) if opaque is ifxtypes.LVARCHAR else opaque()
    simple = _SIMPLE_TYPES.get(code)
    if simple is None:
        util.warn(f"Informix column type code {coltype} is not known to the dialect")
        return sqltypes.NULLTYPE
    return simple()


def _default_sql(kind: str | None, value: str | None, type_: Any) -> str | None:
    if kind is None:
        return None
    if kind in _DEFAULT_WORDS:
        return _DEFAULT_WORDS[kind]
    if value is None:
        return None
    if isinstance(type_, sqltypes.String):
        return "'" + value.replace("'", "''") + "'"
    # Numeric literals are stored with a leading length/type token (sqlalchemy-informix).
    return value.split()[-1] if value.split() else value


class ReflectionMixin:
    """The reflection half of the Informix dialect (``Inspector`` calls these)."""

    default_schema_name: str | None

    def _owner(self, schema: str | None) -> str:
        owner = schema or self.default_schema_name
        if owner is None:
            raise ValueError("no schema given and no default schema known")
        return owner

    def _rows(self, connection: Connection, sql: str, **params: Any) -> list[Any]:
        return list(connection.execute(text(sql), params))

    def _tabid(self, connection: Connection, table_name: str, schema: str | None) -> int | None:
        rows = self._rows(
            connection,
            "SELECT tabid FROM systables WHERE tabname = :name AND owner = :owner",
            name=table_name,
            owner=self._owner(schema),
        )
        return int(rows[0][0]) if rows else None

    def _names(self, connection: Connection, schema: str | None, tabtype: str) -> list[str]:
        rows = self._rows(
            connection,
            "SELECT tabname FROM systables WHERE owner = :owner AND tabtype = :t "
            "AND tabid >= 100 ORDER BY tabname",
            owner=self._owner(schema),
            t=tabtype,
        )
        return [str(r[0]).strip() for r in rows]

    @reflection.cache
    def get_table_names(
        self, connection: Connection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """User tables (``tabtype = 'T'``, ``tabid >= 100``: below are the catalogs)."""
        return self._names(connection, schema, "T")

    @reflection.cache
    def get_view_names(
        self, connection: Connection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """Views (``tabtype = 'V'``)."""
        return self._names(connection, schema, "V")

    @reflection.cache
    def get_sequence_names(
        self, connection: Connection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """Sequences (``tabtype = 'Q'``)."""
        return self._names(connection, schema, "Q")

    def has_table(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        """A table or view of that name and owner exists."""
        rows = self._rows(
            connection,
            "SELECT 1 FROM systables WHERE tabname = :name AND owner = :owner "
            "AND tabtype IN ('T', 'V')",
            name=table_name,
            owner=self._owner(schema),
        )
        return bool(rows)

    def has_sequence(
        self, connection: Connection, sequence_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        """A sequence of that name and owner exists."""
        return sequence_name in self.get_sequence_names(connection, schema)

    @reflection.cache
    def get_view_definition(
        self, connection: Connection, view_name: str, schema: str | None = None, **kw: Any
    ) -> str:
        """``sysviews.viewtext``, stored in 64-character pieces ordered by ``seqno``."""
        rows = self._rows(
            connection,
            "SELECT v.viewtext FROM sysviews v, systables t WHERE v.tabid = t.tabid "
            "AND t.tabname = :name AND t.owner = :owner ORDER BY v.seqno",
            name=view_name,
            owner=self._owner(schema),
        )
        return "".join(str(r[0]) for r in rows)

    @reflection.cache
    def get_columns(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        """Columns in order, with type, nullability, default and autoincrement (serials)."""
        rows = self._rows(
            connection,
            "SELECT c.colname, c.coltype, c.collength, c.extended_id, d.type, d.default "
            "FROM systables t, syscolumns c, OUTER sysdefaults d "
            "WHERE t.tabname = :name AND t.owner = :owner AND c.tabid = t.tabid "
            "AND d.tabid = c.tabid AND d.colno = c.colno ORDER BY c.colno",
            name=table_name,
            owner=self._owner(schema),
        )
        columns: list[ReflectedColumn] = []
        for name, coltype, collength, extended_id, dkind, dvalue in rows:
            type_ = column_type(int(coltype), int(collength), extended_id)
            columns.append(
                ReflectedColumn(
                    name=str(name).strip(),
                    type=type_,
                    nullable=int(coltype) < 256,
                    default=_default_sql(dkind, dvalue, type_),
                    autoincrement=int(coltype) % 256 in _SERIALS,
                )
            )
        return columns

    def _constraints(
        self, connection: Connection, table_name: str, schema: str | None, kind: str
    ) -> list[tuple[str, str, list[int]]]:
        """``(constraint name, index name, column numbers)`` of one constraint type."""
        rows = self._rows(
            connection,
            f"SELECT c.constrname, c.idxname, {_PARTS} FROM systables t, sysconstraints c, "
            "sysindexes i WHERE t.tabname = :name AND t.owner = :owner AND c.tabid = t.tabid "
            "AND c.constrtype = :kind AND i.idxname = c.idxname AND i.tabid = t.tabid "
            "ORDER BY c.constrname",
            name=table_name,
            owner=self._owner(schema),
            kind=kind,
        )
        return [(str(r[0]).strip(), str(r[1]).strip(), [abs(p) for p in r[2:] if p]) for r in rows]

    def _colnames(self, connection: Connection, tabid: int) -> dict[int, str]:
        rows = self._rows(
            connection, "SELECT colno, colname FROM syscolumns WHERE tabid = :t", t=tabid
        )
        return {int(no): str(name).strip() for no, name in rows}

    @reflection.cache
    def get_pk_constraint(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedPrimaryKeyConstraint:
        """The primary key (``constrtype = 'P'``) and its columns in key order."""
        found = self._constraints(connection, table_name, schema, "P")
        if not found:
            return ReflectedPrimaryKeyConstraint(constrained_columns=[], name=None)
        tabid = self._tabid(connection, table_name, schema)
        names = self._colnames(connection, tabid) if tabid is not None else {}
        name, _, parts = found[0]
        return ReflectedPrimaryKeyConstraint(
            constrained_columns=[names[p] for p in parts], name=name
        )

    @reflection.cache
    def get_unique_constraints(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedUniqueConstraint]:
        """UNIQUE constraints (``constrtype = 'U'``)."""
        found = self._constraints(connection, table_name, schema, "U")
        if not found:
            return []
        tabid = self._tabid(connection, table_name, schema)
        names = self._colnames(connection, tabid) if tabid is not None else {}
        return [
            ReflectedUniqueConstraint(name=n, column_names=[names[p] for p in parts])
            for n, _, parts in found
        ]

    @reflection.cache
    def get_indexes(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedIndex]:
        """Indexes that no constraint created (``idxtype`` U unique, D duplicates allowed)."""
        tabid = self._tabid(connection, table_name, schema)
        if tabid is None:
            return []
        rows = self._rows(
            connection,
            f"SELECT i.idxname, i.idxtype, {_PARTS} FROM sysindexes i WHERE i.tabid = :t "
            "AND NOT EXISTS (SELECT 1 FROM sysconstraints c WHERE c.tabid = i.tabid "
            "AND c.idxname = i.idxname) ORDER BY i.idxname",
            t=tabid,
        )
        names = self._colnames(connection, tabid)
        indexes: list[ReflectedIndex] = []
        for row in rows:
            parts = [p for p in row[2:] if p]
            index = ReflectedIndex(
                name=str(row[0]).strip(),
                unique=str(row[1]).strip().upper() == "U",
                column_names=[names[abs(p)] for p in parts],
            )
            if any(p < 0 for p in parts):
                index["column_sorting"] = {names[abs(p)]: ("desc",) for p in parts if p < 0}
            indexes.append(index)
        return indexes

    @reflection.cache
    def get_foreign_keys(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedForeignKeyConstraint]:
        """Foreign keys (``constrtype = 'R'``): ``sysreferences.primary`` is the referenced
        constraint, whose index gives the referred columns; ``delrule`` C is ON DELETE
        CASCADE."""
        rows = self._rows(
            connection,
            f"SELECT c.constrname, pt.tabname, pt.owner, pt.tabid, r.delrule, {_PARTS}, "
            + ", ".join(f"pi.part{n}" for n in range(1, 17))
            + " FROM systables t, sysconstraints c, sysindexes i, sysreferences r, "
            "sysconstraints pc, sysindexes pi, systables pt "
            "WHERE t.tabname = :name AND t.owner = :owner AND c.tabid = t.tabid "
            "AND c.constrtype = 'R' AND i.idxname = c.idxname AND i.tabid = t.tabid "
            "AND r.constrid = c.constrid AND pc.constrid = r.primary "
            "AND pi.idxname = pc.idxname AND pi.tabid = pc.tabid AND pt.tabid = r.ptabid "
            "ORDER BY c.constrname",
            name=table_name,
            owner=self._owner(schema),
        )
        if not rows:
            return []
        tabid = self._tabid(connection, table_name, schema)
        local = self._colnames(connection, tabid) if tabid is not None else {}
        remote_names: dict[int, dict[int, str]] = defaultdict(dict)
        keys: list[ReflectedForeignKeyConstraint] = []
        for row in rows:
            name, ptable, powner, ptabid, delrule = row[:5]
            parts, pparts = row[5:21], row[21:37]
            if int(ptabid) not in remote_names:
                remote_names[int(ptabid)] = self._colnames(connection, int(ptabid))
            remote = remote_names[int(ptabid)]
            keys.append(
                {
                    "name": str(name).strip(),
                    "constrained_columns": [local[abs(p)] for p in parts if p],
                    "referred_schema": (str(powner).strip() if schema is not None else None),
                    "referred_table": str(ptable).strip(),
                    "referred_columns": [remote[abs(p)] for p in pparts if p],
                    "options": {"ondelete": "CASCADE"} if str(delrule).strip() == "C" else {},
                }
            )
        return keys

    @reflection.cache
    def get_check_constraints(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedCheckConstraint]:
        """CHECK constraints: ``syschecks`` text pieces of type T, ordered by ``seqno``."""
        rows = self._rows(
            connection,
            "SELECT c.constrname, k.checktext FROM systables t, sysconstraints c, syschecks k "
            "WHERE t.tabname = :name AND t.owner = :owner AND c.tabid = t.tabid "
            "AND c.constrtype = 'C' AND k.constrid = c.constrid AND k.type = 'T' "
            "ORDER BY c.constrname, k.seqno",
            name=table_name,
            owner=self._owner(schema),
        )
        texts: dict[str, str] = {}
        for name, piece in rows:
            key = str(name).strip()
            texts[key] = texts.get(key, "") + str(piece)
        return [ReflectedCheckConstraint(name=n, sqltext=t.strip()) for n, t in texts.items()]
