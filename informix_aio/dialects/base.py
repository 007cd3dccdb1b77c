"""What differs between databases, and the generic behaviour every dialect starts from.

A :class:`Dialect` is a stateless strategy object: it turns connection options into ODBC
connection-string keywords, names the SQL for liveness, savepoints and isolation, configures
pyodbc's encodings and converters on a fresh connection, adapts parameters the driver would
mangle, and classifies driver errors (SQLSTATE + native code) into the PEP 249 tree.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import (
    Classification,
    CommandTimeout,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryCanceled,
)

if TYPE_CHECKING:
    import pyodbc

    from .._sync import Connection

__all__ = ["ISOLATION_LEVELS", "Dialect", "StandardIsolationDialect", "normalize_isolation"]

#: Isolation level names accepted by ``transaction(isolation=...)``, normalized.
ISOLATION_LEVELS = (
    "read_uncommitted",
    "read_committed",
    "last_committed",
    "cursor_stability",
    "repeatable_read",
    "serializable",
)
_ISOLATION_ALIASES = {"dirty_read": "read_uncommitted", "committed_read": "read_committed"}

# SQLSTATE class (first two characters) -> PEP 249 class, for states no rule below refines.
_CLASS_BY_PREFIX: dict[str, type[Error]] = {
    "07": ProgrammingError,  # dynamic SQL error (parameter count, ...)
    "08": OperationalError,  # connection exception
    "0A": NotSupportedError,
    "21": ProgrammingError,  # cardinality violation
    "22": DataError,
    "23": IntegrityError,
    "24": InterfaceError,  # invalid cursor state
    "25": InternalError,  # invalid transaction state
    "28": OperationalError,  # invalid authorization
    "2D": InternalError,
    "34": ProgrammingError,  # invalid cursor name
    "3D": ProgrammingError,  # invalid catalog name
    "3F": ProgrammingError,  # invalid schema name
    "40": OperationalError,  # transaction rollback
    "42": ProgrammingError,  # syntax error or access rule violation
    "44": IntegrityError,  # WITH CHECK OPTION violation
    "53": OperationalError,  # insufficient resources
    "54": OperationalError,  # program limit exceeded
    "55": OperationalError,  # object not in prerequisite state
    "57": OperationalError,  # operator intervention
    "58": OperationalError,  # system error
    "F0": OperationalError,
    "HV": OperationalError,
    "IM": InterfaceError,  # driver manager: driver not found / cannot load
    "P0": InternalError,
    "XX": InternalError,
}
_CLASS_BY_STATE: dict[str, type[Error]] = {
    "HY000": DatabaseError,  # general error: the dialect decides from the native code
    "HY001": OperationalError,  # memory allocation
    "HY004": NotSupportedError,  # invalid SQL data type
    "HY008": QueryCanceled,  # operation canceled
    "HY010": InterfaceError,  # function sequence error
    "HY090": ProgrammingError,
    "HY104": ProgrammingError,
    "HY105": ProgrammingError,  # invalid parameter type
    "HYC00": NotSupportedError,  # optional feature not implemented
    "HYT00": CommandTimeout,  # query timeout expired (SQL_ATTR_QUERY_TIMEOUT)
    "HYT01": OperationalError,  # connection timeout expired
    "57014": QueryCanceled,  # PostgreSQL: canceling statement due to user request
    "01000": InterfaceError,  # unixODBC: "Can't open lib ..." (the driver cannot be loaded)
}
_DISCONNECT_STATES = frozenset(
    {"08S01", "08003", "08006", "08007", "57P01", "57P02", "57P03", "HYT01"}
)
_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "HYT00"})
_DISCONNECT_TEXT = re.compile(
    r"connection (?:has been |was )?lost|server closed the connection|connection is closed|"
    r"could not receive data from server|broken pipe|no connection to the server",
    re.IGNORECASE,
)


# The first keyword of SQL that may open (or change) a transaction behind the library's back
# when run in autocommit mode: BEGIN / START TRANSACTION, SET (autocommit, transaction modes),
# SAVEPOINT, LOCK, and procedure calls (an Informix SPL or MariaDB procedure can BEGIN WORK).
_TX_KEYWORDS = (
    r"(?:\{\s*(?:\?\s*=\s*)?)?"  # the ODBC escape {call p(?)} / {? = call p(?)}
    r"(?:BEGIN|START|SAVEPOINT|SET|LOCK|CALL|EXEC|EXECUTE|DO|XA)\b"
)
_COMMENTS = r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*"
_OPENS_TX = re.compile(_COMMENTS + _TX_KEYWORDS, re.IGNORECASE | re.DOTALL)
_OPENS_TX_LATER = re.compile(r";" + _COMMENTS + _TX_KEYWORDS, re.IGNORECASE | re.DOTALL)
_NO_TRANSACTION = re.compile(
    r"no transaction is active|not in transaction|no transaction in progress|"
    r"there is no transaction",
    re.IGNORECASE,
)


def normalize_isolation(level: str) -> str:
    """Return the canonical name of an isolation level (``"READ COMMITTED"`` -> ``read_committed``).

    :raises ProgrammingError: the name is not a known isolation level.
    """
    key = level.strip().lower().replace(" ", "_").replace("-", "_")
    key = _ISOLATION_ALIASES.get(key, key)
    if key not in ISOLATION_LEVELS:
        raise ProgrammingError(
            f"unknown isolation level {level!r}; expected one of {', '.join(ISOLATION_LEVELS)}"
        )
    return key


class Dialect:
    """The generic ODBC behaviour; subclasses override what their database does differently."""

    #: Name used in ``dialect=`` and in diagnostics.
    name: ClassVar[str] = "generic"
    #: The cheapest query that proves the connection works.
    liveness_query: ClassVar[str] = "SELECT 1"
    #: Driver names (lower case substrings) that identify the dialect before connecting.
    driver_hints: ClassVar[tuple[str, ...]] = ()
    #: ``SQL_DBMS_NAME`` substrings (lower case) that identify the dialect after connecting.
    dbms_hints: ClassVar[tuple[str, ...]] = ()
    #: Whether the driver silently truncates strings at a NUL character (then we refuse them).
    truncates_at_nul: ClassVar[bool] = False
    #: Whether datetime parameters must travel as ISO text to keep their microseconds.
    datetime_as_text: ClassVar[bool] = False
    #: Whether ``transaction(readonly=True)`` can be honoured.
    supports_readonly: ClassVar[bool] = False
    #: Informix: the query that reads the database's logging mode.
    database_mode_query: ClassVar[str | None] = None
    #: Default extra connection-string keywords, added unless the caller gives them.
    default_keywords: ClassVar[Mapping[str, str]] = {}

    # -- connection string -------------------------------------------------------------
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
        """Map the common connection options onto this driver's connection-string keywords."""
        pairs: list[tuple[str, str]] = []
        if server is not None and host is not None and server != host:
            # One SERVER keyword: dropping either silently would connect somewhere else.
            raise InterfaceError(
                f"the {self.name} driver has one SERVER keyword: give host= or server=, not both"
            )
        if server is not None or host is not None:
            pairs.append(("SERVER", server if server is not None else str(host)))
        if port is not None:
            pairs.append(("PORT", str(port)))
        if database is not None:
            pairs.append(("DATABASE", database))
        if user is not None:
            pairs.append(("UID", user))
        if password is not None:
            pairs.append(("PWD", password))
        if protocol is not None:
            raise InterfaceError(
                f"protocol= is an Informix option; the {self.name} driver has none"
            )
        return pairs

    # -- session -------------------------------------------------------------------------
    def configure(self, conn: pyodbc.Connection) -> None:
        """Set encodings and output converters on a freshly opened pyodbc connection."""

    def output_converters(self) -> Mapping[int, Callable[[bytes | None], Any]]:
        """pyodbc output converters for the driver's own type codes, registered on every new
        connection through ``Connection.add_output_converter`` (the public API users have)."""
        return {}

    def lock_timeout_keywords(self, lock_timeout: float | None) -> list[tuple[str, str]]:
        """Connection-string keywords for ``lock_timeout``, for drivers that ignore the SQL."""
        return []

    def session_setup(self, *, lock_timeout: float | None) -> list[str]:
        """Statements to run once on every new connection."""
        if lock_timeout is not None:
            raise NotSupportedError(f"lock_timeout= is not supported by the {self.name} dialect")
        return []

    # -- transactions --------------------------------------------------------------------
    def savepoint(self, name: str) -> str:
        """SQL that creates a savepoint."""
        return f"SAVEPOINT {name}"

    def rollback_to_savepoint(self, name: str) -> str:
        """SQL that rolls back to a savepoint."""
        return f"ROLLBACK TO SAVEPOINT {name}"

    def release_savepoint(self, name: str) -> str:
        """SQL that releases a savepoint."""
        return f"RELEASE SAVEPOINT {name}"

    def begin_statements(self, isolation: str | None, readonly: bool) -> list[str]:
        """Statements that run first in a new transaction (isolation, read-only)."""
        if readonly:
            raise NotSupportedError(f"read-only transactions are not supported by {self.name}")
        if isolation is not None:
            raise NotSupportedError(
                f"isolation level {isolation!r} is not supported by the {self.name} dialect"
            )
        return []

    def explicit_begin(self, isolation: str | None, readonly: bool) -> list[str] | None:
        """SQL that begins a transaction while the driver stays in autocommit mode, or
        ``None`` to use the driver's manual-commit mode (the default)."""
        return None

    def explicit_end(self, readonly: bool) -> list[str]:
        """SQL that restores the session after a transaction :meth:`explicit_begin` began."""
        return []

    def forced_rollback(self, autocommit: bool) -> list[str]:
        """SQL that ends whatever transaction the server holds open while the driver is in
        autocommit mode (a borrower's own ``BEGIN``); run on reset."""
        return ["ROLLBACK"]

    def is_no_transaction_error(self, err: Error) -> bool:
        """Whether ``err`` says there was no transaction to end (harmless on a reset)."""
        return bool(_NO_TRANSACTION.search(err.message)) or err.native_code == -255

    def may_open_transaction(self, sql: str) -> bool:
        """Whether ``sql`` may open a transaction the library would not see (its first
        keyword, or one after a ``;``, is BEGIN, START, SET, SAVEPOINT, LOCK or a procedure
        call). Cheap: a regex on the head of the text; a false positive costs one ROLLBACK
        on release."""
        if _OPENS_TX.match(sql) is not None:
            return True
        head = sql.lstrip()
        if head.startswith("/*") and head.count("/*", 0, head.find("*/")) > 1:
            return True  # a nested comment (PostgreSQL) defeats the regex: assume the worst
        return ";" in sql and _OPENS_TX_LATER.search(sql) is not None

    def backend_id(self, conn: pyodbc.Connection) -> int | None:
        """The server's id of this session, for :meth:`cancel_fetch` (None: not needed)."""
        return None

    def cancel_fetch(self, conn: Connection) -> bool:
        """Cancel a fetch that waits on the server, if this driver needs more than SQLCancel
        for it; return False to let SQLCancel do it (the default: the Informix driver's
        SQLCancel interrupts any call running on the statement, fetches included)."""
        return False

    def cursors_hold_transaction(self, connection_string: str) -> bool:
        """Whether the driver keeps a transaction open for as long as a statement handle is
        (then shortcuts close theirs after use, and a reset needs an SQL ``ROLLBACK``)."""
        return False

    def session_isolation(self, isolation: str) -> list[str]:
        """Statements that make ``isolation`` the session's default (``isolation=`` option)."""
        raise NotSupportedError(
            f"isolation level {isolation!r} is not supported by the {self.name} dialect"
        )

    def end_statements(
        self,
        isolation: str | None,
        *,
        session_isolation: str | None = None,
        database_mode: str | None = None,
    ) -> list[str]:
        """Statements that restore the session after a transaction that set ``isolation``:
        back to ``session_isolation`` (the connection's ``isolation=`` option), or to the
        database's default when that is ``None`` (Informix: by ``database_mode``)."""
        return []

    # -- parameters ----------------------------------------------------------------------
    def adapt_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Check and adapt parameters for what this driver would otherwise mangle silently.

        A read-only scan in the common case (runs once per row of ``executemany``); a new
        sequence only when a value must change.

        :raises DataError: a string holds NUL and the driver would truncate it there; a
            timezone-aware ``datetime`` or ``time`` (ODBC timestamps carry no offset, so the
            value would be stored shifted or stripped of its offset: every dialect refuses it).
        """
        nul, as_text = self.truncates_at_nul, self.datetime_as_text
        for value in params:
            cls = value.__class__
            if cls is str:
                if nul and "\x00" in value:
                    return self._adapt_slow(params)
            elif cls is int or cls is float or value is None or cls is bytes:
                continue
            elif isinstance(value, datetime.datetime):
                if as_text or value.tzinfo is not None:
                    return self._adapt_slow(params)
            elif isinstance(value, datetime.time):
                if value.tzinfo is not None:
                    return self._adapt_slow(params)
            elif nul and isinstance(value, str) and "\x00" in value:
                return self._adapt_slow(params)
        return params

    def _adapt_slow(self, params: Sequence[Any]) -> list[Any]:
        out = list(params)
        for i, value in enumerate(out):
            if isinstance(value, str):
                if self.truncates_at_nul and "\x00" in value:
                    raise DataError(
                        f"parameter {i + 1} holds a NUL character, which the {self.name} ODBC "
                        "driver would silently cut the string at; pass bytes for binary data"
                    )
            elif isinstance(value, (datetime.datetime, datetime.time)) and (
                value.tzinfo is not None
            ):
                raise DataError(
                    f"parameter {i + 1} is a timezone-aware {type(value).__name__} ({value}); "
                    "ODBC date/time values carry no offset, so it would be stored shifted or "
                    "stripped: convert it first, e.g. "
                    "value.astimezone(datetime.timezone.utc).replace(tzinfo=None)"
                )
            elif self.datetime_as_text and isinstance(value, datetime.datetime):
                out[i] = value.isoformat(sep=" ")
        return out

    # -- errors --------------------------------------------------------------------------
    def native_code(self, message: str, exc: BaseException) -> int | None:
        """Read the database's native error code out of a driver message."""
        m = re.search(r"\((-?\d+)\)\s*\(SQL\w+\)\s*$", message)
        return int(m.group(1)) if m else None

    def isam_code(self, message: str) -> int | None:
        """Read a secondary (ISAM) error code, for databases that have one."""
        return None

    def classify(
        self,
        sqlstate: str | None,
        native: int | None,
        isam: int | None,
        message: str,
        exc: BaseException,
    ) -> Classification:
        """Choose the PEP 249 class and flags for a driver error."""
        return self.classify_sqlstate(sqlstate, message, exc)

    def classify_sqlstate(
        self, sqlstate: str | None, message: str, exc: BaseException
    ) -> Classification:
        """The generic, SQLSTATE-only classification."""
        disconnect = bool(sqlstate in _DISCONNECT_STATES or _DISCONNECT_TEXT.search(message))
        transient = sqlstate in _TRANSIENT_STATES
        if sqlstate is None:
            return Classification(_class_of_pyodbc(exc), disconnect, transient)
        if sqlstate == "01000" and "Can't open lib" not in message:
            return Classification(_class_of_pyodbc(exc), disconnect, transient)
        cls = _CLASS_BY_STATE.get(sqlstate) or _CLASS_BY_PREFIX.get(sqlstate[:2])
        if cls is None or cls is DatabaseError:
            cls = _class_of_pyodbc(exc)
        if sqlstate.startswith("08"):
            disconnect = True
        if disconnect and not issubclass(cls, OperationalError):
            cls = OperationalError
        return Classification(cls, disconnect, transient)


