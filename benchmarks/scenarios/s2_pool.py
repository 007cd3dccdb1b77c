"""Scenario 2: pool throughput, 50 tasks x 200 queries, acquire/release per query, 10 conns.

Alternatives, alternately in the same loop:

- ``ours_lease``: ``async with pool.connection() as c: await c.fetchval("SELECT 1")``;
- ``ours_shortcut``: ``await pool.fetchval("SELECT 1")``;
- ``aioodbc``: its documented form, ``async with pool.acquire() as conn: async with
  conn.cursor() as cur: await cur.execute(...); await cur.fetchone()``, with a dedicated
  10-thread executor;
- ``threads``: 10 plain threads, each with its own pyodbc connection, looping ``SELECT 1``
  for the same total number of queries (no event loop at all: the ceiling for this design).

Value: queries per second over the whole batch.

Each loop runs once as the process is started (the scheduler places threads on any CPU), and
asyncio once more with the benchmark process pinned to one CPU (``os.sched_setaffinity``, as
``taskset -c N`` would do; PostgreSQL stays free): every alternative's threads then share that
CPU. A process whose Python work is serialized by the GIL gains nothing from a second CPU, but
every GIL hand-off between its threads becomes a cross-CPU wake-up, which costs tens of
microseconds on a VM. The pinned case measures the deployment advice in the README (one process
per CPU, each pinned).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..harness import (
    LOOPS,
    Context,
    ProcessCost,
    ScenarioResult,
    Series,
    alternate_async,
    loop_available,
    run_on_loop,
)

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 2
KEY = "pool"
TITLE = "Pool throughput: 50 tasks x 200 queries, max_size=10"
SQL = "SELECT 1"
POOL_SIZE = 10

LABELS = {
    "ours_lease": "informix-aio: pool.connection() + fetchval",
    "ours_shortcut": "informix-aio: pool.fetchval",
    "aioodbc": "aioodbc pool: acquire + cursor + execute + fetchone",
    "threads": "10 plain threads, own pyodbc connections",
}


def _thread_batch(conns: list[Any], per_thread: int) -> float:
    def loop(conn: Any) -> None:
        cur = conn.cursor()
        for _ in range(per_thread):
            cur.execute(SQL)
            cur.fetchone()
        cur.close()

    threads = [threading.Thread(target=loop, args=(c,)) for c in conns]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def _one_cpu() -> set[int] | None:
    """The CPU to pin the pinned case to, or None where that cannot be done (one CPU, no
    ``sched_setaffinity``)."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    cpus = sorted(getter(0))
    return {cpus[0]} if len(cpus) > 1 else None


async def _session(
    ctx: Context, rounds: int, pin: set[int] | None = None
) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    # Pinned first, before any thread exists: every thread made below inherits the mask.
    restore = os.sched_getaffinity(0) if pin else None
    if pin:
        os.sched_setaffinity(0, pin)
    try:
        return await _measure(ctx, rounds)
    finally:
        if restore is not None:
            os.sched_setaffinity(0, restore)


