"""AsyncConnection and AsyncCursor: the awaitable API over the sync layer.

Every method that touches the driver is one :meth:`Worker.run` call: one thread round trip.
``AsyncCursor.execute`` fetches the first batch of rows in that same trip, and the ``fetch*``
methods serve from that buffer without crossing threads again.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Coroutine, Generator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio

from .._options import ConnectOptions, build_options
from .._sync import Connection, Cursor, open_connection
from ..dialects import Dialect
from ..errors import InterfaceError, ProgrammingError
from ..rows import Description, RowFactory
from ._transaction import AsyncTransaction, TransactionState
from ._worker import Pending, Worker, cancel_job

__all__ = ["AsyncConnection", "AsyncCursor", "connect"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Rows fetched together with ``execute`` (and per later hop of ``fetchone``).
DEFAULT_PREFETCH = 100
#: Rows fetched per hop by ``async for`` (at least; ``arraysize`` can raise it).
ITER_BATCH = 1000
#: Closed cursors kept per connection for reuse (saves a driver handle and a hop each).
SPARE_CURSORS = 4


async def connect(*, command_timeout: float | None = None, **options: Any) -> AsyncConnection:
    """Open a connection on its own worker thread.

    Takes the options of :func:`informix_aio.connect`, plus:

    :param command_timeout: default ``timeout=`` (seconds) for every statement.
    :raises InterfaceError: bad options, no such ODBC driver.
    :raises OperationalError: the database could not be reached.
    """
    return await AsyncConnection.open(build_options(**options), command_timeout=command_timeout)


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

    @classmethod
    async def open(
        cls, options: ConnectOptions, *, command_timeout: float | None = None
    ) -> AsyncConnection:
        """Open a connection from validated options (used by :func:`connect` and the pool)."""
        if command_timeout is not None and command_timeout <= 0:
            raise ValueError("command_timeout must be > 0")
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
    def _call(
        self, fn: Callable[..., T], *args: Any, timeout: float | None = None
    ) -> Coroutine[Any, Any, T]:
        # A plain function returning the worker's coroutine: one frame less on every call.
        if self._closed:
            raise InterfaceError("the connection is closed")
        if timeout is None:
            timeout = self.command_timeout
        return self._worker.run(fn, *args, timeout=timeout, on_cancel=self._on_cancel)

    def _start(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        if self._closed:
            raise InterfaceError("the connection is closed")
        return self._worker.start(fn, *args)

    async def _call_shielded(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise InterfaceError("the connection is closed")
        return await self._worker.run_shielded(fn, *args)

    def _on_cancel(self, seq: int) -> None:
        """A caller left while job ``seq`` may be running: stop it, then clean up after it."""
        self.cancel_pending = True
        canceller = cancel_job(self._worker, seq, self._sync.cancel)
        # Decided now, on the loop: inside a transaction block, the block's exit rolls back.
        block_open = self._tx is not None
        try:
            self._worker.submit(self._after_cancel, canceller, block_open)
        except InterfaceError:  # closed meanwhile
            self.cancel_pending = False

    def _after_cancel(self, canceller: threading.Thread, block_open: bool) -> None:
        """Worker thread, after the cancelled job: roll back unless a transaction block will."""
        canceller.join()
        try:
            if not block_open:
                self._sync.reset()
        finally:
            self.cancel_pending = False

    async def run_sync(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on this connection's worker thread (for sync-layer extras such as
        ``lambda c: c.last_serial()``: pass ``conn.sync_connection`` as an argument)."""
        return await self._call(fn, *args, timeout=timeout)

    # -- one round trip each ------------------------------------------------------------------
    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> int:
        """Run one statement; return the affected row count (-1 when unknown)."""
        return await self._call(self._sync.execute_direct, sql, params, timeout=timeout)

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Run ``sql`` once per parameter set, atomically."""
        await self._call(self._sync.executemany, sql, seq_of_params, timeout=timeout)

    async def fetch(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> list[Any]:
        """Run a query; return all rows."""
        return await self._call(self._sync.fetch, sql, params, row_factory, timeout=timeout)

    async def fetchrow(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: float | None = None,
        row_factory: RowFactory | None = None,
    ) -> Any:
        """Run a query; return the first row or ``None``."""
        return await self._call(self._sync.fetchrow, sql, params, row_factory, timeout=timeout)

    async def fetchval(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        column: int = 0,
        timeout: float | None = None,
    ) -> Any:
        """Run a query; return one value of the first row, or ``None``."""
        return await self._call(self._sync.fetchval, sql, params, column, timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> float:
        """Run the dialect's liveness query; return its round-trip time in seconds."""
        return await self._call(self._sync.ping, timeout=timeout)

    async def commit(self) -> None:
        """Commit (DB-API mode). Shielded: a cancellation waits for the commit to finish."""
        await self._call_shielded(self._sync.commit)

    async def rollback(self) -> None:
        """Roll back (DB-API mode). Shielded like :meth:`commit`."""
        await self._call_shielded(self._sync.rollback)

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

    def terminate(self) -> None:
        """Close without waiting: the close is queued behind whatever still runs."""
        if self._closed:
            return
        self._closed = True
        self._worker.submit(self._sync.close)
        self._worker.stop()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _noop() -> None:
    pass


