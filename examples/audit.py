"""The audit trail: one row per business event, written after the response is sent."""

from __future__ import annotations

import datetime
import logging

from informix_aio.aio import Pool
from informix_aio.errors import Error

__all__ = ["write_audit"]

logger = logging.getLogger(__name__)


async def write_audit(pool: Pool, event: str) -> None:
    """Insert an audit row on a pooled connection of its own (a ``BackgroundTasks`` task).

    It runs after the response, when the request's connection is already back in the pool;
    a failure is logged, never raised: the client has its answer already.
    """
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    try:
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO audit (event, at) VALUES (?, ?)", (event[:255], now))
    except Error:
        logger.exception("could not write the audit row %r", event)
