"""``GET /users/{id}`` with informix-aio as its FastAPI integration documents it.

``FastAPI(lifespan=pool_lifespan(...))`` and a ``conn: Connection`` dependency (a pooled
connection borrowed for the route, returned before the response is sent). Without
``informix_aio.fastapi`` (older checkouts) it falls back to a plain lifespan and
``pool.connection()`` in the route, which is what that dependency does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["INTEGRATION", "app"]

_ctx = Context.from_env()
_options: dict[str, Any] = {**_ctx.pg, "min_size": POOL_SIZE, "max_size": POOL_SIZE}

try:
    from informix_aio.fastapi import Connection, pool_lifespan
except ImportError:  # no FastAPI integration in this checkout
    from informix_aio import aio

    INTEGRATION = False

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with aio.create_pool(**_options) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=_lifespan)

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, request: Request) -> dict[str, Any]:
        async with request.app.state.pool.connection() as conn:
            row = await conn.fetchrow(SQL, (user_id,))
        if row is None:
            raise HTTPException(status_code=404)
        return user_json(row)

else:
    INTEGRATION = True
    app = FastAPI(lifespan=pool_lifespan(**_options))

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, conn: Connection) -> dict[str, Any]:  # type: ignore[misc]
        row = await conn.fetchrow(SQL, (user_id,))
        if row is None:
            raise HTTPException(status_code=404)
        return user_json(row)
