"""MariaDB dialects for the tests: SQLAlchemy's ``mysql+pyodbc`` with this library's connector.

``mysql+informix_aio_async`` is :class:`~informix_aio.sqlalchemy.AsyncConnector` mixed into
SQLAlchemy's :class:`~sqlalchemy.dialects.mysql.pyodbc.MySQLDialect_pyodbc`, exactly as the
README shows it; that is how the async driver is proven without Informix.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.mysql.pyodbc import MySQLDialect_pyodbc, MySQLExecutionContext_pyodbc
from sqlalchemy.engine.interfaces import DBAPICursor

from informix_aio.sqlalchemy import AsyncConnector

__all__ = ["ASYNC_NAME", "MariaDBDialectAsync", "odbc_url", "register"]

#: The URL scheme of :class:`MariaDBDialectAsync`.
ASYNC_NAME = "mysql+informix_aio_async"


class _ExecutionContext(MySQLExecutionContext_pyodbc):
    def create_server_side_cursor(self) -> DBAPICursor:
        # MySQL's context passes its DB-API's cursor class; ours takes server_side=True
        # (as SQLAlchemy's mssql+aioodbc does).
        cursor: DBAPICursor = self._dbapi_connection.cursor(server_side=True)
        return cursor


class MariaDBDialectAsync(AsyncConnector, MySQLDialect_pyodbc):
    """``mysql+pyodbc`` made async by this library's connector."""

    driver = "informix_aio_async"
    supports_statement_cache = True
    execution_ctx_cls = _ExecutionContext

    @classmethod
    def load_provisioning(cls) -> None:
        """The compliance suite's set-up hooks for MySQL (found by package otherwise)."""
        __import__("sqlalchemy.dialects.mysql.provision")


def register() -> None:
    """Make ``mysql+informix_aio_async://`` (and its ``mariadb+`` twin, which SQLAlchemy's
    test provisioning derives) known to SQLAlchemy in this process."""
    for backend in ("mysql", "mariadb"):
        registry.register(f"{backend}.informix_aio_async", __name__, "MariaDBDialectAsync")


def odbc_url(scheme: str, connection_string: str) -> str:
    """``scheme:///?odbc_connect=...``: the ODBC connection string passed through as is
    (PyODBC's URL form would write the port as SQL Server's ``host,port``)."""
    return f"{scheme}:///?odbc_connect={quote_plus(connection_string)}"
