"""Jobs queued ahead of need (read-ahead fetches, gated commits) whose outcome outlives the
wait for them: a caller whose wait was cancelled or timed out can still collect the job's rows
or error later, or learn that it never ran. See :meth:`Worker.start`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import anyio

from ..errors import CommandTimeout
from ._delivery import TrioWaiter

if TYPE_CHECKING:
    from ._worker import OnCancel, Worker

__all__ = ["NOT_RUN", "Held", "NotRun", "Pending"]

T = TypeVar("T")


class NotRun:
    """The marker :meth:`Pending.result` returns for a job that was skipped."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_RUN"


NOT_RUN: Final = NotRun()


class Held:
    """A job that keeps its own outcome, so that a caller who stopped waiting for it can
    still collect it later (or learn that it never ran)."""

    __slots__ = ("args", "error", "fn", "ran", "value")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.ran = False
        self.value: Any = None
        self.error: BaseException | None = None

    def __call__(self) -> Any:
        self.ran = True
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:
            self.error = exc
            raise
        return self.value


class Pending(Generic[T]):
    """A job queued ahead of need (see :meth:`Worker.start`)."""

    __slots__ = ("_held", "_left", "_seq", "_waiter", "_worker")

    def __init__(self, worker: Worker, seq: int, waiter: Any, held: Held) -> None:
        self._worker, self._seq, self._waiter, self._held = worker, seq, waiter, held
        self._left = False

    @property
    def was_left(self) -> bool:
        """True once a wait for this job was cancelled or timed out."""
        return self._left

    @property
    def error(self) -> BaseException | None:
        """The job's own error, once it ran and failed."""
        return self._held.error

    async def result(
        self, on_cancel: OnCancel | None = None, timeout: float | None = None
    ) -> T | NotRun:
        """Wait for the job. If the caller is cancelled (or ``timeout`` expires: then
        :class:`CommandTimeout`), ``on_cancel`` runs as in :meth:`Worker.run`, and the job's
        outcome is kept: a later call returns its rows, raises its error, or returns
        :data:`NOT_RUN` when it was skipped. Never waits on a wait that was cancelled (an
        abandoned trio event is never set; an asyncio future is cancelled with its waiter).
        """
        worker, waiter, seq = self._worker, self._waiter, self._seq
        if not self._left:
            try:
                if isinstance(waiter, TrioWaiter):
                    return await self._wait_trio(waiter, on_cancel, timeout)
                return await self._wait_asyncio(waiter, on_cancel, timeout)
            except (CommandTimeout, anyio.get_cancelled_exc_class()):
                # Whatever happens to the job now, its outcome is collected from _held.
                self._left = True
                if isinstance(waiter, TrioWaiter):
                    waiter.abandoned = True
                raise
        if worker.completed < seq:
            await worker.run(_noop, timeout=timeout)  # FIFO: once it ran, the job is over
        held = self._held
        if not held.ran:
            return NOT_RUN
        if held.error is not None:
            raise held.error
        value: T = held.value
        return value

    async def _wait_asyncio(
        self, fut: asyncio.Future[T], on_cancel: OnCancel | None, timeout: float | None
    ) -> T:
        worker, seq = self._worker, self._seq
        handle = None
        if timeout is not None:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(timeout, worker._expire, fut, seq, timeout, on_cancel)
        try:
            return await fut
        except asyncio.CancelledError:
            if handle is None or not handle.cancelled():
                worker._left(seq, on_cancel)
            raise
        finally:
            if handle is not None:
                handle.cancel()

    async def _wait_trio(
        self, waiter: TrioWaiter, on_cancel: OnCancel | None, timeout: float | None
    ) -> T:
        worker, seq, trio = self._worker, self._seq, self._worker._trio
        try:
            with trio.move_on_after(timeout if timeout is not None else float("inf")):
                await waiter.event.wait()
            if not waiter.event.is_set() and worker.completed >= seq:
                await waiter.event.wait()  # finished: its result is on its way
        except trio.Cancelled:
            waiter.abandoned = True
            worker._left(seq, on_cancel)
            raise
        if not waiter.event.is_set():
            waiter.abandoned = True
            err = CommandTimeout()
            worker._describe(err, seq, timeout or 0.0, on_cancel)
            raise err
        if waiter.error is not None:
            raise waiter.error
        result: T = waiter.value
        return result


def _noop() -> None:
    pass
