"""``POST /orders``: the order and the stock it takes, in one transaction."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException
from pydantic import BaseModel, Field

from informix_aio.fastapi import DBPool, Transaction

from ..audit import write_audit
from ..db import insert_returning_id

__all__ = ["NewOrder", "Order", "router"]

router = APIRouter(prefix="/orders", tags=["orders"])


class NewOrder(BaseModel):
    """An order to place."""

    user_id: int
    product_id: int
    qty: int = Field(gt=0, le=1_000_000)


class Order(BaseModel):
    """A placed order, with the stock left after it."""

    id: int
    user_id: int
    product_id: int
    qty: int
    stock_left: int


@router.post(
    "",
    status_code=201,
    responses={
        400: {"description": "Not enough stock"},
        404: {"description": "No such user or product"},
    },
)
async def place_order(
    order: NewOrder, tx: Transaction, pool: DBPool, tasks: BackgroundTasks
) -> Order:
    """Insert the order and take its quantity from stock, or neither (400 when short).

    ``tx`` is in a transaction: the ``HTTPException`` raised on a shortage rolls back the order
    row already inserted; returning commits, before the response is sent.
    """
    if await tx.fetchval("SELECT id FROM users WHERE id = ?", (order.user_id,)) is None:
        raise HTTPException(status_code=404, detail=f"no user {order.user_id}")
    if await tx.fetchval("SELECT id FROM products WHERE id = ?", (order.product_id,)) is None:
        raise HTTPException(status_code=404, detail=f"no product {order.product_id}")
    order_id = await insert_returning_id(
        tx,
        "INSERT INTO orders (user_id, product_id, qty) VALUES (?, ?, ?)",
        (order.user_id, order.product_id, order.qty),
    )
    # The guard is in the UPDATE itself, so two concurrent orders cannot both take the last
    # items; zero rows updated means the stock is short.
    taken = await tx.execute(
        "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
        (order.qty, order.product_id, order.qty),
    )
    stock = int(await tx.fetchval("SELECT stock FROM products WHERE id = ?", (order.product_id,)))
    if taken != 1:
        raise HTTPException(
            status_code=400,
            detail=f"not enough stock: {order.qty} requested, {stock} left",
        )
    tasks.add_task(
        write_audit,
        pool,
        f"order {order_id}: user {order.user_id} took {order.qty} of product {order.product_id}",
    )
    return Order(
        id=order_id,
        user_id=order.user_id,
        product_id=order.product_id,
        qty=order.qty,
        stock_left=stock,
    )
