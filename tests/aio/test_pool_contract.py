"""The pool's side of "nothing lost": connections go back clean even when the borrower opened
a transaction with SQL, errors say what went wrong, close() and terminate() leave nothing
running, and a pool dropped without close() is collected."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import DataError, InterfaceError, OperationalError, PoolClosed
from tests.aio.test_cancellation import assert_clean, wait_until_gone
from tests.conftest import Backend, thread_baseline, wait_for_threads

pytestmark = pytest.mark.anyio

BEGIN = {"sqlite": "BEGIN", "postgresql": "BEGIN", "mariadb": "BEGIN", "informix": "BEGIN WORK"}


@pytest.fixture
def table(backend: Backend) -> Iterator[str]:
    import informix_aio

    name = backend.table("pc")
    with informix_aio.connect(**backend.connect_kwargs(autocommit=True)) as c:
        c.execute_direct(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
    yield name
    with informix_aio.connect(**backend.connect_kwargs(autocommit=True)) as c:
        c.execute_direct(f"DROP TABLE {name}")


async def sessions_left(pg: Backend, timeout: float = 2.0) -> list[tuple[int, str, str]]:
    """This test's server sessions, once they had ``timeout`` seconds to go away."""
    end = time.monotonic() + timeout
    while pg.activity() and time.monotonic() < end:
        await anyio.sleep(0.02)
    return pg.activity()


def collect(objects: list[Any]) -> None:
    """Drop the last references to ``objects`` and run the garbage collector."""
    objects.clear()
    for _ in range(3):
        gc.collect()


def committed(backend: Backend, table: str) -> list[int]:
    import informix_aio

    with informix_aio.connect(**backend.connect_kwargs(autocommit=True)) as c:
        return [int(r[0]) for r in c.fetch(f"SELECT id FROM {table} ORDER BY id")]


async def test_release_rolls_back_a_transaction_the_borrower_began_with_sql(
    backend: Backend, table: str
) -> None:
    kwargs = backend.connect_kwargs(lock_timeout=2) if backend.name == "sqlite" else {}
    async with aio.create_pool(
        **(kwargs or backend.connect_kwargs()), min_size=1, max_size=1
    ) as pool:
        async with pool.connection() as c:
            await c.execute(BEGIN[backend.name])
            await c.execute(f"INSERT INTO {table} VALUES (1)")
        # The next borrower gets the same connection: it must see none of that, and its own
        # autocommit write must be committed.
        async with pool.connection() as c:
            assert await c.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
            await c.execute(f"INSERT INTO {table} VALUES (2)")
        assert committed(backend, table) == [2]
        if backend.name == "postgresql":
            assert_clean(backend)


async def test_a_mariadb_borrowers_autocommit_off_is_undone_on_release(
    backend: Backend, table: str
) -> None:
    if backend.name != "mariadb":
        pytest.skip("SET autocommit is MariaDB's")
    async with aio.create_pool(**backend.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            await c.execute("SET autocommit = 0")
            await c.execute(f"INSERT INTO {table} VALUES (1)")
        await pool.execute(f"INSERT INTO {table} VALUES (2)")
        assert committed(backend, table) == [2]


async def test_plain_statements_keep_the_release_fast_path(pg: Backend) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            await c.fetchval("SELECT 1")
            await c.execute("SELECT 1 -- BEGIN in a comment at the end is harmless")
            raw = c.raw_connection
        assert raw.is_clean
        assert pool.stats().reaping == 0


async def test_create_pool_against_an_unreachable_database_raises_operational_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(OperationalError) as info:
        await aio.create_pool(
            driver="PostgreSQL Unicode",
            host="127.0.0.1",
            port=port,
            database="x",
            user="x",
            login_timeout=2,
            min_size=2,
        )
    assert info.value.__cause__ is not None  # the driver's own error, chained


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("command_timeout", 0),
        ("command_timeout", -1),
        ("reap_timeout", 0),
        ("max_lifetime", 0),
        ("acquire_timeout", float("nan")),
        ("max_size", 0),
        ("min_size", -1),
        ("max_queries", 0),
        ("max_waiting", -1),
        ("health_check", "30"),
    ],
)
async def test_pool_options_are_validated_once_at_construction(
    sqlite: Backend, option: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=option):
        aio.Pool(**sqlite.connect_kwargs(), **{option: value})


async def test_connection_refuses_the_same_command_timeout_the_pool_refuses(
    sqlite: Backend,
) -> None:
    with pytest.raises(ValueError, match="command_timeout"):
        await aio.connect(**sqlite.connect_kwargs(), command_timeout=0)


async def test_builtin_exceptions_never_escape_the_async_api(sqlite: Backend) -> None:
    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=1) as pool:
        with pytest.raises(DataError):
            await pool.fetchval("SELECT ?", (2**70,))
        with pytest.raises(DataError):
            await pool.fetchval("SELECT ?", ("a\ud800",))
        assert await pool.fetchval("SELECT 1") == 1


