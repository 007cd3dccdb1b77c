"""Transactions on the sync connection: ``transaction()`` blocks and savepoints, the aborted
state a cancellation leaves, and the reset that makes a connection clean for its next user.

A mixin of :class:`informix_aio._sync.Connection`, kept apart because it is one idea: what is
open on the server, and how it ends. Informix's logging-mode look-up lives here too, since it
decides whether a transaction can run at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyodbc

from .dialects import Dialect, normalize_isolation
from .errors import Error, InterfaceError, InternalError, NotSupportedError, ProgrammingError

if TYPE_CHECKING:
    from ._options import ConnectOptions

__all__ = ["TransactionToken", "Transactions"]

logger = logging.getLogger(__name__)

_Self = TypeVar("_Self", bound="Transactions")

# Informix database logging modes, from sysmaster:sysdatabases.
_UNLOGGED = "unlogged"


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


class Transactions:
    """What is open on the server, and how it ends (mixed into ``Connection``)."""

    # Set by Connection.__init__.
    _raw: pyodbc.Connection | None
    dialect: Dialect
    options: ConnectOptions
    _tx_stack: list[TransactionToken]
    _aborted: int | None
    _broken: bool
    _db_mode: str | None
    suspect_transaction: bool
    cursors_hold_transaction: bool
    #: DB-API mode: a statement ran since the last commit/rollback, so the driver's implicit
    #: transaction holds work (a transaction() block then becomes a savepoint within it).
    implicit_work: bool

    if TYPE_CHECKING:

        def _handle(self) -> pyodbc.Connection: ...
        def _internal(self, sql: str) -> None: ...
        def _fail(self, exc: pyodbc.Error) -> Error: ...
        def _drop_shortcut(self) -> None: ...
        def aborted_error(self) -> InternalError: ...
        def fetchrow(self, sql: str, params: Any = None, row_factory: Any = None) -> Any: ...
        def fetchval(self, sql: str, params: Any = None, column: int = 0) -> Any: ...

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
        # Not reset(): that restores the pool's autocommit mode, and this connection may be in
        # the mode its user chose since. Only what the cancellation may have left open ends.
        try:
            if not raw.autocommit:
                raw.rollback()  # DB-API mode: the implicit transaction lost work
                self._aborted = 0
                self.implicit_work = False
            elif self.suspect_transaction or self.cursors_hold_transaction:
                self._drop_shortcut()
                self._force_rollback()
                if self.suspect_transaction:  # the borrower's own BEGIN lost work too
                    self._aborted = 0
                    self.suspect_transaction = False
        except (pyodbc.Error, Error) as exc:
            logger.debug("rollback after a cancel failed, the connection is discarded: %r", exc)
            self._broken = True

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
            if not restore and self.implicit_work:
                # DB-API mode with uncommitted work: the block must not commit that work at its
                # end (psycopg's rule), so it is a savepoint within the implicit transaction.
                if level is not None or readonly:
                    raise ProgrammingError(
                        "isolation and readonly need a transaction of their own: commit or roll "
                        "back the work of the implicit transaction first"
                    )
                name = "ifxaio_sp0"
                self._internal(self.dialect.savepoint(name))
                token = TransactionToken(0, name, False, None)
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
                self.implicit_work = False
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
            self._restore_isolation(token.isolation)
        except (pyodbc.Error, Error):
            self._broken = True

    def _restore_isolation(self, isolation: str | None) -> None:
        for sql in self.dialect.end_statements(
            isolation,
            session_isolation=self.options.isolation,
            database_mode=self._db_mode,
        ):
            self._internal(sql)

    @contextmanager
    def transaction(
        self: _Self, *, isolation: str | None = None, readonly: bool = False
    ) -> Iterator[_Self]:
        """Commit on success, roll back on any exception; nested blocks become savepoints.

        :param isolation: ``"read_committed"``, ``"repeatable_read"``, ``"serializable"``,
            and for Informix also ``"last_committed"``, ``"cursor_stability"``,
            ``"read_uncommitted"`` (DIRTY READ).
        :param readonly: a read-only transaction (PostgreSQL, MariaDB, Informix 11.70+;
            SQLite in autocommit mode).
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
        self.implicit_work = False
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
            if stack and stack[0].isolation is not None:
                # A transaction block that set an isolation level was left open: the session
                # goes back to its own level (the isolation= option, or the database's).
                self._restore_isolation(stack[0].isolation)
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
