"""The pool under fire: killed backends, a restarted server, cancellation storms, and a
worker that will not come back. Each test is bounded in count and time."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import Error, OperationalError
from tests._servers import PostgresServer
from tests.conftest import Backend, pg_backend, thread_baseline, wait_for_threads

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A server of this module's own, since these tests stop and restart it."""
    server = PostgresServer.start(Path(tmp_path_factory.mktemp("pg-adversity")))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def victim(own_server: PostgresServer) -> Backend:
    if not own_server.is_running:
        own_server.start()
    return pg_backend(own_server)


async def wait_settled(pool: aio.Pool, timeout: float = 10.0) -> aio.PoolStats:
    with anyio.fail_after(timeout):
        while True:
            s = pool.stats()
            if not s.opening and not s.reaping and not s.in_use:
                return s
            await anyio.sleep(0.01)


async def run_load(
    pool: aio.Pool, seconds: float, tasks: int, log: list[tuple[float, float, bool]], timeout: float
) -> None:
    """``tasks`` clients issue queries for ``seconds``; log (start, duration, ok)."""
    end = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < end:
            start = time.monotonic()
            ok = True
            try:
                with anyio.fail_after(timeout + 3):  # a hang is a failure of the test
                    assert await pool.fetchval("SELECT 1") == 1
            except Error:
                ok = False
                await anyio.sleep(0.01)
            log.append((start, time.monotonic() - start, ok))

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(client)


async def test_killed_backends_recover_within_two_seconds(victim: Backend) -> None:
    assert victim.pg is not None
    log: list[tuple[float, float, bool]] = []
    kills: list[float] = []
    async with aio.create_pool(
        **victim.connect_kwargs(), min_size=4, max_size=8, acquire_timeout=2
    ) as pool:

        async def killer() -> None:
            for _ in range(3):
                await anyio.sleep(0.7)
                kills.append(time.monotonic())
                assert victim.pg is not None
                victim.pg.terminate_backends(application_name=victim.tag)

        async with anyio.create_task_group() as tg:
            tg.start_soon(killer)
            tg.start_soon(run_load, pool, 3.0, 12, log, 2.0)
        s = await wait_settled(pool)
        assert s.connections_lost >= 1
        assert await pool.fetchval("SELECT 1") == 1
    assert max(d for _, d, _ in log) < 2.0 + 3
    # Every request that started 2 s after a kill (and before the next) succeeded.
    for i, k in enumerate(kills):
        nxt = kills[i + 1] if i + 1 < len(kills) else float("inf")
        late = [ok for start, _, ok in log if k + 2.0 <= start < nxt]
        assert all(late), f"failures more than 2 s after kill {i}"
    assert sum(ok for *_, ok in log) > 100


async def test_server_restart_fails_fast_then_recovers(victim: Backend) -> None:
    assert victim.pg is not None
    server = victim.pg
    log: list[tuple[float, float, bool]] = []
    async with aio.create_pool(
        **victim.connect_kwargs(login_timeout=1),
        min_size=2,
        max_size=4,
        acquire_timeout=1,
        reconnect_max=0.5,
    ) as pool:

        async def outage() -> None:
            await anyio.sleep(0.5)
            await anyio.to_thread.run_sync(server.stop)
            await anyio.sleep(1.5)
            await anyio.to_thread.run_sync(server.start)

        async with anyio.create_task_group() as tg:
            tg.start_soon(outage)
            tg.start_soon(run_load, pool, 5.5, 6, log, 1.0)
        failures = [d for _, d, ok in log if not ok]
        assert failures, "the outage should have been seen"
        # Fast failures: nobody waited much beyond the acquire timeout.
        assert max(failures) < 1.0 + 1.5
        # Full recovery: the last second of load succeeded, with no restart of the pool.
        last = max(start for start, _, _ in log)
        assert all(ok for start, _, ok in log if start > last - 1.0)
        s = await wait_settled(pool)
        assert s.connections_failed >= 1 and s.size <= 4
        assert await pool.fetchval("SELECT 1") == 1


