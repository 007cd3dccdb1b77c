"""How results travel from worker threads back to the event loop.

On trio, through the run's token, to a :class:`TrioWaiter` (an event plus the outcome). On
asyncio, in batches:

Under load many workers finish at once; a ``call_soon_threadsafe`` per result would write to
the loop's self-pipe and wake the loop (and make it fight the workers for the GIL) once per
result. A worker schedules a drain only when none is pending, so one wake-up delivers every
result that arrived meanwhile. A result for a future that is already done (its caller was
cancelled or timed out) is dropped quietly.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from typing import Any

__all__ = ["Completions", "TrioWaiter", "completions_for"]


class Completions:
    """Results on their way back to one asyncio loop."""

    __slots__ = ("_items", "_lock", "_loop", "_scheduled", "in_flight")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weak: the registry below is keyed by the loop, and a strong reference from the value
        # would keep every loop (and this object) alive forever.
        self._loop = weakref.ref(loop)
        self._items: deque[tuple[asyncio.Future[Any], Any, BaseException | None]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        #: Jobs with a waiter queued on this loop's workers and not yet delivered (loop thread
        #: only: counted when queued, uncounted when drained; every such job is posted once).
        self.in_flight = 0

    def post(self, fut: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
        """Worker thread: hand a result to the loop."""
        self._items.append((fut, value, error))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        loop = self._loop()
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _drain(self) -> None:
        """Loop thread: resolve every waiting future (those already done are skipped)."""
        with self._lock:
            self._scheduled = False
        items = self._items
        while items:
            fut, value, error = items.popleft()
            self.in_flight -= 1
            if fut.done():
                continue
            if error is None:
                fut.set_result(value)
            else:
                fut.set_exception(error)


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Completions] = (
    weakref.WeakKeyDictionary()
)


def completions_for(loop: asyncio.AbstractEventLoop) -> Completions:
    """The one :class:`Completions` of ``loop``."""
    found = _registry.get(loop)
    if found is None:
        found = _registry[loop] = Completions(loop)
    return found


class TrioWaiter:
    """A trio caller's side of a job: an event plus the outcome."""

    __slots__ = ("abandoned", "error", "event", "value")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.value: Any = None
        self.error: BaseException | None = None
        self.abandoned = False

    def done(self) -> bool:
        return self.abandoned or self.event.is_set()

    def set(self, value: Any, error: BaseException | None) -> None:
        if self.event.is_set():  # failed by Worker.abort already: the first outcome stands
            return
        self.value, self.error = value, error
        self.event.set()
