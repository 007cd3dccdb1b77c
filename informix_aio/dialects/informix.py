"""IBM Informix through the Client SDK's ODBC driver (``iclit09b.so`` / ``iclit15a.so``).

Written from IBM's documentation (see the project's ``shared/INFORMIX.md``): connection keywords,
the SQLCODE / ISAM classification table, ``SET ISOLATION`` and ``SET LOCK MODE`` statements,
savepoint syntax, database logging modes and the driver's own SQL type codes.
"""

from __future__ import annotations

import copy
import datetime
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

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
from ._informix_types import YearMonthInterval, converters, format_timedelta
from .base import Dialect

if TYPE_CHECKING:
    import pyodbc

__all__ = [
    "DEFAULT_DRIVER",
    "DISCONNECT_CODES",
    "DRIVER_ENV",
    "INFORMIX_SQL_TYPES",
    "INTEGRITY_CODES",
    "ISAM_TRANSIENT_CODES",
    "LAST_SERIAL_SQL",
    "SQL_INFX_ATTR_DEFAULT_UDT_FETCH_TYPE",
    "SQL_INFX_ATTR_IDSISAMERRMSG",
    "SQL_INFX_ATTR_LO_AUTOMATIC",
    "SQL_INFX_ATTR_ODBC_TYPES_ONLY",
    "SQL_INFX_ATTR_RECVTIMEOUT",
    "SQL_INFX_ATTR_SENDTIMEOUT",
    "TRANSIENT_CODES",
    "InformixDialect",
    "describe_transaction_code",
    "last_serial_query",
]

logger = logging.getLogger(__name__)

#: The name IBM's Client SDK registers its ODBC driver under (odbcinst.ini).
DEFAULT_DRIVER = "IBM INFORMIX ODBC DRIVER"

#: SQLCODEs that mean the connection is gone (or never came up): evict it, reconnect.
#: Not -439 ("database server is currently processing an SQL task": a client misuse).
#: -1803 ("connection does not exist") is the driver's answer on a connection already lost.
DISCONNECT_CODES = frozenset(
    {-908, -930, -27001, -27002, -25580, -25582, -11020, -11301, -457, -459, -1803}
)
#: Constraint violations.
INTEGRITY_CODES = frozenset({-239, -268, -691, -692, -391, -703, -530})
#: SQLCODEs whose cause is told by the ISAM code: row read/position/update failed.
ISAM_DEPENDENT_CODES = frozenset({-243, -244, -245, -246, -250, -271, -346, -240, -242})
#: ISAM codes of lock conflicts and deadlocks: worth a retry.
ISAM_TRANSIENT_CODES = frozenset({-107, -113, -143, -154, -144})
#: SQLCODEs that are lock conflicts in themselves; -233 ("cannot read record that is locked by
#: another user") is the common one.
TRANSIENT_CODES = frozenset({-233, -263, -288, -289, -378, -143, -154})
_PROGRAMMING_CODES = frozenset({-201, -206, -217, -286, -310, -236, -324, -329, -202, -284})
_TRANSACTION_CODES = {
    -255: (ProgrammingError, "not in a transaction"),
    -535: (ProgrammingError, "already in a transaction"),
    -256: (NotSupportedError, "transactions are not available: the database has no logging"),
}
_AUTH_CODES = frozenset({-951, -952, -956, -387})
# -213 from the server; -11039 "Operation aborted" and -11065 "Operation canceled" from the
# driver's SQLCancel/SQLFetch diagnostics (which one a cancelled call reports is unverified).
_CANCEL_CODES = frozenset({-213, -11039, -11065})
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
#: BLOB/CLOB read and written as plain long binary/text instead of large-object handles.
SQL_INFX_ATTR_LO_AUTOMATIC = 2262
#: Report standard ODBC types only (settable only once LO automatic mode is on).
SQL_INFX_ATTR_ODBC_TYPES_ONLY = 2257
#: The C type UDTs, ROWs and collections are fetched as; SQL_C_CHAR gives their text.
SQL_INFX_ATTR_DEFAULT_UDT_FETCH_TYPE = 2253
#: Network send / receive timeouts: a half-open connection fails instead of blocking forever.
SQL_INFX_ATTR_SENDTIMEOUT = 2281
SQL_INFX_ATTR_RECVTIMEOUT = 2282
_SQL_C_CHAR = 1
#: ``last_serial(kind)``: three different DBINFO options (HCL docs ``sqs/ids_sqs_1492``); the
#: 64-bit ones cast to INT8, which pyodbc reads natively (BIGINT may come back as -114).
LAST_SERIAL_SQL = {
    "serial": "SELECT DBINFO('sqlca.sqlerrd1') FROM systables WHERE tabid = 1",
    "serial8": "SELECT DBINFO('serial8')::INT8 FROM systables WHERE tabid = 1",
    "bigserial": "SELECT DBINFO('bigserial')::INT8 FROM systables WHERE tabid = 1",
}
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
_CANT_OPEN_LIB = re.compile(r"Can't open lib '([^']*)'")
#: Environment variable naming the Informix ODBC driver when ``driver=`` is not given.
DRIVER_ENV = "INFORMIX_AIO_DRIVER"
_RECORD_SPLIT = re.compile(r";\s*(?=\[)")
_CODE_AT_END = re.compile(r"\((-\d+)\)\s*(?:\(SQL\w+\))?\s*$")
_ANY_CODE = re.compile(r"\((-\d+)\)")
# The catalogue writes "ISAM error:  record is locked." with two spaces; others use one.
_ISAM_MARK = re.compile(r"ISAM error:\s*", re.IGNORECASE)


