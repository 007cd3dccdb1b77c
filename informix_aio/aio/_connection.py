"""AsyncConnection: the awaitable API over the sync layer.

Every method that touches the driver is one :meth:`Worker.run` call: one thread round trip.
The cursor lives in :mod:`._cursor`, transaction blocks in :mod:`._transaction`.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio

from .._cursor import Cursor
from .._options import ConnectOptions, build_options
from .._sync import Connection, open_connection
from .._validate import check_timeout
from ..dialects import Dialect
from ..errors import CommandTimeout, InterfaceError, Outcome
from ..hooks import (
    QueryHooks,
    QueryLogger,
    SlowQueryLog,
    count_int,
    count_list,
    count_row,
    count_unknown,
    run_logged_async,
)
from ..rows import RowFactory
from ._cursor import DEFAULT_PREFETCH, AsyncCursor
from ._transaction import AsyncTransaction, TransactionState
from ._worker import Pending, Worker, cancel_job

__all__ = ["AsyncConnection", "connect"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


async def connect(
    *, command_timeout: float | None = None, slow_query: float | None = None, **options: Any
) -> AsyncConnection:
    """Open a connection on its own worker thread.

    Takes the options of :func:`informix_aio.connect`, plus:

    :param command_timeout: default ``timeout=`` (seconds) for every statement.
    :param slow_query: log statements slower than this many seconds at WARNING
        (:class:`informix_aio.hooks.SlowQueryLog`).
    :raises InterfaceError: bad options, no such ODBC driver.
    :raises OperationalError: the database could not be reached.
    :raises ValueError: a numeric option out of range.
    """
    check_timeout("slow_query", slow_query, zero_ok=True)
    conn = await AsyncConnection.open(build_options(**options), command_timeout=command_timeout)
    if slow_query is not None:
        conn.add_query_logger(SlowQueryLog(slow_query))
    return conn


class AsyncConnection:
    """A connection whose blocking calls all run on one worker thread of its own."""

    def __init__(
        self, worker: Worker, sync: Connection, *, command_timeout: float | None = None
    ) -> None:
        self._worker = worker
        self._sync = sync
        self.command_timeout = command_timeout
        self._closed = False
        #: Set while a cancelled statement may still be running or its clean-up is queued.
        self.cancel_pending = False
        self._tx: AsyncTransaction | None = None
        #: Sync cursors of closed AsyncCursors, reused by the next ones (worker thread pops).
        self.spare_cursors: list[Cursor] = []
        #: Bumped by the pool at every release: cursors and transactions made during a lease
        #: refuse to work after it (a kept reference must not reach the next borrower).
        self.lease = 0
        self._open_cursors: set[AsyncCursor] = set()
        #: What calls raise once the connection was terminated by its pool (PoolClosed).
        self._closed_error: BaseException | None = None
        #: Query hooks, told on the loop side after each statement (see
        #: :mod:`informix_aio.hooks`); separate from the sync connection's own.
        self.hooks = QueryHooks(sync.hooks.info)
        sync.hooks.exclude_global()  # reported once, from here, in the caller's task

    @classmethod
    async def open(
        cls, options: ConnectOptions, *, command_timeout: float | None = None
    ) -> AsyncConnection:
        """Open a connection from validated options (used by :func:`connect` and the pool)."""
        check_timeout("command_timeout", command_timeout)
        worker = Worker()
        opened: list[Connection] = []

        def _open() -> Connection:
            conn = open_connection(options)
            opened.append(conn)
            return conn

        def _close_opened() -> None:
            for conn in opened:
                conn.close()

        try:
            sync = await worker.run(_open)
        except BaseException:
            # Cancelled or failed: a connection that completes later must not leak.
            worker.submit(_close_opened)
            worker.stop()
            raise
        return cls(worker, sync, command_timeout=command_timeout)

    # -- state -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def broken(self) -> bool:
        """True when the connection is lost or in an unknown state: it must be discarded."""
        return self._sync.broken

    @property
    def dialect(self) -> Dialect:
        """The dialect in use (``conn.dialect.name``)."""
        return self._sync.dialect

    @property
    def dbms_name(self) -> str:
        """The driver's ``SQL_DBMS_NAME``."""
        return self._sync.dbms_name

    @property
    def in_transaction(self) -> bool:
        """True inside a ``transaction()`` block."""
        return self._tx is not None

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits on its own (read without a thread hop)."""
        return bool(self._sync.options.autocommit if self._sync.closed else self._sync.autocommit)

    @property
    def sync_connection(self) -> Connection:
        """The sync connection; only touch it through :meth:`run_sync`."""
        return self._sync

    @property
    def worker_thread(self) -> threading.Thread:
        """The thread that owns this connection's driver handle."""
        return self._worker.thread

    @property
    def is_clean(self) -> bool:
        """True when the connection can go straight to its next user: open, not broken, in
        autocommit mode, outside any transaction, its worker idle with no cancel pending."""
        return not self._closed and self._tx is None and self.is_idle and self._sync.is_clean

    @property
    def is_idle(self) -> bool:
        """True when the worker has no job queued or running."""
        return self._worker.idle and not self.cancel_pending

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("broken" if self.broken else "open")
        return f"<AsyncConnection {self.dialect.name} {state} at {id(self):#x}>"

    def __del__(self) -> None:
        if getattr(self, "_closed", True) is False:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=2, source=self)
            self._worker.submit(self._sync.close)
            self._worker.stop()

    # -- the one crossing -------------------------------------------------------------------
    def _refuse(self) -> BaseException:
        if self._closed_error is not None:
            return self._closed_error
        return InterfaceError("the connection is closed")

    def _call(
        self, fn: Callable[..., T], *args: Any, timeout: float | None = None
    ) -> Coroutine[Any, Any, T]:
        # A plain function returning the worker's coroutine: one frame less on every call.
        if self._closed:
            raise self._refuse()
        if timeout is None:
            timeout = self.command_timeout
        else:
            check_timeout("timeout", timeout)
        tx = self._tx
        if tx is not None and tx._owner is not self._worker.current_task():
            raise InterfaceError(
                "this connection is inside a transaction() block of another task: its "
                "statements would run in that transaction; use a connection of its own"
            )
        return self._worker.run(fn, *args, timeout=timeout, on_cancel=self._on_cancel)

    def _start(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        if self._closed:
            raise self._refuse()
        return self._worker.start(fn, *args)

    async def _call_shielded(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise self._refuse()
        return await self._worker.run_shielded(fn, *args)

    def _on_cancel(self, seq: int, started: bool) -> bool:
        """A caller left before job ``seq`` finished: stop it if it runs, then let the worker
        put the connection's state right after it (:meth:`Connection.after_cancel`): a
        cancellation inside a transaction aborts it, even one whose statement never started.
        Returns whether the job belongs to a transaction."""
        sync = self._sync
        in_transaction = self._tx is not None or not self.autocommit or sync.suspect_transaction
        done = self._worker.completed >= seq  # finished, its result not yet delivered
        if not in_transaction and (done or not started):
            return False  # skipped, or over: nothing else depends on it
        if sync.cursors_hold_transaction:
            # psqlODBC UseDeclareFetch: the ROLLBACK after a cancel closes every server-side
            # cursor of the connection, and the driver would then end their results quietly.
            for cur in list(self._open_cursors):
                cur._lose_position(
                    "a cancellation on this connection rolled back its server-side cursors; "
                    "execute the query again"
                )
        self.cancel_pending = True
        canceller = cancel_job(self._worker, seq, sync.cancel) if started and not done else None
        try:
            self._worker.submit(self._after_cancel, canceller)
        except InterfaceError:  # closed meanwhile
            self.cancel_pending = False
        return in_transaction

    def _after_cancel(self, canceller: threading.Thread | None) -> None:
        """Worker thread, after the cancelled job: once the cancel helper is done (so it can
        never hit a later statement), roll back or mark the transaction aborted."""
        if canceller is not None:
            canceller.join()
        try:
            self._sync.after_cancel()
        finally:
            self.cancel_pending = False

    async def _run_atomic(
        self, job: Callable[[Callable[[], bool]], T], *, timeout: float | None
    ) -> T:
        """Run ``job(may_commit)``, a job that commits at its end (``executemany`` in
        autocommit mode), so that a cancellation or timeout never hides a commit: a caller
        that leaves before the commit starts gets its cancellation at once and the job rolls
        back; once the commit started, the caller waits for it (shielded), then a
        cancellation is re-raised, and a timeout that came too late returns the result."""
        gate = _CommitGate()
        if timeout is not None:
            check_timeout("timeout", timeout)
        pending = self._start(job, gate.may_commit)
        if timeout is None:
            timeout = self.command_timeout
        try:
            return await pending.result(self._on_cancel, timeout)  # type: ignore[return-value]
        except CommandTimeout as exc:
            if gate.leave():
                if exc.outcome is Outcome.UNKNOWN:  # it will roll back: no commit can happen
                    exc.outcome = Outcome.ROLLED_BACK
                    exc.message = (
                        f"the batch did not finish within its timeout of {timeout:g} s and was "
                        "cancelled before its commit: nothing of it was written"
                    )
                    exc.args = (exc.message,)
                raise
            return await self._finish_commit(pending)
        except anyio.get_cancelled_exc_class():
            if not gate.leave():
                try:
                    with anyio.CancelScope(shield=True):
                        await self._finish_commit(pending)
                except Exception as exc:  # the cancellation wins; the commit's fate is logged
                    logger.warning(
                        "a batch's COMMIT failed while its caller was cancelled: %r", exc
                    )
            raise

    async def _finish_commit(self, pending: Pending[T]) -> T:
        with anyio.CancelScope(shield=True):
            result = await pending.result()
        return result  # type: ignore[return-value]

    async def run_sync(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on this connection's worker thread (for sync-layer extras such as
        ``lambda c: c.last_serial()``: pass ``conn.sync_connection`` as an argument)."""
        return await self._call(fn, *args, timeout=timeout)

    # -- one round trip each ------------------------------------------------------------------
    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> int:
        """Run one statement; return the affected row count (-1 when unknown)."""
        if self.hooks.active:
            call = self._call(self._sync.execute_direct, sql, params, timeout=timeout)
            return await self._logged("execute", sql, params, timeout, call, count_int)  # type: ignore[no-any-return]
        return await self._call(self._sync.execute_direct, sql, params, timeout=timeout)

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run ``sql`` once per parameter set, atomically: in autocommit mode the batch runs
        in a transaction of its own, and its COMMIT is shielded like :meth:`commit`'s (a
        cancellation that arrives during it waits for it; one that arrives before it rolls
        the batch back)."""
        sync = self._sync

        def _job(may_commit: Callable[[], bool]) -> None:
            sync.executemany(sql, seq_of_params, may_commit)

        if self.hooks.active:
            n = len(seq_of_params) if hasattr(seq_of_params, "__len__") else -1
            call = self._run_atomic(_job, timeout=timeout)
            await self._logged("executemany", sql, n, timeout, call, count_unknown)
            return
        await self._run_atomic(_job, timeout=timeout)

    async def fetch(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> list[Any]:
        """Run a query; return all rows."""
        call = self._call(self._sync.fetch, sql, params, row_factory, timeout=timeout)
        if self.hooks.active:
            return await self._logged("fetch", sql, params, timeout, call, count_list)  # type: ignore[no-any-return]
        return await call

    async def fetchrow(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> Any:
        """Run a query; return the first row or ``None``."""
        call = self._call(self._sync.fetchrow, sql, params, row_factory, timeout=timeout)
        if self.hooks.active:
            return await self._logged("fetchrow", sql, params, timeout, call, count_row)
        return await call

    async def fetchval(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        column: int = 0,
        timeout: float | None = None,
    ) -> Any:
        """Run a query; return one value of the first row, or ``None``."""
        call = self._call(self._sync.fetchval, sql, params, column, timeout=timeout)
        if self.hooks.active:
            return await self._logged("fetchval", sql, params, timeout, call, count_unknown)
        return await call

    async def ping(self, *, timeout: float | None = None) -> float:
        """Run the dialect's liveness query; return its round-trip time in seconds."""
        return await self._call(self._sync.ping, timeout=timeout)

    async def commit(self) -> None:
        """Commit (DB-API mode). Shielded: a cancellation waits for the commit to finish.

        :raises InternalError: a cancellation aborted the transaction; nothing is committed.
        """
        await self._call_shielded(self._sync.commit)

    async def rollback(self) -> None:
        """Roll back (DB-API mode); also clears the aborted state a cancellation left.
        Shielded like :meth:`commit`."""
        await self._call_shielded(self._sync.rollback)

    # -- hooks and adapters ---------------------------------------------------------------------
    def add_query_logger(self, fn: QueryLogger, *, params: bool = False) -> None:
        """Call ``fn(record)`` after every statement, in the caller's task (see
        :mod:`informix_aio.hooks`).

        :param params: show ``fn`` the parameters themselves (default: only their types).
        """
        self.hooks.add(fn, params=params)

    def remove_query_logger(self, fn: QueryLogger) -> None:
        """Stop calling ``fn``."""
        self.hooks.remove(fn)

    def register_adapter(self, py_type: type, fn: Callable[[Any], Any] | None) -> None:
        """Bind parameters of exactly ``py_type`` as ``fn(value)`` (``None`` removes it)."""
        self._sync.register_adapter(py_type, fn)

    def _logged(
        self,
        operation: str,
        sql: str,
        params: Any,
        timeout: float | None,
        call: Coroutine[Any, Any, T],
        count: Callable[[Any], int],
    ) -> Coroutine[Any, Any, Any]:
        return run_logged_async(
            self.hooks,
            operation,
            sql,
            params,
            self.command_timeout if timeout is None else timeout,
            call,
            count,
        )

    async def getinfo(self, info_type: int) -> Any:
        """``SQLGetInfo``, e.g. ``await conn.getinfo(pyodbc.SQL_DBMS_VER)``."""
        return await self._call(self._sync.getinfo, info_type)

    async def add_output_converter(self, sql_type: int, fn: Callable[[Any], Any] | None) -> None:
        """pyodbc's output converter for ``sql_type`` on this connection (``None`` removes it):
        ``fn`` receives the column's raw bytes (``SQL_C_BINARY``) or ``None``."""
        await self._call(self._sync.add_output_converter, sql_type, fn)

    async def set_autocommit(self, value: bool) -> None:
        """Switch autocommit mode."""

        def _set(conn: Connection, v: bool) -> None:
            conn.autocommit = v

        await self._call(_set, self._sync, value)

    def cursor(
        self, *, row_factory: RowFactory | None = None, prefetch: int = DEFAULT_PREFETCH
    ) -> AsyncCursor:
        """A new cursor; no thread hop (the driver's cursor is made on first use).

        Use as ``cur = await conn.cursor()``, ``cur = conn.cursor()`` or
        ``async with conn.cursor() as cur``.
        """
        if self._closed:
            raise InterfaceError("the connection is closed")
        if prefetch < 1:
            raise ValueError("prefetch must be >= 1")
        return AsyncCursor(self, row_factory or self._sync.row_factory, prefetch)

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> AsyncTransaction:
        """``async with conn.transaction():`` commits on success and rolls back on any
        exception or cancellation; nested blocks become savepoints."""
        if self._closed:
            raise InterfaceError("the connection is closed")
        return AsyncTransaction(self, isolation=isolation, readonly=readonly)

    async def wait_idle(self) -> None:
        """Wait until every job queued so far has run and a cancelled statement's clean-up is
        done (cancellable: the waiting, not the work, is what a cancel stops)."""
        if not self._worker.idle:
            await self._worker.run(_noop)
        # Cleared by the worker thread, which cannot set a loop event cheaply.
        while self.cancel_pending:  # noqa: ASYNC110
            await anyio.sleep(0.005)

    async def reset(self) -> None:
        """Roll back anything open and restore the connection's autocommit mode (shielded);
        a transaction block left open is over."""
        await self._call_shielded(self._sync.reset)
        tx, self._tx = self._tx, None
        while tx is not None:
            tx.state = TransactionState.ROLLED_BACK
            tx = tx._parent

    def end_lease(self) -> None:
        """The pool takes the connection back: invalidate this lease's cursors and
        transactions, and close the cursors left open (queued; no wait)."""
        self.lease += 1
        for cur in list(self._open_cursors):
            cur._abandon()

    async def close(self) -> None:
        """Close the connection and let its thread exit. Idempotent; shielded."""
        if self._closed:
            return
        self._closed = True
        worker = self._worker
        try:
            await worker.run_shielded(self._sync.close)
        finally:
            worker.stop()

    def terminate(self, error: BaseException | None = None) -> None:
        """Close without waiting: the close is queued behind whatever still runs.

        :param error: when given, the statement running is cancelled in the driver, and its
            caller, every caller queued behind it and every later call get ``error`` at once
            (the pool passes :class:`PoolClosed`).
        """
        worker = self._worker
        if error is not None and self._closed_error is None:
            # Also for a connection already closing: a close queued behind a stuck statement
            # would wait for it; this cancels it and fails its caller now.
            self._closed_error = error
            worker.abort(error, self._sync.cancel)
        if self._closed:
            return
        self._closed = True
        worker.submit(self._sync.close)
        worker.stop()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _CommitGate:
    """Decides, under a lock, between a caller who leaves and a job that commits: whichever
    comes first wins, so a job never commits for a caller who already left, and a caller never
    leaves while the commit runs."""

    __slots__ = ("_lock", "_state")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "open"

    def may_commit(self) -> bool:
        """Worker thread, right before COMMIT: False when the caller left (roll back)."""
        with self._lock:
            if self._state == "left":
                return False
            self._state = "committing"
            return True

    def leave(self) -> bool:
        """Loop thread: the caller wants to leave; False once the commit has started."""
        with self._lock:
            if self._state == "committing":
                return False
            self._state = "left"
            return True


def _noop() -> None:
    pass
