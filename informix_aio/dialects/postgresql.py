"""PostgreSQL through psqlODBC (``psqlodbcw.so``): the test bed's server-side reference."""

from __future__ import annotations

import math
import re
from typing import ClassVar

from .base import StandardIsolationDialect

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
