"""The PEP 249 exception tree, plus the errors of the async layer and the pool.

::

    Exception
     +-- Warning
     +-- Error
          +-- InterfaceError                 misuse: closed cursor/connection, no ODBC driver
          +-- DatabaseError
               +-- DataError                 bad value: conversion, overflow, NUL in a string
               +-- OperationalError          the database or the link to it failed
               |    +-- QueryCanceled        the statement was cancelled (SQLCancel, Informix -213)
               |    |    +-- CommandTimeout  ... because its ``timeout=`` expired (also a TimeoutError)
               |    +-- PoolError
               |         +-- PoolTimeout     no connection within ``acquire_timeout``
               |         +-- TooManyRequests more than ``max_waiting`` callers already wait
               |         +-- PoolClosed      the pool is closed or closing
               +-- IntegrityError            unique, foreign key, NOT NULL, check constraints
               +-- InternalError             the database is in a state it should not be in
               +-- ProgrammingError          SQL errors, wrong parameter count, missing table
               +-- NotSupportedError         a feature the database or driver does not offer

Every :class:`Error` carries what the driver said:

- ``sqlstate``: the ODBC SQLSTATE (``"23000"``), or ``None`` for errors raised by this library;
- ``native_code``: the database's own code (for Informix the SQLCODE, e.g. ``-239``);
- ``isam_code``: Informix's secondary ISAM code when the message carries one (e.g. ``-107``);
- ``is_disconnect``: the connection is gone and must be thrown away;
- ``is_transient``: a lock conflict, deadlock or serialization failure, worth a retry.

:func:`translate` is the one place where a ``pyodbc.Error`` becomes one of these: the class is
chosen from the SQLSTATE and the native code (never from pyodbc's own class, which is plain
``pyodbc.Error`` for a PostgreSQL cancel and for every SQLite error), and the original is chained.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dialects.base import Dialect

__all__ = [
    "Classification",
    "CommandTimeout",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "Outcome",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProgrammingError",
    "QueryCanceled",
    "TooManyRequests",
    "Warning",
    "translate",
]


class Warning(Exception):
    """Important warnings, e.g. data truncation on insert (PEP 249)."""


class Error(Exception):
    """Base class of every error this library raises (PEP 249).

    :param message: the human-readable text (the driver's message, prefixes kept).
    :param sqlstate: the ODBC SQLSTATE, if the driver gave one.
    :param native_code: the database's native error code (Informix SQLCODE).
    :param isam_code: Informix's secondary ISAM error code, when known.
    :param is_disconnect: the connection can no longer be used.
    :param is_transient: retrying the operation (or its transaction) may succeed.
    """

    def __init__(
        self,
        message: str = "",
        *,
        sqlstate: str | None = None,
        native_code: int | None = None,
        isam_code: int | None = None,
        is_disconnect: bool = False,
        is_transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.native_code = native_code
        self.isam_code = isam_code
        self.is_disconnect = is_disconnect
        self.is_transient = is_transient

    def __str__(self) -> str:
        return self.message


class InterfaceError(Error):
    """An error of the interface rather than the database: misuse or a missing driver."""


class DatabaseError(Error):
    """An error reported by, or about, the database."""


class DataError(DatabaseError):
    """A problem with the data: division by zero, a value out of range, a bad conversion."""


class OperationalError(DatabaseError):
    """The database's operation failed: lost connection, lock conflict, cancel, timeout."""


class Outcome(str, enum.Enum):
    """What became of a statement whose caller stopped waiting (:attr:`QueryCanceled.outcome`)."""

    #: It never reached the driver and never will (it waited behind other work).
    NOT_STARTED = "not started"
    #: It was stopped, or its transaction is aborted and rolled back: nothing of it is kept.
    ROLLED_BACK = "rolled back"
    #: It was cancelled while running, and may have completed first: an autocommit write may
    #: have taken effect. Check before retrying a write that is not idempotent.
    UNKNOWN = "unknown"


class QueryCanceled(OperationalError):
    """The statement was cancelled in the driver (SQLCancel) before it finished.

    ``outcome`` (an :class:`Outcome`) says what is known of its effect: ``UNKNOWN`` unless the
    library knows better.
    """

    outcome: Outcome = Outcome.UNKNOWN


class CommandTimeout(QueryCanceled, TimeoutError):
    """A ``timeout=`` or ``command_timeout`` expired; the statement was cancelled in the driver.

    ``outcome`` is ``NOT_STARTED`` when it never started, ``ROLLED_BACK`` inside a transaction
    (which the cancellation aborted), and ``UNKNOWN`` for a statement that was running in
    autocommit mode: it may have committed just before the cancel reached it.
    """


class IntegrityError(DatabaseError):
    """A constraint was violated: unique, foreign key, NOT NULL or check."""


class InternalError(DatabaseError):
    """The database met an internal problem, e.g. a transaction that is no longer valid."""


class ProgrammingError(DatabaseError):
    """A programming error: bad SQL, missing table, wrong number of parameters."""


class NotSupportedError(DatabaseError):
    """A method or database feature that is not supported here."""


class PoolError(OperationalError):
    """Base class of the connection pool's own errors."""


class PoolTimeout(PoolError):
    """No connection became available within the acquire timeout."""


class TooManyRequests(PoolError):
    """The pool's queue of waiting callers is full (``max_waiting``)."""


class PoolClosed(PoolError):
    """The pool is closed, or closing, and hands out no more connections."""


@dataclass(frozen=True, slots=True)
class Classification:
    """What a dialect decided about one driver error."""

    cls: type[Error]
    is_disconnect: bool = False
    is_transient: bool = False
    #: What to do about it, appended to the message (e.g. the odbc.ini fix for -11060).
    hint: str | None = None


_SQLSTATE_RE = re.compile(r"^[0-9A-Z]{5}$")
# pyodbc prefixes its message with "[SQLSTATE] " and suffixes "(native) (SQLFunctionW)".
_FUNCTION_SUFFIX_RE = re.compile(r"\s*\((SQL\w+)\)\s*$")

# pyodbc's own messages, raised without a driver SQLSTATE (or with HY000 by pyodbc itself).
_PYODBC_INTERFACE_MESSAGES = ("Attempt to use a closed", "The cursor's connection has been closed")


def split_pyodbc_args(exc: BaseException) -> tuple[str | None, str]:
    """Return ``(sqlstate, message)`` from a pyodbc exception's ``args``.

    pyodbc puts the SQLSTATE first for driver errors (``('23000', '[23000] ...')``) but the
    message first for its own errors (``('The SQL contains 1 parameter markers ...', 'HY000')``)
    and gives a single argument for others (``('Attempt to use a closed cursor.',)``).
    """
    args = [a for a in exc.args if isinstance(a, str)]
    if len(args) >= 2:
        if _SQLSTATE_RE.match(args[0]):
            return args[0], args[1]
        if _SQLSTATE_RE.match(args[1]):
            return args[1], args[0]
        return None, " ".join(args)
    if len(args) == 1:
        return None, args[0]
    return None, repr(exc)


def translate(exc: BaseException, dialect: Dialect) -> Error:
    """Turn a ``pyodbc.Error`` (or any driver exception) into the matching :class:`Error`.

    The result chains ``exc`` as its ``__cause__``; raise it with ``raise translate(e) from e``.

    :param exc: the exception pyodbc raised.
    :param dialect: the connection's dialect, which reads native codes from the message and
        refines the classification (``Dialect()``, the generic one, applies the SQLSTATE rules
        alone). Passed in, so that this module never imports the dialects, which import it.
    :returns: an instance of the PEP 249 class that fits, never raised here.
    """
    sqlstate, message = split_pyodbc_args(exc)
    if sqlstate is None and message.startswith(_PYODBC_INTERFACE_MESSAGES):
        return _chain(InterfaceError(message), exc)
    d = dialect
    native = d.native_code(message, exc)
    isam = d.isam_code(message)
    c = d.classify(sqlstate, native, isam, message, exc)
    if c.hint:
        message = f"{message} [hint: {c.hint}]"
    err = c.cls(
        message,
        sqlstate=sqlstate,
        native_code=native,
        isam_code=isam,
        is_disconnect=c.is_disconnect,
        is_transient=c.is_transient,
    )
    return _chain(err, exc)


def _chain(err: Error, exc: BaseException) -> Error:
    err.__cause__ = exc
    return err
