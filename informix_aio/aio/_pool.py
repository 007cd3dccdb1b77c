"""The connection pool.

State lives in one place: ``_idle`` (a stack, most recently used on top, so the bottom ages
and shrinks away), ``_in_use`` (leased connections), ``_waiters`` (a FIFO of callers), and
counters of connections being opened or reaped. Every slot is counted until its worker thread
is free again, so neither connections nor threads ever exceed ``max_size``.

Releasing never waits: a clean connection goes straight to the first waiter that can still
accept it (psycopg_pool's rule: a waiter that timed out or was cancelled refuses it), or back
to the idle stack. A connection that needs work first (its statement was cancelled and is
still being reaped, it is in a transaction, it is broken or expired) is handled by a
background task that keeps its slot until the work is done, so cancellation of the releasing
task can never leave a connection half-returned.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import anyio

from .._options import ConnectOptions, build_options
from ..errors import Error, InterfaceError, PoolClosed, PoolTimeout, TooManyRequests
from ._compat import BackgroundTasks
from ._connection import AsyncConnection
from ._pooled import PooledConnection

__all__ = ["Pool", "PoolStats", "create_pool"]

logger = logging.getLogger(__name__)

Hook = Callable[[PooledConnection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of the pool (``pool.stats()``)."""

    min_size: int
    max_size: int
    size: int  #: connections holding a slot: idle + in use + opening + reaping
    idle: int
    in_use: int
    opening: int
    reaping: int
    waiting: int
    requests: int  #: acquisitions served
    requests_waited: int  #: of which had to wait
    wait_time_total: float  #: seconds spent waiting, summed
    acquire_timeouts: int
    requests_rejected: int  #: TooManyRequests
    connections_opened: int
    connections_closed: int
    connections_failed: int  #: connect attempts that failed
    connections_lost: int  #: found disconnected (in use, or by a health check)
    broken_on_return: int  #: released broken or in an unknown state
    reaped_after_cancel: int  #: released while a cancelled statement was still running
    health_checks: int
    health_checks_failed: int


class _Waiter:
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
        self.conn: _Slot | None = None
        self.error: BaseException | None = None

    def _wake(self) -> None:
        if self.fut is not None:
            if not self.fut.done():
                self.fut.set_result(None)
        elif self.event is not None:
            self.event.set()

    def accept(self, slot: _Slot) -> bool:
        if self.state != "waiting":
            return False
        self.state, self.conn = "served", slot
        self._wake()
        return True

    def reject(self, error: BaseException) -> bool:
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


class _Slot:
    """A pooled connection and its bookkeeping."""

    __slots__ = ("conn", "created", "expires", "generation", "last_used", "uses")

    def __init__(self, conn: AsyncConnection, generation: int, lifetime: float | None) -> None:
        now = time.monotonic()
        self.conn = conn
        self.created = self.last_used = now
        # Jitter spreads the replacements of connections opened together.
        self.expires = None if lifetime is None else now + lifetime * random.uniform(0.9, 1.0)
        self.generation = generation
        self.uses = 0

    def has_expired(self, now: float, generation: int, max_queries: int | None) -> bool:
        return (
            self.generation != generation
            or (self.expires is not None and now >= self.expires)
            or (max_queries is not None and self.uses >= max_queries)
        )


def create_pool(**options: Any) -> Pool:
    """A new pool (see :class:`Pool` for the options); no I/O until it is awaited or entered.

    ``pool = await aio.create_pool(...)`` opens it; so does ``async with aio.create_pool(...)
    as pool:``, which also closes it.
    """
    return Pool(**options)


