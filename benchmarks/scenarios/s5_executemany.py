"""Scenario 5: ``executemany`` of 100,000 rows in one transaction.

- ``raw``: pyodbc, ``autocommit=False``, ``cursor.executemany`` then ``commit()``;
- ``ours``: ``async with conn.transaction(): await conn.executemany(...)``.

PostgreSQL with ``fast_executemany=True`` for both (psqlODBC binds parameter arrays);
SQLite with ``fast_executemany=False`` for both (the SQLite ODBC driver crashes the process
under pyodbc's parameter arrays). The table is emptied before every run (not timed).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from ..harness import Context, ScenarioResult, Series, alternate_async, run_on_loop

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 5
KEY = "executemany"
TITLE = "executemany: 100,000 rows in one transaction"
INSERT = "INSERT INTO bench_em (id, name, val) VALUES (?, ?, ?)"

#: ours / raw at least, per backend (PostgreSQL: the issue's target; SQLite: the earlier one).
MIN_RATIO: dict[str, float] = {"postgresql": 1.0, "sqlite": 0.95}

LABELS = {
    "raw": "raw pyodbc executemany + commit",
    "ours": "informix-aio: transaction() + executemany",
}


async def _session(ctx: Context, backend: str, rows: int, rounds: int) -> dict[str, list[float]]:
    import pyodbc

    from informix_aio import aio

    pg = backend == "postgresql"
    opts, dsn = (ctx.pg, ctx.pg_dsn) if pg else (ctx.sqlite, ctx.sqlite_dsn)
    fast = pg
    clear_sql = "TRUNCATE bench_em" if pg else "DELETE FROM bench_em"
    data = [(i, f"name {i}", i * 0.5) for i in range(rows)]

    admin = pyodbc.connect(dsn, autocommit=True)
    raw = pyodbc.connect(dsn, autocommit=False)
    raw_cur = raw.cursor()
    raw_cur.fast_executemany = fast
    ours = await aio.connect(**opts, fast_executemany=fast)

    def clear() -> None:
        admin.execute(clear_sql)

    def check(n: int) -> None:
        got = admin.execute("SELECT count(*) FROM bench_em").fetchone()[0]
        if got != n:
            raise RuntimeError(f"expected {n} rows in bench_em, found {got}")

    async def raw_step(batch: list[tuple[Any, ...]]) -> float:
        clear()
        t0 = time.perf_counter()
        raw_cur.executemany(INSERT, batch)
        raw.commit()
        seconds = time.perf_counter() - t0
        check(len(batch))
        return len(batch) / seconds

    async def ours_step(batch: list[tuple[Any, ...]]) -> float:
        clear()
        t0 = time.perf_counter()
        async with ours.transaction():
            await ours.executemany(INSERT, batch)
        seconds = time.perf_counter() - t0
        check(len(batch))
        return len(batch) / seconds

    try:
        await raw_step(data[:1000])  # warm-up
        await ours_step(data[:1000])
        return await alternate_async(
            {"raw": functools.partial(raw_step, data), "ours": functools.partial(ours_step, data)},
            rounds,
        )
    finally:
        await ours.close()
        raw.close()
        clear()
        admin.close()


def run(ctx: Context) -> ScenarioResult:
    """PostgreSQL then SQLite, raw and ours alternately."""
    rows = ctx.scale(100_000, 20_000)
    rounds = ctx.n_rounds(3, 2)
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"{rows:,} rows of (integer, varchar, double) per run, {rounds} rounds after a "
            "1,000-row warm-up; asyncio. Value = rows per second including the commit."
        ),
    )
    for backend in ("postgresql", "sqlite"):
        group = "postgresql" if backend == "postgresql" else "sqlite"
        print(f"  {backend}", flush=True)
        values = run_on_loop("asyncio", functools.partial(_session, ctx, backend, rows, rounds))
        for key, vals in values.items():
            res.series.append(Series(key, LABELS[key], "rows/s", vals, True, group))
        res.ratio_target(
            f"ours vs raw ({group})", "ours", "raw", ">=", MIN_RATIO[backend], group=group
        )
    return res
