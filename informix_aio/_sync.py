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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyodbc

from ._checks import check_sql, param_sequence, translate_builtin
from ._cursor import Cursor, make_rows
from ._options import ConnectOptions, build_options
from .dialects import Dialect, dialect_for_dbms, get_dialect, normalize_isolation
from .errors import (
    Error,
    InterfaceError,
    InternalError,
    NotSupportedError,
    ProgrammingError,
    translate,
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
    #: Begun with SQL (``BEGIN IMMEDIATE`` on SQLite) while the driver stays in autocommit
    #: mode, so it ends with SQL too.
    explicit: bool = False
    readonly: bool = False


class Connection:
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
        #: The server's id for this session, for a cancel from a side connection (PostgreSQL
        #: with UseDeclareFetch, whose FETCH ignores SQLCancel).
        self.backend_id: int | None = None
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

    def after_cancel(self) -> None:
        """Worker thread, right after a cancelled statement or fetch: make the connection's
        state tell the truth about the work the cancellation lost.

        Inside ``transaction()`` blocks they are marked aborted (their exit rolls back); in
        DB-API mode the implicit transaction is rolled back now and marked aborted; in
        autocommit mode anything the server may hold open is rolled back.
        """
        raw = self._raw
        if raw is None:
            return
        if self._tx_stack:
            if self._aborted is None:
                self._aborted = len(self._tx_stack)
            return
        suspect = self.suspect_transaction
        try:
            dbapi = not raw.autocommit
        except pyodbc.Error:
            self._broken = True
            return
        self.reset()
        if dbapi or suspect:
            self._aborted = 0

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
        self._begin_call(cur, fetching=True)
        try:
            rows = cur.fetchall()
            description = cur.description
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
        finally:
            self._done_executing()
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
        self._begin_call(cur, fetching=True)
        try:
            row = cur.fetchone()
            more = row is not None and cur.fetchone() is not None
        except pyodbc.Error as exc:
            raise self._fail(exc) from exc
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
        cur = self.cursor()
        try:
            cur.executemany(sql, seq_of_params, may_commit=may_commit)
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
        if (
            not self._tx_stack
            and not self.suspect_transaction
            and self.dialect.may_open_transaction(sql)
        ):
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
        return self.dialect.adapt_params(param_sequence(params))

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

    # -- transactions ------------------------------------------------------------------------
    def begin_transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> TransactionToken:
        """Start a transaction, or a savepoint when one is already open.

        :raises NotSupportedError: the database cannot run transactions (Informix without
            logging), or the isolation/read-only request is not supported.
        """
        raw = self._handle()
        if self._aborted is not None:
            raise self.aborted_error()
        depth = len(self._tx_stack)
        if depth == 0:
            level = None if isolation is None else normalize_isolation(isolation)
            self._check_transactions_supported()
            restore = bool(raw.autocommit)
            explicit = self.dialect.explicit_begin(level, readonly) if restore else None
            if explicit is not None:
                # SQLite: BEGIN IMMEDIATE (writers queue on the busy timeout instead of
                # deadlocking), with the driver left in autocommit mode.
                token = TransactionToken(0, None, False, level, explicit=True, readonly=readonly)
                try:
                    for sql in explicit:
                        self._internal(sql)
                except BaseException:
                    self._end_explicit(token, commit=False, quiet=True)
                    raise
                self._tx_stack.append(token)
                return token
            statements = self.dialect.begin_statements(level, readonly)
            try:
                if restore:
                    raw.autocommit = False
                for sql in statements:
                    self._internal(sql)
            except BaseException:
                self._abort_begin(raw, restore)
                raise
            token = TransactionToken(0, None, restore, level, readonly=readonly)
        else:
            if isolation is not None or readonly:
                raise ProgrammingError(
                    "isolation and readonly apply to the outermost transaction only"
                )
            name = f"ifxaio_sp{depth}"
            self._internal(self.dialect.savepoint(name))
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

    def _end_explicit(self, token: TransactionToken, *, commit: bool, quiet: bool) -> None:
        """End a transaction begun with SQL; a failed COMMIT is rolled back."""
        try:
            try:
                self._internal("COMMIT" if commit else "ROLLBACK")
            except Error as exc:
                if quiet and self.dialect.is_no_transaction_error(exc):
                    pass
                elif commit:
                    self._end_explicit(token, commit=False, quiet=True)
                    raise
                else:
                    self._broken = True
                    raise
        finally:
            for sql in self.dialect.explicit_end(token.readonly):
                try:
                    self._internal(sql)
                except Error:
                    self._broken = True

    def end_transaction(self, token: TransactionToken, *, commit: bool) -> None:
        """Commit (or roll back) what :meth:`begin_transaction` started.

        A failed rollback marks the connection broken: its state is unknown.
        """
        if not self._tx_stack or self._tx_stack[-1] is not token:
            raise InterfaceError("transactions must end in the reverse order they began")
        raw = self._handle()
        aborted = self._aborted is not None and token.depth < self._aborted
        if aborted and commit:
            # A cancellation lost work of this block: commit nothing, roll it back, and say so.
            self.end_transaction(token, commit=False)
            raise self.aborted_error()
        self._tx_stack.pop()
        if aborted:
            self._aborted = None  # rolling this block back undoes what the cancel lost
        if token.savepoint is not None:
            try:
                if not commit:
                    self._internal(self.dialect.rollback_to_savepoint(token.savepoint))
                self._internal(self.dialect.release_savepoint(token.savepoint))
            except BaseException:
                if not commit:
                    self._broken = True
                raise
            return
        if token.explicit:
            self._end_explicit(token, commit=commit, quiet=False)
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
            for sql in self.dialect.end_statements(
                token.isolation,
                session_isolation=self.options.isolation,
                database_mode=self._db_mode,
            ):
                self._internal(sql)
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

    def _check_transactions_supported(self, *, refuse: bool = True) -> bool:
        """Informix: a database without logging has no transactions; say so, once.

        :param refuse: raise for an unlogged database (else return ``False``).
        :returns: whether transactions can run (always ``True`` for other databases).
        """
        if self.dialect.name != "informix":
            return True
        if self._db_mode is None:
            self._db_mode = self.database_mode()
        if self._db_mode != _UNLOGGED:
            return True
        if not refuse:
            return False
        raise NotSupportedError(
            "this Informix database has no transaction logging, so transaction() cannot "
            "run: enable logging (ondblog buf <db> / ontape -s -B <db>) or work without "
            "transaction() (each statement is then final)"
        )

    def database_mode(self) -> str:
        """Informix: ``"unlogged"``, ``"logged"``, ``"buffered"`` or ``"ansi"``.

        Read from ``sysmaster:sysdatabases``. A cross-database read can be refused (databases
        of different logging modes); then ``SQLGetInfo(SQL_TXN_CAPABLE)`` decides between
        ``"unlogged"`` and ``"logged"``, and if that fails too, ``"logged"`` is assumed: a
        ``BEGIN WORK`` in a database without logging still fails clearly (-256).

        :raises NotSupportedError: the dialect is not Informix.
        :raises OperationalError: the connection is lost.
        """
        query = self.dialect.database_mode_query
        if query is None:
            raise NotSupportedError("database_mode() is an Informix query")
        try:
            row = self.fetchrow(query)
        except Error as exc:
            if exc.is_disconnect:
                raise
            logger.info("database mode not readable from sysmaster (%s); asking the driver", exc)
            return self._database_mode_from_driver()
        if row is None:
            return _UNLOGGED
        is_logging, is_buff_log, is_ansi = (int(v or 0) for v in tuple(row)[:3])
        if is_ansi:
            return "ansi"
        if not is_logging:
            return _UNLOGGED
        return "buffered" if is_buff_log else "logged"

    def _database_mode_from_driver(self) -> str:
        try:
            capable = int(self._handle().getinfo(pyodbc.SQL_TXN_CAPABLE))
        except (pyodbc.Error, TypeError, ValueError) as exc:
            logger.info("SQL_TXN_CAPABLE not readable (%s); assuming a logged database", exc)
            return "logged"
        return _UNLOGGED if capable == 0 else "logged"  # 0: SQL_TC_NONE

    def last_serial(self, kind: str = "serial", *, bigserial: bool = False) -> int | None:
        """Informix: the serial value the last INSERT on this connection generated.

        :param kind: ``"serial"`` (SERIAL), ``"serial8"`` (SERIAL8) or ``"bigserial"``
            (BIGSERIAL): Informix keeps the three apart (``DBINFO('sqlca.sqlerrd1')``,
            ``DBINFO('serial8')``, ``DBINFO('bigserial')``).
        :param bigserial: the same as ``kind="bigserial"`` (kept for older callers).
        :raises NotSupportedError: the dialect is not Informix.
        :raises ProgrammingError: an unknown kind.
        """
        if self.dialect.name != "informix":
            raise NotSupportedError("last_serial() is an Informix query")
        from .dialects.informix import last_serial_query

        value = self.fetchval(last_serial_query("bigserial" if bigserial else kind))
        return None if value is None else int(value)

    def ping(self) -> float:
        """Run the dialect's liveness query; return its round-trip time in seconds."""
        start = time.perf_counter()
        self.fetchval(self.dialect.liveness_query)
        return time.perf_counter() - start

    def reset(self) -> None:
        """Make the connection clean for its next user: roll back whatever is open, on the
        server too (a transaction the borrower opened with SQL the library did not track).

        Called by the pool on release and after a cancelled statement. A failure marks the
        connection broken.
        """
        raw = self._raw
        if raw is None:
            return
        stack, self._tx_stack = self._tx_stack, []
        explicit = [t for t in stack if t.explicit]
        self._aborted = None
        try:
            if not raw.autocommit:
                raw.rollback()
            elif explicit:
                self._end_explicit(explicit[0], commit=False, quiet=True)
            elif self.cursors_hold_transaction or self.suspect_transaction:
                # psqlODBC with UseDeclareFetch runs cursors in a transaction of its own, which
                # SQLEndTran never reaches in autocommit mode: only SQL ROLLBACK clears it;
                # the same for a transaction the borrower began with SQL.
                self._drop_shortcut()
                self._force_rollback()
            if raw.autocommit != self.options.autocommit:
                raw.autocommit = self.options.autocommit
            self.suspect_transaction = False
        except (pyodbc.Error, Error) as exc:
            if isinstance(exc, pyodbc.Error):
                self._fail(exc)
            logger.debug("reset failed, the connection is discarded: %r", exc)
            self._broken = True

    def _force_rollback(self) -> None:
        """SQL ROLLBACK (and what else the dialect needs) while the driver is in autocommit
        mode; "no transaction is open" is not an error here."""
        for sql in self.dialect.forced_rollback(self.options.autocommit):
            try:
                self._internal(sql)
            except Error as exc:
                if not self.dialect.is_no_transaction_error(exc):
                    raise
