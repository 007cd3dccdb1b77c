"""``GET /export/users.csv``: every user as CSV, streamed, in constant memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, Mapping

import anyio
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from informix_aio.aio import Pool
from informix_aio.fastapi import DBPool

from ..db import stream_rows

__all__ = ["BATCH_ROWS", "router"]

router = APIRouter(prefix="/export", tags=["export"])

#: Rows fetched per round trip and written per chunk of the response.
BATCH_ROWS = 1000


class _ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that always closes its generator, even when the client left.

    Starlette stops iterating when the send fails or the request is cancelled, but leaves the
    generator suspended at its ``yield``: its ``async with pool.connection()`` would only end
    when the garbage collector finalizes it. Closing it here returns the connection (and on
    PostgreSQL rolls back the cursor's transaction) before the request is over.
    """

    def __init__(
        self, content: AsyncGenerator[str, None], *, media_type: str, headers: Mapping[str, str]
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._generator = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._generator.aclose()


async def _users_csv(pool: Pool) -> AsyncGenerator[str, None]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("id", "email", "name"))
    # The connection is borrowed here, not by a dependency: it must live as long as the
    # stream, which outlasts the route function.
    async with pool.connection() as conn:
        rows = 0
        async for row in stream_rows(
            conn, "SELECT id, email, name FROM users", key="id", batch=BATCH_ROWS
        ):
            writer.writerow(row)
            rows += 1
            if rows % BATCH_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


@router.get("/users.csv", response_class=StreamingResponse)
async def export_users(pool: DBPool) -> StreamingResponse:
    """All users as CSV (``id,email,name``), fetched and sent in batches of 1000 rows."""
    return _ClosingStreamingResponse(
        _users_csv(pool),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="users.csv"'},
    )
