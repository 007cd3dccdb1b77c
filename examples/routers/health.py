"""``GET /health``: the pool's statistics and a liveness query."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Response

from informix_aio.errors import Error
from informix_aio.fastapi import DBPool

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The database does not answer"}})
async def health(pool: DBPool, response: Response) -> dict[str, Any]:
    """``pool`` is ``pool.stats()`` taken before this request borrows a connection for the
    liveness query, so ``in_use`` counts the other requests only."""
    stats = dataclasses.asdict(pool.stats())
    try:
        async with pool.connection(timeout=2.0) as conn:
            latency = await conn.ping(timeout=2.0)
            backend = conn.dialect.name
    except Error as exc:
        response.status_code = 503
        return {"status": "unavailable", "error": type(exc).__name__, "pool": stats}
    return {"status": "ok", "backend": backend, "ping_ms": round(latency * 1000, 3), "pool": stats}
