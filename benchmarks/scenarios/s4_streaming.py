"""Scenario 4: streaming 1,000,000 rows of three columns; rows/s and peak memory.

Each measurement runs in a fresh subprocess (``python -m benchmarks.scenarios.s4_streaming
--child IMPL``) so that its peak RSS (``ru_maxrss``) belongs to that run alone; growth is the
peak minus the RSS just before the query (after imports and connect).

psqlODBC reads a whole result into client memory unless ``UseDeclareFetch=1``; both
alternatives connect with ``UseDeclareFetch=1;Fetch=10000`` (informix-aio passes unknown
keywords through), so both stream from a server-side cursor, 10,000 rows per round trip.
The consumer does the same per row in both: count it and add its first column.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..harness import Context, ScenarioResult, Series, Target, alternate, run_child

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 4
KEY = "streaming"
TITLE = "Streaming 1,000,000 rows x 3 columns: rows/s and peak RSS"
#: fetchmany size of the raw loop.
RAW_BATCH = 1000
STREAM_OPTIONS: dict[str, Any] = {"usedeclarefetch": 1, "fetch": 10000}

LABELS = {
    "raw": f"raw pyodbc fetchmany({RAW_BATCH}) loop",
    "ours": "informix-aio: async for row in cursor",
    "raw_buffered": "raw pyodbc, psqlODBC default (no UseDeclareFetch)",
}


def _sql(rows: int) -> str:
    return f"SELECT g, g * 2 AS twice, 'row ' || g AS label FROM generate_series(1, {rows}) g"


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _child(impl: str, rows: int) -> dict[str, Any]:
    import psutil
    import pyodbc

    from informix_aio import aio
    from informix_aio._options import build_options

    ctx = Context.from_env()
    proc = psutil.Process()
    sql = _sql(rows)
    count = total = 0
    if impl in ("raw", "raw_buffered"):
        extra = STREAM_OPTIONS if impl == "raw" else {}
        conn = pyodbc.connect(build_options(**ctx.pg, **extra).connection_string)
        cur = conn.cursor()
        base = proc.memory_info().rss
        t0 = time.perf_counter()
        cur.execute(sql)
        while batch := cur.fetchmany(RAW_BATCH):
            for row in batch:
                count += 1
                total += row[0]
        seconds = time.perf_counter() - t0
        conn.close()
    else:

        async def stream() -> tuple[int, int, int, float]:
            n = acc = 0
            conn = await aio.connect(**ctx.pg, **STREAM_OPTIONS)
            rss = proc.memory_info().rss
            t0 = time.perf_counter()
            async with conn.cursor() as cur:
                await cur.execute(sql)
                async for row in cur:
                    n += 1
                    acc += row[0]
            elapsed = time.perf_counter() - t0
            await conn.close()
            return n, acc, rss, elapsed

        count, total, base, seconds = asyncio.run(stream())
    if count != rows or total != rows * (rows + 1) // 2:
        raise SystemExit(f"{impl}: got {count} rows (sum {total}), expected {rows}")
    peak = _maxrss_bytes()
    return {
        "rows": count,
        "seconds": seconds,
        "rss_base": base,
        "peak": peak,
        "growth_mib": max(0, peak - base) / 2**20,
    }


def run(ctx: Context) -> ScenarioResult:
    """Alternate raw and ours, each in a fresh subprocess."""
    rows = ctx.scale(1_000_000, 200_000)
    rounds = ctx.n_rounds(3, 2)
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"{rows:,} rows of (integer, bigint, text) from generate_series, {rounds} rounds, "
            "each run in a fresh process; UseDeclareFetch=1;Fetch=10000 for both; informix-aio "
            "on asyncio. Value = rows per second (execute to last row); peak RSS growth = "
            "ru_maxrss - RSS before the query."
        ),
    )
    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "ours": []}

    def step(impl: str) -> float:
        data = run_child(ctx, __name__, "--child", impl, "--rows", str(rows))
        runs[impl].append(data)
        return float(data["rows"]) / float(data["seconds"])

    values = alternate({impl: functools.partial(step, impl) for impl in ("raw", "ours")}, rounds)
    for key in ("raw", "ours"):
        res.series.append(
            Series(
                key,
                LABELS[key],
                "rows/s",
                values[key],
                True,
                extra={"peak_rss_growth_mib": [r["growth_mib"] for r in runs[key]]},
            )
        )
    if not ctx.quick:
        data = run_child(ctx, __name__, "--child", "raw_buffered", "--rows", str(rows))
        res.series.append(
            Series(
                "raw_buffered",
                LABELS["raw_buffered"],
                "rows/s",
                [float(data["rows"]) / float(data["seconds"])],
                True,
                extra={"peak_rss_growth_mib": [data["growth_mib"]]},
            )
        )
        res.notes.append(
            f"without UseDeclareFetch psqlODBC holds the whole result: peak RSS growth "
            f"{data['growth_mib']:.0f} MiB for the raw loop (one run, for reference)."
        )
    res.ratio_target("ours rows/s vs raw fetchmany", "ours", "raw", ">=", 0.9)
    growth = max(r["growth_mib"] for r in runs["ours"])
    res.targets.append(
        Target(NUMBER, "ours peak RSS growth", "max over rounds", growth, "<=", 64.0, "MiB")
    )
    return res


def main(argv: Sequence[str] | None = None) -> None:
    """Child entry point: one streaming run, one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("raw", "ours", "raw_buffered"), required=True)
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(_child(args.child, args.rows)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
