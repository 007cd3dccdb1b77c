"""What a thread hop costs in CPU, on each side: ``python -m benchmarks.hop_cpu``.

Runs ``conn.fetchval("SELECT 1")`` sequentially on SQLite (a statement of a few microseconds,
no network) and reports, per query, the wall time and the CPU time of the event loop's thread
and of the connection's worker thread (their own CPU clocks). Run it once as it is and once with
the process on one CPU (``taskset -c 0 python -m benchmarks.hop_cpu``): the difference is what
moving the hand-offs between CPUs costs on the machine at hand (on a VM, every wake-up of an
idle vCPU is an exit to the hypervisor).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from informix_aio import aio

SQL = "SELECT 1"


async def _measure(path: Path, queries: int, rounds: int) -> tuple[float, float, float]:
    conn = await aio.connect(driver="SQLite3", database=str(path), autocommit=True)
    try:
        worker_id = conn.worker_thread.ident
        assert worker_id is not None
        worker_clock = time.pthread_getcpuclockid(worker_id)
        for _ in range(200):  # warm-up
            await conn.fetchval(SQL)
        walls, loops, workers = [], [], []
        for _ in range(rounds):
            w0, l0, t0 = time.clock_gettime(worker_clock), time.thread_time(), time.perf_counter()
            for _ in range(queries):
                await conn.fetchval(SQL)
            w1, l1, t1 = time.clock_gettime(worker_clock), time.thread_time(), time.perf_counter()
            walls.append((t1 - t0) / queries * 1e6)
            loops.append((l1 - l0) / queries * 1e6)
            workers.append((w1 - w0) / queries * 1e6)
        return statistics.median(walls), statistics.median(loops), statistics.median(workers)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Print the medians over the rounds."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queries", type=int, default=3000, help="queries per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="informix-aio-hop-") as tmp:
        wall, loop, worker = asyncio.run(_measure(Path(tmp) / "hop.db", args.queries, args.rounds))
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(
        f"conn.fetchval on SQLite, CPUs {cpus}, median of {args.rounds} rounds of "
        f"{args.queries}: {wall:.1f} µs per query; CPU per query: event loop thread "
        f"{loop:.1f} µs, worker thread {worker:.1f} µs"
    )


if __name__ == "__main__":
    main()
