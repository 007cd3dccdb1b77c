"""The pool's acquire path: an idle connection at once, or a place in the FIFO of waiters.

A waiting caller is a :class:`Waiter` that accepts one connection at most, and only while it
waits (psycopg_pool's rule), so a caller that timed out or was cancelled never receives one.
While the database is unreachable (the last connect attempt failed and nothing has proven it
reachable since) a request that would have to wait fails at once with the connect error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import anyio

from .._validate import check_timeout
from ..errors import Error, PoolClosed, PoolTimeout, TooManyRequests
from ._pool_lease import Lease
from ._pool_release import Releasing
from ._pool_state import Slot
from ._pooled import PooledConnection

__all__ = ["Acquiring", "Waiter"]

logger = logging.getLogger(__name__)


class Waiter:
    """A caller waiting for a connection; it accepts one at most, and only while waiting.

    On asyncio it sleeps on a bare future (the hot path under load: no cancel-scope machinery),
    on trio on an event.
    """

    __slots__ = ("conn", "deadline", "error", "event", "fut", "state")

    def __init__(self, fut: asyncio.Future[None] | None, deadline: float | None = None) -> None:
        self.fut = fut
        self.deadline = deadline  # loop time; asyncio only (trio uses a cancel scope)
        self.event = anyio.Event() if fut is None else None
        self.state = "waiting"
        self.conn: Slot | None = None
        self.error: BaseException | None = None

    def _wake(self) -> None:
        if self.fut is not None:
            if not self.fut.done():
                self.fut.set_result(None)
        elif self.event is not None:
            self.event.set()

    def accept(self, slot: Slot) -> bool:
        """Hand over ``slot``; False when the caller no longer waits."""
        if self.state != "waiting":
            return False
        self.state, self.conn = "served", slot
        self._wake()
        return True

    def reject(self, error: BaseException) -> bool:
        """Fail the caller with ``error``; False when it no longer waits."""
        if self.state != "waiting":
            return False
        self.state, self.error = "failed", error
        self._wake()
        return True

    def expire(self) -> None:
        """The acquire timeout fired (asyncio timer)."""
        if self.state == "waiting":
            self.state = "expired"
            self._wake()

    def leave(self) -> bool:
        """The caller gives up; False when a connection was already handed over."""
        if self.state != "waiting":
            return False
        self.state = "left"
        return True


class Acquiring(Releasing):
    """Acquire, waiters and their timeouts, health checks on the way out."""

    def connection(self, *, timeout: float | None = None) -> Lease:
        """``async with pool.connection() as conn:`` borrows a connection for the block."""
        return Lease(self, timeout)

    async def acquire(self, *, timeout: float | None = None) -> PooledConnection:
        """Borrow a connection; give it back with :meth:`release`.

        :raises PoolTimeout: none became free within ``timeout`` (default ``acquire_timeout``).
        :raises TooManyRequests: ``max_waiting`` callers already wait.
        :raises PoolClosed: the pool is closed.
        :raises OperationalError: the database is unreachable (fails fast while it is down).
        """
        slot = await self._acquire_slot(timeout)
        return PooledConnection(slot.conn, self)

    async def _acquire_slot(self, timeout: float | None) -> Slot:
        if self._state != "open":
            raise PoolClosed(
                "the pool is closed"
                if self._state != "new"
                else "the pool is not open: await pool.open() first"
            )
        if timeout is not None:
            check_timeout("timeout", timeout, zero_ok=True)
        self._counters["requests"] += 1
        start = time.monotonic()
        while True:
            # Either way the slot comes back already counted in _in_use.
            slot = self._take_idle()
            if slot is None:
                # Handed over by a release, a reset or a new connection: just used, no ping.
                slot = await self._wait_for_slot(
                    self.acquire_timeout if timeout is None else timeout
                )
                break
            if not self._ping_due(slot) or await self._usable(slot):
                break
        slot.uses += 1
        slot.acquired = now = time.monotonic()
        self._record(self._wait_hist, now - start)
        if self._observers:
            self._notify("acquired", now - start)
        return slot

    def _ping_due(self, slot: Slot) -> bool:
        """Idle longer than ``health_check``, or possibly dead with its siblings."""
        if slot.last_used < self._suspect_before:
            return True
        return self.health_check is not None and (
            time.monotonic() - slot.last_used > self.health_check
        )

    def _take_idle(self) -> Slot | None:
        now = time.monotonic()
        while self._idle:
            slot = self._idle.pop()
            if slot.has_expired(now, self._generation, self.max_queries) or slot.conn.broken:
                self._discard(slot)
                continue
            self._in_use[slot.conn] = slot
            return slot
        return None

    async def _usable(self, slot: Slot) -> bool:
        """Ping a connection whose check is due (see :meth:`_ping_due`)."""
        self._counters["health_checks"] += 1
        try:
            await slot.conn.ping(timeout=max(self.reap_timeout, 1.0))
            self._last_connect_error = None
            return True
        except Error as exc:
            self._counters["health_checks_failed"] += 1
            if exc.is_disconnect:
                self._counters["connections_lost"] += 1
            logger.info("health check failed, replacing connection: %s", exc)
        except BaseException:
            if self._in_use.pop(slot.conn, None) is not None:
                self._discard(slot)  # cancelled mid-ping: its state is unknown
            raise
        if self._in_use.pop(slot.conn, None) is not None:
            self._discard(slot)
            self._grow()
        return False

    def _wait_for_slot(self, timeout: float | None) -> Coroutine[Any, Any, Slot]:
        """Join the queue of waiters (a plain function returning the wait: one frame less)."""
        if self.max_waiting and len(self._waiters) >= self.max_waiting:
            self._counters["requests_rejected"] += 1
            raise TooManyRequests(
                f"{len(self._waiters)} requests already wait for a connection (max_waiting)"
            )
        if self._last_connect_error is not None:
            # The database is unreachable: fail now; the pool keeps trying in the background.
            self._grow()
            raise self._unreachable_error()
        self._counters["requests_waited"] += 1
        if self._loop is not None:
            return self._wait_asyncio(timeout)
        return self._wait_trio(timeout)

    async def _wait_asyncio(self, timeout: float | None) -> Slot:
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        start = loop.time()
        if timeout is None:
            waiter = Waiter(fut)
        else:
            waiter = Waiter(fut, deadline := start + timeout)
            if self._timer is None or deadline < self._timer_at:
                self._arm_timer(deadline)
        self._waiters.append(waiter)
        self._grow()
        try:
            await fut
        except BaseException:
            self._abandon(waiter)
            raise
        finally:
            self._counters["wait_time_total"] += loop.time() - start
        return self._outcome(waiter, timeout)

    def _arm_timer(self, deadline: float) -> None:
        """(Re)arm the one acquire-timeout timer for ``deadline`` (asyncio): a timer per waiter
        would cost a heap push and a cancel on every acquire that waits."""
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._expire_waiters)

    def _expire_waiters(self) -> None:
        """The timer fired: expire the waiters whose deadline passed, re-arm for the next."""
        assert self._loop is not None
        self._timer = None
        # Loops may run a timer a little early (clock resolution, uvloop's whole milliseconds):
        # the deadline it was armed for counts as reached.
        now = max(self._loop.time(), self._timer_at)
        upcoming: float | None = None
        for waiter in self._waiters:
            deadline = waiter.deadline
            if deadline is None or waiter.state != "waiting":
                continue
            if deadline <= now:
                waiter.expire()
            elif upcoming is None or deadline < upcoming:
                upcoming = deadline
        if upcoming is not None:
            self._arm_timer(upcoming)

    async def _wait_trio(self, timeout: float | None) -> Slot:
        waiter = Waiter(None)
        self._waiters.append(waiter)
        self._grow()
        assert waiter.event is not None
        start = time.monotonic()
        try:
            with anyio.move_on_after(timeout):
                await waiter.event.wait()
            waiter.expire()
        except BaseException:
            self._abandon(waiter)
            raise
        finally:
            self._counters["wait_time_total"] += time.monotonic() - start
        return self._outcome(waiter, timeout)

    def _abandon(self, waiter: Waiter) -> None:
        """The waiting caller was cancelled: leave the queue, passing on a connection that was
        handed over at that very moment."""
        handed = waiter.conn
        if (
            not waiter.leave()
            and handed is not None
            and self._in_use.pop(handed.conn, None) is not None
        ):
            self._put_back(handed)
        self._forget(waiter)

    def _forget(self, waiter: Waiter) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def _outcome(self, waiter: Waiter, timeout: float | None) -> Slot:
        if waiter.state == "served":
            assert waiter.conn is not None
            return waiter.conn
        self._forget(waiter)
        if waiter.state == "expired":
            self._counters["acquire_timeouts"] += 1
            if self._observers:
                self._notify("timed_out")
            raise PoolTimeout(
                f"no connection available within {timeout:g} s "
                f"(max_size={self.max_size}, {len(self._in_use)} in use)"
            )
        assert waiter.error is not None
        raise waiter.error
