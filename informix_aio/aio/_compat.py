"""Background tasks on asyncio and trio, for the pool's housekeeping.

asyncio: ``create_task`` with a strong reference kept until the task ends. trio: a system task
(it needs no nursery, so ``pool = await create_pool(...)`` works as it does on asyncio), with
a cancel scope so that :meth:`BackgroundTasks.cancel_all` can stop it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import sniffio

__all__ = ["BackgroundTasks"]

logger = logging.getLogger(__name__)


class BackgroundTasks:
    """Fire-and-forget tasks that are tracked, logged on failure, and cancellable together."""

    def __init__(self) -> None:
        self.backend = sniffio.current_async_library()
        self._asyncio_tasks: set[asyncio.Task[None]] = set()
        self._scopes: set[anyio.CancelScope] = set()
        self._running = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._cancelled = False

    def __len__(self) -> int:
        return self._running

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``fn(*args)`` in the background; exceptions are logged, never raised."""
        self._running += 1
        if self._idle.is_set():
            self._idle = anyio.Event()
        if self.backend == "asyncio":
            task = asyncio.get_running_loop().create_task(self._guard(fn, args))
            self._asyncio_tasks.add(task)
            task.add_done_callback(self._asyncio_tasks.discard)
        else:
            import trio

            trio.lowlevel.spawn_system_task(self._guard, fn, args)

    async def _guard(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
        scope = anyio.CancelScope()
        if self._cancelled:
            scope.cancel()
        self._scopes.add(scope)
        try:
            with scope:
                await fn(*args)
        except Exception:
            logger.exception("background task %s failed", getattr(fn, "__name__", fn))
        finally:
            self._scopes.discard(scope)
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    def cancel_all(self) -> None:
        """Cancel every background task, running or about to start."""
        self._cancelled = True
        for scope in list(self._scopes):
            scope.cancel()

    async def wait(self) -> None:
        """Wait until no background task runs."""
        await self._idle.wait()