async def _measure(
    ctx: Context, rounds: int
) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    import aioodbc
    import pyodbc

    from informix_aio import aio

    n_tasks, per_task = ctx.scale((50, 200), (50, 40))
    total = n_tasks * per_task
    pool = await aio.create_pool(**ctx.pg, min_size=POOL_SIZE, max_size=POOL_SIZE)
    executor = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="bench-aioodbc")
    apool = await aioodbc.create_pool(
        dsn=ctx.pg_dsn, minsize=POOL_SIZE, maxsize=POOL_SIZE, autocommit=True, executor=executor
    )
    conns = [pyodbc.connect(ctx.pg_dsn, autocommit=True) for _ in range(POOL_SIZE)]
    costs: dict[str, dict[str, list[float]]] = {}

    async def ours_lease() -> None:
        for _ in range(per_task):
            async with pool.connection() as c:
                await c.fetchval(SQL)

    async def ours_shortcut() -> None:
        for _ in range(per_task):
            await pool.fetchval(SQL)

    async def aioodbc_task() -> None:
        for _ in range(per_task):
            async with apool.acquire() as conn, conn.cursor() as cur:
                await cur.execute(SQL)
                await cur.fetchone()

    def record(key: str, cost: ProcessCost) -> None:
        for name, value in cost.per(total).items():
            costs.setdefault(key, {}).setdefault(name, []).append(value)

    def batch(key: str, task: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
        async def sample() -> float:
            with ProcessCost() as cost:
                t0 = time.perf_counter()
                await asyncio.gather(*(task() for _ in range(n_tasks)))
                seconds = time.perf_counter() - t0
            record(key, cost)
            return total / seconds

        return sample

    async def threads() -> float:
        # Blocks the loop on purpose: nothing else runs meanwhile.
        with ProcessCost() as cost:
            seconds = _thread_batch(conns, total // POOL_SIZE)
        record("threads", cost)
        return total / seconds

    steps = {
        "ours_lease": batch("ours_lease", ours_lease),
        "ours_shortcut": batch("ours_shortcut", ours_shortcut),
        "aioodbc": batch("aioodbc", aioodbc_task),
        "threads": threads,
    }
    try:
        for key, step in steps.items():  # warm-up round, not recorded
            if key != "threads":
                await step()
        _thread_batch(conns, 50)
        costs.clear()
        values = await alternate_async(steps, rounds)
        stats = pool.stats()
        print(f"    {pool!r}; requests_waited={stats.requests_waited}", flush=True)
        return values, costs
    finally:
        await pool.close()
        apool.close()
        await apool.wait_closed()
        executor.shutdown(wait=True)
        for c in conns:
            c.close()


def run(ctx: Context) -> ScenarioResult:
    """Measure the pools on each event loop."""
    n_tasks, per_task = ctx.scale((50, 200), (50, 40))
    rounds = ctx.n_rounds(5, 2)
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"{n_tasks} tasks x {per_task} queries = {n_tasks * per_task} queries per round, "
            f"acquire and release around every query, pool size {POOL_SIZE} (min = max), "
            f"{rounds} rounds after a warm-up round; value = queries per second. Case "
            "'asyncio, 1 CPU': the same with the benchmark process pinned to one CPU "
            "(PostgreSQL free), see the module docstring. "
            "client_cpu_us_per_query: CPU time of the benchmark process (all its threads, "
            "user + system) per query; context_switches_per_query: its voluntary + involuntary "
            "context switches per query; machine_cpu_us_per_query: CPU time the whole machine "
            "(PostgreSQL included) was busy, per query."
        ),
    )
    cases: list[tuple[str, str, set[int] | None]] = [
        (loop, loop, None) for loop in LOOPS if loop_available(loop)
    ]
    pin = _one_cpu()
    if pin is not None:
        cases.append(("asyncio", "asyncio, 1 CPU", pin))
    for loop, group, cpus in cases:
        print(f"  {group}", flush=True)
        values, costs = run_on_loop(loop, functools.partial(_session, ctx, rounds, cpus))
        for key, vals in values.items():
            extra = {
                "client_cpu_us_per_query": costs[key]["cpu_us_per_op"],
                "context_switches_per_query": costs[key]["switches_per_op"],
                "machine_cpu_us_per_query": costs[key]["machine_cpu_us_per_op"],
            }
            res.series.append(Series(key, LABELS[key], "queries/s", vals, True, group, extra))
        for ours in ("ours_lease", "ours_shortcut"):
            res.ratio_target(
                f"{ours} vs aioodbc pool ({group})", ours, "aioodbc", ">=", 3.0, group=group
            )
            res.ratio_target(
                f"{ours} vs 10 plain threads ({group})", ours, "threads", ">=", 0.5, group=group
            )
    return res
