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
late cancel can never hit the next caller's statement. A job whose caller left before it
started is skipped, and a timeout says which of the two happened (:class:`Outcome`).

A worker belongs to the event loop (or trio run) it was created in: a call from any other
loop or thread is refused with :class:`InterfaceError` before anything is queued.

Where the worker threads run (``SCHED_BATCH``, on the event loop's CPU) is :mod:`._sched`'s
business: each worker applies it to itself, before its first job and before each job.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Final, TypeVar

import anyio
import sniffio

from ..errors import CommandTimeout, InterfaceError, Outcome
from ._delivery import Completions, TrioWaiter, completions_for
from ._pending import NOT_RUN, Held, Pending
from ._sched import CpuFollower, batch_policy, cpu_reader

__all__ = ["NOT_RUN", "OnCancel", "Pending", "Worker", "cancel_job"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_STOP: Final = None


OnCancel = Callable[[int, bool], bool]
"""``on_cancel(seq, started)``: the caller of job ``seq`` left before it finished (``started``:
it may be running; else it will be skipped). Stop the job if it runs (never wait for it) and
return whether it belongs to a transaction, which the cancellation aborts."""


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
        # The waiter of the job the worker took last (worker thread writes), and the error that
        # fails every job with a waiter from now on (Worker.abort).
        self._current: Any = None
        self._abort: BaseException | None = None
        # The loop's CPU when it last queued a job (loop thread writes; the worker follows it).
        self._getcpu = cpu_reader()
        self.loop_cpu = -1
        # Whether the loop had no other job in flight when it queued the last one (asyncio;
        # unknown on trio: True). Read by the worker's CpuFollower.
        self.loop_alone = True
        self._completions: Completions | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if self.backend == "trio":
            import trio

            self._trio = trio
            self._token = trio.lowlevel.current_trio_token()
            target = self._main_trio
        elif self.backend == "asyncio":
            self._loop = asyncio.get_running_loop()
            self._completions = completions_for(self._loop)
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
            self._current = fut
            self.running = seq
            # Read after publishing the job: Worker.abort sets _abort before it reads _current.
            if fut is not None and (fut.done() or self._abort is not None):
                self.completed = seq  # skipped: its caller left, or the connection was killed
                post(fut, None, self._abort)  # dropped by the loop if done; it uncounts it
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
            self._current = waiter
            self.running = seq
            value: Any = None
            error: BaseException | None = None
            if waiter is not None and (waiter.done() or self._abort is not None):
                self.completed = seq
                if self._abort is not None and not waiter.done():
                    self._deliver_trio(run_soon, waiter, None, self._abort)
                continue
            try:
                value = fn(*args)
            except BaseException as exc:
                error = exc
            self.completed = seq
            if waiter is not None:
                self._deliver_trio(run_soon, waiter, value, error)
            elif error is not None:
                logger.debug("background job %r failed: %r", fn, error)

    def _deliver_trio(
        self, run_soon: Any, waiter: TrioWaiter, value: Any, error: BaseException | None
    ) -> None:
        try:
            run_soon(waiter.set, value, error)
        except self._trio.RunFinishedError:
            pass

    # -- the loop side -------------------------------------------------------------------------
    def _check_caller(self) -> None:
        """Refuse a call from another event loop, trio run or thread, before it is queued: a
        result could never come back to it (a trio run that ended would hang it forever)."""
        loop = self._loop
        if loop is not None:
            try:
                running: object = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                raise InterfaceError(
                    "this connection belongs to another event loop (or thread): a connection "
                    "is used only in the event loop that opened it"
                )
            return
        try:
            token = self._trio.lowlevel.current_trio_token()
        except RuntimeError:
            token = None
        if token is not self._token:
            raise InterfaceError(
                "this connection belongs to another trio.run() (or thread): a connection is "
                "used only in the trio run that opened it"
            )

    def current_task(self) -> object:
        """The task calling now (asyncio's or trio's), to tell a connection's users apart."""
        if self._loop is not None:
            return asyncio.current_task()
        return self._trio.lowlevel.current_task()

    def _put(self, fn: Callable[..., Any], args: tuple[Any, ...], waiter: Any) -> int:
        if self._stopped:
            raise InterfaceError("the connection is closed")
        if waiter is not None:
            self._check_caller()
            completions = self._completions
            if completions is not None:
                completions.in_flight += 1
                self.loop_alone = completions.in_flight == 1
        if self._getcpu is not None:
            self.loop_cpu = self._getcpu()
        self._submitted += 1
        self._queue.put((fn, args, waiter))
        return self._submitted

    def _left(self, seq: int, on_cancel: OnCancel | None) -> bool:
        """The caller of job ``seq`` stopped waiting before its result reached it: tell
        ``on_cancel`` (which cancels the job if it still runs, and aborts its transaction even
        if it just finished: its caller never learnt that it did). Returns whether the
        cancellation aborts a transaction (``on_cancel``'s answer)."""
        if on_cancel is not None:
            return on_cancel(seq, self.running >= seq)
        return False

    def _new_loop_future(self) -> asyncio.Future[Any]:
        loop = self._loop
        assert loop is not None
        return loop.create_future()

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout: float | None = None,
        on_cancel: OnCancel | None = None,
    ) -> T:
        """Run ``fn(*args)`` on the worker thread and return its result.

        :param timeout: seconds; on expiry ``on_cancel`` runs and :class:`CommandTimeout` is
            raised at once (its ``outcome`` says whether the job had started), while the job
            itself is cancelled in the driver by the hook.
        :param on_cancel: called (see :data:`OnCancel`) when the caller leaves before the job
            finished (cancellation or timeout): it must stop the job, not wait for it.
        :raises InterfaceError: the worker is stopped (its connection is closed), or the call
            comes from another event loop or thread.
        """
        loop = self._loop
        if loop is not None:
            fut: asyncio.Future[T] = loop.create_future()
            seq = self._put(fn, args, fut)
            if timeout is None:
                try:
                    return await fut
                except asyncio.CancelledError:
                    self._left(seq, on_cancel)
                    raise
            handle = loop.call_later(timeout, self._expire, fut, seq, timeout, on_cancel)
            try:
                return await fut
            except asyncio.CancelledError:
                if not handle.cancelled():
                    self._left(seq, on_cancel)
                raise
            finally:
                handle.cancel()
        return await self._run_trio(fn, args, timeout, on_cancel)

    def _expire(
        self, fut: asyncio.Future[Any], seq: int, timeout: float, on_cancel: OnCancel | None
    ) -> None:
        if fut.done() or self.completed >= seq:
            return  # finished: its result is on its way
        err = CommandTimeout()
        fut.set_exception(err)
        # Read after the future is done: a job not yet started now sees that and is skipped.
        self._describe(err, seq, timeout, on_cancel)

    def _describe(
        self, err: CommandTimeout, seq: int, timeout: float, on_cancel: OnCancel | None
    ) -> None:
        started = self.running >= seq  # read after the job's waiter is done (see _expire)
        in_transaction = self._left(seq, on_cancel)
        if not started:
            outcome = Outcome.NOT_STARTED
        else:
            outcome = Outcome.ROLLED_BACK if in_transaction else Outcome.UNKNOWN
        err.outcome = outcome
        err.message = _TIMEOUT_MESSAGES[outcome].format(timeout=timeout)
        err.args = (err.message,)

    async def _run_trio(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        timeout: float | None,
        on_cancel: OnCancel | None,
    ) -> T:
        trio = self._trio
        waiter = TrioWaiter(trio.Event())
        seq = self._put(fn, args, waiter)
        try:
            if timeout is None:
                await waiter.event.wait()
            else:
                with trio.move_on_after(timeout):
                    await waiter.event.wait()
                if not waiter.event.is_set() and self.completed >= seq:
                    await waiter.event.wait()  # finished: its result is on its way
        except trio.Cancelled:
            waiter.abandoned = True
            self._left(seq, on_cancel)
            raise
        if not waiter.event.is_set():
            waiter.abandoned = True
            err = CommandTimeout()
            self._describe(err, seq, timeout or 0.0, on_cancel)
            raise err
        if waiter.error is not None:
            raise waiter.error
        result: T = waiter.value
        return result

    async def run_shielded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` to completion even if the caller is cancelled meanwhile.

        For COMMIT, ROLLBACK and close: a cancellation that arrives while they run is held
        until they finish, then re-raised whatever their outcome (a failure is logged), so
        the caller never mistakes a commit the server acknowledged for one that did not
        happen, and a task group never loses the cancellation.
        """
        loop = self._loop
        if loop is None:
            return await self._run_shielded_trio(fn, args)
        fut: asyncio.Future[T] = loop.create_future()
        self._put(fn, args, fut)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError as exc:
            if fut.done():
                raise
            cancelled = exc  # re-raised as it is: a cancel scope knows its own by its message
        # Cancelled while the work runs. anyio's shield keeps an anyio cancel scope from
        # cancelling this task again on every loop iteration (a busy spin otherwise); a native
        # asyncio cancel arrives once, and is absorbed by asyncio.shield until the work is done.
        while not fut.done():
            with anyio.CancelScope(shield=True):
                try:
                    await asyncio.shield(fut)
                except BaseException:  # the outcome is read from fut below
                    pass
        error = None if fut.cancelled() else fut.exception()
        if error is not None:
            logger.warning("%s failed while its caller was cancelled: %r", fn, error)
            raise cancelled from error
        raise cancelled

    async def _run_shielded_trio(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        trio = self._trio
        waiter = TrioWaiter(trio.Event())
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
        (read-ahead: the worker fetches the next batch while the caller consumes this one).
        Its outcome is kept even when a wait for it is cancelled."""
        held = Held(fn, args)
        if self._loop is not None:
            fut: asyncio.Future[T] = self._loop.create_future()
            return Pending(self, self._put(held, (), fut), fut, held)
        waiter = TrioWaiter(self._trio.Event())
        return Pending(self, self._put(held, (), waiter), waiter, held)

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Queue ``fn(*args)`` without waiting for it (errors are logged at DEBUG). Safe from
        any thread."""
        return self._put(fn, args, None)

    def abort(self, error: BaseException, cancel: Callable[[], bool]) -> None:
        """Loop thread: fail the job that runs and every job queued with a waiter with
        ``error`` (their callers get it at once), and cancel the running statement in the
        driver; jobs without a waiter (clean-up, close) still run."""
        self._abort = error
        current = self._current  # read after _abort is set (see _main_asyncio)
        if current is not None and not current.done():
            if isinstance(current, TrioWaiter):
                current.set(None, error)
            else:
                current.set_exception(error)
        if self.completed < self.running:
            cancel_job(self, self.running, cancel)

    def stop(self) -> None:
        """Let the thread exit once the jobs already queued have run. Idempotent."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)


_TIMEOUT_MESSAGES: Final = {
    Outcome.NOT_STARTED: (
        "the statement did not start within its timeout of {timeout:g} s (it waited behind "
        "other work on the connection) and will not run"
    ),
    Outcome.ROLLED_BACK: (
        "the statement did not finish within its timeout of {timeout:g} s and was cancelled; "
        "its transaction is aborted, so nothing of it will be committed"
    ),
    Outcome.UNKNOWN: (
        "the statement did not finish within its timeout of {timeout:g} s and was cancelled "
        "in the driver, but it may have completed first: its outcome is unknown (an "
        "autocommit write may have taken effect)"
    ),
}


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
