"""The thread boundary: one worker thread per connection, and the only way across it.

Every blocking pyodbc call of a connection runs on that connection's own thread, fed by a
FIFO queue of ``(function, args, waiter)`` jobs, so calls on one connection never overlap and
run in the order they were made. Results travel back with the event loop's thread-safe
callback (``call_soon_threadsafe`` on asyncio and uvloop, ``run_sync_soon`` on trio). A result
for a caller that has gone away (cancelled, timed out) is dropped quietly, and a job whose
caller left before it started is skipped.

Cancellation is the reason this module exists. When a caller is cancelled while its job runs,
:meth:`Worker.run` returns control at once and calls the ``on_cancel`` hook with the job's
sequence number; :func:`cancel_job` then calls SQLCancel (from a short-lived helper thread,
since SQLCancel may itself do network I/O) only while *that* job is the one running, so a
late cancel can never hit the next caller's statement.

Where the worker threads run (``SCHED_BATCH``, on the event loop's CPU) is :mod:`._sched`'s
business: each worker applies it to itself, before its first job and before each job.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Final, Generic, TypeVar

import sniffio

from ..errors import CommandTimeout, InterfaceError
from ._sched import CpuFollower, batch_policy, cpu_reader

__all__ = ["Pending", "Worker", "cancel_job"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_STOP: Final = None


class _Completions:
    """Results on their way back to one asyncio loop, delivered in batches.

    Under load many workers finish at once; each ``call_soon_threadsafe`` would write to the
    loop's self-pipe and make the loop wake (and fight the workers for the GIL) once per
    result. Here a worker only schedules a drain when none is pending, so one wake-up
    delivers every result that arrived meanwhile.
    """

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


_completions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Completions] = (
    weakref.WeakKeyDictionary()
)


def _completions_for(loop: asyncio.AbstractEventLoop) -> _Completions:
    found = _completions.get(loop)
    if found is None:
        found = _completions[loop] = _Completions(loop)
    return found


class _TrioWaiter:
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
        self.value, self.error = value, error
        self.event.set()


class Worker:
    """One thread that runs one connection's blocking calls, in order.

    Create it inside a running event loop (asyncio, uvloop or trio); it stays bound to that
    loop. ``run`` and friends must be called from the loop's thread.
    """

    def __init__(self, *, name: str = "informix-aio-worker") -> None:
        self.backend = sniffio.current_async_library()
        self._queue: SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Any] | None] = (
            SimpleQueue()
        )
        self._submitted = 0  # sequence number of the last job queued (loop thread)
        self.running = 0  # sequence number of the job being run (worker thread writes)
        self.completed = 0  # sequence number of the last job finished (worker thread writes)
        self._stopped = False
        # The loop's CPU when it last queued a job (loop thread writes; the worker follows it).
        self._getcpu = cpu_reader()
        self.loop_cpu = -1
        # Whether the loop had no other job in flight when it queued the last one (asyncio;
        # unknown on trio: True). Read by the worker's CpuFollower.
        self.loop_alone = True
        self._completions: _Completions | None = None
        if self.backend == "trio":
            import trio

            self._trio = trio
            self._token = trio.lowlevel.current_trio_token()
            target = self._main_trio
        elif self.backend == "asyncio":
            self._loop = asyncio.get_running_loop()
            self._completions = _completions_for(self._loop)
            target = self._main_asyncio
        else:
            raise InterfaceError(f"unsupported async library {self.backend!r}")
        self.thread = threading.Thread(target=target, name=name, daemon=True)
        self.thread.start()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called: no more jobs are accepted."""
        return self._stopped

    @property
    def idle(self) -> bool:
        """True when every job queued so far has finished."""
        return self.completed >= self._submitted

    # -- the worker thread -------------------------------------------------------------------
    def _follower(self) -> CpuFollower | None:
        """Worker thread: apply :mod:`._sched`'s measures; never fails (a worker thread that
        died here would leave every caller of its connection waiting)."""
        try:
            batch_policy()
            return CpuFollower() if self._getcpu is not None else None
        except Exception as exc:
            logger.debug("worker scheduling left at the defaults: %r", exc)
            return None

    def _main_asyncio(self) -> None:
        follower = self._follower()
        assert self._completions is not None
        get, post = self._queue.get, self._completions.post
        seq = 0
        while (job := get()) is not _STOP:
            fn, args, fut = job
            seq += 1
            if follower is not None:
                follower.follow(self.loop_cpu, self.loop_alone)  # never raises
            self.running = seq
            if fut is not None and fut.done():  # skip a job whose caller already left
                self.completed = seq
                post(fut, None, None)  # dropped by the loop, which uncounts it
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # delivered to the caller, whatever it is
                # Completed before delivery: once the caller resumes, the worker is idle.
                self.completed = seq
                if fut is not None:
                    post(fut, None, exc)
                elif not isinstance(exc, Exception):
                    raise
                else:
                    logger.debug("background job %r failed: %r", fn, exc)
            else:
                self.completed = seq
                if fut is not None:
                    post(fut, result, None)

    def _main_trio(self) -> None:
        follower = self._follower()
        get, run_soon = self._queue.get, self._token.run_sync_soon
        seq = 0
        while (job := get()) is not _STOP:
            fn, args, waiter = job
            seq += 1
            if follower is not None:
                follower.follow(self.loop_cpu)  # never raises
            self.running = seq
            if waiter is not None and waiter.done():
                self.completed = seq
                continue
            value: Any = None
            error: BaseException | None = None
            try:
                value = fn(*args)
            except BaseException as exc:
                error = exc
            self.completed = seq
            if waiter is not None:
                try:
                    run_soon(waiter.set, value, error)
                except self._trio.RunFinishedError:
                    pass
            elif error is not None:
                logger.debug("background job %r failed: %r", fn, error)

    # -- the loop side -------------------------------------------------------------------------
    def _put(self, fn: Callable[..., Any], args: tuple[Any, ...], waiter: Any) -> int:
        if self._stopped:
            raise InterfaceError("the connection is closed")
        completions = self._completions
        if completions is not None and waiter is not None:
            completions.in_flight += 1
            self.loop_alone = completions.in_flight == 1
        if self._getcpu is not None:
            self.loop_cpu = self._getcpu()
        self._submitted += 1
        self._queue.put((fn, args, waiter))
        return self._submitted

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        on_cancel: Callable[[int], None] | None = None,
    ) -> T:
        """Run ``fn(*args)`` on the worker thread and return its result.

        :param timeout: seconds; on expiry ``on_cancel`` runs and :class:`CommandTimeout` is
            raised at once, while the job itself is cancelled in the driver by the hook.
        :param on_cancel: called with the job's sequence number when the caller leaves before
            the job finished (cancellation or timeout): it must stop the job, not wait for it.
        :raises InterfaceError: the worker is stopped (its connection is closed).
        """
        if self.backend == "asyncio":
            fut: asyncio.Future[T] = self._loop.create_future()
            seq = self._put(fn, args, fut)
            if timeout is None:
                try:
                    return await fut
                except asyncio.CancelledError:
                    if on_cancel is not None and self.completed < seq:
                        on_cancel(seq)
                    raise
            handle = self._loop.call_later(timeout, self._expire, fut, seq, timeout, on_cancel)
            try:
                return await fut
            except asyncio.CancelledError:
                if on_cancel is not None and self.completed < seq and not handle.cancelled():
                    on_cancel(seq)
                raise
            finally:
                handle.cancel()
        return await self._run_trio(fn, args, timeout, on_cancel)

    def _expire(
        self,
        fut: asyncio.Future[Any],
        seq: int,
        timeout: float,
        on_cancel: Callable[[int], None] | None,
    ) -> None:
        if fut.done():
            return
        fut.set_exception(_timeout_error(timeout))
        if on_cancel is not None and self.completed < seq:
            on_cancel(seq)

    async def _run_trio(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        timeout: float | None,
        on_cancel: Callable[[int], None] | None,
    ) -> T:
        trio = self._trio
        waiter = _TrioWaiter(trio.Event())
        seq = self._put(fn, args, waiter)
        try:
            if timeout is None:
                await waiter.event.wait()
            else:
                with trio.move_on_after(timeout):
                    await waiter.event.wait()
        except trio.Cancelled:
            waiter.abandoned = True
            if on_cancel is not None and self.completed < seq:
                on_cancel(seq)
            raise
        if not waiter.event.is_set():
            waiter.abandoned = True
            if on_cancel is not None and self.completed < seq:
                on_cancel(seq)
            raise _timeout_error(timeout or 0.0)
        if waiter.error is not None:
            raise waiter.error
        result: T = waiter.value
        return result

    async def run_shielded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` to completion even if the caller is cancelled meanwhile.

        For COMMIT, ROLLBACK and close: a cancellation that arrives while they run is held
        until they finish, then re-raised, so the caller never mistakes a commit the server
        acknowledged for one that did not happen.
        """
        if self.backend == "asyncio":
            fut: asyncio.Future[T] = self._loop.create_future()
            self._put(fn, args, fut)
            cancelled = False
            while True:
                try:
                    result = await asyncio.shield(fut)
                    break
                except asyncio.CancelledError:
                    if not fut.done():
                        cancelled = True
                        continue
                    if fut.cancelled():
                        raise
                    cancelled = True
                    exc = fut.exception()
                    if exc is not None:
                        logger.warning("%s failed while its caller was cancelled: %r", fn, exc)
                    raise
            if cancelled:
                raise asyncio.CancelledError()
            return result
        trio = self._trio
        waiter = _TrioWaiter(trio.Event())
        self._put(fn, args, waiter)
        with trio.CancelScope(shield=True):
            await waiter.event.wait()
        await trio.lowlevel.checkpoint_if_cancelled()
        if waiter.error is not None:
            raise waiter.error
        shielded: T = waiter.value
        return shielded

    def start(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        """Queue ``fn(*args)`` now and collect its result later with :meth:`Pending.result`
        (read-ahead: the worker fetches the next batch while the caller consumes this one)."""
        if self.backend == "asyncio":
            fut: asyncio.Future[T] = self._loop.create_future()
            return Pending(self, self._put(fn, args, fut), fut)
        waiter = _TrioWaiter(self._trio.Event())
        return Pending(self, self._put(fn, args, waiter), waiter)

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Queue ``fn(*args)`` without waiting for it (errors are logged at DEBUG)."""
        return self._put(fn, args, None)

    def stop(self) -> None:
        """Let the thread exit once the jobs already queued have run. Idempotent."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)


class Pending(Generic[T]):
    """A job queued ahead of need (see :meth:`Worker.start`)."""

    __slots__ = ("_seq", "_waiter", "_worker")

    def __init__(self, worker: Worker, seq: int, waiter: Any) -> None:
        self._worker, self._seq, self._waiter = worker, seq, waiter

    async def result(self, on_cancel: Callable[[int], None] | None = None) -> T:
        """Wait for the job; if the caller is cancelled meanwhile, ``on_cancel`` runs as in
        :meth:`Worker.run`."""
        worker, waiter = self._worker, self._waiter
        try:
            if isinstance(waiter, _TrioWaiter):
                await waiter.event.wait()
            else:
                value: T = await waiter
                return value
        except BaseException:
            if isinstance(waiter, _TrioWaiter):
                waiter.abandoned = True
            if on_cancel is not None and worker.completed < self._seq:
                on_cancel(self._seq)
            raise
        if waiter.error is not None:
            raise waiter.error
        result: T = waiter.value
        return result


def _timeout_error(timeout: float) -> CommandTimeout:
    return CommandTimeout(
        f"the statement did not finish within its timeout of {timeout:g} s and was cancelled"
    )


def cancel_job(
    worker: Worker, seq: int, cancel: Callable[[], bool], *, deadline: float = 2.0
) -> threading.Thread:
    """Start a helper thread that cancels job ``seq`` in the driver, and return it.

    The helper calls ``cancel()`` (SQLCancel on the running statement) only while job ``seq`` is
    the worker's running job, retrying briefly while the job has not reached the driver yet,
    and gives up once the job finished or ``deadline`` passed.
    """

    def _cancel() -> None:
        end = time.monotonic() + deadline
        while worker.completed < seq and time.monotonic() < end:
            if worker.running == seq and cancel():
                return
            time.sleep(0.002)

    thread = threading.Thread(target=_cancel, name="informix-aio-cancel", daemon=True)
    thread.start()
    return thread
