"""``/orm/products``: the same products table through SQLAlchemy's ORM and ``AsyncSession``.

The engine comes from the service's own target, made in the app's lifespan
(:func:`make_sessions`): Informix becomes ``informix+informix_aio_async:///?odbc_connect=...``;
the embedded SQLite default goes through the same ``AsyncConnector``, mixed into SQLAlchemy's
SQLite dialect over the SQLite3 ODBC driver. Statements run on ``informix_aio.aio`` worker
threads, so a request that is cancelled (client gone, timeout) stops its query on the server.
Other backends (the PostgreSQL of the test bed) have no SQLAlchemy dialect over ODBC here: the
routes answer 503 there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, HTTPException, Request
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

__all__ = ["NewProduct", "Product", "ProductRow", "engine_url", "make_sessions", "router"]

router = APIRouter(prefix="/orm/products", tags=["orm"])


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


def engine_url(connection_string: str, dialect: str) -> str | None:
    """The SQLAlchemy URL for the service's connection string, or None for a backend without
    a SQLAlchemy dialect over ODBC here."""
    if dialect == "sqlite":
        return f"sqlite+informix_aio_async:///?odbc_connect={quote_plus(connection_string)}"
    if dialect == "informix":
        return f"informix+informix_aio_async:///?odbc_connect={quote_plus(connection_string)}"
    return None


def make_sessions(
    connection_string: str, dialect: str
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]] | None:
    """An engine and a session factory for the service's target (None: no ORM there)."""
    url = engine_url(connection_string, dialect)
    if url is None:
        return None
    engine = create_async_engine(url, pool_pre_ping=True)
    return engine, async_sessionmaker(engine, expire_on_commit=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One ``AsyncSession`` per request, from the factory the app's lifespan made."""
    made = getattr(request.app.state, "orm", None)
    if made is None:
        raise HTTPException(
            status_code=503, detail="the ORM routes need the SQLite or Informix backend"
        )
    async with made[1]() as s:
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
