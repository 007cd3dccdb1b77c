"""``GET /users/{id}`` on an aioodbc pool (10 connections, a dedicated 10-thread executor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import aioodbc
from fastapi import FastAPI, HTTPException, Request

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["app"]

_ctx = Context.from_env()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    executor = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="aioodbc")
    pool = await aioodbc.create_pool(
        dsn=_ctx.pg_dsn, minsize=POOL_SIZE, maxsize=POOL_SIZE, autocommit=True, executor=executor
    )
    app.state.pool = pool
    try:
        yield
    finally:
        pool.close()
        await pool.wait_closed()
        executor.shutdown(wait=False)


app = FastAPI(lifespan=lifespan)


@app.get("/users/{user_id}")
async def get_user(user_id: int, request: Request) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(SQL, user_id)
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(status_code=404)
    return user_json(row)
