"""The async connection and cursor, on every backend, under asyncio, uvloop and trio."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from informix_aio import aio, dict_row
from informix_aio.errors import (
    CommandTimeout,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from tests.conftest import Backend, thread_baseline, wait_for_threads, worker_threads

pytestmark = pytest.mark.anyio


@pytest.fixture
async def conn(backend: Backend) -> AsyncIterator[aio.AsyncConnection]:
    c = await aio.connect(**backend.connect_kwargs(autocommit=True))
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def table(backend: Backend, conn: aio.AsyncConnection) -> AsyncIterator[str]:
    name = backend.table("items")
    await conn.execute(
        f"CREATE TABLE {name} (id INTEGER NOT NULL PRIMARY KEY, "
        f"email VARCHAR(100) UNIQUE, note {backend.text_type})"
    )
    yield name
    if not conn.closed:
        await conn.execute(f"DROP TABLE {name}")


async def test_shortcuts_run_statements_and_fetch(conn: aio.AsyncConnection, table: str) -> None:
    assert await conn.execute(f"INSERT INTO {table} (id, email) VALUES (?, ?)", (1, "a@x")) == 1
    await conn.executemany(
        f"INSERT INTO {table} (id, email) VALUES (?, ?)", [(2, "b@x"), (3, "c@x")]
    )
    assert await conn.fetch(f"SELECT id, email FROM {table} ORDER BY id") == [
        (1, "a@x"),
        (2, "b@x"),
        (3, "c@x"),
    ]
    assert await conn.fetchrow(f"SELECT id FROM {table} WHERE id = ?", (2,)) == (2,)
    assert await conn.fetchrow(f"SELECT id FROM {table} WHERE id = ?", (99,)) is None
    assert await conn.fetchval(f"SELECT email FROM {table} WHERE id = ?", (3,)) == "c@x"
    row = await conn.fetchrow(f"SELECT id, email FROM {table} WHERE id = 1", row_factory=dict_row)
    assert {k.lower(): v for k, v in row.items()} == {"id": 1, "email": "a@x"}


async def test_cursor_prefetches_and_iterates_in_batches(
    conn: aio.AsyncConnection, table: str
) -> None:
    await conn.executemany(f"INSERT INTO {table} (id) VALUES (?)", [(i,) for i in range(1, 351)])
    async with conn.cursor(prefetch=100) as cur:
        await cur.execute(f"SELECT id FROM {table} ORDER BY id")
        assert cur.description is not None
        assert await cur.fetchone() == (1,)
        assert await cur.fetchmany(150) == [(i,) for i in range(2, 152)]
        rest = [r[0] async for r in cur]
        assert rest == list(range(152, 351))
        assert await cur.fetchone() is None
        await cur.execute(f"SELECT id FROM {table} WHERE id > ? ORDER BY id", (340,))
        assert await cur.fetchall() == [(i,) for i in range(341, 351)]
    assert cur.closed
    with pytest.raises(InterfaceError):
        await cur.execute("SELECT 1")


async def test_await_cursor_form_also_works(conn: aio.AsyncConnection) -> None:
    cur = await conn.cursor()
    await cur.execute(f"SELECT {conn.dialect.liveness_query[7:]}")
    assert await cur.fetchone() is not None
    await cur.close()


async def test_transaction_commits_rolls_back_and_nests(
    conn: aio.AsyncConnection, table: str
) -> None:
    async with conn.transaction():
        await conn.execute(f"INSERT INTO {table} (id) VALUES (1)")
        with pytest.raises(ValueError):
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} (id) VALUES (2)")
                raise ValueError
    with pytest.raises(KeyError):
        async with conn.transaction() as tx:
            await conn.execute(f"INSERT INTO {table} (id) VALUES (3)")
            raise KeyError
    assert tx.state is aio.TransactionState.ROLLED_BACK
    assert await conn.fetch(f"SELECT id FROM {table}") == [(1,)]
    assert conn.autocommit and not conn.in_transaction


async def test_ended_transaction_cannot_be_reused(conn: aio.AsyncConnection) -> None:
    tx = conn.transaction()
    async with tx:
        pass
    with pytest.raises(InterfaceError):
        await tx.commit()
    with pytest.raises(InterfaceError):
        async with tx:
            pass


async def test_bad_input_gets_the_sync_layers_errors_and_connection_survives(
    conn: aio.AsyncConnection, table: str
) -> None:
    await conn.execute(f"INSERT INTO {table} (id, email) VALUES (1, 'a@x')")
    bad: list[tuple[str, Any, type[Exception]]] = [
        ("SELECT ? FROM " + table, (1, 2), ProgrammingError),
        (f"SELECT id FROM {table} WHERE id = ?", (object(),), ProgrammingError),
        (f"SELECT id FROM {table} WHERE id = ?", {"id": 1}, ProgrammingError),
        (f"INSERT INTO {table} (id, email) VALUES (2, 'a@x')", None, IntegrityError),
        ("SELEC nothing", None, ProgrammingError),
    ]
    if conn.dialect.truncates_at_nul:
        bad.append((f"INSERT INTO {table} (id, note) VALUES (3, ?)", ("x\x00y",), DataError))
    for sql, params, error in bad:
        with pytest.raises(error):
            await conn.execute(sql, params)
        async with conn.cursor() as cur:
            with pytest.raises(error):
                await cur.execute(sql, params)
    assert await conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 1


async def test_closed_connection_and_cursor_raise_interface_error(backend: Backend) -> None:
    c = await aio.connect(**backend.connect_kwargs())
    cur = c.cursor()
    await c.close()
    await c.close()
    assert c.closed
    for call in (c.fetchval("SELECT 1"), c.execute("SELECT 1"), cur.execute("SELECT 1")):
        with pytest.raises(InterfaceError):
            await call
    with pytest.raises(InterfaceError):
        c.cursor()
    with pytest.raises(InterfaceError):
        c.transaction()


async def test_buffered_rows_are_not_served_once_the_cursor_or_connection_closed(
    conn: aio.AsyncConnection, table: str
) -> None:
    await conn.executemany(f"INSERT INTO {table} (id) VALUES (?)", [(1,), (2,), (3,)])
    query = f"SELECT id FROM {table} ORDER BY id"
    cur = conn.cursor()
    await cur.execute(query)  # every row is in the buffer now
    assert await cur.fetchone() == (1,)
    await cur.close()
    with pytest.raises(InterfaceError, match="cursor is closed"):
        await cur.fetchone()
    other = conn.cursor()
    await other.execute(query)
    assert await other.fetchone() == (1,)
    await conn.close()
    with pytest.raises(InterfaceError, match="connection is closed"):
        await other.fetchone()


async def test_each_connection_owns_one_thread_that_exits_on_close(backend: Backend) -> None:
    baseline = thread_baseline()
    conns = [await aio.connect(**backend.connect_kwargs()) for _ in range(3)]
    threads = {c.worker_thread for c in conns}
    assert len(threads) == 3 and all(t.is_alive() for t in threads)
    assert len(worker_threads()) == baseline + 3
    for c in conns:
        await c.close()
    assert wait_for_threads(baseline) <= baseline


async def test_connect_failure_leaves_no_thread(pg: Backend) -> None:
    baseline = thread_baseline()
    with pytest.raises(OperationalError):
        await aio.connect(**pg.connect_kwargs(port=1), login_timeout=2)
    assert wait_for_threads(baseline) <= baseline


async def test_timeout_raises_command_timeout_and_connection_stays_usable(pg: Backend) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=True)) as c:
        with pytest.raises(CommandTimeout) as info:
            await c.execute(pg.sleep_sql(30), timeout=0.2)
        assert isinstance(info.value, TimeoutError)
        assert await c.fetchval("SELECT 7") == 7


async def test_command_timeout_applies_to_every_call(pg: Backend) -> None:
    conn = await aio.connect(**pg.connect_kwargs(autocommit=True), command_timeout=0.2)
    async with conn as c:
        with pytest.raises(CommandTimeout):
            await c.fetchval(pg.sleep_sql(30))
        assert await c.fetchval("SELECT 1", timeout=5) == 1


async def test_event_loop_is_never_blocked_by_database_work(pg: Backend) -> None:
    """A ticker measures loop lag while connects, queries, fetches and closes run."""
    lags: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await anyio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    async def work() -> None:
        try:
            for _ in range(3):
                async with await aio.connect(**pg.connect_kwargs()) as c:
                    await c.fetchval("SELECT pg_sleep(0.05)")
                    async with c.cursor() as cur:
                        await cur.execute("SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
                        n = 0
                        async for _ in cur:
                            n += 1
                        assert n == 20000
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        tg.start_soon(work)
    lags.sort()
    assert len(lags) > 20
    # The median tick is a timer tick; the 95th percentile bounds what a GIL hand-off adds.
    assert statistics.median(lags) < 0.005, lags[-10:]
    assert lags[int(len(lags) * 0.95)] < 0.005, lags[-10:]


async def test_rows_are_not_lost_when_async_for_stops_early(
    conn: aio.AsyncConnection, table: str
) -> None:
    await conn.executemany(f"INSERT INTO {table} (id) VALUES (?)", [(i,) for i in range(1, 2501)])
    async with conn.cursor(prefetch=10) as cur:
        await cur.execute(f"SELECT id FROM {table} ORDER BY id")
        seen = []
        async for (i,) in cur:
            seen.append(i)
            if i == 15:  # a read-ahead batch is in flight now
                break
        assert await cur.fetchone() == (16,)
        assert await cur.fetchmany(3) == [(17,), (18,), (19,)]
        rest = await cur.fetchall()
        assert [r[0] for r in rest] == list(range(20, 2501))
    assert seen == list(range(1, 16))


async def test_closed_cursors_are_reused_with_their_new_row_factory(
    conn: aio.AsyncConnection, table: str
) -> None:
    await conn.execute(f"INSERT INTO {table} (id, email) VALUES (1, 'a@x')")
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT id, email FROM {table}")
        assert await cur.fetchall() == [(1, "a@x")]
    assert len(conn.spare_cursors) == 1
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT id, email FROM {table}")
        row = await cur.fetchone()
        assert {k.lower(): v for k, v in row.items()} == {"id": 1, "email": "a@x"}
    async with conn.cursor() as cur:  # left unfinished: closed, not kept
        await cur.execute(f"SELECT id FROM {table} UNION ALL SELECT id FROM {table}")
        assert await cur.fetchone() == (1,)
    assert await conn.fetchval("SELECT COUNT(*) FROM " + table) == 1
