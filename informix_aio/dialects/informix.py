"""IBM Informix through the Client SDK's ODBC driver (``iclit09b.so`` / ``iclit15a.so``).

Written from IBM's documentation (see the project's ``shared/INFORMIX.md``): connection keywords,
the SQLCODE / ISAM classification table, ``SET ISOLATION`` and ``SET LOCK MODE`` statements,
savepoint syntax, database logging modes and the driver's own SQL type codes.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, ClassVar

from ..errors import (
    Classification,
    DataError,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryCanceled,
)
from .base import Dialect

if TYPE_CHECKING:
    import pyodbc

__all__ = [
    "DISCONNECT_CODES",
    "INFORMIX_SQL_TYPES",
    "INTEGRITY_CODES",
    "ISAM_TRANSIENT_CODES",
    "InformixDialect",
]

#: SQLCODEs that mean the connection is gone (or never came up): evict it, reconnect.
DISCONNECT_CODES = frozenset(
    {-908, -930, -27001, -27002, -25580, -25582, -11020, -11301, -457, -459, -1803, -439}
)
#: Constraint violations.
INTEGRITY_CODES = frozenset({-239, -268, -691, -692, -391, -703, -530})
#: SQLCODEs whose cause is told by the ISAM code: row read/position/update failed.
ISAM_DEPENDENT_CODES = frozenset({-243, -244, -245, -246, -250, -271, -346, -240, -242})
#: ISAM codes of lock conflicts and deadlocks: worth a retry.
ISAM_TRANSIENT_CODES = frozenset({-107, -113, -143, -154, -144})
#: SQLCODEs that are lock conflicts in themselves.
TRANSIENT_CODES = frozenset({-263, -288, -289, -378, -143, -154})
_PROGRAMMING_CODES = frozenset({-201, -206, -217, -286, -310, -236, -324, -329, -202, -284})
_TRANSACTION_CODES = {
    -255: (ProgrammingError, "not in a transaction"),
    -535: (ProgrammingError, "already in a transaction"),
    -256: (NotSupportedError, "transactions are not available: the database has no logging"),
}
_AUTH_CODES = frozenset({-951, -952, -956, -387})
_CANCEL_CODES = frozenset({-213, -11039})
_NOT_SUPPORTED_CODES = frozenset({-11092})
_DATA_CODES = frozenset({-1213, -1226, -1262, -1263, -1264, -1204, -1205, -1206, -1218, -1260})
_HINTS = {
    # pyodbc 5 speaks UCS-2 to unixODBC; the CSDK driver defaults to UCS-4 on UNIX and answers
    # with garbled text and -11060 (pyodbc issues #1392, #1433).
    -11060: "if the message text is garbled, set UNICODE=UCS-2 in the [ODBC] section of the "
    "odbc.ini the driver reads (see `odbcinst -j`, ODBCINI); run `informix-aio doctor`",
    -23101: "check INFORMIXSQLHOSTS / the sqlhosts entry for the server and CLIENT_LOCALE / "
    "DB_LOCALE; run `informix-aio doctor`",
    -908: "check that the server name, host and service (port) match a running listener",
    -930: "check that the server name, host and service (port) match a running listener",
}

#: ISAM messages -> codes, for drivers that append the ISAM text (SQL_INFX_ATTR_IDSISAMERRMSG).
_ISAM_TEXT = (
    ("record is locked", -107),
    ("key value locked", -144),
    ("file is locked", -113),
    ("table is locked", -113),
    ("deadlock detected", -143),
    ("lock timeout expired", -154),
    ("no more locks", -134),
    ("no record found", -111),
    ("duplicate value", -100),
)

#: The driver's own SQL type codes (``infxcli.h``), which pyodbc does not know.
INFORMIX_SQL_TYPES = {
    "SQL_INFX_UDT_FIXED": -100,
    "SQL_INFX_UDT_VARYING": -101,
    "SQL_INFX_UDT_BLOB": -102,
    "SQL_INFX_UDT_CLOB": -103,
    "SQL_INFX_UDT_LVARCHAR": -104,
    "SQL_INFX_RC_ROW": -105,
    "SQL_INFX_RC_COLLECTION": -106,
    "SQL_INFX_RC_LIST": -107,
    "SQL_INFX_RC_SET": -108,
    "SQL_INFX_RC_MULTISET": -109,
    "SQL_INFX_BIGINT": -114,
}
#: Connection attribute asking the driver to append the ISAM message to errors.
SQL_INFX_ATTR_IDSISAMERRMSG = 2283
#: ODBC isolation value the Informix header adds for COMMITTED READ LAST COMMITTED.
SQL_TXN_LAST_COMMITTED = 0x10

_ISOLATION_SQL = {
    "read_uncommitted": "SET ISOLATION TO DIRTY READ",
    "read_committed": "SET ISOLATION TO COMMITTED READ",
    "last_committed": "SET ISOLATION TO COMMITTED READ LAST COMMITTED",
    "cursor_stability": "SET ISOLATION TO CURSOR STABILITY",
    "repeatable_read": "SET ISOLATION TO REPEATABLE READ",
    "serializable": "SET ISOLATION TO REPEATABLE READ",
}
_RECORD_SPLIT = re.compile(r";\s*(?=\[)")
_CODE_AT_END = re.compile(r"\((-\d+)\)\s*(?:\(SQL\w+\))?\s*$")
_ANY_CODE = re.compile(r"\((-\d+)\)")
# The catalogue writes "ISAM error:  record is locked." with two spaces; others use one.
_ISAM_MARK = re.compile(r"ISAM error:\s*", re.IGNORECASE)


class InformixDialect(Dialect):
    """IBM Informix Dynamic Server through the CSDK ODBC driver."""

    name: ClassVar[str] = "informix"
    liveness_query: ClassVar[str] = "SELECT 1 FROM systables WHERE tabid = 1"
    driver_hints: ClassVar[tuple[str, ...]] = ("informix", "iclit", "iclis", "libthcli", "libifcli")
    dbms_hints: ClassVar[tuple[str, ...]] = ("informix", "ids")
    # CHAR/VARCHAR/LVARCHAR are C strings to the driver: a NUL ends them.
    truncates_at_nul: ClassVar[bool] = True
    database_mode_query: ClassVar[str | None] = (
        "SELECT is_logging, is_buff_log, is_ansi FROM sysmaster:sysdatabases "
        "WHERE name = DBINFO('dbname')"
    )

    def connection_keywords(
        self,
        *,
        host: str | None,
        port: int | str | None,
        server: str | None,
        database: str | None,
        user: str | None,
        password: str | None,
        protocol: str | None,
    ) -> list[tuple[str, str]]:
        """Informix keywords: SERVER is the server (or sqlhosts group) name, HOST/SERVICE the
        listener, PROTOCOL the transport; with all three, no sqlhosts entry is needed."""
        pairs: list[tuple[str, str]] = []
        for key, value in (
            ("SERVER", server),
            ("HOST", host),
            ("SERVICE", None if port is None else str(port)),
            ("PROTOCOL", protocol),
            ("DATABASE", database),
            ("UID", user),
            ("PWD", password),
        ):
            if value is not None:
                pairs.append((key, value))
        if host is not None and server is None:
            raise InterfaceError(
                "Informix needs server= (the INFORMIXSERVER name, or a sqlhosts group) "
                "alongside host="
            )
        return pairs

    def configure(self, conn: pyodbc.Connection) -> None:
        """Register converters for the driver's own type codes and ask for ISAM messages."""
        for code in (-100, -101, -103, -104, -105, -106, -107, -108, -109):
            conn.add_output_converter(code, _decode_text)
        conn.add_output_converter(-102, _as_bytes)
        conn.add_output_converter(-114, _decode_bigint)
        try:
            conn.set_attr(SQL_INFX_ATTR_IDSISAMERRMSG, 1)
        except Exception:
            pass

    def session_setup(self, *, lock_timeout: float | None) -> list[str]:
        """``SET LOCK MODE``: the server's default (NOT WAIT) fails at once on a lock conflict."""
        if lock_timeout is None:
            return []
        if lock_timeout == 0:
            return ["SET LOCK MODE TO NOT WAIT"]
        if math.isinf(lock_timeout):
            return ["SET LOCK MODE TO WAIT"]
        return [f"SET LOCK MODE TO WAIT {max(1, math.ceil(lock_timeout))}"]

    def rollback_to_savepoint(self, name: str) -> str:
        """``ROLLBACK WORK TO SAVEPOINT`` (Informix 11.50 and later)."""
        return f"ROLLBACK WORK TO SAVEPOINT {name}"

    def begin_statements(self, isolation: str | None, readonly: bool) -> list[str]:
        """``SET ISOLATION`` for the transaction; Informix has no read-only transactions."""
        if readonly:
            raise NotSupportedError(
                "Informix has no read-only transactions; use isolation='read_committed' or "
                "'last_committed' for readers"
            )
        return [] if isolation is None else [_ISOLATION_SQL[isolation]]

    def end_statements(self, isolation: str | None) -> list[str]:
        """``SET ISOLATION`` persists for the session: put COMMITTED READ back."""
        if isolation is None or isolation == "read_committed":
            return []
        return [_ISOLATION_SQL["read_committed"]]

    def session_isolation(self, isolation: str) -> list[str]:
        """``SET ISOLATION`` lasts for the session."""
        return [_ISOLATION_SQL[isolation]]

    # -- errors --------------------------------------------------------------------------
    def native_code(self, message: str, exc: BaseException) -> int | None:
        """The SQLCODE: the ``(-NNN)`` of the first diagnostic record that is not an ISAM one."""
        for record in _RECORD_SPLIT.split(message):
            isam_mark = _ISAM_MARK.search(record)
            if isam_mark is None:
                m = _CODE_AT_END.search(record) or _ANY_CODE.search(record)
                if m:
                    return int(m.group(1))
                continue
            # ISAM text appended to the SQL error's own record (SQL_INFX_ATTR_IDSISAMERRMSG):
            # pyodbc's native code at the end is still the SQLCODE, unless it is an ISAM code
            # (-100..-199, a record of the ISAM error alone); else a code before the ISAM text.
            m = _CODE_AT_END.search(record)
            if m and not -199 <= int(m.group(1)) <= -100:
                return int(m.group(1))
            m = _ANY_CODE.search(record, 0, isam_mark.start())
            if m:
                return int(m.group(1))
        return None

    def isam_code(self, message: str) -> int | None:
        """The ISAM code, from an ``ISAM error: ... (-NNN)`` record or the appended ISAM text."""
        m = _ISAM_MARK.search(message)
        if m is None:
            return None
        tail = message[m.end() :]
        found = _ANY_CODE.search(tail)
        # ISAM codes are -100..-199; a larger one after the text is the record's SQLCODE.
        if found and -199 <= int(found.group(1)) <= -100:
            return int(found.group(1))
        tail_lower = tail.lower()
        for text, code in _ISAM_TEXT:
            if text in tail_lower:
                return code
        return None

    def classify(
        self,
        sqlstate: str | None,
        native: int | None,
        isam: int | None,
        message: str,
        exc: BaseException,
    ) -> Classification:
        """Classify by SQLCODE first (the table in INFORMIX.md), then by SQLSTATE."""
        if native is None:
            return self.classify_sqlstate(sqlstate, message, exc)
        if native in DISCONNECT_CODES:
            return Classification(OperationalError, is_disconnect=True, hint=_HINTS.get(native))
        if native in _CANCEL_CODES:
            return Classification(QueryCanceled)
        if native in INTEGRITY_CODES:
            return Classification(IntegrityError)
        if native in ISAM_DEPENDENT_CODES or native in TRANSIENT_CODES:
            # On UNIX pyodbc reads only the first diagnostic record, and the ISAM code lives in
            # SQL_DIAG_ISAM_ERROR, which pyodbc never asks for: when it is unknown, these
            # row-access failures are almost always lock conflicts, so they count as transient.
            transient = native in TRANSIENT_CODES or isam is None or isam in ISAM_TRANSIENT_CODES
            return Classification(OperationalError, is_transient=transient)
        if isam in ISAM_TRANSIENT_CODES:
            return Classification(OperationalError, is_transient=True)
        if native in _TRANSACTION_CODES:
            tx_cls, explanation = _TRANSACTION_CODES[native]
            return Classification(tx_cls, hint=explanation)
        if native in _PROGRAMMING_CODES:
            return Classification(ProgrammingError)
        if native in _AUTH_CODES:
            return Classification(OperationalError)
        if native in _HINTS:
            generic = self.classify_sqlstate(sqlstate, message, exc)
            cls = InterfaceError if native == -11060 else OperationalError
            return Classification(cls, generic.is_disconnect, hint=_HINTS[native])
        if native in _NOT_SUPPORTED_CODES:
            return Classification(NotSupportedError)
        generic = self.classify_sqlstate(sqlstate, message, exc)
        if native in _DATA_CODES:
            return Classification(DataError, generic.is_disconnect, generic.is_transient)
        return generic


def describe_transaction_code(native: int) -> str | None:
    """A short explanation for the transaction-state SQLCODEs (-255, -256, -535)."""
    entry = _TRANSACTION_CODES.get(native)
    return None if entry is None else entry[1]


def _decode_text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="surrogateescape")


def _as_bytes(value: bytes | None) -> bytes | None:
    return value


def _decode_bigint(value: bytes | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if text and all(ch in b"-+0123456789" for ch in text):
        return int(text)
    # Fetched as SQL_C_BINARY: the driver's 8-byte little-endian integer.
    return int.from_bytes(value, "little", signed=True)
