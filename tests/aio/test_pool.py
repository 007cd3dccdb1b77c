"""The pool's behaviour and state, against a real PostgreSQL (and SQLite where it is enough)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import (
    CommandTimeout,
    InterfaceError,
    PoolClosed,
    PoolTimeout,
    TooManyRequests,
)
from tests.conftest import Backend, thread_baseline, wait_for_threads, worker_threads

pytestmark = pytest.mark.anyio


def balanced(pool: aio.Pool) -> None:
    """The counts add up: every slot is idle, in use, opening or reaping."""
    s = pool.stats()
    assert s.size == s.idle + s.in_use + s.opening + s.reaping
    assert s.size <= s.max_size


async def settle(pool: aio.Pool, timeout: float = 5.0) -> aio.PoolStats:
    """Wait until no slot is opening or being reaped."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = pool.stats()
        if not s.opening and not s.reaping:
            return s
        await anyio.sleep(0.01)
    raise AssertionError(f"pool did not settle: {pool!r}")


@pytest.fixture
async def pool(pg: Backend) -> AsyncIterator[aio.Pool]:
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=2, max_size=5, acquire_timeout=5
    ) as p:
        yield p


async def test_create_pool_opens_min_size_and_close_releases_everything(pg: Backend) -> None:
    baseline = thread_baseline()
    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=3, max_size=6)
    s = pool.stats()
    assert (s.size, s.idle, s.connections_opened) == (3, 3, 3)
    assert "3 idle" in repr(pool)
    await pool.close()
    assert pool.closed and pool.stats().size == 0
    assert wait_for_threads(baseline) <= baseline
    with pytest.raises(PoolClosed):
        await pool.acquire()


async def test_constructor_does_no_io_and_validates_arguments(pg: Backend) -> None:
    p = aio.Pool(**pg.connect_kwargs(port=1))  # nothing listens there: no I/O yet
    assert p.stats().size == 0
    with pytest.raises(PoolClosed, match="not open"):
        await p.acquire()
    bad_options: list[dict[str, Any]] = [
        {"min_size": 3, "max_size": 2},
        {"max_size": 0},
        {"acquire_timeout": -1},
        {"max_waiting": -1},
        {"reap_timeout": 0},
    ]
    for bad in bad_options:
        with pytest.raises(ValueError):
            aio.Pool(**pg.connect_kwargs(), **bad)


async def test_shortcuts_and_connection_block_run_queries(pool: aio.Pool) -> None:
    assert await pool.fetchval("SELECT ?::int * 2", (21,)) == 42
    assert await pool.fetch("SELECT g FROM generate_series(1, 3) g") == [(1,), (2,), (3,)]
    assert await pool.fetchrow("SELECT 1, 'a'") == (1, "a")
    assert await pool.execute("SELECT 1") in (1, -1)
    async with pool.connection() as conn:
        assert conn.autocommit
        assert await conn.fetchval("SELECT 5") == 5
    s = await settle(pool)
    assert s.in_use == 0 and s.requests == 5
    balanced(pool)


async def test_gather_of_shortcuts_uses_several_connections(pool: aio.Pool) -> None:
    pids: list[int] = []

    async def pid() -> None:
        pids.append(
            await pool.fetchval("SELECT pg_backend_pid() + 0 * length(pg_sleep(0.2)::text)")
        )

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(pid)
    assert len(set(pids)) == 4


async def test_released_connection_is_detached_and_refuses_use(pool: aio.Pool) -> None:
    async with pool.connection() as conn:
        pass
    assert conn.released
    with pytest.raises(InterfaceError, match="released"):
        await conn.fetchval("SELECT 1")
    c2 = await pool.acquire()
    await pool.release(c2)
    await pool.release(c2)  # a second release is a no-op
    with pytest.raises(InterfaceError):
        c2.cursor()