def _class_of_pyodbc(exc: BaseException) -> type[Error]:
    """Our class for pyodbc's own class, the last resort when the SQLSTATE says nothing."""
    names = {k.__name__ for k in type(exc).__mro__}
    for name, cls in (
        ("IntegrityError", IntegrityError),
        ("ProgrammingError", ProgrammingError),
        ("DataError", DataError),
        ("NotSupportedError", NotSupportedError),
        ("OperationalError", OperationalError),
        ("InternalError", InternalError),
        ("InterfaceError", InterfaceError),
    ):
        if name in names:
            return cls
    return DatabaseError


_STANDARD_LEVELS = {
    "read_uncommitted": "READ UNCOMMITTED",
    "read_committed": "READ COMMITTED",
    "repeatable_read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}


class StandardIsolationDialect(Dialect):
    """Databases with SQL-standard ``SET TRANSACTION`` (PostgreSQL, MariaDB)."""

    supports_readonly: ClassVar[bool] = True
    #: The statement that sets the session's default, before ``ISOLATION LEVEL ...``.
    session_isolation_prefix: ClassVar[str] = "SET SESSION TRANSACTION"

    def session_isolation(self, isolation: str) -> list[str]:
        """The session's default isolation level."""
        if isolation not in _STANDARD_LEVELS:
            return super().session_isolation(isolation)
        return [f"{self.session_isolation_prefix} ISOLATION LEVEL {_STANDARD_LEVELS[isolation]}"]

    def begin_statements(self, isolation: str | None, readonly: bool) -> list[str]:
        """``SET TRANSACTION`` for this transaction (PostgreSQL: first in it; MariaDB: before)."""
        out: list[str] = []
        if isolation is not None:
            if isolation not in _STANDARD_LEVELS:
                return super().begin_statements(isolation, False)
            out.append(f"SET TRANSACTION ISOLATION LEVEL {_STANDARD_LEVELS[isolation]}")
        if readonly:
            out.append("SET TRANSACTION READ ONLY")
        return out
