"""Retrying transient errors, shown with a real lock conflict on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import pytest

import informix_aio
from informix_aio import aio
from informix_aio.errors import IntegrityError, OperationalError
from informix_aio.retry import retry, retry_async, retrying
from tests.conftest import Backend


@pytest.fixture
def locked_row(pg: Backend) -> Iterator[str]:
    """A table whose only row is locked by another connection for 0.4 s."""
    assert pg.pg is not None
    table = pg.table("acct")
    pg.pg.admin_execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, balance INT)")
    pg.pg.admin_execute(f"INSERT INTO {table} VALUES (1, 100)")
    holder = informix_aio.connect(**pg.connect_kwargs())
    holder.execute_direct(f"UPDATE {table} SET balance = balance WHERE id = 1")  # row lock
    timer = threading.Timer(0.4, holder.commit)
    timer.start()
    yield table
    timer.join()
    holder.close()


def test_lock_timeout_is_a_transient_operational_error(pg: Backend, locked_row: str) -> None:
    with informix_aio.connect(**pg.connect_kwargs(lock_timeout=0.05, autocommit=True)) as c:
        with pytest.raises(OperationalError) as info:
            c.execute_direct(f"UPDATE {locked_row} SET balance = balance - 1 WHERE id = 1")
        assert info.value.is_transient and info.value.sqlstate == "55P03"


def test_sync_retry_succeeds_once_the_lock_is_released(pg: Backend, locked_row: str) -> None:
    with informix_aio.connect(**pg.connect_kwargs(lock_timeout=0.05, autocommit=True)) as c:

        def debit() -> int:
            with c.transaction():
                return c.execute_direct(
                    f"UPDATE {locked_row} SET balance = balance - 1 WHERE id = 1"
                )

        assert retry(debit, attempts=30, initial_delay=0.05, max_delay=0.1) == 1
        assert c.fetchval(f"SELECT balance FROM {locked_row}") == 99


@pytest.mark.anyio
async def test_retrying_reruns_a_whole_transaction_block(pg: Backend, locked_row: str) -> None:
    tries = 0
    async with aio.create_pool(
        **pg.connect_kwargs(lock_timeout=0.05), min_size=1, max_size=2
    ) as pool:
        async for attempt in retrying(attempts=30, initial_delay=0.05, max_delay=0.1):
            with attempt:
                tries += 1
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute(
                        f"UPDATE {locked_row} SET balance = balance - 10 WHERE id = 1"
                    )
        assert tries > 1
        assert await pool.fetchval(f"SELECT balance FROM {locked_row}") == 90


@pytest.mark.anyio
async def test_non_transient_errors_are_not_retried(sqlite: Backend) -> None:
    calls = 0
    async with await aio.connect(**sqlite.connect_kwargs(autocommit=True)) as conn:
        await conn.execute("CREATE TABLE u (email TEXT UNIQUE)")
        await conn.execute("INSERT INTO u VALUES ('a')")

        async def insert() -> None:
            nonlocal calls
            calls += 1
            await conn.execute("INSERT INTO u VALUES ('a')")

        with pytest.raises(IntegrityError):
            await retry_async(insert, attempts=5)
    assert calls == 1


@pytest.mark.anyio
async def test_last_transient_error_propagates_after_the_bound(
    pg: Backend, locked_row: str
) -> None:
    async with await aio.connect(**pg.connect_kwargs(lock_timeout=0.02, autocommit=True)) as c:
        with pytest.raises(OperationalError) as info:
            async for attempt in retrying(attempts=2, initial_delay=0.0, max_delay=0.0):
                with attempt:
                    await c.execute(f"UPDATE {locked_row} SET balance = 0 WHERE id = 1")
        assert info.value.is_transient
        await anyio.sleep(0.5)  # let the holder commit before the fixture ends


def test_retry_arguments_are_validated() -> None:
    with pytest.raises(ValueError):
        retry(lambda: None, attempts=0)
    with pytest.raises(ValueError):
        retry(lambda: None, initial_delay=2, max_delay=1)