async def test_waiters_are_served_first_come_first_served(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        order: list[int] = []
        held = await pool.acquire()

        async def take(i: int) -> None:
            async with pool.connection():
                order.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(take, i)
                await anyio.sleep(0.002)  # queue them in a known order
            await pool.release(held)
        assert order == list(range(10))


async def test_timed_out_waiter_never_receives_a_connection(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        held = await pool.acquire()
        with pytest.raises(PoolTimeout):
            await pool.acquire(timeout=0.05)
        await pool.release(held)
        s = await settle(pool)
        assert (s.idle, s.in_use, s.waiting, s.acquire_timeouts) == (1, 0, 0, 1)
        async with pool.connection(timeout=1) as c:  # the connection went back to idle
            assert await c.fetchval("SELECT 1") == 1


async def test_a_statement_made_before_the_release_and_run_after_it_is_refused(
    pg: Backend,
) -> None:
    # A task started in the block but run after it must not use the next borrower's connection.
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            late = c.fetchval("SELECT 1")  # a coroutine, not yet started
        async with pool.connection() as nxt:
            with pytest.raises(InterfaceError, match="released"):
                await late
            assert await nxt.fetchval("SELECT 2") == 2


async def test_releasing_inside_the_block_never_releases_the_next_borrowers_lease(
    pg: Backend,
) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            await c.release()  # given back early: the next borrower gets it at once
            nxt = await pool.acquire(timeout=1)
        # The block's exit must not take the connection from the one who holds it now.
        assert not nxt.released and pool.stats().in_use == 1
        assert await nxt.fetchval("SELECT 1") == 1
        await pool.release(nxt)
        s = await settle(pool)
        assert (s.idle, s.in_use) == (1, 0)


async def test_each_waiter_times_out_at_its_own_deadline_in_any_order(pg: Backend) -> None:
    # One timer serves every waiter: a later waiter with a shorter timeout re-arms it, and
    # the waiters whose deadline has not come keep waiting.
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        held = await pool.acquire()
        outcome: dict[str, float | str] = {}

        async def wait(name: str, timeout: float) -> None:
            start = time.monotonic()
            try:
                async with pool.connection(timeout=timeout) as c:
                    outcome[name] = f"got {await c.fetchval('SELECT 1')}"
            except PoolTimeout:
                outcome[name] = time.monotonic() - start

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait, "long", 30.0)
            tg.start_soon(wait, "medium", 0.4)
            tg.start_soon(wait, "short", 0.1)
            await anyio.sleep(0.7)
            assert pool.stats().waiting == 1  # only "long" is left
            await pool.release(held)
        assert outcome["long"] == "got 1"
        short, medium = outcome["short"], outcome["medium"]
        assert isinstance(short, float) and isinstance(medium, float)
        # Loop clocks are coarse (uvloop caches the time per iteration): a little slack below.
        assert 0.09 <= short < 0.35 and 0.38 <= medium < 0.65
        s = await settle(pool)
        assert (s.idle, s.in_use, s.waiting, s.acquire_timeouts) == (1, 0, 0, 2)


async def test_cancelled_waiter_never_receives_a_connection(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        held = await pool.acquire()
        with anyio.move_on_after(0.05):
            await pool.acquire()
        await pool.release(held)
        s = await settle(pool)
        assert (s.idle, s.in_use, s.waiting) == (1, 0, 0)


async def test_exhaustion_of_1000_acquirers_times_out_cleanly_without_deadlock(
    pg: Backend,
) -> None:
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=10, max_size=10, acquire_timeout=0.3, max_waiting=600
    ) as pool:
        outcome: dict[str, int] = {"ok": 0, "timeout": 0, "rejected": 0}

        async def client() -> None:
            try:
                async with pool.connection() as c:
                    await c.fetchval("SELECT pg_sleep(0.05)")
                outcome["ok"] += 1
            except PoolTimeout:
                outcome["timeout"] += 1
            except TooManyRequests:
                outcome["rejected"] += 1

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(1000):
                    tg.start_soon(client)
        assert sum(outcome.values()) == 1000
        assert outcome["ok"] >= 10 and outcome["timeout"] > 0 and outcome["rejected"] > 0
        s = await settle(pool)
        assert s.size == 10 and s.in_use == 0 and s.waiting == 0
        assert s.acquire_timeouts == outcome["timeout"]
        assert s.requests_rejected == outcome["rejected"]
        assert await pool.fetchval("SELECT 1") == 1


async def test_never_more_than_max_size_connections_or_threads(pg: Backend) -> None:
    baseline = thread_baseline()
    peak = 0
    async with aio.create_pool(**pg.connect_kwargs(), min_size=0, max_size=4) as pool:

        async def q() -> None:
            nonlocal peak
            async with pool.connection() as c:
                peak = max(peak, len(worker_threads()) - baseline, pool.stats().size)
                await c.fetchval("SELECT 1")

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(q)
    assert peak <= 4
    assert wait_for_threads(baseline) <= baseline


async def test_dbapi_mode_pool_rolls_back_on_release(pg: Backend) -> None:
    assert pg.pg is not None
    table = pg.table("r")
    pg.pg.admin_execute(f"CREATE TABLE {table} (id INT)")
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=1, max_size=1, autocommit=False
    ) as pool:
        async with pool.connection() as c:
            assert not c.autocommit
            await c.execute(f"INSERT INTO {table} VALUES (1)")  # never committed
        await settle(pool)
        assert await pool.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
        async with pool.connection() as c:
            await c.execute(f"INSERT INTO {table} VALUES (2)")
            await c.commit()
        assert await pool.fetchval(f"SELECT COUNT(*) FROM {table}") == 1
    assert all(state == "idle" for _, state, _ in pg.activity())


