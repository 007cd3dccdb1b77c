"""``GET /users/{id}`` as a sync ``def`` route (FastAPI's threadpool) on 10 pyodbc connections."""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pyodbc
from fastapi import FastAPI, HTTPException

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["app"]

_ctx = Context.from_env()
_conns: queue.Queue[pyodbc.Connection] = queue.Queue()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    for _ in range(POOL_SIZE):
        _conns.put(pyodbc.connect(_ctx.pg_dsn, autocommit=True))
    try:
        yield
    finally:
        while not _conns.empty():
            _conns.get_nowait().close()


app = FastAPI(lifespan=lifespan)


@app.get("/users/{user_id}")
def get_user(user_id: int) -> dict[str, Any]:
    conn = _conns.get()
    try:
        cur = conn.cursor()
        cur.execute(SQL, user_id)
        row = cur.fetchone()
        cur.close()
    finally:
        _conns.put(conn)
    if row is None:
        raise HTTPException(status_code=404)
    return user_json(row)
