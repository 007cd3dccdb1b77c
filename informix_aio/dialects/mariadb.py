"""MariaDB (and MySQL) through MariaDB Connector/ODBC (``libmaodbc.so``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from ..errors import Classification, OperationalError, QueryCanceled
from .base import StandardIsolationDialect

if TYPE_CHECKING:
    import pyodbc

__all__ = ["MariaDBDialect"]

_TRANSIENT = frozenset({1205, 1213})  # lock wait timeout, deadlock
# server gone / lost / killed; 2002/2003/2005: cannot connect (socket, TCP, unknown host),
# which Connector/ODBC reports as HY000
_DISCONNECT = frozenset({2006, 2013, 2055, 1927, 4031, 2002, 2003, 2005})
_CANCELED = frozenset({1317, 3024, 1969})  # query interrupted / execution time exceeded


class MariaDBDialect(StandardIsolationDialect):
    """MariaDB via Connector/ODBC."""

    name: ClassVar[str] = "mariadb"
    session_isolation_prefix: ClassVar[str] = "SET SESSION TRANSACTION"
    driver_hints: ClassVar[tuple[str, ...]] = ("maria", "maodbc", "mysql", "myodbc")
    dbms_hints: ClassVar[tuple[str, ...]] = ("maria", "mysql")
    # Bound as SQL_TIMESTAMP the driver drops the microseconds; as text they survive.
    datetime_as_text: ClassVar[bool] = True

    def configure(self, conn: pyodbc.Connection) -> None:
        """UTF-8 both ways, as pyodbc's documentation recommends for MySQL-family drivers."""
        import pyodbc as _pyodbc

        conn.setdecoding(_pyodbc.SQL_CHAR, encoding="utf-8")
        conn.setdecoding(_pyodbc.SQL_WCHAR, encoding="utf-8")
        conn.setencoding(encoding="utf-8")

    def session_setup(self, *, lock_timeout: float | None) -> list[str]:
        """``innodb_lock_wait_timeout`` (whole seconds, at least 1)."""
        if lock_timeout is None:
            return []
        secs = 1073741824 if math.isinf(lock_timeout) else max(1, math.ceil(lock_timeout))
        return [f"SET SESSION innodb_lock_wait_timeout = {secs}"]

    def classify(
        self,
        sqlstate: str | None,
        native: int | None,
        isam: int | None,
        message: str,
        exc: BaseException,
    ) -> Classification:
        """MariaDB error numbers refine the SQLSTATE (HY000 for lock waits, 70100 for kills)."""
        if native in _TRANSIENT:
            return Classification(OperationalError, is_transient=True)
        if native in _DISCONNECT:
            return Classification(OperationalError, is_disconnect=True)
        if native in _CANCELED:
            return Classification(QueryCanceled)
        return self.classify_sqlstate(sqlstate, message, exc)

    def forced_rollback(self, autocommit: bool) -> list[str]:
        """ROLLBACK, and autocommit back on at the server: a borrower's ``SET autocommit = 0``
        is invisible to the driver, which would go on believing it is in autocommit mode."""
        return ["ROLLBACK", "SET autocommit = 1"] if autocommit else ["ROLLBACK"]
