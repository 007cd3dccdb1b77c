"""``GET /dashboard``: several queries at once, each on a pooled connection of its own."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from informix_aio.aio import Pool
from informix_aio.fastapi import DBPool

__all__ = ["Dashboard", "router"]

router = APIRouter(tags=["dashboard"])


class ProductStock(BaseModel):
    """A product running low."""

    id: int
    name: str
    stock: int


class Dashboard(BaseModel):
    """Totals, low stock, and how long the parallel queries took together."""

    users: int
    orders: int
    units_ordered: int
    audit_events: int
    low_stock: list[ProductStock]
    elapsed_ms: float


async def _value(pool: Pool, sql: str) -> Any:
    async with pool.connection() as conn:
        return await conn.fetchval(sql)


async def _rows(pool: Pool, sql: str) -> list[Any]:
    async with pool.connection() as conn:
        return await conn.fetch(sql)


@router.get("/dashboard")
async def dashboard(pool: DBPool) -> Dashboard:
    """Five queries in parallel (``asyncio.gather``): the slowest one sets the latency."""
    start = time.perf_counter()
    users, orders, units, events, low = await asyncio.gather(
        _value(pool, "SELECT COUNT(*) FROM users"),
        _value(pool, "SELECT COUNT(*) FROM orders"),
        _value(pool, "SELECT SUM(qty) FROM orders"),
        _value(pool, "SELECT COUNT(*) FROM audit"),
        _rows(pool, "SELECT id, name, stock FROM products WHERE stock < 10 ORDER BY stock, id"),
    )
    return Dashboard(
        users=int(users),
        orders=int(orders),
        units_ordered=int(units or 0),  # SUM of no rows is NULL
        audit_events=int(events),
        low_stock=[ProductStock(id=r[0], name=r[1], stock=r[2]) for r in low],
        elapsed_ms=round((time.perf_counter() - start) * 1000, 3),
    )