async def test_terminate_cancels_running_statements_and_their_borrowers_get_pool_closed(
    pg: Backend,
) -> None:
    baseline = thread_baseline()
    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=2, reap_timeout=2)
    outcome: list[BaseException] = []

    async def borrower() -> None:
        try:
            async with pool.connection() as c:
                await c.execute("SELECT pg_sleep(30)")
        except BaseException as exc:
            outcome.append(exc)
            if not isinstance(exc, Exception):
                raise

    async with anyio.create_task_group() as tg:
        tg.start_soon(borrower)
        await anyio.sleep(0.3)
        start = time.monotonic()
        pool.terminate()
    assert time.monotonic() - start < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], PoolClosed)
    assert wait_until_gone(pg, "pg_sleep(30)", timeout=2.0) == []
    assert wait_for_threads(baseline, timeout=2.0) <= baseline
    assert await sessions_left(pg) == []


async def test_close_with_timeout_cancels_what_still_runs(pg: Backend) -> None:
    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1)
    errors: list[BaseException] = []

    async def borrower() -> None:
        try:
            await pool.execute("SELECT pg_sleep(30)")
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(borrower)
        await anyio.sleep(0.3)
        await pool.close(timeout=0.2)
    assert errors and isinstance(errors[0], PoolClosed)
    assert wait_until_gone(pg, "pg_sleep(30)", timeout=2.0) == []


async def test_close_closes_a_connection_whose_release_reset_still_runs(pg: Backend) -> None:
    baseline = thread_baseline()
    resetting = anyio.Event()

    async def slow_reset(conn: aio.PooledConnection) -> None:
        resetting.set()
        await anyio.sleep(5)

    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1, reset=slow_reset)
    async with pool.connection() as c:
        raw = c.raw_connection
    await resetting.wait()
    assert pool.stats().reaping == 1
    await pool.close(timeout=0.1)
    assert raw.closed
    assert wait_for_threads(baseline, timeout=3.0) <= baseline
    assert await sessions_left(pg) == []


async def test_a_pool_dropped_without_close_is_collected_and_closes_its_connections(
    pg: Backend,
) -> None:
    baseline = thread_baseline()
    pool = await aio.create_pool(**pg.connect_kwargs(), min_size=2, max_size=2)
    assert await pool.fetchval("SELECT 1") == 1
    pools = [pool]
    del pool
    with pytest.warns(ResourceWarning, match="unclosed <Pool"):
        collect(pools)
    assert wait_for_threads(baseline, timeout=3.0) <= baseline
    assert await sessions_left(pg) == []


async def test_a_connection_used_from_another_thread_is_refused_before_anything_runs(
    pg: Backend,
) -> None:
    assert pg.pg is not None
    name = pg.table("thr")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT)")
    try:
        async with await aio.connect(**pg.connect_kwargs()) as c:
            errors: list[BaseException] = []

            def other_thread() -> None:
                async def use() -> None:
                    await c.execute(f"INSERT INTO {name} VALUES (1)")

                try:
                    anyio.run(use)
                except BaseException as exc:
                    errors.append(exc)

            t = threading.Thread(target=other_thread)
            t.start()
            await anyio.to_thread.run_sync(t.join)
            assert len(errors) == 1 and isinstance(errors[0], InterfaceError)
            assert "another event loop" in str(errors[0]) or "another trio" in str(errors[0])
            await c.wait_idle()
            assert await c.fetchval(f"SELECT COUNT(*) FROM {name}") == 0
    finally:
        pg.pg.admin_execute(f"DROP TABLE {name}")


@pytest.mark.parametrize("timeout", [float("nan"), "1", -1.0, 0])
async def test_a_bad_timeout_is_refused_before_anything_runs(pg: Backend, timeout: Any) -> None:
    assert pg.pg is not None
    name = pg.table("to")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT)")
    try:
        async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
            with pytest.raises(ValueError, match="timeout"):
                await pool.execute(f"INSERT INTO {name} VALUES (1)", timeout=timeout)
            async with pool.connection() as c:
                cur = await c.cursor()
                await cur.execute("SELECT 1")
                with pytest.raises(ValueError, match="timeout"):
                    await cur.fetchall(timeout=timeout)
            if timeout != 0:  # 0 is a valid acquire timeout: do not wait at all
                with pytest.raises(ValueError, match="timeout"):
                    await pool.acquire(timeout=timeout)
            await anyio.sleep(0.1)
            assert await pool.fetchval(f"SELECT COUNT(*) FROM {name}") == 0
    finally:
        pg.pg.admin_execute(f"DROP TABLE {name}")


async def test_a_pooled_connection_offers_the_connections_extras(sqlite: Backend) -> None:
    import pyodbc

    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection() as c:
            assert "SQLite" in str(await c.getinfo(pyodbc.SQL_DBMS_NAME))
            await c.set_autocommit(False)
            assert not c.autocommit
            await c.add_output_converter(pyodbc.SQL_INTEGER, None)
        async with pool.connection() as c:
            assert c.autocommit  # the pool's own mode again
