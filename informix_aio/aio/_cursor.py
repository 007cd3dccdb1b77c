"""AsyncCursor: ``execute`` fetches the first rows in the same thread round trip, the
``fetch*`` methods serve from that buffer, and ``async for`` reads the next batch ahead.

Rows are never lost. Every batch is fetched by a job that keeps its own outcome
(:meth:`Worker.start`), and the job stays the cursor's until its rows are delivered: when a
fetch is cancelled or times out, the next fetch collects that same job first. It returns
exactly the rows not yet delivered (the job finished), or fetches them now (the job never
ran), or, when the cancellation stopped the fetch inside the driver and the cursor's
position is unknown, raises :class:`InterfaceError` from then on. Rows a ``fetchmany`` or
``fetchall`` had taken from the buffer go back into it when a later part of the same call
is cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._cursor import Cursor, check_size
from .._validate import check_timeout
from ..errors import InterfaceError, ProgrammingError
from ..rows import Description, RowFactory
from ._worker import Pending

if TYPE_CHECKING:
    from ._connection import AsyncConnection

__all__ = ["DEFAULT_PREFETCH", "ITER_BATCH", "SPARE_CURSORS", "AsyncCursor"]

logger = logging.getLogger(__name__)

#: Rows fetched together with ``execute`` (and per later hop of ``fetchone``).
DEFAULT_PREFETCH = 100
#: Rows fetched per hop by ``async for`` (at least; ``arraysize`` can raise it).
ITER_BATCH = 1000
#: Closed cursors kept per connection for reuse (saves a driver handle and a hop each).
SPARE_CURSORS = 4
#: ``_ahead_size`` of a job that fetches every remaining row.
_ALL = -1


class AsyncCursor:
    """A cursor whose ``execute`` also fetches the first rows in the same thread round trip."""

    __slots__ = (
        "__weakref__",
        "_ahead",
        "_ahead_size",
        "_broken",
        "_closed",
        "_conn",
        "_description",
        "_exhausted",
        "_input_sizes",
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
        # The fetch job whose rows are not delivered yet (read ahead, or left by a cancelled
        # fetch), and how many rows it asked for (_ALL: every remaining row).
        self._ahead: Pending[list[Any]] | None = None
        self._ahead_size = 0
        # Why fetching cannot go on (a cancelled fetch stopped in the driver), or None.
        self._broken: str | None = None
        self._input_sizes: list[Any] | None = None
        self._lease = conn.lease
        self.arraysize = 1

    def __await__(self) -> Generator[Any, None, AsyncCursor]:
        """``await conn.cursor()`` works too (nothing to wait for: no coroutine is made)."""
        return _Ready(self)

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
    def lastrowid(self) -> None:
        """Always ``None``: ODBC has no last-row id (Informix: ``last_serial()``)."""
        return None

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

    def setinputsizes(self, sizes: Sequence[Any] | None) -> None:
        """Declare parameter types for the next execute (pyodbc's ``(sql_type, size,
        decimal_digits)`` per marker)."""
        self._input_sizes = None if sizes is None else list(sizes)

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted for PEP 249 compliance; pyodbc sizes its buffers itself."""

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
        self, sql: str, params: Sequence[Any] | None, prefetch: int, sizes: list[Any] | None
    ) -> tuple[Description | None, int, list[Any], bool]:
        cur = self._ensure()
        if sizes is not None:
            cur.setinputsizes(sizes)
        return cur.execute_prefetch(sql, params, prefetch)

    def _fetch_job(self, size: int) -> list[Any]:
        cur = self._ensure()
        return cur.fetchall() if size == _ALL else cur.fetchmany(size)

    def _reset_results(self) -> None:
        self._rows, self._pos, self._exhausted = [], 0, True
        self._description, self._rowcount = None, -1
        self._ahead = None  # a fetch still queued runs first (FIFO); its rows are moot
        self._broken = None

    async def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: float | None = None
    ) -> AsyncCursor:
        """Execute a statement and buffer its first rows, in one thread round trip."""
        self._check()
        self._reset_results()  # until the statement succeeds, no results (as after a failure)
        conn = self._conn
        conn._open_cursors.add(self)
        sizes, self._input_sizes = self._input_sizes, None
        call = conn._call(self._execute_job, sql, params, self._prefetch, sizes, timeout=timeout)
        if conn.hooks.active:
            call = conn._logged("cursor.execute", sql, params, timeout, call, _rowcount_of)
        desc, count, rows, exhausted = await call
        self._description, self._rowcount = desc, count
        self._rows, self._exhausted = rows, exhausted
        return self

    async def executemany(
        self, sql: str, seq_of_params: Sequence[Sequence[Any]], *, timeout: float | None = None
    ) -> None:
        """Execute once per parameter set, atomically (see
        :meth:`AsyncConnection.executemany`)."""
        self._check()
        self._reset_results()
        self._conn._open_cursors.add(self)

        def _job(may_commit: Any) -> int:
            cur = self._ensure()
            cur.executemany(sql, seq_of_params, may_commit=may_commit)
            return cur.rowcount

        call = self._conn._run_atomic(_job, timeout=timeout)
        if self._conn.hooks.active:
            n = len(seq_of_params) if hasattr(seq_of_params, "__len__") else -1
            call = self._conn._logged("cursor.executemany", sql, n, timeout, call, _as_count)
        self._rowcount = await call

    async def nextset(self, *, timeout: float | None = None) -> bool:
        """Move to the next result set and buffer its first rows; False when there is none."""
        self._require_open()
        self._ahead = None  # a read-ahead of this set runs first (FIFO); its rows are moot
        prefetch = self._prefetch

        def _job() -> tuple[Description | None, int, list[Any], bool] | None:
            cur = self._ensure()
            if not cur.nextset():
                return None
            desc = cur.description
            if desc is None:
                return None, cur.rowcount, [], True
            rows = cur.fetchmany(prefetch)
            return desc, cur.rowcount, rows, len(rows) < prefetch

        found = await self._conn._call(_job, timeout=timeout)
        if found is None:
            self._reset_results()
            return False
        self._description, self._rowcount, self._rows, self._exhausted = found
        self._pos, self._broken = 0, None
        return True

    def _lose_position(self, why: str) -> None:
        """The driver's cursor is gone or its position unknown: rows already buffered are still
        served, and every later fetch raises :class:`InterfaceError` (never a quiet end)."""
        if self._broken is None and not self._exhausted:
            self._broken = why

    def _require_open(self) -> None:
        self._check()
        if self._broken is not None:
            raise InterfaceError(self._broken)

    def _read_ahead(self, size: int) -> None:
        """Queue the next batch now, so the worker fetches while the caller consumes."""
        if self._ahead is None and not self._exhausted and self._broken is None:
            self._ahead, self._ahead_size = self._conn._start(self._fetch_job, size), size

    async def _refill(self, size: int, timeout: float | None = None) -> None:
        """Replace the (consumed) buffer with the next batch: the one fetched ahead or left
        by a cancelled fetch if there is one, else a new one of ``size`` rows (_ALL: all)."""
        while True:
            self._require_open()
            ahead = self._ahead
            if ahead is None:
                ahead = self._ahead = self._conn._start(self._fetch_job, size)
                self._ahead_size = size
            collecting = ahead.was_left  # a wait for it was cancelled before
            try:
                rows = await ahead.result(self._conn._on_cancel, timeout)
            except BaseException as exc:
                if collecting and exc is ahead.error:
                    # The fetch a cancellation stopped in the driver failed: where the driver's
                    # cursor stands is unknown, so no later fetch may pretend to continue it.
                    self._ahead = None
                    self._broken = (
                        "a cancelled fetch was stopped in the driver, so this cursor's position "
                        "is unknown and no more rows can be fetched from it; execute again"
                    )
                    raise InterfaceError(self._broken) from exc
                if not ahead.was_left:
                    self._ahead = None  # the fetch itself failed: nothing is left to collect
                raise  # cancelled or timed out: the next fetch collects this job's rows
            self._ahead = None
            if isinstance(rows, list):
                break
            # NOT_RUN: its caller left before it ran; nothing was fetched, so fetch anew.
        got = self._ahead_size
        self._rows, self._pos = rows, 0
        self._exhausted = got == _ALL or len(rows) < got
        self._check()  # closed or released while waiting: these rows are not for anyone

    def _require_result(self) -> None:
        self._require_open()
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
        if timeout is not None:
            check_timeout("timeout", timeout)
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
        n = check_size(self.arraysize if size is None else size)
        if timeout is not None:
            check_timeout("timeout", timeout)
        out = self._rows[self._pos : self._pos + n]
        self._pos += len(out)
        try:
            while len(out) < n and not self._exhausted:
                await self._refill(max(n - len(out), self._prefetch), timeout)
                more = self._rows[: n - len(out)]
                self._pos = len(more)
                out.extend(more)
        except BaseException:
            self._give_back(out)
            raise
        return out

    async def fetchall(self, *, timeout: float | None = None) -> list[Any]:
        """All remaining rows."""
        self._require_result()
        if timeout is not None:
            check_timeout("timeout", timeout)
        out = self._rows[self._pos :]
        self._rows, self._pos = [], 0
        try:
            while not self._exhausted:
                # A batch fetched ahead (or left by a cancel) first, then the rest at once.
                await self._refill(_ALL if self._ahead is None else self._ahead_size, timeout)
                out.extend(self._rows)
                self._rows = []
        except BaseException:
            self._give_back(out)
            raise
        return out

    def _give_back(self, taken: list[Any]) -> None:
        """A fetch call failed part-way: the rows it took from the buffer go back in front."""
        if taken and not self._closed:
            self._rows = taken + self._rows[self._pos :]
            self._pos = 0

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
        if self._lease != self._conn.lease:
            self._closed = True  # the pool took care of it at release (_abandon)
            return
        self._retire()

    def _abandon(self) -> None:
        """Its lease ended while it was open (the seed guide's cursors are never closed)."""
        if not self._closed:
            self._retire()

    def _retire(self) -> None:
        """Close: a cursor whose result was read to the end (pyodbc closed it at SQL_NO_DATA)
        goes to the connection's spares with no hop and no job, so a lease whose cursor was
        left open still releases through the pool's fast path; any other queues its close."""
        self._closed = True
        self._rows = []
        cur, self._sync = self._sync, None
        conn = self._conn
        conn._open_cursors.discard(self)
        if cur is None or conn.closed:
            return
        spares = conn.spare_cursors
        if (
            self._exhausted
            and self._ahead is None
            and len(spares) < SPARE_CURSORS
            and not conn.sync_connection.cursors_hold_transaction
        ):
            spares.append(cur)  # the next execute on it closes this finished result
        else:
            conn._worker.submit(cur.close)


