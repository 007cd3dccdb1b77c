"""The connection pool's public face: options, life cycle and the one-round-trip shortcuts.

Its state and the paths that change it are layered beneath it, one module each:
:mod:`._pool_state` (the state), :mod:`._pool_maintain` (opening, closing, housekeeping),
:mod:`._pool_release` (release and reset) and :mod:`._pool_acquire` (acquire and waiters).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
import weakref
from collections.abc import Callable, Generator, Sequence
from typing import Any

import anyio

from .._options import build_options
from .._validate import check_count, check_timeout
from ..errors import PoolClosed
from ..hooks import QueryLogger, SlowQueryLog
from ._compat import BackgroundTasks
from ._pool_acquire import Acquiring
from ._pool_maintain import housekeeping
from ._pool_state import Hook, PoolObserver, PoolStats

__all__ = ["Pool", "PoolStats", "create_pool", "live_pools"]

logger = logging.getLogger(__name__)


_live_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def live_pools() -> list[Pool]:
    """Every pool not yet garbage-collected (for metrics that observe all of them)."""
    return list(_live_pools)


def create_pool(**options: Any) -> Pool:
    """A new pool (see :class:`Pool` for the options); no I/O until it is awaited or entered.

    ``pool = await aio.create_pool(...)`` opens it; so does ``async with aio.create_pool(...)
    as pool:``, which also closes it.
    """
    return Pool(**options)


class Pool(Acquiring):
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
    :param connect_options: a callable (sync or async) returning a dict of connection options
        for each new connection, read when it opens and never kept by the pool (a password
        from a vault, a rotated secret); it overrides the static options given here. Existing
        connections live out their ``max_lifetime``; :meth:`expire_connections` forces the
        change. Its errors count as connection failures (backoff, fail fast).
    :param slow_query: log statements slower than this many seconds at WARNING (their SQL and
        duration; see :class:`informix_aio.hooks.SlowQueryLog`).
    :param name: the pool's name in metrics (``db.client.connection.pool.name``) and reprs.
    :raises ValueError: an option out of range (each is checked here, once, by the same
        functions the connections use).
    :raises InterfaceError: bad connection options.
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
        connect_options: Callable[[], Any] | None = None,
        slow_query: float | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        check_count("min_size", min_size, minimum=0)
        check_count("max_size", max_size, minimum=1)
        if min_size > max_size:
            raise ValueError(f"min_size ({min_size}) must be <= max_size ({max_size})")
        check_count("max_waiting", max_waiting, minimum=0)
        check_count("max_queries", max_queries, minimum=1, none_ok=True)
        check_timeout("acquire_timeout", acquire_timeout, zero_ok=True)
        check_timeout("max_lifetime", max_lifetime)
        check_timeout("max_idle", max_idle, zero_ok=True)
        check_timeout("health_check", health_check, zero_ok=True)
        check_timeout("command_timeout", command_timeout)  # what every connection checks
        check_timeout("reap_timeout", reap_timeout)
        check_timeout("reconnect_initial", reconnect_initial)
        check_timeout("reconnect_max", reconnect_max)
        if reconnect_max < reconnect_initial:
            raise ValueError("reconnect_max must be >= reconnect_initial")
        check_timeout("slow_query", slow_query, zero_ok=True)
        if connect_options is not None and not callable(connect_options):
            raise TypeError("connect_options must be a callable returning a dict of options")
        self._static_options = {"autocommit": autocommit, **options}
        self._options_fn = connect_options
        # Built now (no I/O) so that bad static options fail here; with a callable, the static
        # part alone may name no target yet, and each connection builds its own.
        self._options = None if connect_options else build_options(**self._static_options)
        self.min_size, self.max_size = min_size, max_size
        self.acquire_timeout, self.max_waiting = acquire_timeout, max_waiting
        self.max_lifetime, self.max_idle, self.max_queries = max_lifetime, max_idle, max_queries
        self.health_check, self.reap_timeout = health_check, reap_timeout
        self.reconnect_initial, self.reconnect_max = reconnect_initial, reconnect_max
        self.command_timeout = command_timeout
        self._setup, self._reset = setup, reset
        self.name = name
        self._init_state()
        _live_pools.add(self)
        self._query_loggers = []
        self._converters = {}
        self._adapters = {}
        if slow_query is not None:
            self.add_query_logger(SlowQueryLog(slow_query))

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self, *, wait: bool = True) -> None:
        """Open ``min_size`` connections (waiting for them unless ``wait=False``).

        :raises OperationalError: with ``wait=True``, the first connect error when the
            database cannot be reached (``InterfaceError`` for a driver that is missing).
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
        self._tasks.spawn(housekeeping, weakref.ref(self))

    async def close(self, *, timeout: float = 10.0) -> None:
        """Stop handing out connections, wait up to ``timeout`` s for borrowed ones, then
        terminate the rest (their statements are cancelled). Every connection the pool owns
        is closed, whatever it was doing. Idempotent."""
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
                with anyio.move_on_after(max(timeout, self.reap_timeout)):
                    await self._tasks.wait()
        self._state = "closed"

    def terminate(self) -> None:
        """Close every connection at once, borrowed ones included: a statement that runs is
        cancelled in the driver, and its caller (and any later call on a borrowed connection)
        gets :class:`PoolClosed` at once."""
        if self._state not in ("closing", "closed"):
            self._state = "closing"
        for w in list(self._waiters):
            w.reject(PoolClosed("the pool was terminated"))
        self._waiters.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for slot in self._owned():
            self._close_now(slot, PoolClosed("the pool was closed while this connection was busy"))
        self._idle.clear()
        self._in_use.clear()
        self._reaping.clear()
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
        if getattr(self, "_state", "closed") != "open":
            return
        warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
        # Collected while its loop runs: close what it owns (queued on each worker; no wait).
        for slot in self._owned():
            slot.conn.terminate()
        self._state = "closed"

    @property
    def closed(self) -> bool:
        """True once the pool is closing or closed."""
        return self._state in ("closing", "closed")

    def stats(self) -> PoolStats:
        """A consistent snapshot of the pool's state and counters."""
        return super().stats()

    def add_observer(self, observer: PoolObserver) -> None:
        """Tell ``observer`` about this pool's events (see :class:`PoolObserver`)."""
        if observer not in self._observers:
            self._observers = (*self._observers, observer)

    def remove_observer(self, observer: PoolObserver) -> None:
        """Stop telling ``observer``."""
        self._observers = tuple(o for o in self._observers if o is not observer)

    # -- hooks, converters, adapters: every connection, present and future -------------------
    def add_query_logger(self, fn: QueryLogger, *, params: bool = False) -> None:
        """Call ``fn(record)`` after every statement on every connection of the pool, in the
        caller's task (see :mod:`informix_aio.hooks`).

        :param params: show ``fn`` the parameters themselves (default: only their types).
        """
        self._query_loggers = [(f, p) for f, p in self._query_loggers if f is not fn]
        self._query_loggers.append((fn, params))
        for slot in self._owned():
            slot.conn.add_query_logger(fn, params=params)

    def remove_query_logger(self, fn: QueryLogger) -> None:
        """Stop calling ``fn``."""
        self._query_loggers = [(f, p) for f, p in self._query_loggers if f is not fn]
        for slot in self._owned():
            slot.conn.remove_query_logger(fn)

    def add_output_converter(self, sql_type: int, fn: Callable[[Any], Any]) -> None:
        """pyodbc's output converter for ``sql_type`` on every connection (queued on each
        connection's worker, so it applies from that connection's next statement on).

        :param fn: receives the column's raw bytes (``SQL_C_BINARY``), never ``None``.
        """
        self._converters[sql_type] = fn
        for slot in self._owned():
            conn = slot.conn
            if not conn.closed:
                conn._worker.submit(conn.sync_connection.add_output_converter, sql_type, fn)

    def register_adapter(self, py_type: type, fn: Callable[[Any], Any] | None) -> None:
        """Bind parameters of exactly ``py_type`` as ``fn(value)`` on every connection
        (``None`` removes it)."""
        if fn is None:
            self._adapters.pop(py_type, None)
        else:
            self._adapters[py_type] = fn
        for slot in self._owned():
            slot.conn.register_adapter(py_type, fn)

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
