"""The sync connector: SQLAlchemy's pyodbc connector, with ``informix_aio`` as the DB-API.

:class:`SyncConnector` is what the ``informix+informix_aio`` dialect is made of, and what
:class:`~informix_aio.sqlalchemy.AsyncConnector` builds on. It keeps SQLAlchemy's
``PyODBCConnector`` for everything pyodbc dialects rely on (``odbc_connect=``, ``driver=``,
isolation through ``autocommit``) and changes three things: connections are opened by
:func:`informix_aio.connect` (errors arrive as :mod:`informix_aio.errors` classes), a lost
connection is recognised from :attr:`informix_aio.Error.is_disconnect`, and the DB-API module is
:class:`DBAPI`, which carries the pyodbc constants SQLAlchemy's pyodbc dialects read.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pyodbc
from sqlalchemy import util
from sqlalchemy.connectors.pyodbc import PyODBCConnector

import informix_aio

from .. import errors

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import ConnectArgsType, DBAPIConnection, DBAPICursor
    from sqlalchemy.engine.url import URL
    from sqlalchemy.pool import PoolProxiedConnection

__all__ = ["DBAPI", "SyncConnector", "pyodbc_connect_kwargs"]

T = TypeVar("T")

#: pyodbc module attributes SQLAlchemy's pyodbc dialects read from ``dialect.dbapi``.
PYODBC_CONSTANTS = (
    "SQL_DBMS_NAME",
    "SQL_DBMS_VER",
    "SQL_DRIVER_NAME",
    "SQL_VARCHAR",
    "SQL_WVARCHAR",
    "SQL_WLONGVARCHAR",
    "SQL_LONGVARCHAR",
    "SQL_LONGVARBINARY",
    "SQL_DECIMAL",
    "SQL_CHAR",
    "SQL_WCHAR",
    "BinaryNull",
)
# PyODBCConnector's boolean query options; pyodbc-only ones have no equivalent here.
_UNSUPPORTED = ("ansi", "unicode_results")


class DBAPI(types.SimpleNamespace):
    """``informix_aio`` seen as a DB-API module by SQLAlchemy.

    The PEP 249 globals, exception classes and type objects are :mod:`informix_aio`'s; the
    pyodbc constants of :data:`PYODBC_CONSTANTS` are pyodbc's (the driver underneath).
    """

    Error: type[errors.Error]
    Warning: type[errors.Warning]
    InterfaceError: type[errors.InterfaceError]
    DatabaseError: type[errors.DatabaseError]
    DataError: type[errors.DataError]
    OperationalError: type[errors.OperationalError]
    IntegrityError: type[errors.IntegrityError]
    InternalError: type[errors.InternalError]
    ProgrammingError: type[errors.ProgrammingError]
    NotSupportedError: type[errors.NotSupportedError]
    paramstyle: str
    version: str

    def __init__(self, connect: Callable[..., Any]) -> None:
        """:param connect: the function that opens a connection from keyword options."""
        attrs: dict[str, Any] = {
            name: getattr(informix_aio, name)
            for name in (
                "apilevel",
                "threadsafety",
                "paramstyle",
                "Binary",
                "Date",
                "Time",
                "Timestamp",
                "STRING",
                "BINARY",
                "NUMBER",
                "DATETIME",
                "ROWID",
            )
        }
        attrs.update(
            (name, getattr(errors, name))
            for name in (
                "Error",
                "Warning",
                "InterfaceError",
                "DatabaseError",
                "DataError",
                "OperationalError",
                "IntegrityError",
                "InternalError",
                "ProgrammingError",
                "NotSupportedError",
            )
        )
        attrs.update((name, getattr(pyodbc, name)) for name in PYODBC_CONSTANTS)
        attrs["version"] = informix_aio.__version__
        attrs["connect"] = connect
        super().__init__(**attrs)


def pyodbc_connect_kwargs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Turn ``PyODBCConnector.create_connect_args``' result into :func:`informix_aio.connect`
    keywords: the connection string becomes ``connection_string=``.

    :raises ValueError: a pyodbc-only option (``ansi``, ``unicode_results``) was given.
    """
    out = dict(kwargs)
    for name in _UNSUPPORTED:
        if out.pop(name, False):
            raise ValueError(f"the URL option {name}= is pyodbc's; informix_aio has no such mode")
    if args and args[0]:
        out["connection_string"] = args[0]
    return out


class SyncConnector(PyODBCConnector):
    """SQLAlchemy's pyodbc connector over ``informix_aio``'s DB-API layer."""

    driver = "informix_aio"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        """The :class:`DBAPI` namespace around :func:`informix_aio.connect`."""
        return DBAPI(informix_aio.connect)

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """PyODBC's URL rules (``odbc_connect=``, ``driver=``...) as ``informix_aio`` keywords.

        :raises ValueError: a pyodbc-only option was given.
        """
        args, kwargs = super().create_connect_args(url)
        return (), pyodbc_connect_kwargs(tuple(args), dict(kwargs))

    def is_disconnect(
        self,
        e: Exception,
        connection: PoolProxiedConnection | DBAPIConnection | None,
        cursor: DBAPICursor | None,
    ) -> bool:
        """A lost connection, as the library's dialect classified it (``Error.is_disconnect``),
        or a use of a connection that is already closed."""
        if isinstance(e, errors.Error):
            if e.is_disconnect:
                return True
            if isinstance(e, errors.InterfaceError) and "is closed" in str(e):
                return True
        return bool(super().is_disconnect(e, connection, cursor))

    def retrieve_dbapi_version(self, dbapi: Any) -> util.VersionInfo:
        """``informix_aio.__version__``."""
        return util.parse_version_string(str(dbapi.version))

    def run_on_connection(
        self, dbapi_connection: Any, fn: Callable[[informix_aio.Connection], T]
    ) -> T:
        """Run ``fn`` with the ``informix_aio.Connection`` underneath ``dbapi_connection``
        (here it is that connection; the async connector runs ``fn`` on its worker thread)."""
        return fn(dbapi_connection)
