"""``GET /users/{id}`` in the seed guide's form, as users bring it.

The guide's lifespan puts a pool on ``app.state``, its ``get_conn`` generator dependency lends a
pooled connection to the route, and the route opens a cursor with ``await conn.cursor()``,
executes and fetches, and never closes the cursor: the lease ends with it open. Only the pool
size differs from the guide (10 connections, as every app of the scenario has).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException

from informix_aio import aio

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["app", "get_conn"]

_ctx = Context.from_env()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await aio.create_pool(**_ctx.pg, min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


async def get_conn() -> AsyncIterator[aio.PooledConnection]:
    """The guide's dependency: a pooled connection for the route, returned after it."""
    async with app.state.pool.connection() as conn:
        yield conn


@app.get("/users/{user_id}")
async def get_user(
    user_id: int, conn: Annotated[aio.PooledConnection, Depends(get_conn)]
) -> dict[str, Any]:
    cur = await conn.cursor()
    await cur.execute(SQL, (user_id,))
    row = await cur.fetchone()
    if row is None:
        raise HTTPException(404)
    return user_json(row)
