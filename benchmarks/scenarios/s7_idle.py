"""Scenario 7: the cost of an idle pool of 20 connections.

A fresh process opens the pool, lets it settle for a second, then sleeps; the CPU time the
whole process used meanwhile (``getrusage``: user + system, all threads) over the wall time
is the idle cost. An aioodbc pool of the same size runs at the same time in a second process,
for reference (both are idle, so they do not disturb each other).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..harness import REPO_ROOT, Context, ScenarioResult, Series, Target

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 7
KEY = "idle"
TITLE = "Idle cost: a pool of 20 idle connections"
POOL_SIZE = 20


async def _idle(impl: str, seconds: float) -> dict[str, Any]:
    import psutil

    ctx = Context.from_env()
    proc = psutil.Process()
    if impl == "ours":
        from informix_aio import aio

        pool = await aio.create_pool(**ctx.pg, min_size=POOL_SIZE, max_size=POOL_SIZE)
        close: Any = pool.close
        if pool.stats().idle != POOL_SIZE:
            raise RuntimeError(f"expected {POOL_SIZE} idle connections: {pool!r}")
    else:
        import aioodbc

        executor = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="aioodbc")
        apool = await aioodbc.create_pool(
            dsn=ctx.pg_dsn,
            minsize=POOL_SIZE,
            maxsize=POOL_SIZE,
            autocommit=True,
            executor=executor,
        )

        async def close() -> None:
            apool.close()
            await apool.wait_closed()
            executor.shutdown(wait=True)

    await asyncio.sleep(1.0)  # let start-up work settle
    switches0 = proc.num_ctx_switches()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    switches1 = proc.num_ctx_switches()
    threads = threading.active_count()
    await close()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "percent": cpu / wall * 100,
        "threads": threads,
        "wakeups_per_s": (
            (switches1.voluntary + switches1.involuntary)
            - (switches0.voluntary + switches0.involuntary)
        )
        / wall,
    }


def run(ctx: Context) -> ScenarioResult:
    """Both pools idle at once, each in its own process."""
    seconds = ctx.scale(10.0, 3.0)
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"{POOL_SIZE} open, idle connections for {seconds:g} s after 1 s to settle; "
            "asyncio; one fresh process each. Value = process CPU time (user + system, all "
            "threads) / wall time, in % of one core."
        ),
    )
    procs = {
        impl: subprocess.Popen(
            [sys.executable, "-m", __name__, "--child", impl, "--seconds", str(seconds)],
            env=ctx.to_env(),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for impl in ("ours", "aioodbc")
    }
    data: dict[str, dict[str, Any]] = {}
    for impl, proc in procs.items():
        out, err = proc.communicate(timeout=seconds + 120)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"idle child {impl} exited {proc.returncode}: {err[-2000:]}")
        data[impl] = json.loads(lines[-1])
    for impl, label in (("ours", "informix-aio pool"), ("aioodbc", "aioodbc pool (reference)")):
        d = data[impl]
        res.series.append(
            Series(
                impl,
                label,
                "% of one core",
                [d["percent"]],
                False,
                extra={"threads": [d["threads"]], "wakeups_per_s": [d["wakeups_per_s"]]},
            )
        )
    ours = data["ours"]
    res.targets.append(
        Target(
            NUMBER,
            "ours idle CPU, 20 connections",
            "cpu / wall",
            ours["percent"],
            "<=",
            1.0,
            "% of a core",
        )
    )
    res.notes.append(
        f"informix-aio: {ours['cpu_s'] * 1000:.1f} ms CPU in {ours['wall_s']:.1f} s, "
        f"{ours['threads']} threads, {ours['wakeups_per_s']:.1f} context switches/s."
    )
    return res


def main(argv: Sequence[str] | None = None) -> None:
    """Child entry point: one idle pool, one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("ours", "aioodbc"), required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_idle(args.child, args.seconds))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
