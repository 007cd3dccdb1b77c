"""Cancellation: the caller is released at once, the statement stops on the server, the
worker is reaped, the transaction is rolled back and nothing leaks.

PostgreSQL (a private server) is the backend here because it shows server-side state:
``pg_stat_activity`` tells whether a statement still runs and whether a backend sits
``idle in transaction``.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import InternalError, QueryCanceled
from tests.conftest import Backend, thread_baseline, wait_for_threads

pytestmark = pytest.mark.anyio

# Bounds on behaviour, not performance: a cancelled 30 s statement must not be waited for.
PROMPT = 2.0


def wait_until_gone(pg: Backend, needle: str, timeout: float = 2.0) -> list[tuple[int, str, str]]:
    """Poll pg_stat_activity until no active statement contains ``needle``."""
    end = time.monotonic() + timeout
    while True:
        running = [a for a in pg.activity() if a[1] == "active" and needle in a[2]]
        if not running or time.monotonic() > end:
            return running
        time.sleep(0.02)


def assert_clean(pg: Backend) -> None:
    """No backend of this test is inside a transaction or still running something."""
    states = [(state, query) for _, state, query in pg.activity()]
    assert all(state == "idle" for state, _ in states), states


@pytest.fixture
async def conn(pg: Backend) -> AsyncIterator[aio.AsyncConnection]:
    c = await aio.connect(**pg.connect_kwargs(autocommit=True))
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def table(pg: Backend) -> Iterator[str]:
    assert pg.pg is not None
    name = pg.table("c")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
    yield name
    pg.pg.admin_execute(f"DROP TABLE IF EXISTS {name}")


async def test_cancel_during_execute_stops_statement_on_server(
    pg: Backend, conn: aio.AsyncConnection
) -> None:
    start = time.monotonic()
    with anyio.move_on_after(0.2):
        await conn.execute("SELECT pg_sleep(30)")
    assert time.monotonic() - start < PROMPT
    assert wait_until_gone(pg, "pg_sleep(30)", timeout=1.0) == []
    assert await conn.fetchval("SELECT 42") == 42
    assert_clean(pg)


async def test_cancel_inside_transaction_rolls_it_back(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    with anyio.move_on_after(0.2):
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            await conn.execute("SELECT pg_sleep(30)")
    assert wait_until_gone(pg, "pg_sleep(30)") == []
    assert await conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
    assert conn.autocommit and not conn.in_transaction
    assert_clean(pg)


async def test_cancel_in_dbapi_mode_rolls_back_the_implicit_transaction_and_aborts_it(
    pg: Backend, table: str
) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=False)) as c:
        await c.execute(f"INSERT INTO {table} VALUES (1)")
        with anyio.move_on_after(0.2):
            await c.execute("SELECT pg_sleep(30)")
        assert wait_until_gone(pg, "pg_sleep(30)") == []
        with pytest.raises(InternalError, match="aborted by a cancellation"):
            await c.fetchval(f"SELECT COUNT(*) FROM {table}")
        await c.rollback()
        assert await c.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
        await c.rollback()
    assert_clean(pg)


async def test_cancel_during_fetch_of_large_result_returns_connection_clean(
    pg: Backend, table: str
) -> None:
    assert pg.pg is not None
    pg.pg.admin_execute(f"INSERT INTO {table} SELECT g FROM generate_series(1, 300000) g")
    # UseDeclareFetch makes psqlODBC fetch in batches, so the cancel lands mid-fetch.
    opts = pg.connect_kwargs(autocommit=True, usedeclarefetch=1, fetch=1000)
    async with await aio.connect(**opts) as c:
        seen = 0
        with anyio.CancelScope() as scope:
            async with c.cursor() as cur:
                await cur.execute(f"SELECT id, repeat('x', 200) FROM {table}")
                async for _ in cur:
                    seen += 1
                    if seen == 5000:  # rows are flowing: cancel while a fetch is in flight
                        scope.deadline = anyio.current_time() + 0.0005
        assert scope.cancelled_caught
        assert 5000 <= seen < 300000
        assert await c.fetchval("SELECT 1") == 1
        assert not c.in_transaction
    assert wait_until_gone(pg, table) == []


async def test_cancel_while_connecting_returns_at_once_and_leaks_no_thread() -> None:
    # A listener that accepts TCP connections and never says a word.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        baseline = thread_baseline()
        start = time.monotonic()
        with anyio.move_on_after(0.2):
            await aio.connect(
                driver="PostgreSQL Unicode",
                host="127.0.0.1",
                port=port,
                database="x",
                user="x",
                login_timeout=2,
            )
        assert time.monotonic() - start < PROMPT
    # The connect finishes (fails) at its login timeout; its thread then exits.
    assert wait_for_threads(baseline, timeout=10) <= baseline


async def test_cancel_during_commit_waits_for_commit_and_keeps_it(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    assert pg.pg is not None
    # A deferred constraint trigger makes COMMIT itself take 0.5 s.
    pg.pg.admin_execute(
        "CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$"
    )
    pg.pg.admin_execute(
        f"CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION slow_commit()"
    )
    tx = conn.transaction()
    await tx.start()
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    start = time.monotonic()
    with anyio.CancelScope() as scope:
        scope.deadline = anyio.current_time() + 0.1
        await tx.commit()
    assert scope.cancelled_caught
    # The cancellation waited for the commit, and the commit stands.
    assert time.monotonic() - start >= 0.4
    assert tx.state is aio.TransactionState.COMMITTED
    assert await conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 1
    assert_clean(pg)


async def test_timeout_cancels_the_statement_on_the_server(
    pg: Backend, conn: aio.AsyncConnection
) -> None:
    with pytest.raises(QueryCanceled):
        await conn.execute("SELECT pg_sleep(30)", timeout=0.2)
    assert wait_until_gone(pg, "pg_sleep(30)", timeout=1.0) == []
    assert await conn.fetchval("SELECT 1") == 1


async def test_cancel_storm_leaves_every_connection_clean(pg: Backend, table: str) -> None:
    """Hundreds of tasks on a few connections, cancelled at random points."""
    baseline = thread_baseline()
    conns = [await aio.connect(**pg.connect_kwargs(autocommit=True)) for _ in range(4)]
    locks = [anyio.Lock() for _ in conns]
    rng = random.Random(7)

    async def victim(i: int) -> None:
        k = i % len(conns)
        with anyio.move_on_after(rng.uniform(0.0, 0.03)):
            async with locks[k]:
                c = conns[k]
                mode = i % 3
                if mode == 0:
                    await c.execute("SELECT pg_sleep(0.05)")
                elif mode == 1:
                    try:
                        async with c.transaction():
                            await c.execute(f"INSERT INTO {table} VALUES (?)", (i,))
                            await c.execute("SELECT pg_sleep(0.02)")
                            if rng.random() < 0.5:
                                raise LookupError("the handler fails after its writes")
                    except LookupError:
                        pass
                else:
                    async with c.cursor() as cur:
                        await cur.execute("SELECT g FROM generate_series(1, 20000) g")
                        async for _ in cur:
                            pass

    async with anyio.create_task_group() as tg:
        for i in range(300):
            tg.start_soon(victim, i)
    # Every connection answers correctly, nothing is left in a transaction.
    for i, c in enumerate(conns):
        assert await c.fetchval("SELECT ?::int + 1", (i,)) == i + 1
        assert not c.in_transaction
    assert wait_until_gone(pg, "pg_sleep") == []
    assert_clean(pg)
    for c in conns:
        await c.close()
    assert wait_for_threads(baseline) <= baseline
