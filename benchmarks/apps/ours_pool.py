"""``GET /users/{id}`` with informix-aio's one-call shortcut: ``await pool.fetchrow(...)``.

Acquire, run, release in one call, without a dependency generator around the route; the pool
comes from ``informix_aio.fastapi``'s ``DBPool`` dependency when that module exists, else from
``app.state`` of a plain lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["app"]

_ctx = Context.from_env()
_options: dict[str, Any] = {**_ctx.pg, "min_size": POOL_SIZE, "max_size": POOL_SIZE}

try:
    from informix_aio.fastapi import DBPool, pool_lifespan
except ImportError:  # no FastAPI integration in this checkout
    from informix_aio import aio

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with aio.create_pool(**_options) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=_lifespan)

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, request: Request) -> dict[str, Any]:
        row = await request.app.state.pool.fetchrow(SQL, (user_id,))
        if row is None:
            raise HTTPException(status_code=404)
        return user_json(row)

else:
    app = FastAPI(lifespan=pool_lifespan(**_options))

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, pool: DBPool) -> dict[str, Any]:  # type: ignore[misc]
        row = await pool.fetchrow(SQL, (user_id,))
        if row is None:
            raise HTTPException(status_code=404)
        return user_json(row)
