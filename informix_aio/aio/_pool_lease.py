"""``async with pool.connection() as conn``: a lease whose release never waits."""

from __future__ import annotations

from collections.abc import Awaitable, Generator
from typing import TYPE_CHECKING, Any, Final, cast

from ._pooled import PooledConnection

if TYPE_CHECKING:
    from ._pool_acquire import Acquiring
    from ._pool_state import Slot

__all__ = ["Lease"]


class Lease:
    """``async with pool.connection() as conn``."""

    __slots__ = ("_conn", "_pool", "_slot", "_timeout")

    def __init__(self, pool: Acquiring, timeout: float | None) -> None:
        self._pool, self._timeout = pool, timeout
        self._conn: PooledConnection | None = None
        self._slot: Slot | None = None

    async def __aenter__(self) -> PooledConnection:
        pool = self._pool
        self._slot = slot = await pool._acquire_slot(self._timeout)
        self._conn = PooledConnection(slot.conn, pool)
        return self._conn

    def __aexit__(self, *exc_info: object) -> Awaitable[None]:
        # Release never waits: a plain function returning a finished awaitable, not a coroutine.
        conn, self._conn = self._conn, None
        # detach() is None when the block released the connection itself (conn.release()).
        if conn is not None and conn.detach() is not None and self._slot is not None:
            self._pool._release_slot(self._slot)
        return _DONE


class _Done:
    """An awaitable that is already finished (``await _DONE`` is None at once)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        # Any iterator will do for ``await``; an empty one finishes at once.
        return cast("Generator[Any, None, None]", iter(()))


_DONE: Final = _Done()
