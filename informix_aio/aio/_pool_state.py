"""The pool's state, in one place, and the transitions every path shares.

State: ``_idle`` (a stack, most recently used on top, so the bottom ages and shrinks away),
``_in_use`` (leased connections), ``_reaping`` (connections being reset or closed: each keeps
its slot until its worker thread is free), ``_waiters`` (a FIFO of callers) and ``_opening``
(connections being opened). Every connection the pool owns is in exactly one of the three
collections, so :meth:`PoolState._owned` finds them all and ``close()`` can close every one,
whatever it is doing. The paths that change the state live in :mod:`._pool_maintain` (opening,
closing, replacing), :mod:`._pool_release` (release and reset) and :mod:`._pool_acquire`
(acquire and waiters); :class:`Pool` (:mod:`._pool`) is the public face.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .._options import ConnectOptions
from ..errors import Error, OperationalError
from ..hooks import QueryLogger
from ._compat import BackgroundTasks
from ._connection import AsyncConnection

if TYPE_CHECKING:
    from ._pool_acquire import Waiter
    from ._pooled import PooledConnection

__all__ = [
    "COUNTERS",
    "GLOBAL_OBSERVERS",
    "TIME_BUCKETS",
    "Hook",
    "PoolObserver",
    "PoolState",
    "PoolStats",
    "Slot",
]

logger = logging.getLogger(__name__)

Hook = Callable[["PooledConnection"], Awaitable[None]]

#: The pool's counters, as :class:`PoolStats` names them.
COUNTERS = (
    "requests",
    "requests_waited",
    "wait_time_total",
    "use_time_total",
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
)


#: Upper bounds (seconds) of the buckets of :attr:`PoolStats.wait_time_buckets` and
#: ``use_time_buckets``; a last bucket counts everything above the last bound.
TIME_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


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
    use_time_total: float  #: seconds connections spent lent out, summed
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
    #: How long acquisitions waited, and how long connections stayed lent out: counts per
    #: bucket of :data:`TIME_BUCKETS` (one more bucket for longer), the distributions behind
    #: the totals.
    wait_time_buckets: tuple[int, ...] = ()
    use_time_buckets: tuple[int, ...] = ()


class PoolObserver(Protocol):
    """Told about a pool's events, for metrics (``Pool.add_observer``). Each call must be quick
    and must not raise (an error is logged and ignored)."""

    def connection_created(self, pool: Any, seconds: float) -> None:
        """A new connection opened in ``seconds`` (setup hook included)."""

    def acquired(self, pool: Any, waited: float) -> None:
        """A caller got a connection after ``waited`` seconds (0 when one was idle)."""

    def released(self, pool: Any, used: float) -> None:
        """A connection came back after ``used`` seconds on loan."""

    def timed_out(self, pool: Any) -> None:
        """A caller gave up waiting (``PoolTimeout``)."""


#: Observers every pool starts with (an instrumentor registers here; see ``add_observer``).
GLOBAL_OBSERVERS: list[PoolObserver] = []


class Slot:
    """A pooled connection and its bookkeeping."""

    __slots__ = ("acquired", "conn", "created", "expires", "generation", "last_used", "uses")

    def __init__(self, conn: AsyncConnection, generation: int, lifetime: float | None) -> None:
        now = time.monotonic()
        self.conn = conn
        self.created = self.last_used = self.acquired = now
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


class PoolState:
    """The state and its shared transitions; options are set by :class:`Pool`."""

    min_size: int
    max_size: int
    acquire_timeout: float | None
    max_waiting: int
    max_lifetime: float | None
    max_idle: float | None
    max_queries: int | None
    health_check: float | None
    reap_timeout: float
    reconnect_initial: float
    reconnect_max: float
    command_timeout: float | None
    _setup: Hook | None
    _reset: Hook | None
    _options: ConnectOptions | None
    #: ``connect_options=``: called for every new connection (credential rotation), with the
    #: static options it overrides.
    _options_fn: Callable[[], Any] | None
    _static_options: dict[str, Any]
    #: Pool-wide query hooks, output converters and input adapters (every connection, present
    #: and future).
    _query_loggers: list[tuple[QueryLogger, bool]]
    _converters: dict[int, Callable[[Any], Any]]
    _adapters: dict[type, Callable[[Any], Any]]

    def _init_state(self) -> None:
        self._idle: deque[Slot] = deque()
        self._in_use: dict[AsyncConnection, Slot] = {}
        self._reaping: set[Slot] = set()
        self._waiters: deque[Waiter] = deque()
        self._opening = 0
        self._generation = 0
        self._suspect_before = 0.0  # idle connections last used before this get pinged
        self._backoff = 0.0
        #: The last connect attempt's error while no connection has proven the database
        #: reachable since (a successful connect or a clean release clears it).
        self._last_connect_error: BaseException | None = None
        self._state = "new"
        self._tasks: BackgroundTasks | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # One timer for every waiter's acquire timeout, armed for the earliest deadline.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._counters: dict[str, float] = dict.fromkeys(COUNTERS, 0)
        self._wait_hist = [0] * (len(TIME_BUCKETS) + 1)
        self._use_hist = [0] * (len(TIME_BUCKETS) + 1)
        self._observers: tuple[PoolObserver, ...] = tuple(GLOBAL_OBSERVERS)

    def _record(self, histogram: list[int], seconds: float) -> None:
        histogram[bisect.bisect_left(TIME_BUCKETS, seconds)] += 1

    def _notify(self, event: str, *args: float) -> None:
        """Tell every observer about ``event`` (their errors are logged, never raised)."""
        for observer in self._observers:
            try:
                getattr(observer, event)(self, *args)
            except Exception:
                logger.exception("pool observer %r failed on %s", observer, event)

    def _size(self) -> int:
        return len(self._idle) + len(self._in_use) + self._opening + len(self._reaping)

    def _owned(self) -> list[Slot]:
        """Every connection the pool owns, whatever it is doing."""
        return [*self._idle, *self._in_use.values(), *self._reaping]

    def _spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        assert self._tasks is not None
        self._tasks.spawn(fn, *args)

    def _put_back(self, slot: Slot) -> None:
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

    def _close_now(self, slot: Slot, error: BaseException | None = None) -> None:
        """Close without waiting (queued behind what the connection still runs)."""
        self._counters["connections_closed"] += 1
        slot.conn.terminate(error)

    def _unreachable_error(self) -> Error:
        """The error a request gets while the database cannot be reached: the last connect
        error's class (OperationalError for a refused or timed-out connect), chained."""
        err = self._last_connect_error
        if isinstance(err, Error):
            new = type(err)(
                err.message, sqlstate=err.sqlstate, native_code=err.native_code, is_disconnect=True
            )
            new.__cause__ = err
            return new
        new_err = OperationalError(f"cannot connect: {err!r}", is_disconnect=True)
        new_err.__cause__ = err
        return new_err

    def _grow(self) -> None:
        """Open connections for waiters and up to ``min_size``, within ``max_size``."""
        raise NotImplementedError  # Maintenance

    async def release(self, conn: PooledConnection | AsyncConnection) -> None:
        """Give a borrowed connection back."""
        raise NotImplementedError  # Releasing

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
            reaping=len(self._reaping),
            waiting=len(self._waiters),
            requests=int(c["requests"]),
            requests_waited=int(c["requests_waited"]),
            wait_time_total=c["wait_time_total"],
            use_time_total=c["use_time_total"],
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
            wait_time_buckets=tuple(self._wait_hist),
            use_time_buckets=tuple(self._use_hist),
        )

    def __repr__(self) -> str:
        return (
            f"<Pool {self._state} | Requests: {len(self._in_use)} active, "
            f"{len(self._waiters)} queued | Connections: {len(self._in_use)} active, "
            f"{len(self._idle)} idle, {self._opening} opening, {len(self._reaping)} reaping "
            f"(max {self.max_size})>"
        )
