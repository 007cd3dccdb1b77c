"""The synchronous DB-API 2.0 connection and cursor over pyodbc.

Every pyodbc call in this module is wrapped so that a ``pyodbc.Error`` leaves as one of
:mod:`informix_aio.errors`' classes (translated once, by the connection's dialect). The async
layer runs these same methods on its worker thread; nothing here knows about event loops.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import pyodbc

from ._checks import check_sql, conversion_error, param_sequence, translate_builtin
from ._cursor import Cursor, make_rows
from ._options import ConnectOptions, build_options
from ._transactions import Transactions, TransactionToken
from ._validate import check_timeout
from .dialects import Dialect, dialect_for_dbms, get_dialect
from .errors import (
    Error,
    InterfaceError,
    InternalError,
    ProgrammingError,
    translate,
)
from .hooks import (
    QueryHooks,
    QueryLogger,
    SlowQueryLog,
    connection_info,
    count_int,
    count_list,
    count_row,
    count_unknown,
    run_logged,
)
from .rows import RowFactory

__all__ = [
    "Connection",
    "Cursor",
    "TransactionToken",
    "connect",
    "make_rows",
    "open_connection",
]

logger = logging.getLogger(__name__)


def connect(*, slow_query: float | None = None, **options: Any) -> Connection:
    """Open a connection. See :func:`informix_aio._options.build_options` for the options.

    :param slow_query: log statements slower than this many seconds at WARNING
        (:class:`informix_aio.hooks.SlowQueryLog`).
    :raises InterfaceError: bad options, or no ODBC driver by that name.
    :raises OperationalError: the database could not be reached or refused the login.
    """
    check_timeout("slow_query", slow_query, zero_ok=True)
    conn = open_connection(build_options(**options))
    if slow_query is not None:
        conn.add_query_logger(SlowQueryLog(slow_query))
    return conn


def open_connection(options: ConnectOptions) -> Connection:
    """Open a connection from already validated options (what the async layer calls)."""
    dialect = options.dialect
    kwargs: dict[str, Any] = {"autocommit": options.autocommit}
    if options.login_timeout is not None:
        kwargs["timeout"] = options.login_timeout
    if options.attrs_before:
        kwargs["attrs_before"] = dict(options.attrs_before)
    try:
        raw = pyodbc.connect(options.connection_string, **kwargs)
    except pyodbc.Error as exc:
        raise translate(exc, dialect or Dialect()) from exc
    try:
        dbms = str(raw.getinfo(pyodbc.SQL_DBMS_NAME))
        if dialect is None:
            dialect = dialect_for_dbms(dbms) or get_dialect("informix")
        dialect.configure(raw)
        conn = Connection(raw, dialect, options, dbms_name=dbms)
        for sql_type, convert in dialect.output_converters().items():
            conn.add_output_converter(sql_type, convert)
        if conn.cursors_hold_transaction:
            conn.backend_id = dialect.backend_id(raw)
        setup = list(dialect.session_setup(lock_timeout=options.lock_timeout))
        if options.isolation is not None:
            setup.extend(dialect.session_isolation(options.isolation))
        for sql in setup:
            conn._internal(sql)
    except BaseException as exc:
        raw.close()
        if isinstance(exc, pyodbc.Error):
            raise translate(exc, dialect or Dialect()) from exc
        raise
    return conn


class Connection(Transactions):
    """A DB-API 2.0 connection over one pyodbc connection.

    Used as a context manager it commits on success, rolls back on an exception, and closes.
    """

    # PEP 249's optional extension "exceptions as connection attributes" (conn.Error, ...):
    # code that holds only a connection can catch this driver's errors. Imported in the class
    # body, so each name is a class attribute bound to the class of informix_aio.errors.
    from .errors import (
        DatabaseError,
        DataError,
        Error,
        IntegrityError,
        InterfaceError,
        InternalError,
        NotSupportedError,
        OperationalError,
        ProgrammingError,
        Warning,
    )

    def __init__(
        self,
        raw: pyodbc.Connection,
        dialect: Dialect,
        options: ConnectOptions,
        *,
        dbms_name: str = "",
    ) -> None:
        self._raw: pyodbc.Connection | None = raw
        self.dialect = dialect
        self.options = options
        self.dbms_name = dbms_name
        self.row_factory: RowFactory | None = options.row_factory
        self._tx_stack: list[TransactionToken] = []
        self._db_mode: str | None = None
        self._broken = False
        self._shortcut: pyodbc.Cursor | None = None
        # The pyodbc cursor whose statement (or fetch) is running, read by another thread to
        # cancel it.
        self._executing: pyodbc.Cursor | None = None
        self._fetching = False
        self._cancel_lock = threading.Lock()
        #: Set when a cancellation rolled back (or will roll back) work of an open
        #: transaction: the number of transaction blocks open then (0: DB-API's implicit
        #: transaction). Every statement raises until that work is rolled back explicitly.
        self._aborted: int | None = None
        #: The borrower ran SQL that may have opened a transaction the library did not see
        #: (``BEGIN``, ``SET ...``, a procedure call): the next reset rolls back on the server.
        self.suspect_transaction = False
        self.implicit_work = False
        #: The server's id for this session, for a cancel from a side connection (PostgreSQL
        #: with UseDeclareFetch, whose FETCH ignores SQLCancel).
        self.backend_id: int | None = None
        #: psqlODBC with UseDeclareFetch: an open statement handle is an open transaction.
        self.cursors_hold_transaction = dialect.cursors_hold_transaction(options.connection_string)
        #: Query hooks (see :mod:`informix_aio.hooks`).
        self.hooks = QueryHooks(connection_info(options.connection_string, dialect.name, dbms_name))
        #: Input adapters: a parameter of exactly one of these types is bound as ``fn(value)``.
        self._adapters: dict[type, Callable[[Any], Any]] = {}

    # -- state -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (or the pyodbc connection was lost and closed)."""
        return self._raw is None

    @property
    def broken(self) -> bool:
        """True when an error said the connection is gone, or a rollback failed: discard it."""
        return self._broken

    @property
    def is_clean(self) -> bool:
        """Open, not broken, in autocommit mode, outside any transaction block and with no SQL
        run that may have opened one: nothing to roll back before the next user."""
        raw = self._raw
        return (
            raw is not None
            and not self._broken
            and not self._tx_stack
            and not self.suspect_transaction
            and self._aborted is None
            and raw.autocommit
        )

    @property
    def aborted(self) -> bool:
        """True after a cancellation inside an open transaction: every statement raises
        :class:`InternalError` until the transaction (or its block) is rolled back."""
        return self._aborted is not None

    def aborted_error(self) -> InternalError:
        """The error every statement raises while :attr:`aborted`."""
        return InternalError(
            "the transaction was aborted by a cancellation (a timeout or a cancelled task): "
            "its work is rolled back, so nothing more can run in it; roll it back "
            "(rollback(), or leave the transaction() block) before the next statement",
            sqlstate="25P02",
        )

    @property
    def in_transaction(self) -> bool:
        """True inside a :meth:`transaction` block."""
        return bool(self._tx_stack)

    @property
    def transaction_depth(self) -> int:
        """How many ``transaction()`` blocks are open (1 + the savepoints)."""
        return len(self._tx_stack)

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits on its own."""
        return bool(self._handle().autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self._tx_stack:
            raise ProgrammingError("cannot change autocommit inside a transaction() block")
        if self._aborted is not None:
            raise self.aborted_error()
        try:
            self._handle().autocommit = bool(value)
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        self.implicit_work = False  # switching modes commits what the driver held

    @property
    def raw(self) -> pyodbc.Connection:
        """The underlying pyodbc connection (for what this layer does not wrap)."""
        return self._handle()

    def _handle(self) -> pyodbc.Connection:
        raw = self._raw
        if raw is None:
            raise InterfaceError("the connection is closed")
        return raw

    def _fail(self, exc: pyodbc.Error) -> Error:
        """Translate a driver error, remembering when it says the connection is gone."""
        err = translate(exc, self.dialect)
        if err.is_disconnect:
            self._broken = True
        return err

    def add_output_converter(self, sql_type: int, fn: Callable[[Any], Any] | None) -> None:
        """pyodbc's output converter for ``sql_type`` (``None`` removes it): ``fn`` receives
        the column's raw bytes (``SQL_C_BINARY``), never ``None``."""
        handle = self._handle()
        if fn is None:
            handle.remove_output_converter(sql_type)
        else:
            handle.add_output_converter(sql_type, fn)

    def getinfo(self, info_type: int) -> Any:
        """``SQLGetInfo``, e.g. ``getinfo(pyodbc.SQL_DBMS_VER)``."""
        try:
            return self._handle().getinfo(info_type)
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc

    # -- DB-API ------------------------------------------------------------------------------
    def cursor(self, *, row_factory: RowFactory | None = None) -> Cursor:
        """A new cursor; ``row_factory`` overrides the connection's for its rows."""
        try:
            raw_cursor = self._handle().cursor()
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        if self.options.fast_executemany:
            raw_cursor.fast_executemany = True
        return Cursor(self, raw_cursor, row_factory or self.row_factory)

    def commit(self) -> None:
        """Commit the current transaction (outside a ``transaction()`` block).

        :raises InternalError: a cancellation aborted the transaction; nothing is committed.
        """
        self._guard_tx("commit")
        if self._aborted is not None:
            raise self.aborted_error()
        try:
            self._handle().commit()
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        self.suspect_transaction = False
        self.implicit_work = False

    def rollback(self) -> None:
        """Roll back the current transaction (outside a ``transaction()`` block); this also
        clears the aborted state a cancellation left."""
        self._guard_tx("rollback")
        raw = self._handle()
        try:
            if self.suspect_transaction and raw.autocommit:
                self._force_rollback()
            raw.rollback()
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        self._aborted = None
        self.suspect_transaction = False
        self.implicit_work = False

    def _guard_tx(self, what: str) -> None:
        if self._tx_stack:
            raise ProgrammingError(
                f"explicit {what}() inside a transaction() block; leave the block instead"
            )

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by the driver.

        Idempotent: closing a closed connection does nothing. PEP 249 does not say, and the
        DB-API compliance suite, which wants a second close to raise, notes that reasonable
        people differ; cleanup code here may close whatever it holds without asking first.
        Using a closed connection (a cursor, a statement, commit) raises
        :class:`~informix_aio.errors.InterfaceError`.
        """
        raw, self._raw = self._raw, None
        if raw is None:
            return
        self._shortcut = None
        try:
            with self._cancel_lock:  # never close under a running SQLCancel
                raw.close()
        except pyodbc.Error as exc:
            logger.debug("error closing connection: %s", exc)

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self.closed and not self.autocommit:
                if et is None:
                    self.commit()
                else:
                    self.rollback()
        finally:
            self.close()

    def __del__(self) -> None:
        if getattr(self, "_raw", None) is not None:
            warnings.warn(
                f"unclosed connection {self!r}", ResourceWarning, stacklevel=2, source=self
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("broken" if self._broken else "open")
        return f"<informix_aio.Connection {self.dialect.name} {state} at {id(self):#x}>"

    # -- hooks and adapters --------------------------------------------------------------------
    def add_query_logger(self, fn: QueryLogger, *, params: bool = False) -> None:
        """Call ``fn(record)`` after every statement (see :mod:`informix_aio.hooks`).

        :param params: show ``fn`` the parameters themselves (default: only their types).
        """
        self.hooks.add(fn, params=params)

    def remove_query_logger(self, fn: QueryLogger) -> None:
        """Stop calling ``fn``."""
        self.hooks.remove(fn)

    def register_adapter(self, py_type: type, fn: Callable[[Any], Any] | None) -> None:
        """Bind parameters of exactly ``py_type`` as ``fn(value)`` (``None`` removes it), e.g.
        ``register_adapter(MyId, int)``; applied before the dialect's own checks."""
        adapters = dict(self._adapters)  # replaced, never mutated: a worker may be reading it
        if fn is None:
            adapters.pop(py_type, None)
        else:
            adapters[py_type] = fn
        self._adapters = adapters

    # -- one-call helpers (one worker hop each in the async layer) --------------------------
    def execute_direct(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement on the connection's shared cursor; return its rowcount."""
        if self.hooks.active:
            return int(
                run_logged(
                    self.hooks,
                    "execute",
                    sql,
                    params,
                    None,
                    lambda: self._execute_direct(sql, params),
                    count_int,
                )
            )
        return self._execute_direct(sql, params)

    def _execute_direct(self, sql: str, params: Sequence[Any] | None) -> int:
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        count = int(cur.rowcount)
        if cur.description is not None or self.cursors_hold_transaction:
            self._drop_shortcut()  # rows nobody will read: do not hold them open
        return count

    def fetch(
        self, sql: str, params: Sequence[Any] | None = None, row_factory: RowFactory | None = None
    ) -> list[Any]:
        """Run a query and return all its rows."""
        if self.hooks.active:
            result: list[Any] = run_logged(
                self.hooks,
                "fetch",
                sql,
                params,
                None,
                lambda: self._fetch_all(sql, params, row_factory),
                count_list,
            )
            return result
        return self._fetch_all(sql, params, row_factory)

    def _fetch_all(
        self, sql: str, params: Sequence[Any] | None, row_factory: RowFactory | None
    ) -> list[Any]:
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        self._begin_call(cur, fetching=True)
        try:
            rows = cur.fetchall()
            description = cur.description
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        except Exception as exc:  # an output converter failed
            err = conversion_error(exc)
            if err is exc:
                raise
            raise err from exc
        finally:
            self._done_executing()
        if self.cursors_hold_transaction:
            self._drop_shortcut()
        return make_rows(rows, description, row_factory or self.row_factory)

    def fetchrow(
        self, sql: str, params: Sequence[Any] | None = None, row_factory: RowFactory | None = None
    ) -> Any:
        """Run a query and return its first row, or ``None``."""
        if self.hooks.active:
            return run_logged(
                self.hooks,
                "fetchrow",
                sql,
                params,
                None,
                lambda: self._fetch_row(sql, params, row_factory),
                count_row,
            )
        return self._fetch_row(sql, params, row_factory)

    def _fetch_row(
        self, sql: str, params: Sequence[Any] | None, row_factory: RowFactory | None
    ) -> Any:
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        description = cur.description
        row = self._first_row(cur)
        if row is None:
            return None
        return make_rows([row], description, row_factory or self.row_factory)[0]

    def fetchval(self, sql: str, params: Sequence[Any] | None = None, column: int = 0) -> Any:
        """Run a query and return one value of its first row, or ``None``."""
        if self.hooks.active:
            return run_logged(
                self.hooks,
                "fetchval",
                sql,
                params,
                None,
                lambda: self._fetch_value(sql, params, column),
                count_unknown,
            )
        return self._fetch_value(sql, params, column)

    def _fetch_value(self, sql: str, params: Sequence[Any] | None, column: int) -> Any:
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        row = self._first_row(cur)
        if row is None:
            return None
        try:
            return row[column]
        except (IndexError, TypeError):
            raise ProgrammingError(
                f"column {column!r} is not in the row, which has {len(row)} columns"
            ) from None

    def _first_row(self, cur: pyodbc.Cursor) -> Any:
        """The first row, leaving no statement open: pyodbc closes a result it has read to the
        end (SQL_NO_DATA), so one more fetch tells whether rows remain; if they do, the shared
        cursor is closed (an open statement holds SQLite's read lock, a PostgreSQL portal...)."""
        self._begin_call(cur, fetching=True)
        try:
            row = cur.fetchone()
            more = row is not None and cur.fetchone() is not None
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        except Exception as exc:  # an output converter failed
            err = conversion_error(exc)
            if err is exc:
                raise
            raise err from exc
        finally:
            self._done_executing()
        if more or self.cursors_hold_transaction:
            self._drop_shortcut()
        return row

    def _drop_shortcut(self) -> None:
        cur, self._shortcut = self._shortcut, None
        if cur is not None:
            try:
                cur.close()
            except pyodbc.Error as exc:
                logger.debug("error closing the shared cursor: %s", exc)

    def executemany(
        self,
        sql: str,
        seq_of_params: Sequence[Sequence[Any]],
        may_commit: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``sql`` once per parameter set, atomically (see :meth:`Cursor.executemany`)."""
        if self.hooks.active:
            run_logged(
                self.hooks,
                "executemany",
                sql,
                _count_sets(seq_of_params),
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
        cur = self.cursor()
        try:
            cur._executemany(sql, seq_of_params, may_commit)  # logged once, here, not twice
        finally:
            cur.close()

    def _shortcut_cursor(self) -> pyodbc.Cursor:
        cur = self._shortcut
        if cur is None:
            try:
                cur = self._shortcut = self._handle().cursor()
            except pyodbc.Error as exc:
                raise self._fail(exc) from exc
        return cur

    def _run(self, cur: pyodbc.Cursor, sql: str, params: Sequence[Any] | None) -> None:
        """Execute on a pyodbc cursor, published for :meth:`cancel` while it runs.

        :raises InternalError: a cancellation aborted the open transaction.
        """
        if self._aborted is not None:
            raise self.aborted_error()
        check_sql(sql)
        args = self.check_params(params)
        self.note_statement(sql)
        self._execute(cur, sql, args)

    def _execute(self, cur: pyodbc.Cursor, sql: str, args: Sequence[Any]) -> None:
        self._executing = cur
        try:
            if args:
                cur.execute(sql, args)
            else:
                cur.execute(sql)
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        except (OverflowError, UnicodeEncodeError, TypeError, ValueError) as exc:
            translated = translate_builtin(exc, args)
            if translated is None:
                raise
            raise translated from exc
        finally:
            self._done_executing()

    def note_statement(self, sql: str) -> None:
        """Remember SQL that may open a transaction the library does not track (run outside
        a ``transaction()`` block in autocommit mode): the next reset rolls back for sure."""
        if not self._tx_stack:
            self.implicit_work = True
            if not self.suspect_transaction and self.dialect.may_open_transaction(sql):
                self.suspect_transaction = True

    def _internal(self, sql: str) -> None:
        """Run the library's own statement (savepoints, session settings, rollbacks): no
        aborted check, no parameters."""
        self._execute(self._shortcut_cursor(), sql, ())
        if self.cursors_hold_transaction:
            self._drop_shortcut()

    def _begin_call(self, cur: pyodbc.Cursor | None, *, fetching: bool = False) -> None:
        self._executing = cur
        self._fetching = fetching

    def _done_executing(self) -> None:
        # Under the lock: a SQLCancel that another thread started on this statement must be
        # over before this thread reuses the handle (psqlODBC: HY010, or a crash, otherwise).
        with self._cancel_lock:
            self._executing = None
            self._fetching = False

    def check_params(self, params: Sequence[Any] | None) -> Sequence[Any]:
        """Validate a parameter sequence (qmark style) and let the dialect adapt it.

        :raises ProgrammingError: parameters are not a sequence (a mapping, a string, a set).
        :raises DataError: a value the driver would silently mangle.
        """
        if params is None:
            return ()
        params = param_sequence(params)
        adapters = self._adapters
        if adapters:
            params = [adapters[type(v)](v) if type(v) in adapters else v for v in params]
        return self.dialect.adapt_params(params)

    # -- cancellation (called from ANOTHER thread) -------------------------------------------
    def cancel(self) -> bool:
        """Cancel the running statement with SQLCancel; return whether one was running.

        Thread-safe by design: this is the one method another thread may call while the
        connection's own thread is blocked in the driver.
        """
        with self._cancel_lock:
            cur = self._executing
            if cur is None:
                return False
            if self._fetching and self.dialect.cancel_fetch(self):
                return True
            try:
                cur.cancel()
            except pyodbc.Error as exc:
                logger.debug("SQLCancel failed: %s", exc)
            return True

    def ping(self) -> float:
        """Run the dialect's liveness query; return its round-trip time in seconds."""
        start = time.perf_counter()
        self.fetchval(self.dialect.liveness_query)
        return time.perf_counter() - start


def _count_sets(seq_of_params: object) -> int:
    """How many parameter sets a batch holds, for a hook (-1 when it cannot say)."""
    try:
        return len(seq_of_params)  # type: ignore[arg-type]
    except TypeError:
        return -1
