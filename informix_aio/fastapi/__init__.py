"""FastAPI integration: the pool's lifespan, request dependencies, cancel-on-disconnect,
error handlers and health endpoints.

Install with the ``fastapi`` extra (``pip install 'informix-aio[fastapi]'``)::

    from fastapi import FastAPI, HTTPException
    from informix_aio.fastapi import (CancelOnDisconnectMiddleware, Connection, Transaction,
                                      health_router, install_error_handlers, pool_lifespan)

    app = FastAPI(lifespan=pool_lifespan(dsn="stores", min_size=2, max_size=20))
    app.add_middleware(CancelOnDisconnectMiddleware)   # a client that hangs up cancels its SQL
    install_error_handlers(app)                        # PoolTimeout -> 503, DataError -> 422, ...
    app.include_router(health_router())                # /health, /health/live, /health/ready

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, conn: Connection) -> dict[str, object]:
        row = await conn.fetchrow("SELECT id, name FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "name": row[1]}

The pieces, one module each:

- :mod:`~informix_aio.fastapi.lifespan`: :func:`pool_lifespan`, :func:`open_pool` and the
  dependencies :data:`DBPool`, :data:`Connection`, :data:`Transaction`;
- :mod:`~informix_aio.fastapi.middleware`: :class:`CancelOnDisconnectMiddleware`;
- :mod:`~informix_aio.fastapi.error_handlers`: :func:`install_error_handlers`;
- :mod:`~informix_aio.fastapi.health`: :func:`health_router`, :func:`check_readiness`.

A ``StreamingResponse`` that reads from the database must borrow its connection inside its
generator (``pool.connection()`` with :data:`DBPool`), or declare
``Depends(get_connection, scope="request")`` itself, since :data:`Connection` goes back to the
pool before the response is sent; and as Starlette leaves a body generator suspended when its
client goes away, close it (``aclose()``) once the response ends, so that its ``async with``
blocks exit at once rather than whenever the garbage collector gets to it
(``examples/routers/export.py`` shows both).

Everything logs on the ``informix_aio.fastapi`` logger, which uvicorn's default logging
configuration shows (see :mod:`informix_aio.fastapi._logging`).
"""

from __future__ import annotations

from .error_handlers import install_error_handlers
from .health import Readiness, check_readiness, health_router
from .lifespan import (
    POOL_STATE_ATTR,
    Connection,
    DBPool,
    Transaction,
    get_connection,
    get_pool,
    get_transaction,
    open_pool,
    pool_lifespan,
)
from .middleware import WATCH_AFTER, CancelOnDisconnectMiddleware

__all__ = [
    "POOL_STATE_ATTR",
    "WATCH_AFTER",
    "CancelOnDisconnectMiddleware",
    "Connection",
    "DBPool",
    "Readiness",
    "Transaction",
    "check_readiness",
    "get_connection",
    "get_pool",
    "get_transaction",
    "health_router",
    "install_error_handlers",
    "open_pool",
    "pool_lifespan",
]
