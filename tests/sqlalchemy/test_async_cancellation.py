"""Cancellation through SQLAlchemy keeps the library's guarantee: a cancelled ``AsyncSession``
query stops on the server, and SQLAlchemy's pool throws that connection away.

Runs on the private MariaDB through :class:`~informix_aio.sqlalchemy.AsyncConnector` mixed into
SQLAlchemy's ``mysql+pyodbc`` (SQLAlchemy has no ``postgresql+pyodbc``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import anyio
import pytest
from sqlalchemy import String, event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tests._servers import MariaDBServer
from tests.sqlalchemy._mariadb import ASYNC_NAME, odbc_url, register

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """SQLAlchemy's asyncio extension runs on asyncio only."""
    return "asyncio"


@pytest.fixture
async def engine(mariadb_server: MariaDBServer) -> AsyncIterator[AsyncEngine]:
    register()
    eng = create_async_engine(odbc_url(ASYNC_NAME, mariadb_server.connection_string()))
    try:
        yield eng
    finally:
        await eng.dispose()


def sleeping_queries(server: MariaDBServer) -> list[tuple[object, ...]]:
    """Statements of other sessions still running SLEEP (information_schema.processlist)."""
    return server.admin_execute(
        "SELECT id, info FROM information_schema.processlist "
        "WHERE info LIKE 'SELECT SLEEP%' AND id <> CONNECTION_ID()"
    )


async def test_a_timed_out_session_query_stops_on_the_server(
    engine: AsyncEngine, mariadb_server: MariaDBServer
) -> None:
    async with AsyncSession(engine) as session:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.5):
                await session.execute(text("SELECT SLEEP(30)"))
        assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while sleeping_queries(mariadb_server) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert sleeping_queries(mariadb_server) == []


async def test_the_pool_discards_the_cancelled_connection_and_serves_a_new_one(
    engine: AsyncEngine,
) -> None:
    invalidated: list[BaseException | None] = []
    event.listen(engine.sync_engine, "invalidate", lambda conn, rec, exc: invalidated.append(exc))
    async with engine.connect() as conn:
        first = await conn.scalar(text("SELECT CONNECTION_ID()"))
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.3):
                await conn.execute(text("SELECT SLEEP(30)"))
        assert conn.invalidated
    assert len(invalidated) == 1 and isinstance(invalidated[0], asyncio.CancelledError)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT CONNECTION_ID()")) != first
        assert await conn.scalar(text("SELECT 1")) == 1


class _Base(DeclarativeBase):
    pass


class Item(_Base):
    __tablename__ = "sqla_orm_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


async def test_orm_objects_round_trip_through_an_async_session(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)
        await conn.run_sync(_Base.metadata.create_all)
    try:
        async with AsyncSession(engine) as session, session.begin():
            session.add_all([Item(name="bolt"), Item(name="nut")])
        async with AsyncSession(engine) as session:
            items = (await session.scalars(select(Item).order_by(Item.id))).all()
            assert [(i.id, i.name) for i in items] == [(1, "bolt"), (2, "nut")]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.drop_all)
