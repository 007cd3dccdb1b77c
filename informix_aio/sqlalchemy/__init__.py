"""SQLAlchemy 2.x for Informix, sync and async, over this library.

>>> from sqlalchemy import create_engine
>>> engine = create_engine("informix+informix_aio://user:pw@dbhost:9088/stores?server=informix")

>>> from sqlalchemy.ext.asyncio import create_async_engine
>>> engine = create_async_engine("informix+informix_aio://user:pw@dbhost:9088/stores?server=informix")

The names are registered through the ``sqlalchemy.dialects`` entry points:
``informix+informix_aio`` (sync, :mod:`informix_aio`), ``informix+informix_aio_async`` (async,
:mod:`informix_aio.aio`) and plain ``informix``; ``create_async_engine`` picks the async driver
for all three. :class:`AsyncConnector` turns any SQLAlchemy pyodbc dialect async::

    class MariaDBAsync(AsyncConnector, MySQLDialect_pyodbc):
        supports_statement_cache = True

Needs the ``sqlalchemy`` extra: ``pip install 'informix-aio[sqlalchemy]'``.
"""

from __future__ import annotations

from ._async import AsyncConnector
from ._connector import SyncConnector
from .dialect import (
    InformixDialect,
    InformixDialect_informix_aio,
    InformixDialectAsync_informix_aio,
    url_to_connect_kwargs,
)

__all__ = [
    "AsyncConnector",
    "InformixDialect",
    "InformixDialectAsync_informix_aio",
    "InformixDialect_informix_aio",
    "SyncConnector",
    "url_to_connect_kwargs",
]

try:  # Alembic finds InformixImpl once its module is imported
    from . import alembic_impl as _alembic_impl  # noqa: F401
except ImportError:  # the sqlalchemy extra brings alembic; without it, no migrations
    pass

#: The entry point SQLAlchemy loads for ``informix://``.
dialect = InformixDialect_informix_aio
