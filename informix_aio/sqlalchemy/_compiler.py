"""SQL, DDL and type compilers for Informix.

Portions adapted from sqlalchemy-informix 0.2.4 (``sqlalchemy_informix/ibmdb.py``: SKIP/FIRST in
the select's pre-columns, ``sysmaster:"informix".sysdual`` as the default FROM, 't'/'f'
booleans, SERIAL/BIGSERIAL for autoincrement, constraint names after the constraint),
Copyright (c) 2018 Florian Apolloner, released under the MIT License:

    Permission is hereby granted, free of charge, to any person obtaining a copy of this
    software and associated documentation files (the "Software"), to deal in the Software
    without restriction, including without limitation the rights to use, copy, modify, merge,
    publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
    to whom the Software is furnished to do so, subject to the following conditions: The above
    copyright notice and this permission notice shall be included in all copies or substantial
    portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.

The rest is written from IBM's Informix Guide to SQL: Syntax (SELECT projection clause, CREATE
TABLE, DATETIME/INTERVAL qualifiers, EXTEND, DBINFO, SAVEPOINT).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc
from sqlalchemy import types as sqltypes
from sqlalchemy.schema import Column, Constraint, Sequence
from sqlalchemy.sql import compiler, elements
from sqlalchemy.sql import functions as sqlfunc

from ..dialects import get_dialect
from . import types as ifxtypes

__all__ = [
    "DUAL",
    "RESERVED_WORDS",
    "InformixCompiler",
    "InformixDDLCompiler",
    "InformixIdentifierPreparer",
]

#: The one-row table for SELECTs that need a FROM (``sysmaster:"informix".sysdual``, 11.70+).
DUAL = 'sysmaster:"informix".sysdual'
# Savepoint SQL is the library's (informix_aio.dialects.informix): one definition of it.
_LIBRARY = get_dialect("informix")
# EXTRACT has no Informix form: date parts come from functions, time parts from EXTEND.
_EXTRACT_FUNCTIONS = {"year": "YEAR", "month": "MONTH", "day": "DAY", "dow": "WEEKDAY"}
_EXTRACT_EXTEND = {"hour": "HOUR", "minute": "MINUTE", "second": "SECOND"}

#: Words quoted when used as identifiers (IBM's list of keywords that cause ambiguity).
RESERVED_WORDS = frozenset(
    [
        "add",
        "all",
        "alter",
        "and",
        "ansi",
        "any",
        "as",
        "asc",
        "at",
        "attach",
        "audit",
        "authorization",
        "avg",
        "before",
        "begin",
        "between",
        "boolean",
        "both",
        "buffered",
        "by",
        "byte",
        "call",
        "cascade",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "close",
        "cluster",
        "clustersize",
        "coalesce",
        "collation",
        "column",
        "commit",
        "committed",
        "connect",
        "constraint",
        "constraints",
        "continue",
        "count",
        "create",
        "current",
        "cursor",
        "database",
        "date",
        "datetime",
        "day",
        "dbinfo",
        "dbservername",
        "decimal",
        "declare",
        "default",
        "defaults",
        "deferred",
        "define",
        "delete",
        "desc",
        "describe",
        "descriptor",
        "distinct",
        "document",
        "double",
        "drop",
        "each",
        "else",
        "end",
        "escape",
        "except",
        "exclusive",
        "execute",
        "exists",
        "exit",
        "explain",
        "extend",
        "extent",
        "external",
        "false",
        "fetch",
        "first",
        "float",
        "for",
        "foreign",
        "fraction",
        "from",
        "function",
        "global",
        "grant",
        "group",
        "having",
        "hold",
        "hour",
        "if",
        "in",
        "index",
        "insert",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isolation",
        "join",
        "key",
        "last",
        "left",
        "level",
        "like",
        "limit",
        "lock",
        "log",
        "lvarchar",
        "match",
        "max",
        "min",
        "minute",
        "mode",
        "money",
        "month",
        "not",
        "null",
        "nvarchar",
        "of",
        "on",
        "only",
        "open",
        "option",
        "or",
        "order",
        "outer",
        "primary",
        "procedure",
        "public",
        "read",
        "references",
        "release",
        "rename",
        "resource",
        "return",
        "revoke",
        "right",
        "rollback",
        "row",
        "rowid",
        "savepoint",
        "schema",
        "second",
        "select",
        "serial",
        "set",
        "share",
        "size",
        "skip",
        "smallint",
        "some",
        "sql",
        "start",
        "statistics",
        "step",
        "sysdate",
        "table",
        "temp",
        "text",
        "then",
        "time",
        "to",
        "today",
        "trigger",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "varchar",
        "view",
        "when",
        "where",
        "while",
        "with",
        "work",
        "year",
    ]
)


class InformixIdentifierPreparer(compiler.IdentifierPreparer):
    """Double-quoted identifiers (the connection sets ``DELIMIDENT=y``); Informix folds
    unquoted names to lower case, as SQLAlchemy assumes."""

    reserved_words = set(RESERVED_WORDS)


class InformixCompiler(compiler.SQLCompiler):
    """SELECT with ``SKIP m FIRST n``, a FROM where one is required, Informix functions."""

    # Informix refuses untyped '?' markers in a select list: such values are rendered inline.
    ansi_bind_rules = True

    def default_from(self) -> str:
        """``SELECT 1`` needs a table in Informix: the one-row ``sysdual``."""
        return f" FROM {DUAL}"

    def visit_true(self, expr: Any, **kw: Any) -> str:
        """BOOLEAN literals are the characters ``'t'`` and ``'f'``."""
        return "'t'"

    def visit_false(self, expr: Any, **kw: Any) -> str:
        """See :meth:`visit_true`."""
        return "'f'"

    def get_select_precolumns(self, select: Any, **kw: Any) -> str:
        """``SKIP m FIRST n`` go right after SELECT; the values are rendered inline, since
        the server takes integer literals there."""
        text = ""
        if select._offset_clause is not None:
            text += "SKIP " + self.process(select._offset_clause, literal_execute=True, **kw) + " "
        limit = select._limit_clause
        if limit is None and select._fetch_clause is not None:
            options = select._fetch_clause_options or {}
            if options.get("percent") or options.get("with_ties"):
                raise exc.CompileError("Informix has no FETCH ... PERCENT / WITH TIES")
            limit = select._fetch_clause
        if limit is not None:
            text += "FIRST " + self.process(limit, literal_execute=True, **kw) + " "
        if select._distinct:
            text += "DISTINCT "
        return text

    def limit_clause(self, select: Any, **kw: Any) -> str:
        """Rendered in :meth:`get_select_precolumns`."""
        return ""

    def fetch_clause(
        self,
        select: Any,
        fetch_clause: Any = None,
        require_offset: Any = False,
        use_literal_execute_for_simple_int: Any = False,
        **kw: Any,
    ) -> str:
        """Rendered in :meth:`get_select_precolumns` as FIRST."""
        return ""

    def visit_sequence(self, sequence: Any, **kw: Any) -> str:
        """``seq.NEXTVAL``."""
        return f"{self.preparer.format_sequence(sequence)}.NEXTVAL"

    def visit_now_func(self, fn: Any, **kw: Any) -> str:
        """``CURRENT YEAR TO FRACTION(5)``."""
        return "CURRENT YEAR TO FRACTION(5)"

    def visit_current_timestamp_func(self, fn: Any, **kw: Any) -> str:
        """``CURRENT YEAR TO FRACTION(5)``."""
        return "CURRENT YEAR TO FRACTION(5)"

    def visit_localtimestamp_func(self, fn: Any, **kw: Any) -> str:
        """``CURRENT YEAR TO FRACTION(5)`` (the server's local time)."""
        return "CURRENT YEAR TO FRACTION(5)"

    def visit_current_date_func(self, fn: Any, **kw: Any) -> str:
        """``TODAY``."""
        return "TODAY"

    def visit_current_time_func(self, fn: Any, **kw: Any) -> str:
        """``CURRENT HOUR TO FRACTION(5)``."""
        return "CURRENT HOUR TO FRACTION(5)"

    def visit_current_user_func(self, fn: Any, **kw: Any) -> str:
        """``USER``."""
        return "USER"

    def visit_char_length_func(self, fn: sqlfunc.char_length, **kw: Any) -> str:
        """``CHAR_LENGTH(x)``."""
        return f"CHAR_LENGTH({self.function_argspec(fn, **kw)})"

    def visit_mod_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        """``MOD(a, b)``: Informix has no ``%`` operator."""
        return f"MOD({self.process(binary.left, **kw)}, {self.process(binary.right, **kw)})"

    def visit_extract(self, extract: elements.Extract, **kw: Any) -> str:
        """``YEAR(x)``/``MONTH(x)``/``DAY(x)``/``WEEKDAY(x)``; hour, minute and second as
        ``EXTEND(x, HOUR TO HOUR)`` cast through CHAR to INTEGER.

        :raises CompileError: a field Informix cannot extract.
        """
        field = extract.field.lower()
        inner = self.process(extract.expr, **kw)
        if field in _EXTRACT_FUNCTIONS:
            return f"{_EXTRACT_FUNCTIONS[field]}({inner})"
        if field in _EXTRACT_EXTEND:
            unit = _EXTRACT_EXTEND[field]
            return f"CAST(CAST(EXTEND({inner}, {unit} TO {unit}) AS CHAR(2)) AS INTEGER)"
        raise exc.CompileError(f"Informix cannot EXTRACT {field!r}")

    def visit_savepoint(self, savepoint_stmt: Any, **kw: Any) -> str:
        """``SAVEPOINT name``."""
        return _LIBRARY.savepoint(_untyped(self.preparer).format_savepoint(savepoint_stmt))

    def visit_rollback_to_savepoint(self, savepoint_stmt: Any, **kw: Any) -> str:
        """``ROLLBACK WORK TO SAVEPOINT name``."""
        return _LIBRARY.rollback_to_savepoint(
            _untyped(self.preparer).format_savepoint(savepoint_stmt)
        )

    def visit_release_savepoint(self, savepoint_stmt: Any, **kw: Any) -> str:
        """``RELEASE SAVEPOINT name``."""
        return _LIBRARY.release_savepoint(_untyped(self.preparer).format_savepoint(savepoint_stmt))

    def returning_clause(self, stmt: Any, returning_cols: Any, **kw: Any) -> str:
        """Informix has no RETURNING; the last serial comes from DBINFO.

        :raises CompileError: always.
        """
        raise exc.CompileError("Informix has no RETURNING clause")


class InformixDDLCompiler(compiler.DDLCompiler):
    """CREATE TABLE with SERIAL/SERIAL8/BIGSERIAL and Informix's constraint-name placement."""

    def get_column_specification(self, column: Column[Any], **kw: Any) -> str:
        """``name TYPE [DEFAULT x] [NOT NULL]``; the table's autoincrement column becomes
        SERIAL (INTEGER, SMALLINT), BIGSERIAL (BIGINT) or SERIAL8 (INT8 / SERIAL8)."""
        spec = self.preparer.format_column(column)
        if _is_serial(column):
            spec += " " + _serial_type(column.type)
        else:
            spec += " " + self.dialect.type_compiler_instance.process(
                column.type, type_expression=column
            )
            default = self.get_column_default_string(column)
            if default is not None:
                spec += " DEFAULT " + default
        if not column.nullable:
            spec += " NOT NULL"
        return spec

    def _named(self, constraint: Constraint) -> str:
        # Informix puts CONSTRAINT name after the constraint, not before it.
        if constraint.name is None:
            return ""
        name = self.preparer.format_constraint(constraint)
        return "" if name is None else f" CONSTRAINT {name}"

    def visit_primary_key_constraint(self, constraint: Any, **kw: Any) -> str:
        """``PRIMARY KEY (cols) [CONSTRAINT name]``."""
        if len(constraint) == 0:
            return ""
        columns = constraint.columns_autoinc_first if constraint._implicit_generated else constraint
        cols = ", ".join(self.preparer.quote(c.name) for c in columns)
        return f"PRIMARY KEY ({cols}){self._named(constraint)}"

    def visit_unique_constraint(self, constraint: Any, **kw: Any) -> str:
        """``UNIQUE (cols) [CONSTRAINT name]``."""
        if len(constraint) == 0:
            return ""
        cols = ", ".join(self.preparer.quote(c.name) for c in constraint)
        return f"UNIQUE ({cols}){self._named(constraint)}"

    def visit_check_constraint(self, constraint: Any, **kw: Any) -> str:
        """``CHECK (expr) [CONSTRAINT name]``."""
        sqltext = self.sql_compiler.process(
            constraint.sqltext, include_table=False, literal_binds=True
        )
        return f"CHECK ({sqltext}){self._named(constraint)}"

    def visit_column_check_constraint(self, constraint: Any, **kw: Any) -> str:
        """See :meth:`visit_check_constraint`."""
        return self.visit_check_constraint(constraint, **kw)

    def visit_foreign_key_constraint(self, constraint: Any, **kw: Any) -> str:
        """``FOREIGN KEY (cols) REFERENCES t (cols) [ON DELETE CASCADE] [CONSTRAINT name]``.

        :raises CompileError: ON UPDATE or an ON DELETE other than CASCADE (Informix has
            only ON DELETE CASCADE).
        """
        preparer = self.preparer
        elements_ = list(constraint.elements)
        remote_table = elements_[0].column.table
        local = ", ".join(preparer.quote(f.parent.name) for f in elements_)
        remote = ", ".join(preparer.quote(f.column.name) for f in elements_)
        text = (
            f"FOREIGN KEY ({local}) REFERENCES "
            f"{_untyped(self).define_constraint_remote_table(constraint, remote_table, preparer)}"
            f" ({remote})"
        )
        if constraint.onupdate is not None:
            raise exc.CompileError("Informix foreign keys have no ON UPDATE action")
        if constraint.ondelete is not None:
            if constraint.ondelete.upper() != "CASCADE":
                raise exc.CompileError("Informix foreign keys know only ON DELETE CASCADE")
            text += " ON DELETE CASCADE"
        return text + self._named(constraint)


def _untyped(obj: object) -> Any:
    # SQLAlchemy leaves some compiler helpers unannotated.
    return obj


def _is_serial(column: Column[Any]) -> bool:
    table = column.table
    if column is not table._autoincrement_column:
        return False
    default = column.default
    return default is None or (isinstance(default, Sequence) and bool(default.optional))


def _serial_type(type_: Any) -> str:
    if isinstance(type_, (ifxtypes.SERIAL8, ifxtypes.INT8)):
        return "SERIAL8"
    if isinstance(type_, sqltypes.BigInteger):
        return "BIGSERIAL"
    return "SERIAL"
