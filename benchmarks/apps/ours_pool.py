"""``GET /users/{id}`` with informix-aio's one-call shortcut: ``await pool.fetchrow(...)``.

Acquire, run, release in one call, without a dependency generator around the route; the pool
comes from ``informix_aio.fastapi``'s ``DBPool`` dependency.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException

from informix_aio.fastapi import DBPool, pool_lifespan

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["app"]

_ctx = Context.from_env()
_options: dict[str, Any] = {**_ctx.pg, "min_size": POOL_SIZE, "max_size": POOL_SIZE}

app = FastAPI(lifespan=pool_lifespan(**_options))


@app.get("/users/{user_id}")
async def get_user(user_id: int, pool: DBPool) -> dict[str, Any]:
    row = await pool.fetchrow(SQL, (user_id,))
    if row is None:
        raise HTTPException(status_code=404)
    return user_json(row)