class AsyncCursor:
    """A cursor whose ``execute`` also fetches the first rows in the same thread round trip."""

    __slots__ = (
        "__weakref__",
        "_ahead",
        "_ahead_size",
        "_closed",
        "_conn",
        "_description",
        "_exhausted",
        "_lease",
        "_pos",
        "_prefetch",
        "_row_factory",
        "_rowcount",
        "_rows",
        "_sync",
        "arraysize",
    )

    def __init__(self, conn: AsyncConnection, row_factory: RowFactory | None, prefetch: int):
        self._conn = conn
        self._row_factory = row_factory
        self._prefetch = prefetch
        self._sync: Cursor | None = None
        self._closed = False
        self._description: Description | None = None
        self._rowcount = -1
        self._rows: list[Any] = []
        self._pos = 0
        self._exhausted = True
        # A batch the worker is already fetching (read-ahead of ``async for``), and its size.
        self._ahead: Pending[list[Any]] | None = None
        self._ahead_size = 0
        self._lease = conn.lease
        self.arraysize = 1

    def __await__(self) -> Generator[Any, None, AsyncCursor]:
        """``await conn.cursor()`` works too (nothing to wait for)."""
        return self._itself().__await__()

    async def _itself(self) -> AsyncCursor:
        return self

    async def __aenter__(self) -> AsyncCursor:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    @property
    def connection(self) -> AsyncConnection:
        """The connection this cursor belongs to."""
        return self._conn

    @property
    def description(self) -> Description | None:
        """Column descriptions of the last query, or ``None``."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last statement, -1 when unknown."""
        return self._rowcount

    @property
    def closed(self) -> bool:
        """True once closed, or once its connection closed."""
        return self._closed or self._conn.closed

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        if self._conn.closed:
            raise InterfaceError("the cursor's connection is closed")
        if self._lease != self._conn.lease:
            raise InterfaceError("the cursor's connection was released to the pool")

    def _ensure(self) -> Cursor:
        """Worker thread: the sync cursor, a spare one reused or a new one made on first use."""
        cur = self._sync
        if cur is None:
            spares = self._conn.spare_cursors
            if spares:
                cur = spares.pop()
                cur.row_factory = self._row_factory
            else:
                cur = self._conn.sync_connection.cursor(row_factory=self._row_factory)
            self._sync = cur
        return cur

    def _execute_job(
        self, sql: str, params: Sequence[Any] | None, prefetch: int
    ) -> tuple[Description | None, int, list[Any], bool]:
        return self._ensure().execute_prefetch(sql, params, prefetch)

    def _fetch_job(self, size: int) -> list[Any]:
        return self._ensure().fetchmany(size)

    def _reset_results(self) -> None:
        self._rows, self._pos, self._exhausted = [], 0, True
        self._description, self._rowcount = None, -1
        self._ahead = None  # a read-ahead still queued runs first (FIFO); its rows are moot

    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> AsyncCursor:
        """Execute a statement and buffer its first rows, in one thread round trip."""
        self._check()
        self._reset_results()  # until the statement succeeds, no results (as after a failure)
        conn = self._conn
        conn._open_cursors.add(self)
        desc, count, rows, exhausted = await conn._call(
            self._execute_job, sql, params, self._prefetch, timeout=timeout
        )
        self._description, self._rowcount = desc, count
        self._rows, self._exhausted = rows, exhausted
        return self

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Execute once per parameter set, atomically."""
        self._check()
        self._reset_results()
        self._conn._open_cursors.add(self)

        def _job() -> int:
            cur = self._ensure()
            cur.executemany(sql, seq_of_params)
            return cur.rowcount

        self._rowcount = await self._conn._call(_job, timeout=timeout)

    def _read_ahead(self, size: int) -> None:
        """Queue the next batch now, so the worker fetches while the caller consumes."""
        if self._ahead is None and not self._exhausted:
            self._ahead, self._ahead_size = self._conn._start(self._fetch_job, size), size

    async def _refill(self, size: int, timeout: float | None = None) -> None:
        ahead = self._ahead
        if ahead is not None:
            size = self._ahead_size
            if timeout is None:
                rows = await ahead.result(self._conn._on_cancel)
            else:
                with anyio.fail_after(timeout):
                    rows = await ahead.result(self._conn._on_cancel)
            self._ahead = None
        else:
            rows = await self._conn._call(self._fetch_job, size, timeout=timeout)
        self._rows, self._pos = rows, 0
        self._exhausted = len(rows) < size

    def _require_result(self) -> None:
        self._check()
        if self._description is None:
            raise ProgrammingError("no results to fetch: the last statement returned no rows")

    async def fetchone(self, *, timeout: float | None = None) -> Any:
        """The next row, or ``None``; a thread hop only when the buffer is empty."""
        pos, rows = self._pos, self._rows
        if pos < len(rows):  # rows in the buffer imply a result; the checks of _check inline
            conn = self._conn
            if not (self._closed or conn._closed or self._lease != conn.lease):
                self._pos = pos + 1
                return rows[pos]
        self._require_result()
        if self._pos >= len(self._rows):
            if self._exhausted:
                return None
            await self._refill(max(self._prefetch, self.arraysize), timeout)
            if not self._rows:
                return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    async def fetchmany(
        self, size: int | None = None, *, timeout: float | None = None
    ) -> list[Any]:
        """Up to ``size`` rows (default :attr:`arraysize`)."""
        self._require_result()
        n = self.arraysize if size is None else size
        if n < 0:
            raise ProgrammingError("fetchmany size must be >= 0")
        out = self._rows[self._pos : self._pos + n]
        self._pos += len(out)
        while len(out) < n and not self._exhausted:
            await self._refill(max(n - len(out), self._prefetch), timeout)
            more = self._rows[: n - len(out)]
            self._pos = len(more)
            out.extend(more)
        return out

    async def fetchall(self, *, timeout: float | None = None) -> list[Any]:
        """All remaining rows."""
        self._require_result()
        out = self._rows[self._pos :]
        self._rows, self._pos = [], 0
        if self._ahead is not None and not self._exhausted:
            await self._refill(self._ahead_size, timeout)
            out.extend(self._rows)
            self._rows = []
        if not self._exhausted:

            def _job() -> list[Any]:
                return self._ensure().fetchall()

            out.extend(await self._conn._call(_job, timeout=timeout))
            self._exhausted = True
        return out

    def __aiter__(self) -> _Rows:
        self._require_result()
        # As many rows per hop as a raw ``fetchmany(1000)`` loop fetches per call; a larger
        # ``arraysize`` makes the batches larger still. Memory stays two batches: the one
        # being consumed and the one the worker reads ahead meanwhile.
        return _Rows(self, max(self._prefetch, self.arraysize, ITER_BATCH))

    async def close(self) -> None:
        """Close the cursor without waiting. A cursor whose result was read to the end keeps
        its driver cursor for the connection's next one; others queue a close."""
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._rows = []
        cur, self._sync = self._sync, None
        conn = self._conn
        conn._open_cursors.discard(self)
        if cur is None or conn.closed:
            return
        if self._lease != conn.lease:
            return  # the pool closed it at release
        spares = conn.spare_cursors
        if (
            self._exhausted
            and self._ahead is None
            and len(spares) < SPARE_CURSORS
            and not conn._sync.cursors_hold_transaction
        ):
            spares.append(cur)  # the next execute on it closes this finished result
        else:
            conn._worker.submit(cur.close)

    def _abandon(self) -> None:
        """Its lease ended while it was open: close its driver cursor (queued)."""
        self._closed = True
        self._rows = []
        self._conn._open_cursors.discard(self)
        cur, self._sync = self._sync, None
        if cur is not None and not self._conn.closed:
            self._conn._worker.submit(cur.close)


class _Rows:
    """``async for row in cursor``: a class, not an async generator, so that leaving the loop
    early leaves nothing to finalize; it advances the cursor's own position, so the rows after
    a ``break`` are still there for ``fetchone``."""

    __slots__ = ("_batch", "_cur")

    def __init__(self, cur: AsyncCursor, batch: int) -> None:
        self._cur, self._batch = cur, batch
        cur._read_ahead(batch)

    def __aiter__(self) -> _Rows:
        return self

    async def __anext__(self) -> Any:
        cur = self._cur
        pos = cur._pos
        if pos < len(cur._rows):
            cur._pos = pos + 1
            return cur._rows[pos]
        if cur._exhausted or cur._closed:
            raise StopAsyncIteration
        await cur._refill(self._batch)
        cur._read_ahead(self._batch)
        if not cur._rows:
            raise StopAsyncIteration
        cur._pos = 1
        return cur._rows[0]
