"""The pool's maintenance: opening connections (in the background, with backoff), closing and
replacing them, and the once-a-second housekeeping.

The housekeeping task holds the pool only by a weak reference, so a pool dropped without
``close()`` is collected (with a ``ResourceWarning``) while its event loop goes on running.
"""

from __future__ import annotations

import inspect
import logging
import time
import weakref
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio

from .._options import ConnectOptions, build_options
from ._connection import AsyncConnection
from ._pool_state import PoolState, Slot
from ._pooled import PooledConnection

if TYPE_CHECKING:
    from ._pool import Pool

__all__ = ["Maintenance", "housekeeping"]

logger = logging.getLogger(__name__)

#: Seconds between two rounds of housekeeping.
TICK = 1.0


class Maintenance(PoolState):
    """Opening, closing and replacing connections."""

    async def _open_slots(self, n: int) -> None:
        """Open ``n`` connections now, together; raise the first connect error as it is (an
        ``OperationalError`` for an unreachable database, never an exception group)."""
        errors: list[Exception] = []

        async def one() -> None:
            try:
                slot = await self._connect()
            except Exception as exc:
                errors.append(exc)
                return
            finally:
                self._opening -= 1
            self._put_back(slot)

        self._opening += n
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        if errors:
            self._counters["connections_failed"] += len(errors)
            raise errors[0]

    async def _connect(self) -> Slot:
        start = time.monotonic()
        options = self._options if self._options is not None else await self._fresh_options()
        conn = await AsyncConnection.open(options, command_timeout=self.command_timeout)
        try:
            self._customize(conn)
            if self._setup is not None:
                proxy = PooledConnection(conn, self)
                try:
                    await self._setup(proxy)
                finally:
                    proxy.detach()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await conn.close()
            raise
        self._counters["connections_opened"] += 1
        if self._observers:
            self._notify("connection_created", time.monotonic() - start)
        self._last_connect_error = None
        self._backoff = 0.0
        return Slot(conn, self._generation, self.max_lifetime)

    async def _open_one(self) -> None:
        try:
            if self._backoff:
                await anyio.sleep(self._backoff)
            slot = await self._connect()
        except Exception as exc:
            self._opening -= 1
            self._counters["connections_failed"] += 1
            self._last_connect_error = exc
            self._backoff = min(self.reconnect_max, max(self.reconnect_initial, self._backoff * 2))
            logger.warning(
                "cannot open a pooled connection (retry in %.2fs): %s", self._backoff, exc
            )
            # The database is unreachable: every waiter fails now with the real cause, rather
            # than waiting out its acquire timeout (a connection released meanwhile would be
            # just as likely to be dead).
            error = self._unreachable_error()
            while self._waiters:
                self._waiters.popleft().reject(error)
            if self._state == "open" and self._size() < self.min_size:
                self._grow()
            return
        except BaseException:
            self._opening -= 1
            raise
        self._opening -= 1
        self._put_back(slot)

    async def _fresh_options(self) -> ConnectOptions:
        """Call ``connect_options`` for this connection (a rotated password is read now, never
        kept by the pool); its errors count as connection failures."""
        fn = self._options_fn
        assert fn is not None
        given = fn()
        if inspect.isawaitable(given):
            given = await given
        if not isinstance(given, Mapping):
            raise TypeError(
                f"connect_options must return a dict of connection options, not "
                f"{type(given).__name__}"
            )
        return build_options(**{**self._static_options, **given})

    def _customize(self, conn: AsyncConnection) -> None:
        """The pool-wide hooks, output converters and adapters, on a new connection."""
        for fn, params in self._query_loggers:
            conn.add_query_logger(fn, params=params)
        for py_type, adapt in self._adapters.items():
            conn.register_adapter(py_type, adapt)
        for sql_type, convert in self._converters.items():
            conn._worker.submit(conn.sync_connection.add_output_converter, sql_type, convert)

    def _grow(self) -> None:
        """Open connections for waiters and up to ``min_size``, within ``max_size``."""
        if self._state != "open" or self._tasks is None:
            return
        size = self._size()
        if size >= self.max_size:
            return
        wanted = max(self.min_size - size, len(self._waiters) - self._opening)
        room = self.max_size - size
        for _ in range(max(0, min(wanted, room))):
            self._opening += 1
            self._spawn(self._open_one)

    def _discard(self, slot: Slot) -> None:
        """Close a connection in the background, keeping its slot until its thread is free."""
        self._reaping.add(slot)
        self._spawn(self._close_and_free, slot)

    async def _close_and_free(self, slot: Slot) -> None:
        try:
            await self._close_slot(slot)
        finally:
            self._reaping.discard(slot)
            self._grow()

    async def _close_slot(self, slot: Slot) -> None:
        self._counters["connections_closed"] += 1
        with anyio.CancelScope(shield=True):
            try:
                await slot.conn.close()
            except Exception as exc:
                logger.debug("error closing a pooled connection: %r", exc)

    def _tidy(self) -> None:
        """One round of housekeeping: shrink idle connections beyond ``min_size``, replace
        expired ones, refill."""
        now = time.monotonic()
        keep: deque[Slot] = deque()
        # The bottom of the stack is the longest idle.
        while self._idle:
            slot = self._idle.popleft()
            too_many = self._size() + len(keep) > self.min_size
            idle_long = self.max_idle is not None and now - slot.last_used > self.max_idle
            if slot.has_expired(now, self._generation, self.max_queries) or (
                idle_long and too_many
            ):
                self._discard(slot)
            else:
                keep.append(slot)
        self._idle = keep
        self._grow()

    def expire_connections(self) -> None:
        """Replace every connection: idle ones now, borrowed ones when they are released."""
        self._generation += 1
        while self._idle:
            self._discard(self._idle.pop())
        self._grow()

    def resize(self, min_size: int, max_size: int) -> None:
        """Change the bounds; extra idle connections close, missing ones open.

        :raises ValueError: ``0 <= min_size <= max_size`` and ``max_size >= 1`` do not hold.
        """
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        self.min_size, self.max_size = min_size, max_size
        while self._idle and self._size() > max_size:
            self._discard(self._idle.popleft())  # its slot stays counted until it is closed
        self._grow()


async def housekeeping(ref: weakref.ref[Pool]) -> None:
    """Once a second, :meth:`Maintenance._tidy`, for as long as the pool is open and alive.
    Holds the pool only between two rounds' weak-reference look-ups."""
    while True:
        await anyio.sleep(TICK)
        pool = ref()
        if pool is None or pool._state != "open":
            return
        pool._tidy()
        del pool
