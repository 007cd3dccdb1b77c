"""``/orm/products``: the same products table through SQLAlchemy's ORM and ``AsyncSession``.

The engine comes from the service's own target (``INFORMIX_AIO_EXAMPLE_DSN``): an Informix
connection string or DSN becomes ``informix+informix_aio_async:///?odbc_connect=...``; the
embedded SQLite default goes through the same ``AsyncConnector``, mixed into SQLAlchemy's SQLite
dialect over the SQLite3 ODBC driver. Statements run on ``informix_aio.aio`` worker threads, so a
request that is cancelled (client gone, timeout) stops its query on the server.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import String, select
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteDialect, SQLiteExecutionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from informix_aio.sqlalchemy import AsyncConnector

__all__ = ["NewProduct", "Product", "ProductRow", "engine_url", "router"]

router = APIRouter(prefix="/orm/products", tags=["orm"])
_ENV_DSN = "INFORMIX_AIO_EXAMPLE_DSN"
_SQLITE_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "example.db")


class _SQLiteContext(SQLiteExecutionContext):
    def get_lastrowid(self) -> int:
        # ODBC has no cursor.lastrowid: ask SQLite, on the same connection.
        cursor = self.create_cursor()
        try:
            cursor.execute("SELECT last_insert_rowid()")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row is not None else 0


class SQLiteODBCAsync(AsyncConnector, SQLiteDialect):
    """SQLAlchemy's SQLite dialect over the SQLite3 ODBC driver, async through this library."""

    driver = "informix_aio_async"
    supports_statement_cache = True
    execution_ctx_cls = _SQLiteContext

    @classmethod
    def import_dbapi(cls) -> Any:
        """SQLAlchemy's SQLite dialect reads the library version from its DB-API; the
        SQLite3 ODBC driver uses the system libsqlite3, as Python's sqlite3 does."""
        dbapi = super().import_dbapi()
        dbapi.sqlite_version_info = sqlite3.sqlite_version_info
        return dbapi


registry.register("sqlite.informix_aio_async", __name__, "SQLiteODBCAsync")


class Base(DeclarativeBase):
    """The example's ORM base."""


class ProductRow(Base):
    """A row of ``products`` (created by :mod:`examples.schema`)."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    stock: Mapped[int]


class NewProduct(BaseModel):
    """A product to create."""

    name: str = Field(min_length=1, max_length=255)
    stock: int = Field(ge=0)


class Product(NewProduct):
    """A stored product."""

    id: int


def engine_url(target: str | None = None) -> str:
    """The SQLAlchemy URL for the service's target (default ``$INFORMIX_AIO_EXAMPLE_DSN``)."""
    target = os.environ.get(_ENV_DSN, "") if target is None else target
    if not target:
        raw = f"DRIVER={{SQLite3}};Database={_SQLITE_FILE}"
        return f"sqlite+informix_aio_async:///?odbc_connect={quote_plus(raw)}"
    raw = target if "=" in target else f"DSN={target}"
    return f"informix+informix_aio_async:///?odbc_connect={quote_plus(raw)}"


_engine: AsyncEngine | None = None
_sessions: async_sessionmaker[AsyncSession] | None = None


async def session() -> AsyncIterator[AsyncSession]:
    """One ``AsyncSession`` per request (the engine is made on first use)."""
    global _engine, _sessions
    if _sessions is None:
        _engine = create_async_engine(engine_url(), pool_pre_ping=True)
        _sessions = async_sessionmaker(_engine, expire_on_commit=False)
    async with _sessions() as s:
        yield s


Session = Annotated[AsyncSession, Depends(session)]


@router.get("")
async def list_products(db: Session, limit: int = 20, offset: int = 0) -> list[Product]:
    """Products by id, a page at a time (``SKIP m FIRST n`` on Informix)."""
    rows = await db.scalars(select(ProductRow).order_by(ProductRow.id).limit(limit).offset(offset))
    return [Product(id=r.id, name=r.name, stock=r.stock) for r in rows]


@router.get("/{product_id}", responses={404: {"description": "No such product"}})
async def get_product(product_id: int, db: Session) -> Product:
    """One product, or 404."""
    row = await db.get(ProductRow, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"no product {product_id}")
    return Product(id=row.id, name=row.name, stock=row.stock)


@router.post("", status_code=201)
async def create_product(new: NewProduct, db: Session) -> Product:
    """Insert a product; its id comes back from the ORM (DBINFO on Informix)."""
    row = ProductRow(name=new.name, stock=new.stock)
    async with db.begin():
        db.add(row)
    return Product(id=row.id, name=row.name, stock=row.stock)
