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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyodbc

from ._options import ConnectOptions, build_options
from .dialects import Dialect, dialect_for_dbms, get_dialect, normalize_isolation
from .errors import Error, InterfaceError, NotSupportedError, ProgrammingError, translate
from .rows import Description, RowFactory, RowMaker

__all__ = ["Connection", "Cursor", "TransactionToken", "connect", "open_connection"]

logger = logging.getLogger(__name__)

# Informix database logging modes, from sysmaster:sysdatabases.
_UNLOGGED = "unlogged"


def connect(**options: Any) -> Connection:
    """Open a connection. See :func:`informix_aio._options.build_options` for the options.

    :raises InterfaceError: bad options, or no ODBC driver by that name.
    :raises OperationalError: the database could not be reached or refused the login.
    """
    return open_connection(build_options(**options))


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
        raise translate(exc, dialect) from exc
    try:
        dbms = str(raw.getinfo(pyodbc.SQL_DBMS_NAME))
        if dialect is None:
            dialect = dialect_for_dbms(dbms) or get_dialect("informix")
        dialect.configure(raw)
        conn = Connection(raw, dialect, options, dbms_name=dbms)
        setup = list(dialect.session_setup(lock_timeout=options.lock_timeout))
        if options.isolation is not None:
            setup.extend(dialect.session_isolation(options.isolation))
        for sql in setup:
            conn.execute_direct(sql)
    except BaseException as exc:
        raw.close()
        if isinstance(exc, pyodbc.Error):
            raise translate(exc, dialect) from exc
        raise
    return conn


@dataclass(slots=True)
class TransactionToken:
    """What ``begin_transaction`` did, so that ``end_transaction`` can undo it exactly."""

    depth: int
    savepoint: str | None
    restore_autocommit: bool
    isolation: str | None


