"""SQLite through Christian Werner's SQLite ODBC driver (``libsqlite3odbc.so``).

The driver reports every error as SQLSTATE ``HY000`` with SQLite's result code as the native
code, so classification works from that code.
"""

from __future__ import annotations

import math
from typing import ClassVar

from ..errors import (
    Classification,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    QueryCanceled,
)
from .base import Dialect

__all__ = ["SQLiteDialect"]

# SQLite primary result codes (sqlite3.h).
_SQLITE_ERROR, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_INTERRUPT = 1, 5, 6, 9
_BY_CODE: dict[int, Classification] = {
    _SQLITE_BUSY: Classification(OperationalError, is_transient=True),
    _SQLITE_LOCKED: Classification(OperationalError, is_transient=True),
    _SQLITE_INTERRUPT: Classification(QueryCanceled),
    8: Classification(OperationalError),  # READONLY
    10: Classification(OperationalError),  # IOERR
    11: Classification(OperationalError),  # CORRUPT
    13: Classification(OperationalError),  # FULL
    14: Classification(OperationalError),  # CANTOPEN
    18: Classification(DataError),  # TOOBIG
    19: Classification(IntegrityError),  # CONSTRAINT
    20: Classification(DataError),  # MISMATCH
    25: Classification(ProgrammingError),  # RANGE (parameter index)
}


class SQLiteDialect(Dialect):
    """SQLite, embedded: the default for ``make run`` and a fast test backend."""

    name: ClassVar[str] = "sqlite"
    driver_hints: ClassVar[tuple[str, ...]] = ("sqlite",)
    dbms_hints: ClassVar[tuple[str, ...]] = ("sqlite",)
    truncates_at_nul: ClassVar[bool] = True
    # Bound as SQL_TIMESTAMP the driver keeps milliseconds only; as text it keeps all six digits.
    datetime_as_text: ClassVar[bool] = True

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
        """SQLite only takes the database file."""
        given = [
            k
            for k, v in (
                ("host", host),
                ("port", port),
                ("server", server),
                ("user", user),
                ("password", password),
                ("protocol", protocol),
            )
            if v is not None
        ]
        if given:
            raise InterfaceError(f"the sqlite dialect takes only database=, not {', '.join(given)}")
        return [] if database is None else [("DATABASE", database)]

    def lock_timeout_keywords(self, lock_timeout: float | None) -> list[tuple[str, str]]:
        """``Timeout`` (ms): the driver's own busy handler waits that long for the database
        lock (100 s by default) and ignores ``PRAGMA busy_timeout``; 0 would mean the default."""
        if lock_timeout is None:
            return []
        ms = 2**31 - 1 if math.isinf(lock_timeout) else max(1, round(lock_timeout * 1000))
        return [("Timeout", str(ms))]

    def session_setup(self, *, lock_timeout: float | None) -> list[str]:
        """``PRAGMA busy_timeout``: how long a writer waits for the database lock."""
        if lock_timeout is None:
            return []
        ms = 2**31 - 1 if math.isinf(lock_timeout) else round(lock_timeout * 1000)
        return [f"PRAGMA busy_timeout = {ms}"]

    def begin_statements(self, isolation: str | None, readonly: bool) -> list[str]:
        """SQLite transactions are always serializable."""
        if isolation == "serializable":
            isolation = None
        return super().begin_statements(isolation, readonly)

    def session_isolation(self, isolation: str) -> list[str]:
        """SQLite is always serializable; other levels are refused."""
        return [] if isolation == "serializable" else super().session_isolation(isolation)

    def classify(
        self,
        sqlstate: str | None,
        native: int | None,
        isam: int | None,
        message: str,
        exc: BaseException,
    ) -> Classification:
        """Classify by SQLite's result code, which the driver puts in the native code."""
        if sqlstate == "HY000" and native is not None:
            if native in _BY_CODE:
                return _BY_CODE[native]
            if native == _SQLITE_ERROR:
                lower = message.lower()
                if "no such" in lower or "syntax error" in lower or "already exists" in lower:
                    return Classification(ProgrammingError)
                return Classification(OperationalError)
        return self.classify_sqlstate(sqlstate, message, exc)

    def explicit_begin(self, isolation: str | None, readonly: bool) -> list[str] | None:
        """``BEGIN IMMEDIATE``: the write lock is taken at the start, so concurrent writers
        queue on the busy timeout. The driver's own (deferred) BEGIN lets two transactions
        read, then deadlock when both write ("database is locked"). A read-only transaction
        begins deferred and refuses writes (``PRAGMA query_only``)."""
        if isolation not in (None, "serializable"):
            self.begin_statements(isolation, False)  # raises NotSupportedError
        if readonly:
            return ["BEGIN DEFERRED", "PRAGMA query_only = 1"]
        return ["BEGIN IMMEDIATE"]

    def explicit_end(self, readonly: bool) -> list[str]:
        """Writes allowed again after a read-only transaction."""
        return ["PRAGMA query_only = 0"] if readonly else []
