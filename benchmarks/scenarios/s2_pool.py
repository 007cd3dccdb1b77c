"""Scenario 2: pool throughput, 50 tasks x 200 queries, acquire/release per query, 10 conns.

Alternatives, alternately in the same loop:

- ``ours_seed``: the seed guide's form, ``async with pool.connection() as conn: cur = await
  conn.cursor(); await cur.execute(...); await cur.fetchone()``, the cursor never closed (the
  lease ends with it open): the code users bring;
- ``ours_lease``: ``async with pool.connection() as c: await c.fetchval("SELECT 1")``;
- ``ours_shortcut``: ``await pool.fetchval("SELECT 1")``;
- ``aioodbc``: its documented form, ``async with pool.acquire() as conn: async with
  conn.cursor() as cur: await cur.execute(...); await cur.fetchone()``, with a dedicated
  10-thread executor;
- ``threads``: 10 plain threads, each with its own pyodbc connection, looping ``SELECT 1``
  for the same total number of queries (no event loop at all: the ceiling for this design);
- ``ours_seed_off`` and ``ours_lease_off`` (asyncio and uvloop): the first two forms on a second
  pool whose worker threads run without the library's scheduling measures
  (``INFORMIX_AIO_WORKER_AFFINITY=any``, ``INFORMIX_AIO_WORKER_SCHED=normal``, see
  ``informix_aio/aio/_sched.py``), so that the report shows what those measures buy here.

Value: queries per second over the whole batch.

Each loop runs once as the process is started (the scheduler places threads on any CPU), and
asyncio once more with the benchmark process pinned to one CPU (``os.sched_setaffinity``, as
``taskset -c N`` would do; PostgreSQL stays free): every alternative's threads then share that
CPU. A process whose Python work is serialized by the GIL gains nothing from a second CPU, but
every GIL hand-off between its threads becomes a cross-CPU wake-up, which costs tens of
microseconds on a VM. The pinned case measures the deployment advice in the README (one process
per CPU, each pinned).

The measures are read when a worker starts: the loop's side when the connection's worker is
made, the thread's policy when its thread starts, before it opens the connection. So the second
pool is opened with the two variables set in ``os.environ`` and they are restored as soon as it
is open (``create_pool`` returns once every connection is open, so every worker has started);
both pools then alternate round by round in the same loop. At the end the workers' real policy
and CPU mask are read back from the kernel (``os.sched_getscheduler`` and
``os.sched_getaffinity`` of each worker thread's id), and the report says whether each pool ran
as intended.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..harness import (
    LOOPS,
    Context,
    ProcessCost,
    ScenarioResult,
    Series,
    alternate_async,
    loop_available,
    paired_ratios,
    run_on_loop,
    summarize,
)

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 2
KEY = "pool"
TITLE = "Pool throughput: 50 tasks x 200 queries, max_size=10"
SQL = "SELECT 1"
POOL_SIZE = 10
#: The library's switches for its worker scheduling measures, and the values that turn them off.
MEASURES_OFF: dict[str, str] = {
    "INFORMIX_AIO_WORKER_AFFINITY": "any",
    "INFORMIX_AIO_WORKER_SCHED": "normal",
}

LABELS = {
    "ours_seed": "informix-aio: seed form (connection() + cursor, never closed)",
    "ours_lease": "informix-aio: pool.connection() + fetchval",
    "ours_shortcut": "informix-aio: pool.fetchval",
    "aioodbc": "aioodbc pool: acquire + cursor + execute + fetchone",
    "threads": "10 plain threads, own pyodbc connections",
    "ours_seed_off": "informix-aio, scheduling measures off: seed form",
    "ours_lease_off": "informix-aio, scheduling measures off: connection() + fetchval",
}
#: The forms measured twice, with the measures (defaults) and without them (``<key>_off``).
OFF_FORMS: tuple[str, ...] = ("ours_seed", "ours_lease")


@dataclass
class _Session:
    """What one loop's session hands back."""

    values: dict[str, list[float]]
    costs: dict[str, dict[str, list[float]]]
    #: per pool ("defaults", "off"): what the kernel says about its worker threads at the end
    workers: dict[str, dict[str, int]] = field(default_factory=dict)


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


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` updated with ``values`` inside the block, restored after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _inspect_workers(threads: list[threading.Thread]) -> dict[str, int]:
    """How many of these worker threads run under SCHED_BATCH, and how many are pinned to
    fewer CPUs than the process may use, as the kernel reports it now."""
    allowed = len(os.sched_getaffinity(0))
    out = {"threads": 0, "batch": 0, "pinned": 0}
    for t in threads:
        tid = t.native_id
        if tid is None or not t.is_alive():
            continue
        with contextlib.suppress(OSError):
            batch = os.sched_getscheduler(tid) == os.SCHED_BATCH
            pinned = len(os.sched_getaffinity(tid)) < allowed
            out["threads"] += 1
            out["batch"] += batch
            out["pinned"] += pinned
    return out


async def _session(ctx: Context, rounds: int, pin: set[int] | None, off: bool) -> _Session:
    # Pinned first, before any thread exists: every thread made below inherits the mask.
    restore = os.sched_getaffinity(0) if pin else None
    if pin:
        os.sched_setaffinity(0, pin)
    try:
        return await _measure(ctx, rounds, off)
    finally:
        if restore is not None:
            os.sched_setaffinity(0, restore)


async def _measure(ctx: Context, rounds: int, off: bool) -> _Session:
    import aioodbc
    import pyodbc

    from informix_aio import aio

    n_tasks, per_task = ctx.scale((50, 200), (50, 40))
    total = n_tasks * per_task

    async def open_pool(measures_off: bool) -> tuple[Any, list[threading.Thread]]:
        before = set(threading.enumerate())
        env = MEASURES_OFF if measures_off else {}
        with _environment(env):
            # create_pool returns once min_size connections are open, each opened on its own
            # worker thread: every worker has read the variables by then.
            pool = await aio.create_pool(**ctx.pg, min_size=POOL_SIZE, max_size=POOL_SIZE)
        return pool, [t for t in threading.enumerate() if t not in before]

    pool, pool_threads = await open_pool(False)
    pool_off, off_threads = await open_pool(True) if off else (None, [])
    executor = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="bench-aioodbc")
    apool = await aioodbc.create_pool(
        dsn=ctx.pg_dsn, minsize=POOL_SIZE, maxsize=POOL_SIZE, autocommit=True, executor=executor
    )
    conns = [pyodbc.connect(ctx.pg_dsn, autocommit=True) for _ in range(POOL_SIZE)]
    costs: dict[str, dict[str, list[float]]] = {}

    def seed_form(p: Any) -> Callable[[], Awaitable[None]]:
        async def task() -> None:
            for _ in range(per_task):
                async with p.connection() as conn:
                    cur = await conn.cursor()  # never closed: the lease ends with it open
                    await cur.execute(SQL)
                    await cur.fetchone()

        return task

    def lease_form(p: Any) -> Callable[[], Awaitable[None]]:
        async def task() -> None:
            for _ in range(per_task):
                async with p.connection() as c:
                    await c.fetchval(SQL)

        return task

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

    # In the report's order: ours (the seed form first), ours without the measures, the others.
    steps: dict[str, Callable[[], Awaitable[float]]] = {
        "ours_seed": batch("ours_seed", seed_form(pool)),
        "ours_lease": batch("ours_lease", lease_form(pool)),
        "ours_shortcut": batch("ours_shortcut", ours_shortcut),
    }
    if pool_off is not None:
        steps["ours_seed_off"] = batch("ours_seed_off", seed_form(pool_off))
        steps["ours_lease_off"] = batch("ours_lease_off", lease_form(pool_off))
    steps["aioodbc"] = batch("aioodbc", aioodbc_task)
    steps["threads"] = threads
    try:
        for key, step in steps.items():  # warm-up round, not recorded
            if key != "threads":
                await step()
        _thread_batch(conns, 50)
        costs.clear()
        values = await alternate_async(steps, rounds)
        for p in (pool, pool_off):
            if p is not None:
                stats = p.stats()
                print(f"    {p!r}; requests_waited={stats.requests_waited}", flush=True)
        workers = {"defaults": _inspect_workers(pool_threads)}
        if pool_off is not None:
            workers["off"] = _inspect_workers(off_threads)
        return _Session(values, costs, workers)
    finally:
        await pool.close()
        if pool_off is not None:
            await pool_off.close()
        apool.close()
        await apool.wait_closed()
        executor.shutdown(wait=True)
        for c in conns:
            c.close()


def _measures_note(res: ScenarioResult, group: str, workers: dict[str, dict[str, int]]) -> str:
    """What the scheduling measures buy in ``group``, and whether each pool ran as intended."""
    parts = []
    for form in OFF_FORMS:
        on, off = res.find(form, group).values, res.find(f"{form}_off", group).values
        ratio = summarize(on).median / summarize(off).median
        pr = paired_ratios(on, off)
        rng = f" (rounds {min(pr):.2f}..{max(pr):.2f})" if pr else ""
        parts.append(f"{form} {ratio:.2f} x{rng}")
    d, o = workers.get("defaults", {}), workers.get("off", {})
    intended = (
        d.get("threads", 0) > 0
        and d.get("batch") == d.get("threads")
        and o.get("threads", 0) > 0
        and o.get("batch") == 0
        and o.get("pinned") == 0
    )
    return (
        f"{group}: the worker scheduling measures buy defaults / measures off = "
        + ", ".join(parts)
        + f". Worker threads at the end (kernel's view): defaults pool {d.get('batch', 0)}/"
        f"{d.get('threads', 0)} SCHED_BATCH, {d.get('pinned', 0)} pinned to one CPU; "
        f"measures-off pool {o.get('batch', 0)}/{o.get('threads', 0)} SCHED_BATCH, "
        f"{o.get('pinned', 0)} pinned"
        + ("" if intended else ": NOT as intended, so this comparison does not hold")
        + "."
    )


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
            f"{rounds} rounds after a warm-up round; value = queries per second. The seed form "
            "is the seed guide's: await conn.cursor(), execute, fetchone, the cursor never "
            "closed. 'scheduling measures off': a second pool, alternating with the first in "
            "the same loop, whose workers were started with INFORMIX_AIO_WORKER_AFFINITY=any "
            "and INFORMIX_AIO_WORKER_SCHED=normal. Case "
            "'asyncio, 1 CPU': the same with the benchmark process pinned to one CPU "
            "(PostgreSQL free), see the module docstring. "
            "client_cpu_us_per_query: CPU time of the benchmark process (all its threads, "
            "user + system) per query; context_switches_per_query: its voluntary + involuntary "
            "context switches per query; machine_cpu_us_per_query: CPU time the whole machine "
            "(PostgreSQL included) was busy, per query."
        ),
    )
    # (loop, group, CPUs to pin to, whether the measures-off pool runs too)
    cases: list[tuple[str, str, set[int] | None, bool]] = [
        (loop, loop, None, True) for loop in LOOPS if loop_available(loop)
    ]
    pin = _one_cpu()
    if pin is not None:
        cases.append(("asyncio", "asyncio, 1 CPU", pin, False))
    for loop, group, cpus, off in cases:
        print(f"  {group}", flush=True)
        session = run_on_loop(loop, functools.partial(_session, ctx, rounds, cpus, off))
        for key, vals in session.values.items():
            costs = session.costs[key]
            extra = {
                "client_cpu_us_per_query": costs["cpu_us_per_op"],
                "context_switches_per_query": costs["switches_per_op"],
                "machine_cpu_us_per_query": costs["machine_cpu_us_per_op"],
            }
            res.series.append(Series(key, LABELS[key], "queries/s", vals, True, group, extra))
        res.ratio_target(
            f"seed form vs connection() + fetchval ({group})",
            "ours_seed",
            "ours_lease",
            ">=",
            0.9,
            group=group,
        )
        res.ratio_target(
            f"seed form vs aioodbc pool ({group})", "ours_seed", "aioodbc", ">=", 5.0, group=group
        )
        for ours in ("ours_lease", "ours_shortcut"):
            res.ratio_target(
                f"{ours} vs aioodbc pool ({group})", ours, "aioodbc", ">=", 3.0, group=group
            )
            res.ratio_target(
                f"{ours} vs 10 plain threads ({group})", ours, "threads", ">=", 0.5, group=group
            )
        if off:
            res.notes.append(_measures_note(res, group, session.workers))
    return res