async def test_cancellation_storm_through_pool_leaves_it_balanced_and_clean(
    victim: Backend,
) -> None:
    assert victim.pg is not None
    table = victim.table("storm")
    victim.pg.admin_execute(f"CREATE TABLE {table} (id INT)")
    baseline = thread_baseline()
    rng = random.Random(11)
    async with aio.create_pool(
        **victim.connect_kwargs(), min_size=2, max_size=8, acquire_timeout=5
    ) as pool:

        async def op(i: int) -> None:
            with anyio.move_on_after(rng.uniform(0, 0.02)):
                kind = i % 4
                if kind == 0:
                    await pool.fetchval("SELECT pg_sleep(0.01)")
                elif kind == 1:
                    async with pool.connection() as c, c.transaction():
                        await c.execute(f"INSERT INTO {table} VALUES (?)", (i,))
                        await c.execute("SELECT pg_sleep(0.005)")
                        raise_it = rng.random() < 0.3
                        if raise_it:
                            raise KeyError(i)
                elif kind == 2:
                    try:
                        await pool.fetchval("SELECT pg_sleep(0.05)", timeout=0.005)
                    except OperationalError:
                        pass
                else:
                    async with pool.connection() as c, c.cursor() as cur:
                        await cur.execute("SELECT g FROM generate_series(1, 5000) g")
                        async for _ in cur:
                            pass

        async def guarded(i: int) -> None:
            try:
                await op(i)
            except KeyError:
                pass

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(2000):
                    tg.start_soon(guarded, i)
        s = await wait_settled(pool)
        assert s.size == s.idle <= 8
        assert s.requests >= 1500  # the shortcuts and blocks that reached acquire
        # Every pooled connection answers correctly.
        conns = [await pool.acquire() for _ in range(s.idle)]
        for k, c in enumerate(conns):
            assert await c.fetchval("SELECT ?::int * 3", (k,)) == 3 * k
            await pool.release(c)
        # Committed rows are exactly those of transactions that were neither cancelled nor
        # failed, and no backend is left inside a transaction.
        assert all(state == "idle" for _, state, _ in victim.activity())
    assert wait_for_threads(baseline) <= baseline


async def test_worker_that_misses_the_reap_deadline_is_replaced_and_its_slot_held(
    victim: Backend,
) -> None:
    async with aio.create_pool(
        **victim.connect_kwargs(), min_size=1, max_size=2, reap_timeout=0.2
    ) as pool:
        release_at = time.monotonic() + 1.0

        def stuck() -> None:  # Python code on the worker: SQLCancel cannot stop it
            while time.monotonic() < release_at:
                time.sleep(0.01)

        with anyio.move_on_after(0.05):
            async with pool.connection() as c:
                await c.run_sync(stuck)
        await anyio.sleep(0.4)
        s = pool.stats()
        assert s.reaped_after_cancel == 1 and s.broken_on_return == 1
        assert s.reaping == 1  # its thread is still busy: the slot stays counted
        assert s.size <= 2
        assert await pool.fetchval("SELECT 1") == 1  # served by another connection
        s = await wait_settled(pool, timeout=5)
        assert s.reaping == 0


async def test_while_the_database_is_down_every_waiting_request_fails_fast(
    victim: Backend,
) -> None:
    """Default acquire timeout (30 s): 40 concurrent requests while the server is stopped fail
    with OperationalError within about one connect attempt, and the pool recovers by itself."""
    assert victim.pg is not None
    server = victim.pg
    async with aio.create_pool(
        **victim.connect_kwargs(login_timeout=2), min_size=2, max_size=4
    ) as pool:
        await anyio.to_thread.run_sync(server.stop)
        try:
            waits: list[float] = []

            async def request() -> None:
                start = time.monotonic()
                with pytest.raises(OperationalError):
                    with anyio.fail_after(10):
                        async with pool.connection() as c:
                            await c.fetchval("SELECT 1")
                waits.append(time.monotonic() - start)

            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(request)
            assert len(waits) == 40
            assert max(waits) < 2 + 1.5, sorted(waits)[-5:]
        finally:
            await anyio.to_thread.run_sync(server.start)
        with anyio.fail_after(15):
            while True:
                try:
                    assert await pool.fetchval("SELECT 1") == 1
                    break
                except OperationalError:
                    await anyio.sleep(0.1)
