"""The async API: every blocking ODBC call runs on the connection's own worker thread.

>>> from informix_aio import aio
>>> pool = await aio.create_pool(dsn="stores", min_size=2, max_size=20)
>>> async with pool.connection() as conn:
...     async with conn.transaction():
...         await conn.execute("UPDATE stock SET qty = qty - ? WHERE id = ?", (1, 42))

Runs on asyncio, uvloop and trio.
"""

from __future__ import annotations

from .. import __version__, apilevel, paramstyle, threadsafety
from ._connection import AsyncConnection, connect
from ._cursor import AsyncCursor
from ._pool import Pool, PoolStats, create_pool
from ._pool_state import PoolObserver
from ._pooled import PooledConnection
from ._transaction import AsyncTransaction, TransactionState

__all__ = [
    "AsyncConnection",
    "AsyncCursor",
    "AsyncTransaction",
    "Pool",
    "PoolObserver",
    "PoolStats",
    "PooledConnection",
    "TransactionState",
    "__version__",
    "apilevel",
    "connect",
    "create_pool",
    "paramstyle",
    "threadsafety",
]
