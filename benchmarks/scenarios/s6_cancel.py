"""Scenario 6: cancelling a running statement.

A task runs ``SELECT pg_sleep(...)`` and is cancelled after a random delay; measured are

- *caller*: ``task.cancel()`` until the awaiting caller has its ``CancelledError``;
- *server*: ``task.cancel()`` until ``pg_stat_activity`` no longer shows the statement as
  active for the connection's ``application_name`` (set with psqlODBC's ``pqopt``) and the
  connection's thread is free again, polled every 0.5 ms from a separate connection.

informix-aio cancels the statement in the driver (SQLCancel); aioodbc cannot, so its
statement runs to completion on the executor thread: it sleeps 0.5 s instead of 5 s, and runs
fewer iterations, to keep the scenario short.
"""

from __future__ import annotations

import asyncio
import functools
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..harness import Context, ScenarioResult, Series, Target, run_on_loop

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 6
KEY = "cancel"
TITLE = "Cancellation of a running pg_sleep at a random point"
OURS_SLEEP = 5.0
AIOODBC_SLEEP = 0.5
MAX_DELAY = 0.05
POLL_INTERVAL = 0.0005
ACTIVE_SQL = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE application_name = ? AND state = 'active' AND query LIKE '%pg_sleep%'"
)


def _percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def _measure(
    ctx: Context,
    start: Callable[[], Awaitable[Any]],
    app_name: str,
    iterations: int,
    settled: Callable[[], Awaitable[bool]],
    rng: random.Random,
) -> tuple[list[float], list[float]]:
    """``iterations`` cancels; return (caller ms, server ms) per cancel."""
    import pyodbc

    poller = pyodbc.connect(ctx.pg_dsn, autocommit=True)
    poll_cur = poller.cursor()

    def active() -> int:
        poll_cur.execute(ACTIVE_SQL, app_name)
        return int(poll_cur.fetchone()[0])

    caller: list[float] = []
    server: list[float] = []
    try:
        for _ in range(iterations):
            task = asyncio.ensure_future(start())
            await asyncio.sleep(rng.uniform(0.0, MAX_DELAY))
            if task.done():
                raise RuntimeError(f"the statement finished before its cancel: {task!r}")
            t0 = time.perf_counter()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                caller.append((time.perf_counter() - t0) * 1000)
            else:
                raise RuntimeError("the cancelled task was not cancelled")
            # Gone from the server, and the connection's own thread is done with it (so the
            # statement cannot still be on its way there).
            deadline = t0 + 30
            while time.perf_counter() < deadline:
                if active() == 0 and await settled():
                    break
                await asyncio.sleep(POLL_INTERVAL)
            server.append((time.perf_counter() - t0) * 1000)
    finally:
        poller.close()
    return caller, server


async def _session(
    ctx: Context, n_ours: int, n_aioodbc: int
) -> dict[str, tuple[list[float], list[float]]]:
    import aioodbc

    from informix_aio import aio
    from informix_aio._options import build_options

    rng = random.Random(6)
    out: dict[str, tuple[list[float], list[float]]] = {}

    ours = await aio.connect(**ctx.pg, autocommit=True, pqopt="application_name=bench_cancel_ours")

    async def ours_start() -> Any:
        return await ours.fetchval(f"SELECT pg_sleep({OURS_SLEEP})")

    async def ours_settled() -> bool:
        return ours.is_idle

    try:
        await ours.fetchval("SELECT 1")
        out["ours"] = await _measure(
            ctx, ours_start, "bench_cancel_ours", n_ours, ours_settled, rng
        )
        # The connection must still work after all those cancels.
        if await ours.fetchval("SELECT 42") != 42:
            raise RuntimeError("the connection is unusable after the cancels")
    finally:
        await ours.close()

    executor = ThreadPoolExecutor(1, thread_name_prefix="bench-aioodbc")
    dsn = build_options(**ctx.pg, pqopt="application_name=bench_cancel_aioodbc").connection_string
    aconn = await aioodbc.connect(dsn=dsn, autocommit=True, executor=executor)
    loop = asyncio.get_running_loop()

    async def aioodbc_start() -> Any:
        async with aconn.cursor() as cur:
            await cur.execute(f"SELECT pg_sleep({AIOODBC_SLEEP})")
            return await cur.fetchone()

    async def aioodbc_settled() -> bool:
        # The executor is FIFO with one thread: a no-op returning means the statement's
        # job is over.
        await loop.run_in_executor(executor, lambda: None)
        return True

    try:
        out["aioodbc"] = await _measure(
            ctx, aioodbc_start, "bench_cancel_aioodbc", n_aioodbc, aioodbc_settled, rng
        )
    finally:
        await aconn.close()
        executor.shutdown(wait=True)
    return out


def run(ctx: Context) -> ScenarioResult:
    """Cancel ours many times, aioodbc a few times."""
    n_ours = ctx.scale(200, 40)
    n_aioodbc = ctx.scale(20, 5)
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"informix-aio: {n_ours} cancels of pg_sleep({OURS_SLEEP:g}); aioodbc: {n_aioodbc} "
            f"cancels of pg_sleep({AIOODBC_SLEEP:g}) (it cannot stop the statement, so it is "
            f"bounded); cancel after a uniform random 0..{MAX_DELAY * 1000:.0f} ms; asyncio. "
            "Values in ms per cancel: median, min, max, p99 over the cancels."
        ),
    )
    data = run_on_loop("asyncio", functools.partial(_session, ctx, n_ours, n_aioodbc))
    for impl, label in (("ours", "informix-aio"), ("aioodbc", "aioodbc")):
        caller, server = data[impl]
        res.series.append(
            Series(
                f"{impl}_caller",
                f"{label}: until the caller has CancelledError",
                "ms",
                caller,
                False,
                extra={"p99_ms": [_percentile(caller, 99)]},
            )
        )
        res.series.append(
            Series(
                f"{impl}_server",
                f"{label}: until the statement is gone",
                "ms",
                server,
                False,
                extra={"p99_ms": [_percentile(server, 99)]},
            )
        )
    oc, os_ = data["ours"]
    res.targets.append(
        Target(
            NUMBER,
            "ours p99 until the caller has CancelledError",
            "p99",
            _percentile(oc, 99),
            "<=",
            20.0,
            "ms",
        )
    )
    res.targets.append(
        Target(
            NUMBER,
            "ours p99 until the statement is gone from the server",
            "p99",
            _percentile(os_, 99),
            "<=",
            1000.0,
            "ms",
        )
    )
    ac, as_ = data["aioodbc"]
    waits = statistics.median(ac) > 50
    res.notes.append(
        f"aioodbc cannot stop the statement: it is gone after {statistics.median(as_):.0f} ms "
        f"median, the rest of its {AIOODBC_SLEEP:g} s (with a 5 s statement, up to 5 s). "
        + (
            f"Its caller waits too ({statistics.median(ac):.0f} ms median): leaving "
            "`async with conn.cursor()` awaits the cursor's close, which queues behind the "
            "running statement on the executor thread."
            if waits
            else f"Its caller has CancelledError after {statistics.median(ac):.2f} ms median."
        )
    )
    return res