class InformixDialect(Dialect):
    """IBM Informix Dynamic Server through the CSDK ODBC driver.

    :param driver: the ODBC driver the connection names (only for error messages).
    :param client_locale: the connection's CLIENT_LOCALE; text that the converters decode
        (LVARCHAR, ROW and collection text) is in its code set.
    :param network_timeout: seconds before a send or receive on the network fails
        (``SQL_INFX_ATTR_SENDTIMEOUT`` / ``RECVTIMEOUT``); ``None`` leaves the driver's default.
    """

    name: ClassVar[str] = "informix"
    liveness_query: ClassVar[str] = "SELECT 1 FROM systables WHERE tabid = 1"
    driver_hints: ClassVar[tuple[str, ...]] = ("informix", "iclit", "iclis", "libthcli", "libifcli")
    dbms_hints: ClassVar[tuple[str, ...]] = ("informix", "ids")
    # CHAR/VARCHAR/LVARCHAR are C strings to the driver: a NUL ends them.
    truncates_at_nul: ClassVar[bool] = True
    # SET TRANSACTION READ ONLY (11.70 and later, HCL docs sqs/ids_sqs_1200).
    supports_readonly: ClassVar[bool] = True
    database_mode_query: ClassVar[str | None] = (
        "SELECT is_logging, is_buff_log, is_ansi FROM sysmaster:sysdatabases "
        "WHERE name = DBINFO('dbname')"
    )

    def __init__(
        self,
        *,
        driver: str | None = None,
        client_locale: str | None = None,
        network_timeout: float | None = None,
    ) -> None:
        self.driver = driver
        self.client_locale = client_locale
        self.network_timeout = network_timeout

    def with_settings(
        self,
        *,
        driver: str | None = None,
        client_locale: str | None = None,
        network_timeout: float | None = None,
    ) -> InformixDialect:
        """A copy (of the same class) with these settings; ``None`` keeps the current one."""
        clone = copy.copy(self)
        if driver is not None:
            clone.driver = driver
        if client_locale is not None:
            clone.client_locale = client_locale
        if network_timeout is not None:
            clone.network_timeout = network_timeout
        return clone

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
        """Make the driver hand over data, not handles (its converters: :meth:`output_converters`).

        In this order (PHP's PDO_INFORMIX does the same): LO automatic mode (BLOB/CLOB become
        long binary/text), standard ODBC types only (BIGINT as SQL_BIGINT, ROW/collections as
        text), UDTs fetched as SQL_C_CHAR, ISAM text in messages, network timeouts. A driver
        that refuses one keeps working: the converters cover the driver's own type codes.
        """
        attrs = [
            (SQL_INFX_ATTR_LO_AUTOMATIC, 1),
            (SQL_INFX_ATTR_ODBC_TYPES_ONLY, 1),
            (SQL_INFX_ATTR_DEFAULT_UDT_FETCH_TYPE, _SQL_C_CHAR),
            (SQL_INFX_ATTR_IDSISAMERRMSG, 1),
        ]
        if self.network_timeout is not None:
            seconds = max(1, math.ceil(self.network_timeout))
            attrs += [(SQL_INFX_ATTR_SENDTIMEOUT, seconds), (SQL_INFX_ATTR_RECVTIMEOUT, seconds)]
        for attr, value in attrs:
            try:
                conn.set_attr(attr, value)
            except Exception as exc:  # a driver without the attribute: keep the default
                logger.debug("Informix connection attribute %d refused: %s", attr, exc)

    def output_converters(self) -> dict[int, Callable[[bytes | None], Any]]:
        """The converters for the driver's own type codes and the ODBC interval types
        (registered on each connection through ``Connection.add_output_converter``)."""
        return converters(self.client_locale)

    def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Besides the NUL check: ``timedelta`` and :class:`YearMonthInterval` bind as Informix
        interval literals (pyodbc cannot send an interval struct)."""
        for value in params:
            if isinstance(value, (datetime.timedelta, YearMonthInterval)):
                out = [_interval_literal(v) for v in params]
                return super().adapt_params(out)
        return super().adapt_params(params)

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
        """``SET TRANSACTION READ ONLY`` for a read-only transaction, then ``SET ISOLATION``."""
        out = ["SET TRANSACTION READ ONLY"] if readonly else []
        if isolation is not None:
            out.append(_ISOLATION_SQL[isolation])
        return out

    def end_statements(
        self,
        isolation: str | None,
        *,
        session_isolation: str | None = None,
        database_mode: str | None = None,
    ) -> list[str]:
        """``SET ISOLATION`` lasts for the session: put back the connection's own level (its
        ``isolation=`` option, else the database's default: REPEATABLE READ in an ANSI
        database, COMMITTED READ otherwise)."""
        if isolation is None:
            return []
        if session_isolation is None:
            session_isolation = "repeatable_read" if database_mode == "ansi" else "read_committed"
        restore = _ISOLATION_SQL[session_isolation]
        return [] if restore == _ISOLATION_SQL[isolation] else [restore]

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
        if sqlstate == "IM002" or (sqlstate == "01000" and "Can't open lib" in message):
            return Classification(InterfaceError, hint=self._missing_driver_hint(sqlstate, message))
        if sqlstate == "07006":
            # The driver cannot hand this column over as SQL_C_BINARY for a converter.
            return Classification(
                ProgrammingError,
                hint="the driver cannot convert this column for pyodbc: cast it to text in "
                "SQL (col::LVARCHAR) or connect with ODTYP=1",
            )
        if native is None or native == 0:
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

    def _missing_driver_hint(self, sqlstate: str, message: str) -> str:
        """IM002, or unixODBC's "Can't open lib '<name>'": when ``<name>`` is no path, unixODBC
        found no driver registered under it and tried the name as a library file."""
        lib = _CANT_OPEN_LIB.search(message)
        if lib is not None and "/" in lib.group(1):
            what = (
                f"the Informix ODBC driver library {lib.group(1)} does not load: check the "
                "path in odbcinst.ini, INFORMIXDIR and LD_LIBRARY_PATH"
            )
        elif self.driver is not None or lib is not None:
            name = self.driver if self.driver is not None else lib.group(1) if lib else ""
            what = (
                f"the ODBC driver {name!r} is not registered with unixODBC "
                "(odbcinst -q -d): install IBM's Informix Client SDK and register its driver, "
                f"or name yours with driver= or the {DRIVER_ENV} environment variable"
            )
        else:
            what = "the DSN or driver named is not defined for unixODBC"
        return f"{what}; run `informix-aio doctor`"


def _interval_literal(value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        return format_timedelta(value)
    if isinstance(value, YearMonthInterval):
        return str(value)
    return value


def last_serial_query(kind: str) -> str:
    """The query for the serial value the last INSERT generated, by serial kind.

    :param kind: ``"serial"``, ``"serial8"`` or ``"bigserial"``.
    :raises ProgrammingError: another kind.
    """
    try:
        return LAST_SERIAL_SQL[kind.lower()]
    except KeyError:
        raise ProgrammingError(
            f"unknown serial kind {kind!r}; expected one of {', '.join(LAST_SERIAL_SQL)}"
        ) from None


def describe_transaction_code(native: int) -> str | None:
    """A short explanation for the transaction-state SQLCODEs (-255, -256, -535)."""
    entry = _TRANSACTION_CODES.get(native)
    return None if entry is None else entry[1]