class _Rows:
    """``async for row in cursor``: a class, not an async generator, so that leaving the loop
    early leaves nothing to finalize; it advances the cursor's own position, so the rows after
    a ``break`` are still there for ``fetchone``. A cursor closed or released during the loop
    raises :class:`InterfaceError`: the loop never ends as if the result were complete."""

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
        cur._require_open()  # closed, released, or broken: an error, never a quiet end
        if cur._exhausted:
            raise StopAsyncIteration
        await cur._refill(self._batch)
        cur._read_ahead(self._batch)
        if not cur._rows:
            raise StopAsyncIteration
        cur._pos = 1
        return cur._rows[0]


class _Ready:
    """The iterator behind ``await cursor``: finished at once, its value the cursor."""

    __slots__ = ("_cur",)

    def __init__(self, cur: AsyncCursor) -> None:
        self._cur = cur

    def __iter__(self) -> _Ready:
        return self

    def __next__(self) -> Any:
        raise StopIteration(self._cur)

    def send(self, value: Any) -> Any:
        raise StopIteration(self._cur)

    def throw(self, *args: Any) -> Any:
        raise StopIteration(self._cur)

    def close(self) -> None:
        pass


def _rowcount_of(result: tuple[Any, int, list[Any], bool]) -> int:
    return result[1]


def _as_count(result: Any) -> int:
    return result if isinstance(result, int) else -1
