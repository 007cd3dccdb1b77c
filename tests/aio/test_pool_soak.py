"""The pool soak (``make soak``): the cancellation storm, for minutes, then the counts.

Collected only with ``--soak`` (see ``tests/conftest.py``); ``--soak-seconds`` sets the length.
"""

from __future__ import annotations

import random
import time

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import Error
from tests.conftest import Backend, thread_baseline, wait_for_threads


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_soak_cancellation_storm_keeps_pool_balanced(
    pg: Backend, request: pytest.FixtureRequest
) -> None:
    assert pg.pg is not None
    seconds: float = request.config.getoption("--soak-seconds")
    table = pg.table("soak")
    pg.pg.admin_execute(f"CREATE TABLE {table} (id INT)")
    baseline = thread_baseline()
    rng = random.Random(3)
    counts = {"ok": 0, "cancelled": 0, "errors": 0}
    async with aio.create_pool(
        **pg.connect_kwargs(), min_size=2, max_size=10, acquire_timeout=5, max_lifetime=20
    ) as pool:
        end = time.monotonic() + seconds

        async def client(n: int) -> None:
            i = 0
            while time.monotonic() < end:
                i += 1
                done = False
                with anyio.move_on_after(rng.uniform(0, 0.05)):
                    try:
                        if i % 3 == 0:
                            async with pool.connection() as c, c.transaction():
                                await c.execute(f"INSERT INTO {table} VALUES (?)", (i,))
                                await c.execute("SELECT pg_sleep(0.01)")
                        elif i % 3 == 1:
                            await pool.fetchval("SELECT pg_sleep(0.02)", timeout=0.03)
                        else:
                            await pool.fetch("SELECT g FROM generate_series(1, 2000) g")
                        done = True
                    except Error:
                        counts["errors"] += 1
                if done:
                    counts["ok"] += 1
                else:
                    counts["cancelled"] += 1

        async with anyio.create_task_group() as tg:
            for n in range(40):
                tg.start_soon(client, n)
        with anyio.fail_after(30):
            while pool.stats().reaping or pool.stats().opening or pool.stats().in_use:
                await anyio.sleep(0.05)
        s = pool.stats()
        print(f"\nsoak {seconds:.0f}s: {counts} | {pool!r}\n{s}")
        assert s.size == s.idle <= 10
        for _ in range(s.idle):
            assert await pool.fetchval("SELECT 1") == 1
        assert all(state == "idle" for _, state, _ in pg.activity())
    assert wait_for_threads(baseline) <= baseline