class Pool:
    """A pool of :class:`AsyncConnection`, each with its own worker thread.

    :param min_size: connections kept open (opened by :meth:`open`, refilled in the background).
    :param max_size: the most connections (and worker threads) at once, reaping included.
    :param acquire_timeout: default seconds to wait for a connection (``PoolTimeout``).
    :param max_waiting: callers allowed to wait at once; beyond it ``TooManyRequests``. 0 = no cap.
    :param max_lifetime: seconds before a connection is replaced (jittered by up to 10%).
    :param max_idle: seconds an idle connection above ``min_size`` lives.
    :param max_queries: acquisitions before a connection is replaced.
    :param health_check: ping (the dialect's liveness query) a connection idle longer than
        this many seconds before handing it out; ``None`` disables it.
    :param setup: ``async def setup(conn)``, run once on every new connection.
    :param reset: ``async def reset(conn)``, run on release (after the built-in rollback).
    :param reap_timeout: seconds to wait for a cancelled statement to stop before the
        connection is closed and replaced instead.
    :param reconnect_initial, reconnect_max: backoff between failed connection attempts.
    :param command_timeout: default statement timeout of the pool's connections.
    :param autocommit: connections run in autocommit mode outside ``transaction()`` blocks
        (default), or DB-API style with implicit transactions rolled back on release.
    Other keyword arguments are connection options (see :func:`informix_aio.connect`).
    """

    def __init__(
        self,
        *,
        min_size: int = 2,
        max_size: int = 20,
        acquire_timeout: float | None = 30.0,
        max_waiting: int = 0,
        max_lifetime: float | None = 3600.0,
        max_idle: float | None = 600.0,
        max_queries: int | None = None,
        health_check: float | None = 30.0,
        setup: Hook | None = None,
        reset: Hook | None = None,
        reap_timeout: float = 5.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        command_timeout: float | None = None,
        autocommit: bool = True,
        **connect_options: Any,
    ) -> None:
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        for name, value in (
            ("acquire_timeout", acquire_timeout),
            ("max_lifetime", max_lifetime),
            ("max_idle", max_idle),
            ("health_check", health_check),
            ("command_timeout", command_timeout),
        ):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")
        if max_waiting < 0 or (max_queries is not None and max_queries < 1):
            raise ValueError("max_waiting must be >= 0 and max_queries >= 1")
        if reap_timeout <= 0 or reconnect_initial <= 0 or reconnect_max < reconnect_initial:
            raise ValueError("need reap_timeout > 0 and 0 < reconnect_initial <= reconnect_max")
        self._options: ConnectOptions = build_options(autocommit=autocommit, **connect_options)
        self.min_size, self.max_size = min_size, max_size
        self.acquire_timeout, self.max_waiting = acquire_timeout, max_waiting
        self.max_lifetime, self.max_idle, self.max_queries = max_lifetime, max_idle, max_queries
        self.health_check, self.reap_timeout = health_check, reap_timeout
        self.reconnect_initial, self.reconnect_max = reconnect_initial, reconnect_max
        self.command_timeout = command_timeout
        self._setup, self._reset = setup, reset
        # -- the state (see the module docstring) --
        self._idle: deque[_Slot] = deque()
        self._in_use: dict[AsyncConnection, _Slot] = {}
        self._waiters: deque[_Waiter] = deque()
        self._opening = 0
        self._reaping = 0
        self._generation = 0
        self._suspect_before = 0.0  # idle connections last used before this get pinged
        self._backoff = 0.0
        self._last_connect_error: BaseException | None = None
        self._state = "new"
        self._tasks: BackgroundTasks | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # One timer for every waiter's acquire timeout, armed for the earliest deadline.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._counters: dict[str, float] = dict.fromkeys(
            (
                "requests",
                "requests_waited",
                "wait_time_total",
                "acquire_timeouts",
                "requests_rejected",
                "connections_opened",
                "connections_closed",
                "connections_failed",
                "connections_lost",
                "broken_on_return",
                "reaped_after_cancel",
                "health_checks",
                "health_checks_failed",
            ),
            0,
        )

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self, *, wait: bool = True) -> None:
        """Open ``min_size`` connections (waiting for them unless ``wait=False``).

        :raises OperationalError: with ``wait=True``, when the first connection cannot be made.
        """
        if self._state == "open":
            return
        if self._state != "new":
            raise PoolClosed("the pool is closed")
        self._tasks = BackgroundTasks()
        self._loop = asyncio.get_running_loop() if self._tasks.backend == "asyncio" else None
        self._state = "open"
        if wait and self.min_size:
            try:
                await self._open_slots(self.min_size)
            except BaseException:
                await self.close()
                raise
        self._grow()
        self._tasks.spawn(self._maintain)

    async def _open_slots(self, n: int) -> None:
        self._opening += n
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(self._open_one_strict)

    async def _open_one_strict(self) -> None:
        try:
            slot = await self._connect()
        except BaseException:
            self._opening -= 1
            raise
        self._opening -= 1
        self._put_back(slot)

    async def close(self, *, timeout: float = 10.0) -> None:
        """Stop handing out connections, wait up to ``timeout`` s for borrowed ones, then
        terminate the rest. Idempotent."""
        if self._state in ("closing", "closed"):
            return
        self._state = "closing"
        for w in list(self._waiters):
            w.reject(PoolClosed("the pool is closing"))
        self._waiters.clear()
        with anyio.CancelScope(shield=True):
            while self._idle:
                await self._close_slot(self._idle.pop())
            with anyio.move_on_after(timeout):
                # Polled: close() is rare, and no single event covers all three counts.
                while self._in_use or self._reaping or self._opening:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            self.terminate()
            if self._tasks is not None:
                self._tasks.cancel_all()
                with anyio.move_on_after(max(timeout, self.reap_timeout)):
                    await self._tasks.wait()
        self._state = "closed"

    def terminate(self) -> None:
        """Close every connection at once, borrowed ones included (their users get errors)."""
        if self._state not in ("closing", "closed"):
            self._state = "closing"
            for w in list(self._waiters):
                w.reject(PoolClosed("the pool was terminated"))
            self._waiters.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for slot in list(self._idle) + list(self._in_use.values()):
            slot.conn.terminate()
            self._counters["connections_closed"] += 1
        self._idle.clear()
        self._in_use.clear()
        if self._tasks is not None:
            self._tasks.cancel_all()
        self._state = "closed"

    async def __aenter__(self) -> Pool:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __await__(self) -> Generator[Any, None, Pool]:
        """``pool = await aio.create_pool(...)`` opens the pool and returns it."""
        return self._opened().__await__()

    async def _opened(self) -> Pool:
        await self.open()
        return self

    def __del__(self) -> None:
        if getattr(self, "_state", "closed") == "open":
            import warnings

            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)

    # -- acquire / release -------------------------------------------------------------------
    def connection(self, *, timeout: float | None = None) -> _Lease:
        """``async with pool.connection() as conn:`` borrows a connection for the block."""
        return _Lease(self, timeout)

    async def acquire(self, *, timeout: float | None = None) -> PooledConnection:
        """Borrow a connection; give it back with :meth:`release`.

        :raises PoolTimeout: none became free within ``timeout`` (default ``acquire_timeout``).
        :raises TooManyRequests: ``max_waiting`` callers already wait.
        :raises PoolClosed: the pool is closed.
        :raises OperationalError: the database is unreachable (fails fast while it is down).
        """
        slot = await self._acquire_slot(timeout)
        return PooledConnection(slot.conn, self)

    async def _acquire_slot(self, timeout: float | None) -> _Slot:
        if self._state != "open":
            raise PoolClosed(
                "the pool is closed"
                if self._state != "new"
                else "the pool is not open: await pool.open() first"
            )
        self._counters["requests"] += 1
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
        return slot

    def _ping_due(self, slot: _Slot) -> bool:
        """Idle longer than ``health_check``, or possibly dead with its siblings."""
        if slot.last_used < self._suspect_before:
            return True
        return self.health_check is not None and (
            time.monotonic() - slot.last_used > self.health_check
        )

    def _take_idle(self) -> _Slot | None:
        now = time.monotonic()
        while self._idle:
            slot = self._idle.pop()
            if slot.has_expired(now, self._generation, self.max_queries) or slot.conn.broken:
                self._discard(slot)
                continue
            self._in_use[slot.conn] = slot
            return slot
        return None

    async def _usable(self, slot: _Slot) -> bool:
        """Ping a connection whose check is due (see :meth:`_ping_due`)."""
        self._counters["health_checks"] += 1
        try:
            await slot.conn.ping(timeout=max(self.reap_timeout, 1.0))
            return True
        except Error as exc:
            self._counters["health_checks_failed"] += 1
            if exc.is_disconnect:
                self._counters["connections_lost"] += 1
            logger.info("health check failed, replacing connection: %s", exc)
        except BaseException:
            self._in_use.pop(slot.conn, None)
            self._discard(slot)  # cancelled mid-ping: its state is unknown
            raise
        self._in_use.pop(slot.conn, None)
        self._discard(slot)
        self._grow()
        return False

    def _wait_for_slot(self, timeout: float | None) -> Coroutine[Any, Any, _Slot]:
        """Join the queue of waiters (a plain function returning the wait: one frame less)."""
        if self.max_waiting and len(self._waiters) >= self.max_waiting:
            self._counters["requests_rejected"] += 1
            raise TooManyRequests(
                f"{len(self._waiters)} requests already wait for a connection (max_waiting)"
            )
        if self._last_connect_error is not None and not self._in_use and not self._opening:
            # The database is unreachable and nothing will come back soon: fail fast.
            self._grow()
            raise self._unreachable_error()
        self._counters["requests_waited"] += 1
        if self._loop is not None:
            return self._wait_asyncio(timeout)
        return self._wait_trio(timeout)

    async def _wait_asyncio(self, timeout: float | None) -> _Slot:
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        start = loop.time()
        if timeout is None:
            waiter = _Waiter(fut)
        else:
            waiter = _Waiter(fut, deadline := start + timeout)
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

    async def _wait_trio(self, timeout: float | None) -> _Slot:
        waiter = _Waiter(None)
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

    def _abandon(self, waiter: _Waiter) -> None:
        """The waiting caller was cancelled: leave the queue, passing on a connection that was
        handed over at that very moment."""
        if not waiter.leave() and waiter.conn is not None:
            self._in_use.pop(waiter.conn.conn, None)
            self._put_back(waiter.conn)
        self._forget(waiter)

    def _forget(self, waiter: _Waiter) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def _outcome(self, waiter: _Waiter, timeout: float | None) -> _Slot:
        if waiter.state == "served":
            assert waiter.conn is not None
            return waiter.conn
        self._forget(waiter)
        if waiter.state == "expired":
            self._counters["acquire_timeouts"] += 1
            raise PoolTimeout(
                f"no connection available within {timeout:g} s "
                f"(max_size={self.max_size}, {len(self._in_use)} in use)"
            )
        assert waiter.error is not None
        raise waiter.error

    def _unreachable_error(self) -> Error:
        err = self._last_connect_error
        if isinstance(err, Error):
            new = type(err)(
                err.message, sqlstate=err.sqlstate, native_code=err.native_code, is_disconnect=True
            )
            new.__cause__ = err
            return new
        return InterfaceError(f"cannot connect: {err!r}")

    async def release(self, conn: PooledConnection | AsyncConnection) -> None:
        """Give a borrowed connection back. Never waits and cannot be interrupted."""
        self.release_nowait(conn)

    def release_nowait(self, conn: PooledConnection | AsyncConnection) -> None:
        """:meth:`release` without the ``await``."""
        raw = conn.detach() if isinstance(conn, PooledConnection) else conn
        if raw is None:
            return  # already released
        slot = self._in_use.pop(raw, None)
        if slot is None:
            raise InterfaceError("this connection does not belong to the pool, or was released")
        self._returned(slot)

    def _release_slot(self, slot: _Slot) -> None:
        """Release for the shortcuts, which hold the slot itself."""
        if self._in_use.pop(slot.conn, None) is not None:  # else: terminated meanwhile
            self._returned(slot)

    def _returned(self, slot: _Slot) -> None:
        """A slot just taken out of ``_in_use``: put it back, or have it reset or replaced."""
        raw = slot.conn
        raw.end_lease()
        slot.last_used = now = time.monotonic()
        # The common case first, in plain attribute reads: clean, unexpired, no reset hook.
        if (
            raw.is_clean
            and self._state == "open"
            and self._reset is None
            and slot.generation == self._generation
            and (slot.expires is None or now < slot.expires)
            and (self.max_queries is None or slot.uses < self.max_queries)
        ):
            self._put_back(slot)
            return
        if self._state != "open" or raw.closed:
            self._close_now(slot)
            return
        if raw.broken:
            self._counters["broken_on_return"] += 1
            self._counters["connections_lost"] += 1
            self._suspect_before = time.monotonic()
            self._discard(slot)
            self._grow()
            return
        if raw.cancel_pending:
            self._counters["reaped_after_cancel"] += 1
            self._reaping += 1
            self._spawn(self._reset_and_return, slot)
            return
        if slot.has_expired(slot.last_used, self._generation, self.max_queries):
            self._discard(slot)
            self._grow()
            return
        # In a transaction, DB-API mode, a reset hook, or jobs still queued (closes of leaked
        # cursors, work of the borrower's other tasks): reset behind them, then hand it out.
        if not raw.is_clean or self._reset is not None:
            self._reaping += 1
            self._spawn(self._reset_and_return, slot)
            return
        self._put_back(slot)

    def _put_back(self, slot: _Slot) -> None:
        """A clean connection: to the first waiter still waiting, else onto the idle stack."""
        if self._state != "open":
            self._close_now(slot)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.accept(slot):
                # Counted as in use from now on: the waiter may resume much later.
                self._in_use[slot.conn] = slot
                slot.last_used = time.monotonic()
                return
        self._idle.append(slot)

    # -- background work -----------------------------------------------------------------------
    def _spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        assert self._tasks is not None
        self._tasks.spawn(fn, *args)

    async def _reset_and_return(self, slot: _Slot) -> None:
        """The one path for a connection that needs work before its next user (a cancelled
        statement still stopping, jobs still queued, a transaction, DB-API mode, a reset hook):
        wait for its worker within ``reap_timeout``, roll back, run the hook, hand it on; or,
        if any of that fails or takes too long, close and replace it. The caller counted the
        slot in ``_reaping``; a replaced connection keeps it until its thread is free."""
        conn = slot.conn
        ok = False
        try:
            with anyio.move_on_after(self.reap_timeout):
                # Unshielded, so the deadline holds even when the worker is stuck.
                await conn.wait_idle()
                await conn.reset()
                if self._reset is not None:
                    proxy = PooledConnection(conn, self)
                    try:
                        await self._reset(proxy)
                    finally:
                        proxy.detach()
                ok = not conn.broken
        except Exception as exc:
            logger.warning("reset on release failed, replacing the connection: %r", exc)
        finally:
            self._reaping -= 1
        if ok:
            self._put_back(slot)
            return
        logger.warning("connection not clean within reap_timeout: replacing it")
        self._counters["broken_on_return"] += 1
        self._discard(slot)
        self._grow()

    def _discard(self, slot: _Slot) -> None:
        """Close a connection in the background, keeping its slot until its thread is free."""
        self._reaping += 1
        self._spawn(self._close_and_free, slot)

    async def _close_and_free(self, slot: _Slot) -> None:
        try:
            await self._close_slot(slot)
        finally:
            self._reaping -= 1
            self._grow()

    async def _close_slot(self, slot: _Slot) -> None:
        self._counters["connections_closed"] += 1
        with anyio.CancelScope(shield=True):
            try:
                await slot.conn.close()
            except Exception as exc:
                logger.debug("error closing a pooled connection: %r", exc)

    def _close_now(self, slot: _Slot) -> None:
        self._counters["connections_closed"] += 1
        slot.conn.terminate()

    def _grow(self) -> None:
        """Open connections for waiters and up to ``min_size``, within ``max_size``."""
        if self._state != "open" or self._tasks is None:
            return
        size = len(self._idle) + len(self._in_use) + self._opening + self._reaping
        if size >= self.max_size:
            return
        wanted = max(self.min_size - size, len(self._waiters) - self._opening)
        room = self.max_size - size
        for _ in range(max(0, min(wanted, room))):
            self._opening += 1
            self._spawn(self._open_one)

    async def _connect(self) -> _Slot:
        conn = await AsyncConnection.open(self._options, command_timeout=self.command_timeout)
        try:
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
        self._last_connect_error = None
        self._backoff = 0.0
        return _Slot(conn, self._generation, self.max_lifetime)

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
            # Fail one waiter fast with the real cause rather than letting it time out.
            while self._waiters:
                if self._waiters.popleft().reject(self._unreachable_error()):
                    break
            if self._state == "open" and (self._waiters or self._size() < self.min_size):
                self._grow()
            return
        except BaseException:
            self._opening -= 1
            raise
        self._opening -= 1
        self._put_back(slot)

    def _size(self) -> int:
        return len(self._idle) + len(self._in_use) + self._opening + self._reaping

    async def _maintain(self) -> None:
        """Once a second: shrink idle connections beyond min_size, replace expired ones."""
        while self._state == "open":
            await anyio.sleep(1.0)
            now = time.monotonic()
            keep: deque[_Slot] = deque()
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

    # -- administration ------------------------------------------------------------------------
    def expire_connections(self) -> None:
        """Replace every connection: idle ones now, borrowed ones when they are released."""
        self._generation += 1
        while self._idle:
            self._discard(self._idle.pop())
        self._grow()

    def resize(self, min_size: int, max_size: int) -> None:
        """Change the bounds; extra idle connections close, missing ones open."""
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        self.min_size, self.max_size = min_size, max_size
        while self._idle and self._size() > max_size:
            self._discard(self._idle.popleft())  # its slot stays counted until it is closed
        self._grow()

    def stats(self) -> PoolStats:
        """A consistent snapshot of the pool's state and counters."""
        c = self._counters
        return PoolStats(
            min_size=self.min_size,
            max_size=self.max_size,
            size=self._size(),
            idle=len(self._idle),
            in_use=len(self._in_use),
            opening=self._opening,
            reaping=self._reaping,
            waiting=len(self._waiters),
            requests=int(c["requests"]),
            requests_waited=int(c["requests_waited"]),
            wait_time_total=c["wait_time_total"],
            acquire_timeouts=int(c["acquire_timeouts"]),
            requests_rejected=int(c["requests_rejected"]),
            connections_opened=int(c["connections_opened"]),
            connections_closed=int(c["connections_closed"]),
            connections_failed=int(c["connections_failed"]),
            connections_lost=int(c["connections_lost"]),
            broken_on_return=int(c["broken_on_return"]),
            reaped_after_cancel=int(c["reaped_after_cancel"]),
            health_checks=int(c["health_checks"]),
            health_checks_failed=int(c["health_checks_failed"]),
        )

    @property
    def closed(self) -> bool:
        """True once the pool is closing or closed."""
        return self._state in ("closing", "closed")

    def __repr__(self) -> str:
        return (
            f"<Pool {self._state} | Requests: {len(self._in_use)} active, "
            f"{len(self._waiters)} queued | Connections: {len(self._in_use)} active, "
            f"{len(self._idle)} idle, {self._opening} opening, {self._reaping} reaping "
            f"(max {self.max_size})>"
        )

    # -- one-round-trip shortcuts --------------------------------------------------------------
    # Acquire, run, release, without the lease object and the proxy that ``connection()`` adds
    # for code that holds the connection: nobody else can reach the connection meanwhile.
    # Written out five times on purpose: one shared helper (a coroutine taking the method)
    # measured slower on this hot path (scenario 2, shortcut: ~14k against ~17k queries/s).
    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> int:
        """Acquire, run one statement, release; return its row count."""
        slot = await self._acquire_slot(None)
        try:
            return await slot.conn.execute(sql, params, timeout=timeout)
        finally:
            self._release_slot(slot)

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Acquire, run ``sql`` per parameter set (atomically), release."""
        slot = await self._acquire_slot(None)
        try:
            await slot.conn.executemany(sql, seq_of_params, timeout=timeout)
        finally:
            self._release_slot(slot)

    async def fetch(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: Any = None,
    ) -> list[Any]:
        """Acquire, fetch all rows, release."""
        slot = await self._acquire_slot(None)
        try:
            return await slot.conn.fetch(sql, params, timeout=timeout, row_factory=row_factory)
        finally:
            self._release_slot(slot)

    async def fetchrow(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: Any = None,
    ) -> Any:
        """Acquire, fetch the first row, release."""
        slot = await self._acquire_slot(None)
        try:
            return await slot.conn.fetchrow(sql, params, timeout=timeout, row_factory=row_factory)
        finally:
            self._release_slot(slot)

    async def fetchval(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        column: int = 0,
        timeout: float | None = None,
    ) -> Any:
        """Acquire, fetch one value, release."""
        slot = await self._acquire_slot(None)
        try:
            return await slot.conn.fetchval(sql, params, column=column, timeout=timeout)
        finally:
            self._release_slot(slot)


class _Lease:
    """``async with pool.connection() as conn``."""

    __slots__ = ("_conn", "_pool", "_slot", "_timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self._pool, self._timeout = pool, timeout
        self._conn: PooledConnection | None = None
        self._slot: _Slot | None = None

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