class Connection:
    """A DB-API 2.0 connection over one pyodbc connection.

    Used as a context manager it commits on success, rolls back on an exception, and closes.
    """

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
        # The pyodbc cursor whose statement is running, read by another thread to cancel it.
        self._executing: pyodbc.Cursor | None = None
        self._cancel_lock = threading.Lock()
        #: psqlODBC with UseDeclareFetch: an open statement handle is an open transaction.
        self.cursors_hold_transaction = dialect.cursors_hold_transaction(options.connection_string)

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
        """Open, not broken, in autocommit mode and outside any transaction block: nothing to
        roll back before the next user."""
        raw = self._raw
        return raw is not None and not self._broken and not self._tx_stack and raw.autocommit

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
        try:
            self._handle().autocommit = bool(value)
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc

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
        """Commit the current transaction (outside a ``transaction()`` block)."""
        self._guard_tx("commit")
        try:
            self._handle().commit()
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc

    def rollback(self) -> None:
        """Roll back the current transaction (outside a ``transaction()`` block)."""
        self._guard_tx("rollback")
        try:
            self._handle().rollback()
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc

    def _guard_tx(self, what: str) -> None:
        if self._tx_stack:
            raise ProgrammingError(
                f"explicit {what}() inside a transaction() block; leave the block instead"
            )

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by the driver. Idempotent."""
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

    # -- one-call helpers (one worker hop each in the async layer) --------------------------
    def execute_direct(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement on the connection's shared cursor; return its rowcount."""
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
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        try:
            rows = cur.fetchall()
            description = cur.description
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        if self.cursors_hold_transaction:
            self._drop_shortcut()
        return make_rows(rows, description, row_factory or self.row_factory)

    def fetchrow(
        self, sql: str, params: Sequence[Any] | None = None, row_factory: RowFactory | None = None
    ) -> Any:
        """Run a query and return its first row, or ``None``."""
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        description = cur.description
        row = self._first_row(cur)
        if row is None:
            return None
        return make_rows([row], description, row_factory or self.row_factory)[0]

    def fetchval(self, sql: str, params: Sequence[Any] | None = None, column: int = 0) -> Any:
        """Run a query and return one value of its first row, or ``None``."""
        cur = self._shortcut_cursor()
        self._run(cur, sql, params)
        row = self._first_row(cur)
        return None if row is None else row[column]

    def _first_row(self, cur: pyodbc.Cursor) -> Any:
        """The first row, leaving no statement open: pyodbc closes a result it has read to the
        end (SQL_NO_DATA), so one more fetch tells whether rows remain; if they do, the shared
        cursor is closed (an open statement holds SQLite's read lock, a PostgreSQL portal...)."""
        try:
            row = cur.fetchone()
            more = row is not None and cur.fetchone() is not None
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
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

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` once per parameter set, atomically (see :meth:`Cursor.executemany`)."""
        cur = self.cursor()
        try:
            cur.executemany(sql, seq_of_params)
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
        """Execute on a pyodbc cursor, published for :meth:`cancel` while it runs."""
        args = self.check_params(params)
        self._executing = cur
        try:
            if args:
                cur.execute(sql, args)
            else:
                cur.execute(sql)
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        finally:
            self._done_executing()

    def _done_executing(self) -> None:
        # Under the lock: a SQLCancel that another thread started on this statement must be
        # over before this thread reuses the handle (psqlODBC: HY010, or a crash, otherwise).
        with self._cancel_lock:
            self._executing = None

    def check_params(self, params: Sequence[Any] | None) -> Sequence[Any]:
        """Validate a parameter sequence (qmark style) and let the dialect adapt it.

        :raises ProgrammingError: parameters are a mapping or a bare string.
        :raises DataError: a value the driver would silently mangle.
        """
        if params is None:
            return ()
        cls = params.__class__
        if cls is tuple or cls is list:  # the common case, without the ABC check below
            return self.dialect.adapt_params(params)
        if isinstance(params, (str, bytes, bytearray, memoryview, Mapping)):
            raise ProgrammingError(
                "parameters must be a sequence (tuple or list) matching the '?' markers, "
                f"not {type(params).__name__}"
            )
        if not isinstance(params, (tuple, list)):
            try:
                params = list(params)
            except TypeError:
                raise ProgrammingError(
                    f"parameters must be a sequence, not {type(params).__name__}"
                ) from None
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
            try:
                cur.cancel()
            except pyodbc.Error as exc:
                logger.debug("SQLCancel failed: %s", exc)
            return True

    # -- transactions ------------------------------------------------------------------------
    def begin_transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> TransactionToken:
        """Start a transaction, or a savepoint when one is already open.

        :raises NotSupportedError: the database cannot run transactions (Informix without
            logging), or the isolation/read-only request is not supported.
        """
        raw = self._handle()
        depth = len(self._tx_stack)
        if depth == 0:
            level = None if isolation is None else normalize_isolation(isolation)
            statements = self.dialect.begin_statements(level, readonly)
            self._check_transactions_supported()
            restore = bool(raw.autocommit)
            try:
                if restore:
                    raw.autocommit = False
                for sql in statements:
                    self.execute_direct(sql)
            except BaseException:
                self._abort_begin(raw, restore)
                raise
            token = TransactionToken(0, None, restore, level)
        else:
            if isolation is not None or readonly:
                raise ProgrammingError(
                    "isolation and readonly apply to the outermost transaction only"
                )
            name = f"ifxaio_sp{depth}"
            self.execute_direct(self.dialect.savepoint(name))
            token = TransactionToken(depth, name, False, None)
        self._tx_stack.append(token)
        return token

    def _abort_begin(self, raw: pyodbc.Connection, restore: bool) -> None:
        try:
            raw.rollback()
            if restore:
                raw.autocommit = True
        except pyodbc.Error:
            self._broken = True

    def end_transaction(self, token: TransactionToken, *, commit: bool) -> None:
        """Commit (or roll back) what :meth:`begin_transaction` started.

        A failed rollback marks the connection broken: its state is unknown.
        """
        if not self._tx_stack or self._tx_stack[-1] is not token:
            raise InterfaceError("transactions must end in the reverse order they began")
        raw = self._handle()
        self._tx_stack.pop()
        if token.savepoint is not None:
            try:
                if not commit:
                    self.execute_direct(self.dialect.rollback_to_savepoint(token.savepoint))
                self.execute_direct(self.dialect.release_savepoint(token.savepoint))
            except BaseException:
                if not commit:
                    self._broken = True
                raise
            return
        try:
            try:
                if commit:
                    raw.commit()
                else:
                    raw.rollback()
            except pyodbc.Error as exc:
                err = self._fail(exc)
                if commit:
                    self._rollback_quietly(raw)
                else:
                    self._broken = True
                raise err from exc
        finally:
            self._restore_after_transaction(raw, token)

    def rollback_to_depth(self, depth: int) -> None:
        """Roll back every transaction block opened beyond ``depth`` (innermost first).

        The async layer calls this when a BEGIN's caller was cancelled: the BEGIN may have run
        on the server although its block never started.
        """
        while len(self._tx_stack) > depth:
            self.end_transaction(self._tx_stack[-1], commit=False)

    def _rollback_quietly(self, raw: pyodbc.Connection) -> None:
        try:
            raw.rollback()
        except pyodbc.Error:
            self._broken = True

    def _restore_after_transaction(self, raw: pyodbc.Connection, token: TransactionToken) -> None:
        try:
            if token.restore_autocommit:
                raw.autocommit = True
            for sql in self.dialect.end_statements(token.isolation):
                self.execute_direct(sql)
        except (pyodbc.Error, Error):
            self._broken = True

    @contextmanager
    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> Iterator[Connection]:
        """Commit on success, roll back on any exception; nested blocks become savepoints.

        :param isolation: ``"read_committed"``, ``"repeatable_read"``, ``"serializable"``,
            and for Informix also ``"last_committed"``, ``"cursor_stability"``,
            ``"read_uncommitted"`` (DIRTY READ).
        :param readonly: a read-only transaction (PostgreSQL, MariaDB).
        """
        token = self.begin_transaction(isolation=isolation, readonly=readonly)
        try:
            yield self
        except BaseException:
            self.end_transaction(token, commit=False)
            raise
        self.end_transaction(token, commit=True)

    def _check_transactions_supported(self) -> None:
        """Informix: a database without logging has no transactions; say so, once."""
        if self.dialect.name != "informix":
            return
        if self._db_mode is None:
            self._db_mode = self.database_mode()
        if self._db_mode == _UNLOGGED:
            raise NotSupportedError(
                "this Informix database has no transaction logging, so transaction() cannot "
                "run: enable logging (ondblog buf <db> / ontape -s -B <db>) or work without "
                "transaction() (each statement is then final)"
            )

    def database_mode(self) -> str:
        """Informix: ``"unlogged"``, ``"logged"``, ``"buffered"`` or ``"ansi"``.

        :raises NotSupportedError: the dialect is not Informix.
        """
        query = self.dialect.database_mode_query
        if query is None:
            raise NotSupportedError("database_mode() is an Informix query")
        row = self.fetchrow(query)
        if row is None:
            return _UNLOGGED
        is_logging, is_buff_log, is_ansi = (int(v or 0) for v in tuple(row)[:3])
        if is_ansi:
            return "ansi"
        if not is_logging:
            return _UNLOGGED
        return "buffered" if is_buff_log else "logged"

    def last_serial(self, *, bigserial: bool = False) -> int | None:
        """Informix: the SERIAL (or BIGSERIAL/SERIAL8) value the last INSERT generated."""
        if self.dialect.name != "informix":
            raise NotSupportedError("last_serial() is an Informix query")
        expr = "DBINFO('bigserial')" if bigserial else "DBINFO('sqlca.sqlerrd1')"
        value = self.fetchval(f"SELECT {expr} FROM systables WHERE tabid = 1")
        return None if value is None else int(value)

    def ping(self) -> float:
        """Run the dialect's liveness query; return its round-trip time in seconds."""
        start = time.perf_counter()
        self.fetchval(self.dialect.liveness_query)
        return time.perf_counter() - start

    def reset(self) -> None:
        """Make the connection clean for its next user: roll back whatever is open.

        Called by the pool on release and after a cancelled statement. A failure marks the
        connection broken.
        """
        raw = self._raw
        if raw is None:
            return
        try:
            self._tx_stack.clear()
            if not raw.autocommit:
                raw.rollback()
            elif self.cursors_hold_transaction:
                # psqlODBC with UseDeclareFetch runs cursors in a transaction of its own, which
                # SQLEndTran never reaches in autocommit mode: only SQL ROLLBACK clears it.
                self._drop_shortcut()
                self.execute_direct("ROLLBACK")
            if raw.autocommit != self.options.autocommit:
                raw.autocommit = self.options.autocommit
        except pyodbc.Error as exc:
            self._fail(exc)
            self._broken = True


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
        self.arraysize = 1

    def _handle(self) -> pyodbc.Cursor:
        raw = self._raw
        if raw is None:
            raise InterfaceError("the cursor is closed")
        if self.connection.closed:
            raise InterfaceError("the cursor's connection is closed")
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

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        """Execute one statement with ``?`` parameters.

        :raises ProgrammingError: bad SQL, wrong number of parameters, bad parameter type.
        :raises InterfaceError: the cursor or connection is closed.
        """
        raw = self._handle()
        self.connection._run(raw, sql, params)
        self._maker = None
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Sequence[Any]]) -> None:
        """Execute once per parameter set. Atomic: in autocommit mode the whole batch runs in
        one transaction, so a failure part-way leaves nothing written."""
        raw = self._handle()
        conn = self.connection
        batch = [conn.check_params(p) for p in seq_of_params]
        if not batch:
            return
        wrap = not conn.in_transaction and conn.autocommit
        token = conn.begin_transaction() if wrap else None
        conn._executing = raw
        try:
            raw.executemany(sql, batch)
        except pyodbc.Error as exc:
            err = conn._fail(exc)
            if token is not None:
                conn.end_transaction(token, commit=False)
            raise err from exc
        except BaseException:
            if token is not None:
                conn.end_transaction(token, commit=False)
            raise
        finally:
            conn._done_executing()
        if token is not None:
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

    def fetchone(self) -> Any:
        """The next row, or ``None`` when the result is exhausted."""
        raw = self._handle()
        try:
            row = raw.fetchone()
        except pyodbc.Error as exc:
            raise self.connection._fail(exc) from exc
        return None if row is None else self._make([row])[0]

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` rows (default :attr:`arraysize`)."""
        raw = self._handle()
        n = self.arraysize if size is None else size
        if n < 0:
            raise ProgrammingError("fetchmany size must be >= 0")
        try:
            rows = raw.fetchmany(n)
        except pyodbc.Error as exc:
            raise self.connection._fail(exc) from exc
        return self._make(rows)

    def fetchall(self) -> list[Any]:
        """All remaining rows."""
        raw = self._handle()
        try:
            rows = raw.fetchall()
        except pyodbc.Error as exc:
            raise self.connection._fail(exc) from exc
        return self._make(rows)

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
        self.connection._run(raw, sql, params)
        self._maker = None
        description = raw.description
        if description is None:
            return None, int(raw.rowcount), [], True
        rows = self.fetchmany(prefetch)
        return description, int(raw.rowcount), rows, len(rows) < prefetch

    def setinputsizes(self, sizes: Sequence[Any]) -> None:
        """Declare parameter types: pyodbc's ``(sql_type, size, decimal_digits)`` per marker."""
        self._handle().setinputsizes(list(sizes))

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