async def test_release_in_open_transaction_rolls_it_back(pool: aio.Pool, pg: Backend) -> None:
    assert pg.pg is not None
    table = pg.table("tx")
    pg.pg.admin_execute(f"CREATE TABLE {table} (id INT)")
    conn = await pool.acquire()
    tx = conn.transaction()
    await tx.start()
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    await pool.release(conn)  # the block never ended: the pool rolls back
    await settle(pool)
    assert await pool.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
    assert all(state == "idle" for _, state, _ in pg.activity())


async def test_setup_runs_once_per_connection_and_reset_on_every_release(pg: Backend) -> None:
    setups: list[Any] = []
    resets: list[Any] = []

    async def setup(conn: aio.PooledConnection) -> None:
        setups.append(conn)
        await conn.execute("SET application_name = 'configured'")

    async def reset(conn: aio.PooledConnection) -> None:
        resets.append(await conn.fetchval("SELECT current_setting('application_name')"))

    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=2, max_size=2, setup=setup, reset=reset
    ) as pool:
        for _ in range(3):
            assert await pool.fetchval("SELECT current_setting('application_name')") == (
                "configured"
            )
        await settle(pool)
    assert len(setups) == 2
    assert resets == ["configured"] * 3


async def test_health_check_replaces_a_dead_idle_connection(pg: Backend) -> None:
    assert pg.pg is not None
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=1, max_size=1, health_check=0.05
    ) as pool:
        await pool.fetchval("SELECT 1")
        pg.pg.terminate_backends(application_name=pg.tag)
        await anyio.sleep(0.1)  # idle longer than health_check: pinged on acquire
        assert await pool.fetchval("SELECT 2") == 2
        s = pool.stats()
        assert s.health_checks >= 1 and s.health_checks_failed == 1
        assert s.connections_opened == 2


async def test_max_lifetime_and_max_queries_replace_connections(pg: Backend) -> None:
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=1, max_size=1, max_queries=3
    ) as pool:
        pids = [await pool.fetchval("SELECT pg_backend_pid()") for _ in range(6)]
        assert len(set(pids)) == 2
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=1, max_size=1, max_lifetime=0.1
    ) as pool:
        first = await pool.fetchval("SELECT pg_backend_pid()")
        await anyio.sleep(0.15)
        assert await pool.fetchval("SELECT pg_backend_pid()") != first


async def test_idle_connections_shrink_toward_min_size(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=4, max_idle=0.1) as pool:
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(pool.fetchval, "SELECT pg_sleep(0.1)")
        assert pool.stats().size == 4
        with anyio.fail_after(5):
            while pool.stats().size > 1:
                await anyio.sleep(0.05)
        s = await settle(pool)
        assert (s.size, s.idle) == (1, 1)


async def test_expire_connections_replaces_idle_now_and_borrowed_on_release(
    pool: aio.Pool,
) -> None:
    before = pool.stats().connections_opened
    borrowed = await pool.acquire()
    pool.expire_connections()
    await pool.release(borrowed)
    s = await settle(pool)
    assert s.connections_closed >= 2
    assert s.connections_opened >= before + 2
    assert s.size == 2


