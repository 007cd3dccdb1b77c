"""The connection a pool lends: a thin proxy that is detached on release.

After release every method raises :class:`InterfaceError`, so a reference kept by mistake can
never run a statement on a connection that another request now owns (asyncpg does the same).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InterfaceError
from ..hooks import QueryLogger
from ..rows import RowFactory

if TYPE_CHECKING:
    from ..dialects import Dialect
    from ._connection import AsyncConnection
    from ._cursor import AsyncCursor
    from ._pool_state import PoolState
    from ._transaction import AsyncTransaction

__all__ = ["PooledConnection"]

T = TypeVar("T")


class PooledConnection:
    """An :class:`AsyncConnection` on loan from a :class:`Pool`.

    Every method checks the loan when it runs, not when it is called: a coroutine made before
    the release (``asyncio.create_task(conn.execute(...))`` left behind by the block) raises
    :class:`InterfaceError` rather than running on the next borrower's connection.
    """

    __slots__ = ("_conn", "_pool")

    def __init__(self, conn: AsyncConnection, pool: PoolState) -> None:
        self._conn: AsyncConnection | None = conn
        self._pool = pool

    def _c(self) -> AsyncConnection:
        conn = self._conn
        if conn is None:
            raise InterfaceError("this connection was released to the pool and cannot be used")
        return conn

    def detach(self) -> AsyncConnection | None:
        """Cut the proxy from its connection; return the connection (None if already cut)."""
        conn, self._conn = self._conn, None
        return conn

    @property
    def released(self) -> bool:
        """True once the connection went back to the pool."""
        return self._conn is None

    @property
    def raw_connection(self) -> AsyncConnection:
        """The pooled :class:`AsyncConnection` itself (do not close it)."""
        return self._c()

    @property
    def dialect(self) -> Dialect:
        """The connection's dialect."""
        return self._c().dialect

    @property
    def in_transaction(self) -> bool:
        """True inside a ``transaction()`` block."""
        return self._c().in_transaction

    @property
    def autocommit(self) -> bool:
        """Whether statements commit on their own."""
        return self._c().autocommit

    def __repr__(self) -> str:
        return f"<PooledConnection {'released' if self._conn is None else repr(self._conn)}>"

    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> int:
        """See :meth:`AsyncConnection.execute`."""
        return await self._c().execute(sql, params, timeout=timeout)

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """See :meth:`AsyncConnection.executemany`."""
        await self._c().executemany(sql, seq_of_params, timeout=timeout)

    async def fetch(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> list[Any]:
        """See :meth:`AsyncConnection.fetch`."""
        return await self._c().fetch(sql, params, timeout=timeout, row_factory=row_factory)

    async def fetchrow(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> Any:
        """See :meth:`AsyncConnection.fetchrow`."""
        return await self._c().fetchrow(sql, params, timeout=timeout, row_factory=row_factory)

    async def fetchval(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        column: int = 0,
        timeout: float | None = None,
    ) -> Any:
        """See :meth:`AsyncConnection.fetchval`."""
        return await self._c().fetchval(sql, params, column=column, timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> float:
        """See :meth:`AsyncConnection.ping`."""
        return await self._c().ping(timeout=timeout)

    async def commit(self) -> None:
        """See :meth:`AsyncConnection.commit`."""
        await self._c().commit()

    async def rollback(self) -> None:
        """See :meth:`AsyncConnection.rollback`."""
        await self._c().rollback()

    async def set_autocommit(self, value: bool) -> None:
        """See :meth:`AsyncConnection.set_autocommit` (the pool restores its own mode when
        the connection comes back)."""
        await self._c().set_autocommit(value)

    async def getinfo(self, info_type: int) -> Any:
        """See :meth:`AsyncConnection.getinfo`."""
        return await self._c().getinfo(info_type)

    async def add_output_converter(self, sql_type: int, fn: Callable[[Any], Any] | None) -> None:
        """See :meth:`AsyncConnection.add_output_converter` (it stays with the connection:
        prefer :meth:`Pool.add_output_converter`)."""
        await self._c().add_output_converter(sql_type, fn)

    def add_query_logger(self, fn: QueryLogger, *, params: bool = False) -> None:
        """See :meth:`AsyncConnection.add_query_logger` (it stays with the connection:
        prefer :meth:`Pool.add_query_logger`)."""
        self._c().add_query_logger(fn, params=params)

    def remove_query_logger(self, fn: QueryLogger) -> None:
        """See :meth:`AsyncConnection.remove_query_logger`."""
        self._c().remove_query_logger(fn)

    def cursor(self, *, row_factory: RowFactory | None = None, prefetch: int = 100) -> AsyncCursor:
        """See :meth:`AsyncConnection.cursor`."""
        return self._c().cursor(row_factory=row_factory, prefetch=prefetch)

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> AsyncTransaction:
        """See :meth:`AsyncConnection.transaction`."""
        return self._c().transaction(isolation=isolation, readonly=readonly)

    async def run_sync(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """See :meth:`AsyncConnection.run_sync`."""
        return await self._c().run_sync(fn, *args, timeout=timeout)

    async def release(self) -> None:
        """Give the connection back to its pool (same as ``await pool.release(conn)``)."""
        await self._pool.release(self)
