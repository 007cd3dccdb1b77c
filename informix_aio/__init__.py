"""informix-aio: DB-API 2.0 access to IBM Informix (and other ODBC databases) over pyodbc.

>>> import informix_aio
>>> conn = informix_aio.connect(driver="IBM INFORMIX ODBC DRIVER", server="informix",
...                             host="dbhost", service=9088, protocol="onsoctcp",
...                             database="stores", user="informix", password="...")

The async API lives in :mod:`informix_aio.aio`; errors in :mod:`informix_aio.errors`.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from ._options import ConnectOptions, build_options
from ._sync import Connection, Cursor, connect
from .errors import (
    CommandTimeout,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PoolClosed,
    PoolError,
    PoolTimeout,
    ProgrammingError,
    QueryCanceled,
    TooManyRequests,
    Warning,
)
from .rows import dict_row, namedtuple_row, tuple_row

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "CommandTimeout",
    "ConnectOptions",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProgrammingError",
    "QueryCanceled",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "TooManyRequests",
    "Warning",
    "apilevel",
    "build_options",
    "connect",
    "dict_row",
    "namedtuple_row",
    "paramstyle",
    "threadsafety",
    "tuple_row",
]

__version__ = "0.1.0"

apilevel = "2.0"
#: Threads may share the module, not connections (a connection serves one thread at a time).
threadsafety = 1
paramstyle = "qmark"

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:
    """The local date of a POSIX timestamp."""
    return datetime.date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:
    """The local time of day of a POSIX timestamp."""
    return datetime.time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    """The local date and time of a POSIX timestamp."""
    return datetime.datetime(*time.localtime(ticks)[:6])


class _DBAPITypeObject:
    """Compares equal to every ``description`` type code of its group (PEP 249)."""

    def __init__(self, name: str, *types: type) -> None:
        self.name = name
        self.types = frozenset(types)

    def __eq__(self, other: object) -> bool:
        return other in self.types

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<informix_aio.{self.name}>"


# pyodbc reports the Python type a column converts to as its description type_code.
STRING: Any = _DBAPITypeObject("STRING", str)
BINARY: Any = _DBAPITypeObject("BINARY", bytes, bytearray)
NUMBER: Any = _DBAPITypeObject("NUMBER", int, float, bool, __import__("decimal").Decimal)
DATETIME: Any = _DBAPITypeObject("DATETIME", datetime.datetime, datetime.date, datetime.time)
ROWID: Any = _DBAPITypeObject("ROWID", int)
