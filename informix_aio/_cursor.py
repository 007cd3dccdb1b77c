"""The synchronous DB-API 2.0 cursor over a pyodbc cursor.

Every driver call that can wait on the server (execute, fetch, nextset, executemany) is
published on its connection while it runs, so that another thread can cancel it
(:meth:`Connection.cancel`). Errors leave as :mod:`informix_aio.errors` classes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyodbc

from ._checks import check_sql, conversion_error, translate_builtin
from .errors import InterfaceError, ProgrammingError, QueryCanceled
from .hooks import count_unknown, run_logged
from .rows import Description, RowFactory, RowMaker

if TYPE_CHECKING:
    from ._sync import Connection

__all__ = ["Cursor", "make_rows"]

logger = logging.getLogger(__name__)


def make_rows(
    rows: Sequence[Any], description: Description | None, factory: RowFactory | None
) -> list[Any]:
    """Shape pyodbc rows with a row factory (tuples when there is none)."""
    if factory is None or description is None:
        return list(map(tuple, rows))
    maker: RowMaker = factory(description)
    if maker is tuple:
        return list(map(tuple, rows))
    return [maker(r) for r in rows]


class Cursor:
    """A DB-API 2.0 cursor. Rows are tuples unless a row factory says otherwise."""

    def __init__(
        self, connection: Connection, raw: pyodbc.Cursor, row_factory: RowFactory | None
    ) -> None:
        self.connection = connection
        self._raw: pyodbc.Cursor | None = raw
        self.row_factory = row_factory
        self._maker: RowMaker | None = None
        self._input_sizes: list[Any] | None = None
        self.arraysize = 1

    def _handle(self) -> pyodbc.Cursor:
        raw = self._raw
        if raw is None:
            raise InterfaceError("the cursor is closed")
        conn = self.connection
        if conn.closed:
            raise InterfaceError("the cursor's connection is closed")
        if conn.aborted:
            raise conn.aborted_error()
        return raw

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran or the connection closed."""
        return self._raw is None or self.connection.closed

    @property
    def description(self) -> Description | None:
        """Column descriptions of the last query (PEP 249 7-tuples), or ``None``."""
        raw = self._raw
        return None if raw is None else raw.description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last statement, -1 when unknown."""
        raw = self._raw
        return -1 if raw is None else int(raw.rowcount)

    @property
    def lastrowid(self) -> None:
        """Always ``None``: ODBC has no last-row id (Informix: ``conn.last_serial()``)."""
        return None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        """Execute one statement with ``?`` parameters.

        :raises ProgrammingError: bad SQL, wrong number of parameters, bad parameter type.
        :raises DataError: a parameter the driver cannot bind (out of range, bad characters).
        :raises InterfaceError: the cursor or connection is closed.
        """
        hooks = self.connection.hooks
        if hooks.active:
            return run_logged(  # type: ignore[no-any-return]
                hooks,
                "cursor.execute",
                sql,
                params,
                None,
                lambda: self._execute(sql, params),
                _rowcount,
            )
        return self._execute(sql, params)

    def _execute(self, sql: str, params: Sequence[Any] | None) -> Cursor:
        raw = self._handle()
        self._apply_input_sizes(raw)
        self.connection._run(raw, sql, params)
        self._maker = None
        return self

    def executemany(
        self,
        sql: str,
        seq_of_params: Sequence[Sequence[Any]],
        *,
        may_commit: Callable[[], bool] | None = None,
    ) -> None:
        """Execute once per parameter set. Atomic: in autocommit mode the whole batch runs in
        one transaction, so a failure part-way leaves nothing written.

        :param may_commit: asked right before that transaction commits (the async layer's
            commit gate); when it answers False the batch is rolled back instead and
            :class:`QueryCanceled` is raised.
        """
        hooks = self.connection.hooks
        if hooks.active:
            run_logged(
                hooks,
                "cursor.executemany",
                sql,
                -1,
                None,
                lambda: self._executemany(sql, seq_of_params, may_commit),
                count_unknown,
            )
            return
        self._executemany(sql, seq_of_params, may_commit)

    def _executemany(
        self,
        sql: str,
        seq_of_params: Sequence[Sequence[Any]],
        may_commit: Callable[[], bool] | None,
    ) -> None:
        raw = self._handle()
        conn = self.connection
        check_sql(sql)
        batch = [conn.check_params(p) for p in _parameter_sets(seq_of_params)]
        if not batch:
            return
        self._apply_input_sizes(raw)
        wrap = (
            not conn.in_transaction
            and conn.autocommit
            and conn._check_transactions_supported(refuse=False)
        )
        token = conn.begin_transaction() if wrap else None
        conn.note_statement(sql)
        conn._begin_call(raw)
        try:
            raw.executemany(sql, batch)
        except pyodbc.Error as exc:
            err = conn._fail(exc)
            if token is not None:
                conn.end_transaction(token, commit=False)
            raise err from exc
        except (OverflowError, UnicodeEncodeError, TypeError, ValueError) as exc:
            if token is not None:
                conn.end_transaction(token, commit=False)
            translated = translate_builtin(exc, None)
            if translated is None:
                raise
            raise translated from exc
        except BaseException:
            if token is not None:
                conn.end_transaction(token, commit=False)
            raise
        finally:
            conn._done_executing()
        if token is not None:
            if may_commit is not None and not may_commit():
                conn.end_transaction(token, commit=False)
                raise QueryCanceled(
                    "executemany was cancelled before its commit: nothing was written"
                )
            conn.end_transaction(token, commit=True)

    def _make(self, rows: Sequence[Any]) -> list[Any]:
        factory = self.row_factory
        if factory is None:
            return list(map(tuple, rows))
        if self._maker is None:
            desc = self.description
            if desc is None:
                raise ProgrammingError("no results: the last statement returned no rows")
            self._maker = factory(desc)
        maker = self._maker
        return [maker(r) for r in rows]

    def _fetch(self, how: Callable[..., Any], *args: Any) -> Any:
        """One fetch call, published so another thread can cancel it (a fetch can be a server
        round trip: psqlODBC's UseDeclareFetch, Informix's fetch buffer)."""
        conn = self.connection
        conn._begin_call(self._raw, fetching=True)
        try:
            return how(*args)
        except pyodbc.Error as exc:
            raise conn._fail(exc) from exc
        except Exception as exc:  # an output converter failed
            err = conversion_error(exc)
            if err is exc:
                raise
            raise err from exc
        finally:
            conn._done_executing()

    def fetchone(self) -> Any:
        """The next row, or ``None`` when the result is exhausted."""
        raw = self._handle()
        row = self._fetch(raw.fetchone)
        return None if row is None else self._make([row])[0]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` rows (default :attr:`arraysize`)."""
        raw = self._handle()
        n = check_size(self.arraysize if size is None else size)
        return self._make(self._fetch(raw.fetchmany, n))

    def fetchall(self) -> list[Any]:
        """All remaining rows."""
        raw = self._handle()
        return self._make(self._fetch(raw.fetchall))

    def nextset(self) -> bool:
        """Move to the next result set; False when there is none."""
        raw = self._handle()
        self._maker = None
        return bool(self._fetch(raw.nextset))

    def execute_prefetch(
        self, sql: str, params: Sequence[Any] | None, prefetch: int
    ) -> tuple[Description | None, int, list[Any], bool]:
        """Execute and fetch the first ``prefetch`` rows in one call (one worker hop).

        :returns: ``(description, rowcount, rows, exhausted)``.
        :raises ProgrammingError: ``prefetch`` is below 1.
        """
        if prefetch < 1:
            raise ProgrammingError("prefetch must be >= 1")
        raw = self._handle()
        self._apply_input_sizes(raw)
        self.connection._run(raw, sql, params)
        self._maker = None
        description = raw.description
        if description is None:
            return None, int(raw.rowcount), [], True
        rows = self._make(self._fetch(raw.fetchmany, prefetch))  # fetchmany's checks passed
        return description, int(raw.rowcount), rows, len(rows) < prefetch

    def setinputsizes(self, sizes: Sequence[Any] | None) -> None:
        """Declare parameter types for the next execute: pyodbc's ``(sql_type, size,
        decimal_digits)`` per marker; ``None`` forgets them."""
        self._input_sizes = None if sizes is None else list(sizes)

    def _apply_input_sizes(self, raw: pyodbc.Cursor) -> None:
        sizes = self._input_sizes
        if sizes is not None:
            self._input_sizes = None
            raw.setinputsizes(sizes)

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted for PEP 249 compliance; pyodbc sizes its buffers itself."""

    def close(self) -> None:
        """Close the cursor. Idempotent."""
        raw, self._raw = self._raw, None
        if raw is not None and not self.connection.closed:
            try:
                raw.close()
            except pyodbc.Error as exc:
                logger.debug("error closing cursor: %s", exc)

    def __iter__(self) -> Iterator[Any]:
        while True:
            rows = self.fetchmany(max(self.arraysize, 100))
            if not rows:
                return
            yield from rows

    def __enter__(self) -> Cursor:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _rowcount(cur: Cursor) -> int:
    return cur.rowcount


def check_size(n: object) -> int:
    """A ``fetchmany`` size: an int >= 0.

    :raises ProgrammingError: anything else.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ProgrammingError(f"fetchmany size must be an integer >= 0, not {n!r}")
    return n


def _parameter_sets(seq_of_params: object) -> Iterator[Any]:
    """The parameter sets of a batch.

    :raises ProgrammingError: not an iterable of parameter sequences (``None``, a number, a
        string, a mapping).
    """
    if seq_of_params is None or isinstance(seq_of_params, (str, bytes, bytearray, Mapping)):
        raise ProgrammingError(
            "executemany takes a sequence of parameter sequences, not "
            f"{type(seq_of_params).__name__}"
        )
    try:
        return iter(seq_of_params)  # type: ignore[call-overload, no-any-return]
    except TypeError:
        raise ProgrammingError(
            "executemany takes a sequence of parameter sequences, not "
            f"{type(seq_of_params).__name__}"
        ) from None
