"""PostgreSQL through psqlODBC (``psqlodbcw.so``): the test bed's server-side reference."""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING, ClassVar

import pyodbc

from .base import StandardIsolationDialect

if TYPE_CHECKING:
    from .._sync import Connection

logger = logging.getLogger(__name__)

__all__ = ["PostgreSQLDialect"]


class PostgreSQLDialect(StandardIsolationDialect):
    """PostgreSQL via psqlODBC."""

    name: ClassVar[str] = "postgresql"
    session_isolation_prefix: ClassVar[str] = "SET SESSION CHARACTERISTICS AS TRANSACTION"
    driver_hints: ClassVar[tuple[str, ...]] = ("postgres", "psqlodbc")
    dbms_hints: ClassVar[tuple[str, ...]] = ("postgres",)
    # psqlODBC ends a text parameter at NUL without a word (PostgreSQL text cannot hold one).
    truncates_at_nul: ClassVar[bool] = True
    default_keywords: ClassVar[dict[str, str]] = {
        # Debian registers the driver with CommLog=1, which writes every packet to a log file.
        "CommLog": "0",
        "Debug": "0",
        # The default (7.4-2) wraps every statement of a transaction in a hidden savepoint:
        # extra round trips, and a failed statement silently leaves the transaction open.
        # "-0" leaves the server's behaviour alone: an error aborts the transaction.
        "Protocol": "7.4-0",
    }

    def cursors_hold_transaction(self, connection_string: str) -> bool:
        """With ``UseDeclareFetch=1`` psqlODBC runs every statement as ``BEGIN; DECLARE ...
        CURSOR WITH HOLD``, even in autocommit mode, and commits only when the statement handle
        closes; after an error or a cancel that transaction stays aborted until SQL ROLLBACK."""
        return (
            re.search(r"(?:^|;)\s*usedeclarefetch\s*=\s*\{?1", connection_string, re.I) is not None
        )

    def session_setup(self, *, lock_timeout: float | None) -> list[str]:
        """``SET lock_timeout``: how long a statement waits for a lock before failing (55P03)."""
        if lock_timeout is None:
            return []
        ms = 0 if math.isinf(lock_timeout) else max(1, round(lock_timeout * 1000))
        return [f"SET lock_timeout = {ms}"]

    def backend_id(self, conn: pyodbc.Connection) -> int | None:
        """``pg_backend_pid()``, read once per connection (only with UseDeclareFetch)."""
        try:
            row = conn.cursor().execute("SELECT pg_backend_pid()").fetchone()
        except pyodbc.Error as exc:
            logger.debug("pg_backend_pid() failed: %s", exc)
            return None
        return None if row is None else int(row[0])

    def cancel_fetch(self, conn: Connection) -> bool:
        """psqlODBC's SQLCancel does not stop a running FETCH (UseDeclareFetch), so a cancel
        request for the backend goes through a short-lived side connection. Called under the
        connection's cancel lock while the fetch runs: the fetching thread cannot start its
        next statement until the request is sent, and a cancel that reaches an idle backend is
        ignored by the server."""
        pid = conn.backend_id
        if pid is None:
            return False
        try:
            side = pyodbc.connect(conn.options.connection_string, autocommit=True, timeout=5)
        except pyodbc.Error as exc:
            logger.debug("side connection for a cancel failed: %s", exc)
            return False
        try:
            side.cursor().execute("SELECT pg_cancel_backend(?)", pid).fetchall()
        except pyodbc.Error as exc:
            logger.debug("pg_cancel_backend failed: %s", exc)
            return False
        finally:
            side.close()
        return True
