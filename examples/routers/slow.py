"""``GET /slow?seconds=N``: a statement that takes N seconds on the server.

Hang up before it ends and, with ``CancelOnDisconnectMiddleware``, the statement is cancelled
in the database (SQLCancel; on SQLite ``sqlite3_interrupt``) and the connection goes back to
the pool clean: ``GET /health`` shows it (``reaped_after_cancel``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from informix_aio.fastapi import Connection

from ..db import sleep_statement, sqlite_count_rate

__all__ = ["router"]

router = APIRouter(tags=["slow"])


@router.get("/slow", responses={501: {"description": "This database has no way to sleep"}})
async def slow(
    request: Request,
    conn: Connection,
    seconds: Annotated[float, Query(gt=0, le=60)] = 3.0,
) -> dict[str, Any]:
    """Keep the database busy for about ``seconds``."""
    dialect = conn.dialect.name
    rate: float | None = None
    if dialect == "sqlite":
        rate = getattr(request.app.state, "sqlite_count_rate", None)
        if rate is None:
            rate = request.app.state.sqlite_count_rate = await sqlite_count_rate(conn)
    statement = sleep_statement(dialect, seconds, sqlite_rate=rate)
    if statement is None:
        raise HTTPException(status_code=501, detail=f"no sleep statement on {dialect}")
    start = time.perf_counter()
    await conn.fetchval(*statement)
    return {"backend": dialect, "seconds": round(time.perf_counter() - start, 3)}
