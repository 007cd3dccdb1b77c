"""The async connector: ``informix_aio.aio`` plugged into SQLAlchemy's asyncio machinery.

Written in the style of SQLAlchemy's own ``connectors/aioodbc.py``: SQLAlchemy runs the dialect
synchronously inside a greenlet, and these adapters turn each DB-API call into an ``await`` on
:class:`informix_aio.aio.AsyncConnection` / :class:`~informix_aio.aio.AsyncCursor` through
``sqlalchemy.util.await_``. Unlike aioodbc, a cancelled ``await`` here stops the statement on the
server (SQLCancel from the connection's worker), which is what this library adds.

:class:`AsyncConnector` mixes into any SQLAlchemy pyodbc dialect::

    class MariaDBAsync(AsyncConnector, MySQLDialect_pyodbc):
        pass
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_cursor,
    AsyncAdapt_dbapi_ss_cursor,
)

try:
    from sqlalchemy.util.concurrency import await_
except ImportError:  # SQLAlchemy 2.0 names it await_only
    from sqlalchemy.util.concurrency import await_only as await_

import informix_aio
from informix_aio import aio

from ._connector import DBAPI, SyncConnector

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection

__all__ = [
    "AsyncAdaptedConnection",
    "AsyncAdaptedCursor",
    "AsyncAdaptedServerSideCursor",
    "AsyncConnector",
    "AsyncDBAPI",
]

T = TypeVar("T")


class AsyncAdaptedCursor(AsyncAdapt_dbapi_cursor):
    """A sync DB-API cursor over :class:`informix_aio.aio.AsyncCursor` (rows buffered)."""

    __slots__ = ()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """pyodbc's ``(sql_type, size, digits)`` per marker, for the next execute."""
        # AsyncCursor.setinputsizes is a plain method (no thread hop), unlike the protocol
        # SQLAlchemy types ``_cursor`` with.
        cursor: Any = self._cursor
        cursor.setinputsizes(*inputsizes)

    @property
    def lastrowid(self) -> Any:
        """Always ``None``: ODBC has no last row id; dialects query it (DBINFO, LAST_INSERT_ID)."""
        return None

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted for PEP 249; the driver sizes its buffers itself."""


class AsyncAdaptedServerSideCursor(AsyncAdaptedCursor, AsyncAdapt_dbapi_ss_cursor):
    """A server-side (``stream_results``) cursor: rows are fetched as they are read."""

    __slots__ = ()


class AsyncAdaptedConnection(AsyncAdapt_dbapi_connection):
    """A sync DB-API connection over :class:`informix_aio.aio.AsyncConnection`."""

    _cursor_cls = AsyncAdaptedCursor
    _ss_cursor_cls = AsyncAdaptedServerSideCursor
    __slots__ = ()

    @property
    def driver_connection(self) -> aio.AsyncConnection:
        """The :class:`informix_aio.aio.AsyncConnection` (``await conn.get_raw_connection()``)."""
        conn: aio.AsyncConnection = self._connection  # type: ignore[assignment]
        return conn

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits on its own."""
        return self.driver_connection.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        await_(self.driver_connection.set_autocommit(value))

    def getinfo(self, info_type: int) -> Any:
        """``SQLGetInfo`` (SQLAlchemy's pyodbc dialects read the DBMS version with it)."""
        return await_(self.driver_connection.getinfo(info_type))

    def add_output_converter(self, sql_type: int, fn: Callable[[bytes], Any] | None) -> None:
        """pyodbc's output converter for ``sql_type`` (``fn`` receives the raw bytes)."""
        await_(self.driver_connection.add_output_converter(sql_type, fn))

    def setdecoding(self, sqltype: int, **kwargs: Any) -> None:
        """pyodbc's ``setdecoding``, run on the connection's worker thread."""
        self.run_sync(lambda conn: conn.raw.setdecoding(sqltype, **kwargs))

    def setencoding(self, **kwargs: Any) -> None:
        """pyodbc's ``setencoding``, run on the connection's worker thread."""
        self.run_sync(lambda conn: conn.raw.setencoding(**kwargs))

    def run_sync(self, fn: Callable[[informix_aio.Connection], T]) -> T:
        """Run ``fn(sync_connection)`` on the connection's worker thread and return its result."""
        conn = self.driver_connection
        return await_(conn.run_sync(fn, conn.sync_connection))

    def cursor(self, server_side: bool = False) -> AsyncAdapt_dbapi_cursor:
        """A new cursor; on a closed connection the ``ProgrammingError`` pyodbc gives, which
        SQLAlchemy's pyodbc dialects recognise as a disconnect."""
        if self.driver_connection.closed:
            raise self.dbapi.ProgrammingError("Attempt to use a closed connection.")
        return super().cursor(server_side=server_side)

    def rollback(self) -> None:
        """Roll back; nothing to do on a closed connection."""
        if not self.driver_connection.closed:
            super().rollback()

    def commit(self) -> None:
        """Commit; nothing to do on a closed connection."""
        if not self.driver_connection.closed:
            super().commit()

    def close(self) -> None:
        """Close (shielded in the library); idempotent."""
        if not self.driver_connection.closed:
            super().close()

    def terminate(self) -> None:
        """Close without waiting: the pool's path for a connection it throws away (after a
        cancelled query, for one). The close is queued behind whatever still runs on the
        worker, so a statement being cancelled finishes its clean-up first."""
        self.driver_connection.terminate()


class AsyncDBAPI(DBAPI):
    """``informix_aio.aio`` seen as a DB-API module by SQLAlchemy's async adaptation."""

    def __init__(self) -> None:
        """The globals and exceptions of :class:`DBAPI`; ``connect`` awaits
        :func:`informix_aio.aio.connect`."""
        super().__init__(self._connect)

    def _connect(self, *args: Any, **kwargs: Any) -> AsyncAdaptedConnection:
        if args:
            raise TypeError("informix_aio.aio.connect takes keyword options only")
        creator_fn: Callable[..., Any] = kwargs.pop("async_creator_fn", aio.connect)
        awaitable = creator_fn(**kwargs)
        connection: AsyncAdaptedConnection = await_(AsyncAdaptedConnection.create(self, awaitable))
        return connection


class AsyncConnector(SyncConnector):
    """The async driver: mix it in front of a pyodbc dialect, as SQLAlchemy's aioodbc does.

    ``class D(AsyncConnector, MySQLDialect_pyodbc)`` gives an async dialect whose statements
    run on ``informix_aio.aio`` worker threads and stop on the server when cancelled.
    Use it with :func:`sqlalchemy.ext.asyncio.create_async_engine`.
    """

    is_async = True
    has_terminate = True
    supports_statement_cache = True
    supports_server_side_cursors = True

    @classmethod
    def import_dbapi(cls) -> Any:
        """The :class:`AsyncDBAPI` namespace."""
        return AsyncDBAPI()

    def get_driver_connection(self, connection: DBAPIConnection) -> Any:
        """The :class:`informix_aio.aio.AsyncConnection` under an adapted connection."""
        adapted: AsyncAdaptedConnection = connection  # type: ignore[assignment]
        return adapted.driver_connection

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        """Throw the connection away without waiting for the worker."""
        adapted: AsyncAdaptedConnection = dbapi_connection  # type: ignore[assignment]
        adapted.terminate()

    def run_on_connection(
        self, dbapi_connection: Any, fn: Callable[[informix_aio.Connection], T]
    ) -> T:
        """Run ``fn`` with the sync connection, on the connection's worker thread."""
        adapted: AsyncAdaptedConnection = dbapi_connection
        return adapted.run_sync(fn)