async def test_resize_grows_and_shrinks(pool: aio.Pool) -> None:
    pool.resize(4, 8)
    s = await settle(pool)
    assert s.size == 4 and s.max_size == 8
    pool.resize(1, 1)
    s = await settle(pool)
    assert s.size == 1
    with pytest.raises(ValueError):
        pool.resize(3, 2)


async def test_close_waits_for_borrowed_connections_then_terminates(pg: Backend) -> None:
    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=2)
    conn = await pool.acquire()

    async def give_back_later() -> None:
        await anyio.sleep(0.1)
        await pool.release(conn)

    async with anyio.create_task_group() as tg:
        tg.start_soon(give_back_later)
        start = time.monotonic()
        await pool.close(timeout=5)
        assert 0.05 < time.monotonic() - start < 5
    kept = await aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1)
    stuck = await kept.acquire()
    await kept.close(timeout=0.1)  # never released: terminated after the timeout
    with pytest.raises(PoolClosed):
        await stuck.fetchval("SELECT 1")


async def test_pool_works_on_sqlite_too(sqlite: Backend) -> None:
    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=1, max_size=3) as pool:
        await pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        await pool.executemany("INSERT INTO t (v) VALUES (?)", [("a",), ("b",)])
        assert await pool.fetch("SELECT v FROM t ORDER BY id") == [("a",), ("b",)]


async def test_cursor_and_transaction_kept_after_release_refuse_to_run(
    pg: Backend,
) -> None:
    assert pg.pg is not None
    table = pg.table("lease")
    pg.pg.admin_execute(f"CREATE TABLE {table} (who TEXT)")
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        a = await pool.acquire()
        kept_cursor = a.cursor()
        kept_tx = a.transaction()
        await pool.release(a)
        async with pool.connection() as b:  # the same connection, lent again
            with pytest.raises(InterfaceError, match="released"):
                await kept_cursor.execute(f"INSERT INTO {table} VALUES ('A, after release')")
            with pytest.raises(InterfaceError, match="released"):
                await kept_tx.start()
            await b.execute(f"INSERT INTO {table} VALUES ('B')")
        assert await pool.fetch(f"SELECT who FROM {table}") == [("B",)]


async def test_transaction_left_open_at_release_is_over_for_the_next_borrower(
    pg: Backend,
) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        a = await pool.acquire()
        tx = a.transaction()
        await tx.start()
        await pool.release(a)
        await settle(pool)
        async with pool.connection() as b:
            assert not b.in_transaction and b.autocommit
        assert tx.state is aio.TransactionState.ROLLED_BACK
        s = await settle(pool)
        # The next clean release takes the fast path again (no reset in the background).
        before = s.connections_closed
        await pool.fetchval("SELECT 1")
        assert pool.stats().reaping == 0 and pool.stats().connections_closed == before


async def test_cursor_left_open_at_release_is_closed(pg: Backend) -> None:
    opts = pg.connect_kwargs(usedeclarefetch=1, fetch=100)
    async with aio.create_pool(**opts, min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            cur = c.cursor()
            await cur.execute("SELECT g FROM generate_series(1, 10000) g")
            assert await cur.fetchone() == (1,)
        await settle(pool)
        assert cur.closed
        assert await pool.fetchval("SELECT 2") == 2
        assert all(state == "idle" for _, state, _ in pg.activity())


async def test_usedeclarefetch_connection_recovers_after_a_cancelled_statement(
    pg: Backend,
) -> None:
    opts = pg.connect_kwargs(usedeclarefetch=1, fetch=100)
    async with aio.create_pool(**opts, min_size=1, max_size=1) as pool:
        with pytest.raises(CommandTimeout):
            await pool.fetchval("SELECT pg_sleep(5)", timeout=0.3)
        await settle(pool)
        assert await pool.fetchval("SELECT 1") == 1
        assert await pool.fetchval("SELECT g FROM generate_series(1, 500) g") == 1
        await settle(pool)
        assert all(state == "idle" for _, state, _ in pg.activity())
