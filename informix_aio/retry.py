"""Retrying work that failed for a transient reason: lock conflicts, deadlocks, serialization.

An error is transient when its ``is_transient`` flag is set (Informix ISAM -107/-113/-143/-154,
PostgreSQL 40001/40P01/55P03, MariaDB 1205/1213, SQLite BUSY/LOCKED). Retry the *whole*
transaction, never a single statement of it: the failed attempt was rolled back.

Async, around a transaction block::

    async for attempt in retrying(attempts=5):
        with attempt:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("UPDATE stock SET qty = qty - 1 WHERE id = ?", (42,))

or as a call: ``await retry_async(transfer, pool, attempts=5)``; sync: ``retry(fn, ...)``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import anyio

from .errors import Error

__all__ = ["Attempt", "is_transient", "retry", "retry_async", "retrying"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True for a database error worth retrying (``Error.is_transient``)."""
    return isinstance(exc, Error) and exc.is_transient


def _check(attempts: int, initial_delay: float, max_delay: float) -> None:
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    if initial_delay < 0 or max_delay < initial_delay:
        raise ValueError("need 0 <= initial_delay <= max_delay")


def _delay(attempt: int, initial_delay: float, max_delay: float) -> float:
    """Exponential backoff with full jitter (attempt 1 waits up to ``initial_delay``)."""
    return random.uniform(0, min(max_delay, initial_delay * 2 ** (attempt - 1)))


class Attempt:
    """One try: a context manager that swallows a transient error while tries remain."""

    def __init__(self, number: int, last: bool) -> None:
        self.number = number
        self.last = last
        self.error: BaseException | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if ev is None or self.last or not is_transient(ev):
            return False
        self.error = ev
        logger.info("attempt %d failed with a transient error, retrying: %s", self.number, ev)
        return True


class retrying:  # lower case: used like a function, ``async for attempt in retrying():``
    """Yield up to ``attempts`` :class:`Attempt` objects, sleeping (with jittered backoff)
    between them; stops after the first attempt that did not fail transiently.

    A plain iterator class rather than an async generator, so that an error leaving the
    ``async for`` body leaves nothing suspended to finalize.

    :param attempts: the most tries, the first included.
    :param initial_delay: the largest wait before the second try (seconds); doubles each time.
    :param max_delay: cap on the wait between tries.
    """

    def __init__(
        self, *, attempts: int = 3, initial_delay: float = 0.05, max_delay: float = 1.0
    ) -> None:
        _check(attempts, initial_delay, max_delay)
        self.attempts, self.initial_delay, self.max_delay = attempts, initial_delay, max_delay
        self._current: Attempt | None = None

    def __aiter__(self) -> retrying:
        return self

    async def __anext__(self) -> Attempt:
        previous = self._current
        if previous is not None:
            if previous.error is None or previous.last:
                raise StopAsyncIteration
            await anyio.sleep(_delay(previous.number, self.initial_delay, self.max_delay))
        number = 1 if previous is None else previous.number + 1
        self._current = Attempt(number, number == self.attempts)
        return self._current


async def retry_async(
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    attempts: int = 3,
    initial_delay: float = 0.05,
    max_delay: float = 1.0,
) -> T:
    """``await fn(*args)``, retried on transient errors; the last error propagates."""
    async for attempt in retrying(
        attempts=attempts, initial_delay=initial_delay, max_delay=max_delay
    ):
        with attempt:
            return await fn(*args)
    raise AssertionError("unreachable")  # pragma: no cover: the last attempt re-raises


def retry(
    fn: Callable[..., T],
    *args: Any,
    attempts: int = 3,
    initial_delay: float = 0.05,
    max_delay: float = 1.0,
) -> T:
    """``fn(*args)``, retried on transient errors (the sync layer's form)."""
    _check(attempts, initial_delay, max_delay)
    for number in range(1, attempts + 1):
        with Attempt(number, number == attempts):
            return fn(*args)
        time.sleep(_delay(number, initial_delay, max_delay))
    raise AssertionError("unreachable")  # pragma: no cover: the last attempt re-raises
