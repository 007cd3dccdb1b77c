"""``GET /users/{id}`` with informix-aio as its FastAPI integration documents it.

``FastAPI(lifespan=pool_lifespan(...))`` and a ``conn: Connection`` dependency (a pooled
connection borrowed for the route, returned before the response is sent).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException

from informix_aio.fastapi import Connection, pool_lifespan

from ..harness import Context
from . import POOL_SIZE, SQL, user_json

__all__ = ["INTEGRATION", "app"]

#: Kept for the report: this app uses ``informix_aio.fastapi`` (always, now that it exists).
INTEGRATION = True

_ctx = Context.from_env()
_options: dict[str, Any] = {**_ctx.pg, "min_size": POOL_SIZE, "max_size": POOL_SIZE}

app = FastAPI(lifespan=pool_lifespan(**_options))


@app.get("/users/{user_id}")
async def get_user(user_id: int, conn: Connection) -> dict[str, Any]:
    row = await conn.fetchrow(SQL, (user_id,))
    if row is None:
        raise HTTPException(status_code=404)
    return user_json(row)
