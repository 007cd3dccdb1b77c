"""Pool metrics named by the database client conventions (``db.client.connection.*``).

Gauge-like values are observed from :func:`informix_aio.aio.live_pools` when a reader
collects (``count`` by ``db.client.connection.state``, ``max``, ``idle.min``,
``pending_requests``); events come from a :class:`~informix_aio.aio._pool_state.PoolObserver`
(``timeouts``, and the ``create_time``, ``wait_time`` and ``use_time`` histograms). Every
point carries ``db.client.connection.pool.name``: the pool's ``name``, or for an unnamed pool
``server.address:server.port/db.namespace`` as the conventions suggest (``#2``, ``#3`` ... when
two live pools share it).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from ..aio import Pool
from ..aio._pool import live_pools
from ..hooks import connection_info

__all__ = ["POOL_NAME", "PoolMetrics", "pool_name"]

POOL_NAME = "db.client.connection.pool.name"
#: Seconds: a wait is often ~0, a loan can last as long as a streamed response.
POOL_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0)

_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
# Names are given on a pool's loop (events) and on a reader's thread (collection) alike.
_names_lock = threading.Lock()
_attributes: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
#: The metrics being reported; observable instruments cannot be unregistered, so their
#: callbacks ask this (and the SDK hands back the same instrument, with its first callback,
#: when the same meter creates it again).
_current: PoolMetrics | None = None


def pool_name(pool: Any) -> str:
    """``db.client.connection.pool.name`` for ``pool`` (stable for the pool's life)."""
    name = _names.get(pool)
    if name is None:
        with _names_lock:
            name = _names.get(pool)
            if name is None:
                given = getattr(pool, "name", None)
                name = given if isinstance(given, str) and given else _generated_name(pool)
                _names[pool] = name
    return name


def _generated_name(pool: Any) -> str:
    base = "informix_aio.pool"
    # The pool's static options (absent when a connect_options callable supplies them).
    options = getattr(pool, "_options", None)
    if options is not None:
        dialect = options.dialect.name if options.dialect is not None else "generic"
        info = connection_info(options.connection_string, dialect)
        address = info.host or info.server or ""
        if address and info.port is not None:
            address = f"{address}:{info.port}"
        base = f"{address}/{info.database}" if info.database else address or base
    taken = set(_names.values())
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}#{n}"
    return name


def _attrs(pool: Any) -> dict[str, str]:
    attrs = _attributes.get(pool)
    if attrs is None:
        attrs = {POOL_NAME: pool_name(pool)}
        _attributes[pool] = attrs
    return attrs


def _open_pools() -> list[Pool]:
    # A reader may collect from its own thread while a loop creates a pool: the WeakSet can
    # change size under the copy; another try then sees it settled.
    for _ in range(3):
        try:
            return [p for p in live_pools() if not p.closed]
        except RuntimeError:
            continue
    return []


class PoolMetrics:
    """The pool instruments on ``meter``, and the observer that feeds the event ones."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.timeouts = meter.create_counter(
            "db.client.connection.timeouts",
            unit="{timeout}",
            description="The number of connection timeouts that have occurred trying to "
            "obtain a connection from the pool.",
        )
        self.create_time = meter.create_histogram(
            "db.client.connection.create_time",
            unit="s",
            description="The time it took to create a new connection.",
            explicit_bucket_boundaries_advisory=POOL_BUCKETS,
        )
        self.wait_time = meter.create_histogram(
            "db.client.connection.wait_time",
            unit="s",
            description="The time it took to obtain an open connection from the pool.",
            explicit_bucket_boundaries_advisory=POOL_BUCKETS,
        )
        self.use_time = meter.create_histogram(
            "db.client.connection.use_time",
            unit="s",
            description="The time between borrowing a connection and returning it to the pool.",
            explicit_bucket_boundaries_advisory=POOL_BUCKETS,
        )
        observed: tuple[tuple[str, str, str, Callable[[Pool], Iterable[Observation]]], ...] = (
            (
                "db.client.connection.count",
                "{connection}",
                "The number of connections that are currently in state described by the "
                "`state` attribute.",
                _counts,
            ),
            (
                "db.client.connection.max",
                "{connection}",
                "The maximum number of open connections allowed.",
                lambda p: (Observation(p.max_size, _attrs(p)),),
            ),
            (
                "db.client.connection.idle.min",
                "{connection}",
                "The minimum number of idle open connections allowed.",
                lambda p: (Observation(p.min_size, _attrs(p)),),
            ),
            (
                "db.client.connection.pending_requests",
                "{request}",
                "The number of current pending requests for an open connection.",
                lambda p: (Observation(p.stats().waiting, _attrs(p)),),
            ),
        )
        for name, unit, description, observe in observed:
            meter.create_observable_up_down_counter(
                name, callbacks=[_callback(meter, observe)], unit=unit, description=description
            )

    # -- PoolObserver -----------------------------------------------------------------------
    def connection_created(self, pool: Any, seconds: float) -> None:
        """A connection opened in ``seconds``."""
        self.create_time.record(seconds, _attrs(pool))

    def acquired(self, pool: Any, waited: float) -> None:
        """A caller got a connection after ``waited`` seconds."""
        self.wait_time.record(waited, _attrs(pool))

    def released(self, pool: Any, used: float) -> None:
        """A connection came back after ``used`` seconds on loan."""
        self.use_time.record(used, _attrs(pool))

    def timed_out(self, pool: Any) -> None:
        """A caller gave up waiting."""
        self.timeouts.add(1, _attrs(pool))


def activate(metrics: PoolMetrics | None) -> None:
    """Make ``metrics`` the ones the observable instruments report (``None``: none)."""
    global _current
    _current = metrics


def _counts(pool: Pool) -> Iterable[Observation]:
    stats = pool.stats()
    attrs = _attrs(pool)
    # A connection being reset or closed after use is not idle yet: it counts as used.
    return (
        Observation(stats.idle, {**attrs, "db.client.connection.state": "idle"}),
        Observation(stats.in_use + stats.reaping, {**attrs, "db.client.connection.state": "used"}),
    )


def _callback(
    meter: Meter, observe: Callable[[Pool], Iterable[Observation]]
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        current = _current
        if current is None or current.meter is not meter:
            return []
        return [obs for pool in _open_pools() for obs in observe(pool)]

    return callback
