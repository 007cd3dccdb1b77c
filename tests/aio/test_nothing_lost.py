""" "Nothing lost": a cancelled or timed-out task never loses rows, never half-applies a
transaction, never hides a commit, never hangs, and never loses its cancellation.

Against the private PostgreSQL (server-side state is visible there) on asyncio, uvloop and
trio; SQLite where its driver shows a path PostgreSQL cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import CommandTimeout, InterfaceError, InternalError, Outcome
from tests.aio.test_cancellation import assert_clean, wait_until_gone
from tests.conftest import Backend

pytestmark = pytest.mark.anyio

ROWS = 1000
# A result produced slowly on the server, fetched in round trips (psqlODBC UseDeclareFetch):
# every FETCH of 20 rows takes about 20 ms, so a cancel lands while one is in flight.
SLOW_ROWS = f"SELECT g, pg_sleep(0.001) FROM generate_series(1, {ROWS}) g"
DECLARE_FETCH = {"usedeclarefetch": 1, "fetch": 20}


@pytest.fixture
def table(pg: Backend) -> Iterator[str]:
    assert pg.pg is not None
    name = pg.table("nl")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
    yield name
    pg.pg.admin_execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
async def conn(pg: Backend) -> AsyncIterator[aio.AsyncConnection]:
    c = await aio.connect(**pg.connect_kwargs(autocommit=True))
    try:
        yield c
    finally:
        await c.close()


def committed(pg: Backend, table: str) -> list[int]:
    """The ids another session sees (what was committed)."""
    assert pg.pg is not None
    rows = pg.pg.admin_execute(f"SELECT id FROM {table} ORDER BY id")
    return [cast(int, r[0]) for r in rows]


def slow_commit(pg: Backend, table: str, seconds: float = 0.5) -> None:
    """Make COMMIT of a write to ``table`` take ``seconds`` (a deferred constraint trigger)."""
    assert pg.pg is not None
    pg.pg.admin_execute(
        f"CREATE OR REPLACE FUNCTION slow_commit_{table}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$"
    )
    pg.pg.admin_execute(
        f"CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED "
        f"FOR EACH ROW EXECUTE FUNCTION slow_commit_{table}()"
    )


# -- A1: a cancellation inside an open transaction aborts it ------------------------------------
async def test_timeout_in_dbapi_transaction_aborts_it(pg: Backend, table: str) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=False)) as c:
        await c.execute(f"INSERT INTO {table} VALUES (1)")
        with pytest.raises(CommandTimeout) as info:
            await c.execute("SELECT pg_sleep(30)", timeout=0.2)
        assert info.value.outcome is Outcome.ROLLED_BACK
        with pytest.raises(InternalError, match="aborted by a cancellation"):
            await c.execute(f"INSERT INTO {table} VALUES (2)")
        with pytest.raises(InternalError, match="aborted by a cancellation"):
            await c.commit()
        assert committed(pg, table) == []
        await c.rollback()  # clears it
        await c.execute(f"INSERT INTO {table} VALUES (3)")
        await c.commit()
    assert committed(pg, table) == [3]
    assert_clean(pg)


async def test_timeout_swallowed_inside_transaction_block_commits_nothing(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    with pytest.raises(InternalError, match="aborted by a cancellation"):
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(CommandTimeout):
                await conn.execute("SELECT pg_sleep(30)", timeout=0.2)
            with pytest.raises(InternalError):
                await conn.execute(f"INSERT INTO {table} VALUES (2)")
    assert committed(pg, table) == []
    assert not conn.in_transaction
    await conn.execute(f"INSERT INTO {table} VALUES (4)")
    assert committed(pg, table) == [4]
    assert_clean(pg)


async def test_cancel_inside_a_savepoint_aborts_only_that_savepoint(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    async with conn.transaction():
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        with pytest.raises(InternalError):
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (2)")
                with pytest.raises(CommandTimeout):
                    await conn.execute("SELECT pg_sleep(30)", timeout=0.2)
        await conn.execute(f"INSERT INTO {table} VALUES (3)")
    assert committed(pg, table) == [1, 3]


# -- A2, A3, B9, B14, C15, C20: fetches ----------------------------------------------------------
async def _read_with_cancels(cur: aio.AsyncCursor, how: str) -> tuple[list[int], bool]:
    """Read ``cur`` to its end with a cancel every few fetches; return (ids, ended by error)."""
    got: list[int] = []
    cancels = 0
    while True:
        try:
            with anyio.move_on_after(0.015 if cancels < 8 else 10):
                if how == "fetchone":
                    row = await cur.fetchone()
                    if row is None:
                        return got, False
                    got.append(int(row[0]))
                elif how == "fetchmany":
                    rows = await cur.fetchmany(37)
                    if not rows:
                        return got, False
                    got.extend(int(r[0]) for r in rows)
                elif how == "fetchall":
                    got.extend(int(r[0]) for r in await cur.fetchall())
                    return got, False
                else:
                    async for r in cur:
                        got.append(int(r[0]))
                    return got, False
            cancels += 1
        except InterfaceError:
            return got, True


@pytest.mark.parametrize("how", ["fetchone", "fetchmany", "fetchall", "async for"])
async def test_cancelled_fetches_deliver_a_gapless_prefix_or_raise(pg: Backend, how: str) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=True, **DECLARE_FETCH)) as c:
        cur = await c.cursor()
        await cur.execute(SLOW_ROWS)
        with anyio.fail_after(30):  # a hang is a failure
            got, failed = await _read_with_cancels(cur, how)
        assert got == list(range(1, len(got) + 1))  # never a gap
        assert failed or len(got) == ROWS
        assert await c.fetchval("SELECT 1") == 1
    assert wait_until_gone(pg, "generate_series") == []


async def test_cancelled_fetch_on_sqlite_delivers_a_gapless_prefix_or_raises(
    sqlite: Backend,
) -> None:
    # SQLite computes rows as they are fetched, so a fetch of a slow query does the work.
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "SELECT i, (WITH RECURSIVE w(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM w "
        "WHERE k < 2000) SELECT COUNT(*) FROM w) FROM n"
    )
    async with await aio.connect(**sqlite.connect_kwargs()) as c:
        for how in ("fetchmany", "async for"):
            cur = await c.cursor()
            await cur.execute(slow)
            with anyio.fail_after(60):
                got, failed = await _read_with_cancels(cur, how)
            assert got == list(range(1, len(got) + 1))
            assert failed or len(got) == 3000
            await cur.close()
        assert await c.fetchval("SELECT 1") == 1


async def test_async_for_raises_when_the_cursor_is_closed_during_iteration(
    conn: aio.AsyncConnection,
) -> None:
    cur = await conn.cursor()
    await cur.execute("SELECT g FROM generate_series(1, 100000) g")
    seen = 0
    with pytest.raises(InterfaceError, match="closed"):
        async for _ in cur:
            seen += 1
            if seen == 1500:
                await cur.close()
    assert seen == 1500


async def test_async_for_raises_when_the_lease_ends_during_iteration(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        seen = 0
        with pytest.raises(InterfaceError):
            async with pool.connection() as pc:
                cur = await pc.cursor()
                await cur.execute("SELECT g FROM generate_series(1, 100000) g")
                async for _ in cur:
                    seen += 1
                    if seen == 1500:
                        await pc.release()
        assert seen == 1500
        assert await pool.fetchval("SELECT 1") == 1


async def test_cancelled_read_ahead_wait_neither_hangs_nor_loses_rows(
    conn: aio.AsyncConnection,
) -> None:
    cur = await conn.cursor()
    await cur.execute(f"SELECT g FROM generate_series(1, {ROWS * 10}) g")
    got: list[int] = []
    with anyio.fail_after(10):
        with anyio.move_on_after(0.0):  # cancelled at once: while the read-ahead waits
            async for r in cur:
                got.append(int(r[0]))
        # The same cursor goes on where it was, with the rows of the abandoned wait.
        got.extend(int(r[0]) for r in await cur.fetchmany(500))
        async for r in cur:
            got.append(int(r[0]))
    assert got == list(range(1, ROWS * 10 + 1))


async def test_no_stray_cancellation_after_a_timed_out_stream(
    conn: aio.AsyncConnection, anyio_backend: Any
) -> None:
    if anyio_backend[0] != "asyncio":
        pytest.skip("asyncio.timeout is asyncio's own")
    cur = await conn.cursor()
    await cur.execute(f"SELECT g FROM generate_series(1, {ROWS * 50}) g")
    got: list[int] = []
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            async for r in cur:
                got.append(int(r[0]))
                await asyncio.sleep(0)
    # Nobody cancels this task now: no CancelledError may come out of the next fetches.
    got.extend(int(r[0]) for r in await cur.fetchmany(1000))
    got.extend(int(r[0]) for r in await cur.fetchall())
    assert got == list(range(1, ROWS * 50 + 1))


async def test_fetch_timeout_on_the_read_ahead_is_a_command_timeout(pg: Backend) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=True, **DECLARE_FETCH)) as c:
        cur = await c.cursor()
        await cur.execute(SLOW_ROWS)
        it = cur.__aiter__()  # queues the read-ahead
        for _ in range(20):
            await it.__anext__()
        with pytest.raises(CommandTimeout):
            for _ in range(ROWS):
                await cur.fetchone(timeout=0.005)


async def test_timeout_during_a_fetch_round_trip_stops_the_server_work(pg: Backend) -> None:
    slow = "SELECT g, pg_sleep(0.05) FROM generate_series(1, 400) g"
    async with await aio.connect(**pg.connect_kwargs(autocommit=True, **DECLARE_FETCH)) as c:
        cur = await c.cursor(prefetch=1)
        await cur.execute(slow)
        with pytest.raises(CommandTimeout):
            await cur.fetchmany(200, timeout=0.3)  # several FETCH round trips of ~1 s each
        start = time.monotonic()
        assert wait_until_gone(pg, "pg_sleep(0.05)", timeout=2.0) == []
        assert time.monotonic() - start < 1.5
        assert await c.fetchval("SELECT 1") == 1


# -- A4: executemany's commit --------------------------------------------------------------------
@pytest.mark.parametrize("via", ["connection", "cursor"])
async def test_executemany_cancelled_during_its_commit_keeps_it_then_raises(
    pg: Backend, conn: aio.AsyncConnection, table: str, via: str
) -> None:
    slow_commit(pg, table)
    start = time.monotonic()
    with anyio.CancelScope() as scope:
        scope.deadline = anyio.current_time() + 0.2
        if via == "connection":
            await conn.executemany(f"INSERT INTO {table} VALUES (?)", [(1,), (2,)])
        else:
            cur = await conn.cursor()
            await cur.executemany(f"INSERT INTO {table} VALUES (?)", [(1,), (2,)])
    assert scope.cancelled_caught
    assert time.monotonic() - start >= 0.5  # it waited for the commit...
    assert committed(pg, table) == [1, 2]  # ...which stands
    assert_clean(pg)


async def test_executemany_cancelled_before_its_commit_writes_nothing(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    with anyio.move_on_after(0.2) as scope:
        await conn.executemany(
            f"INSERT INTO {table} SELECT ? FROM pg_sleep(0.3)", [(1,), (2,), (3,)]
        )
    assert scope.cancelled_caught
    await conn.wait_idle()
    assert committed(pg, table) == []
    assert_clean(pg)


async def test_executemany_timeout_during_its_commit_returns_normally(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    slow_commit(pg, table)
    await conn.executemany(f"INSERT INTO {table} VALUES (?)", [(1,)], timeout=0.2)
    assert committed(pg, table) == [1]


# -- A5: what a timeout says about the statement --------------------------------------------------
async def test_timeout_of_a_statement_that_never_started_says_so_and_it_never_runs(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(conn.execute, "SELECT pg_sleep(0.5)")
        await anyio.sleep(0.05)
        with pytest.raises(CommandTimeout, match="did not start") as info:
            await conn.execute(f"INSERT INTO {table} VALUES (1)", timeout=0.1)
    assert info.value.outcome is Outcome.NOT_STARTED
    await conn.wait_idle()
    assert committed(pg, table) == []


async def test_timeout_of_a_running_autocommit_write_says_its_outcome_is_unknown(
    conn: aio.AsyncConnection, table: str
) -> None:
    with pytest.raises(CommandTimeout, match="outcome is unknown") as info:
        await conn.execute(f"INSERT INTO {table} SELECT 1 FROM pg_sleep(1)", timeout=0.2)
    assert info.value.outcome is Outcome.UNKNOWN


# -- B11, B12: shielded work -------------------------------------------------------------------
async def test_cancellation_during_a_failing_commit_is_not_swallowed(
    pg: Backend, conn: aio.AsyncConnection, table: str, anyio_backend: Any
) -> None:
    assert pg.pg is not None
    # COMMIT takes 0.5 s, then fails (a deferred constraint raises).
    pg.pg.admin_execute(
        f"CREATE OR REPLACE FUNCTION fail_commit_{table}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.5); RAISE EXCEPTION 'no'; END $$"
    )
    pg.pg.admin_execute(
        f"CREATE CONSTRAINT TRIGGER failing AFTER INSERT ON {table} DEFERRABLE INITIALLY "
        f"DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_commit_{table}()"
    )
    finished_normally = False
    with anyio.CancelScope() as scope:
        scope.deadline = anyio.current_time() + 0.2
        try:
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (1)")
        except Exception:
            pass  # a handler that swallows errors must still not swallow the cancellation
        finished_normally = True
    assert scope.cancelled_caught and not finished_normally
    if anyio_backend[0] == "asyncio":

        async def victim() -> None:
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (2)")

        task = asyncio.get_running_loop().create_task(victim())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises((asyncio.CancelledError, Exception)):
            await task
        assert task.cancelled()
    assert committed(pg, table) == []


async def test_shielded_commit_under_a_cancelled_scope_does_not_spin(
    pg: Backend, conn: aio.AsyncConnection, table: str
) -> None:
    slow_commit(pg, table, seconds=1.0)
    tx = conn.transaction()
    await tx.start()
    await conn.execute(f"INSERT INTO {table} VALUES (1)")
    cpu = time.thread_time()
    with anyio.move_on_after(0.05):
        await tx.commit()
    # The loop thread slept through the one-second commit instead of spinning on it.
    assert time.thread_time() - cpu < 0.3
    assert committed(pg, table) == [1]
