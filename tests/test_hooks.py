"""Query hooks, the slow-query log, credential rotation, and public converters and adapters,
on the real drivers: sync and async, connections and pools."""

from __future__ import annotations

import contextvars
import decimal
import logging
from typing import Any

import anyio
import pyodbc
import pytest

import informix_aio
from informix_aio import aio
from informix_aio.errors import CommandTimeout, IntegrityError, OperationalError
from informix_aio.hooks import QueryRecord, SlowQueryLog, connection_info
from tests.conftest import Backend

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Recorder:
    def __init__(self) -> None:
        self.records: list[QueryRecord] = []
        self.contexts: list[str] = []

    def __call__(self, record: QueryRecord) -> None:
        self.records.append(record)
        self.contexts.append(request_id.get())


def test_sync_hook_sees_every_statement_with_its_outcome(backend: Backend) -> None:
    rec = Recorder()
    with informix_aio.connect(**backend.connect_kwargs(autocommit=True)) as conn:
        conn.add_query_logger(rec)
        name = backend.table("hk")
        conn.execute_direct(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
        try:
            assert conn.execute_direct(f"INSERT INTO {name} VALUES (?)", (1,)) == 1
            with pytest.raises(IntegrityError):
                conn.execute_direct(f"INSERT INTO {name} VALUES (?)", (1,))
            assert conn.fetch(f"SELECT id FROM {name}") == [(1,)]
            conn.cursor().execute(f"SELECT id FROM {name} WHERE id = ?", (1,))
        finally:
            conn.execute_direct(f"DROP TABLE {name}")
    ops = [r.operation for r in rec.records]
    assert ops[:5] == ["execute", "execute", "execute", "fetch", "cursor.execute"]
    insert, duplicate, fetch = rec.records[1:4]
    assert insert.params == ("<int>",) and insert.params_hidden and insert.rowcount == 1
    assert isinstance(duplicate.exception, IntegrityError) and duplicate.rowcount == -1
    assert duplicate.sqlstate is not None
    assert fetch.rowcount == 1 and fetch.elapsed >= 0 and fetch.started > 0
    assert rec.records[0].connection.dialect == backend.name


def test_a_hook_that_raises_never_breaks_the_query(
    sqlite: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(record: QueryRecord) -> None:
        raise RuntimeError("the hook is broken")

    with informix_aio.connect(**sqlite.connect_kwargs()) as conn:
        conn.add_query_logger(broken)
        with caplog.at_level(logging.ERROR, logger="informix_aio.hooks"):
            assert conn.fetchval("SELECT 41 + 1") == 42
        conn.remove_query_logger(broken)
        conn.remove_query_logger(broken)  # unknown: ignored
    assert "query logger" in caplog.text and "the hook is broken" in caplog.text


def test_hook_sees_parameters_only_when_asked(sqlite: Backend) -> None:
    hidden, shown = Recorder(), Recorder()
    with informix_aio.connect(**sqlite.connect_kwargs()) as conn:
        conn.add_query_logger(hidden)
        conn.add_query_logger(shown, params=True)
        conn.fetchval("SELECT ?", ("secret",))
    assert hidden.records[0].params == ("<str>",) and hidden.records[0].params_hidden
    assert shown.records[0].params == ("secret",) and not shown.records[0].params_hidden


@pytest.mark.anyio
async def test_async_hooks_run_in_the_callers_task_with_its_context(pg: Backend) -> None:
    rec = Recorder()
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=2) as pool:
        pool.add_query_logger(rec)

        async def request(rid: str) -> None:
            request_id.set(rid)
            await pool.fetchval("SELECT ?::int", (int(rid),))
            async with pool.connection() as c:
                cur = await c.cursor()
                await cur.execute("SELECT g FROM generate_series(1, 3) g")
                await c.executemany("SELECT ?::int", [(1,), (2,)])

        async with anyio.create_task_group() as tg:
            for rid in ("1", "2", "3"):
                tg.start_soon(request, rid)
        with pytest.raises(CommandTimeout):
            await pool.execute("SELECT pg_sleep(5)", timeout=0.1)
    ops = sorted({r.operation for r in rec.records})
    assert ops == ["cursor.execute", "execute", "executemany", "fetchval"]
    per_request = {
        rid: [r.operation for r, c in zip(rec.records, rec.contexts, strict=True) if c == rid]
        for rid in ("1", "2", "3")
    }
    assert all(len(ops) == 3 for ops in per_request.values()), per_request
    timed_out = rec.records[-1]
    assert isinstance(timed_out.exception, CommandTimeout) and timed_out.timeout == 0.1
    info = timed_out.connection
    assert info.dialect == "postgresql" and info.host == "127.0.0.1" and info.user
    assert info.port == pg.pg.port if pg.pg else True


@pytest.mark.anyio
async def test_pool_hooks_apply_to_connections_opened_later_and_can_be_removed(
    sqlite: Backend,
) -> None:
    rec = Recorder()
    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=0, max_size=1) as pool:
        pool.add_query_logger(rec)
        await pool.fetchval("SELECT 1")  # the first connection opens after the registration
        pool.remove_query_logger(rec)
        await pool.fetchval("SELECT 2")
    assert [r.sql for r in rec.records] == ["SELECT 1"]


@pytest.mark.anyio
async def test_slow_query_log_names_the_sql_and_duration_never_the_parameters(
    pg: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, slow_query=0.05) as pool:
        with caplog.at_level(logging.WARNING, logger="informix_aio.slow_query"):
            await pool.execute("SELECT pg_sleep(0.1), ?::text", ("secret",))
            await pool.fetchval("SELECT 1")
    lines = [r.getMessage() for r in caplog.records if r.name == "informix_aio.slow_query"]
    assert len(lines) == 1
    assert "pg_sleep(0.1)" in lines[0] and "secret" not in lines[0]


def test_slow_query_threshold_is_validated() -> None:
    with pytest.raises(ValueError):
        SlowQueryLog(-1)
    with pytest.raises(ValueError, match="slow_query"):
        informix_aio.connect(driver="SQLite3", database=":memory:", slow_query=-1)


def test_connection_info_never_holds_the_password() -> None:
    info = connection_info(
        "DRIVER={IBM INFORMIX ODBC DRIVER};SERVER=ol;HOST=db;SERVICE=9088;DATABASE=stores;"
        "UID=informix;PWD={se;cret}",
        "informix",
    )
    assert (info.server, info.host, info.port, info.database, info.user) == (
        "ol",
        "db",
        9088,
        "stores",
        "informix",
    )
    assert "cret" not in repr(info)


@pytest.mark.anyio
async def test_rotated_credentials_are_read_for_each_new_connection(pg: Backend) -> None:
    assert pg.pg is not None
    pg.pg.admin_execute("DROP ROLE IF EXISTS rotated")
    pg.pg.admin_execute("CREATE ROLE rotated LOGIN PASSWORD 'first'")
    secret = {"password": "first"}
    calls: list[str] = []

    async def options() -> dict[str, Any]:
        calls.append(secret["password"])
        return {"user": "rotated", "password": secret["password"]}

    base = {k: v for k, v in pg.connect_kwargs().items() if k not in ("user", "password")}
    try:
        async with aio.create_pool(
            **base, connect_options=options, min_size=1, max_size=1, reconnect_max=0.2
        ) as pool:
            assert await pool.fetchval("SELECT current_user") == "rotated"
            pg.pg.admin_execute("ALTER ROLE rotated PASSWORD 'second'")
            secret["password"] = "second"
            pool.expire_connections()
            assert await pool.fetchval("SELECT current_user") == "rotated"
            assert calls == ["first", "second"]
            assert "second" not in repr(pool)
    finally:
        pg.pg.admin_execute("DROP ROLE IF EXISTS rotated")


@pytest.mark.anyio
async def test_a_failing_connect_options_callable_counts_as_a_connection_failure(
    sqlite: Backend,
) -> None:
    def options() -> dict[str, Any]:
        raise OperationalError("the vault is down")

    pool = aio.Pool(connect_options=options, min_size=1, max_size=1)
    with pytest.raises(OperationalError, match="vault is down"):
        await pool.open()
    assert pool.closed


@pytest.mark.anyio
async def test_output_converters_and_adapters_apply_to_every_pooled_connection(
    pg: Backend,
) -> None:
    class Cents:
        def __init__(self, n: int) -> None:
            self.n = n

    async with aio.create_pool(**pg.connect_kwargs(), min_size=2, max_size=2) as pool:
        pool.register_adapter(Cents, lambda c: decimal.Decimal(c.n) / 100)
        pool.add_output_converter(pyodbc.SQL_WVARCHAR, lambda raw: raw.decode()[::-1])
        for _ in range(4):
            assert await pool.fetchval("SELECT ?::numeric", (Cents(1234),)) == decimal.Decimal(
                "12.34"
            )
            assert await pool.fetchval("SELECT CAST('abc' AS varchar(10))") == "cba"
        async with pool.connection() as c:
            await c.raw_connection.add_output_converter(pyodbc.SQL_WVARCHAR, None)
            assert await c.fetchval("SELECT CAST('abc' AS varchar(10))") == "abc"


def test_a_failing_output_converter_is_a_data_error(pg: Backend) -> None:
    from informix_aio.errors import DataError

    with informix_aio.connect(**pg.connect_kwargs(autocommit=True)) as conn:
        conn.add_output_converter(pyodbc.SQL_WVARCHAR, lambda raw: raw.decode("utf-16-le"))
        with pytest.raises(DataError, match="could not be converted"):
            conn.fetchval("SELECT CAST('abc' AS varchar(10))")
        with pytest.raises(DataError, match="could not be converted"):
            conn.cursor().execute("SELECT CAST('abc' AS varchar(10))").fetchall()
        conn.add_output_converter(pyodbc.SQL_WVARCHAR, None)
        assert conn.fetchval("SELECT CAST('abc' AS varchar(10))") == "abc"


class Events:
    """A pool observer that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []

    def connection_created(self, pool: Any, seconds: float) -> None:
        self.events.append(("created", seconds))

    def acquired(self, pool: Any, waited: float) -> None:
        self.events.append(("acquired", waited))

    def released(self, pool: Any, used: float) -> None:
        self.events.append(("released", used))

    def timed_out(self, pool: Any) -> None:
        self.events.append(("timed_out", 0.0))


@pytest.mark.anyio
async def test_pool_observers_are_told_creations_waits_uses_and_timeouts(sqlite: Backend) -> None:
    from informix_aio.errors import PoolTimeout

    events = Events()
    pool = aio.Pool(**sqlite.connect_kwargs(), min_size=0, max_size=1, name="orders")
    pool.add_observer(events)
    async with pool:
        async with pool.connection():
            await anyio.sleep(0.05)
            with pytest.raises(PoolTimeout):
                await pool.acquire(timeout=0.01)
        pool.remove_observer(events)
        await pool.fetchval("SELECT 1")
    kinds = [k for k, _ in events.events]
    assert kinds == ["created", "acquired", "timed_out", "released"]
    assert dict(events.events)["released"] >= 0.05
    assert pool.stats().use_time_total >= 0.05 and pool.name == "orders"


def test_global_query_loggers_reach_existing_and_new_connections(sqlite: Backend) -> None:
    from informix_aio.hooks import add_global_query_logger, remove_global_query_logger

    rec = Recorder()
    with informix_aio.connect(**sqlite.connect_kwargs()) as before:
        add_global_query_logger(rec)
        try:
            before.fetchval("SELECT 1")
            with informix_aio.connect(**sqlite.connect_kwargs()) as after:
                after.fetchval("SELECT 2")
        finally:
            remove_global_query_logger(rec)
        before.fetchval("SELECT 3")
    assert [r.sql for r in rec.records] == ["SELECT 1", "SELECT 2"]


def test_a_connection_executemany_is_reported_once(sqlite: Backend) -> None:
    rec = Recorder()
    with informix_aio.connect(**sqlite.connect_kwargs(autocommit=True)) as conn:
        conn.execute_direct("CREATE TABLE em (a INT)")
        conn.add_query_logger(rec)
        conn.executemany("INSERT INTO em VALUES (?)", [(1,), (2,)])
    assert [(r.operation, r.params) for r in rec.records] == [("executemany", 2)]


@pytest.mark.anyio
async def test_a_global_logger_hears_an_async_statement_once_in_the_callers_task(
    sqlite: Backend,
) -> None:
    import threading

    from informix_aio.hooks import add_global_query_logger, remove_global_query_logger

    threads: list[str] = []

    def hook(record: QueryRecord) -> None:
        threads.append(threading.current_thread().name)

    add_global_query_logger(hook)
    try:
        async with await aio.connect(**sqlite.connect_kwargs()) as conn:
            await conn.fetchval("SELECT 1")
    finally:
        remove_global_query_logger(hook)
    assert threads == [threading.current_thread().name]


def test_a_dialects_own_converters_are_registered_through_the_public_api(
    sqlite: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from informix_aio import _sync
    from informix_aio.dialects import SQLiteDialect

    class Reversing(SQLiteDialect):
        def output_converters(self) -> dict[int, Any]:
            return {pyodbc.SQL_VARCHAR: lambda raw: raw.decode()[::-1]}

    registered: list[int] = []
    original = _sync.Connection.add_output_converter

    def spy(self: Any, sql_type: int, fn: Any) -> None:
        registered.append(sql_type)
        original(self, sql_type, fn)

    monkeypatch.setattr(_sync.Connection, "add_output_converter", spy)
    with informix_aio.connect(**sqlite.connect_kwargs(dialect=Reversing())) as conn:
        conn.execute_direct("CREATE TABLE names (n VARCHAR(10))")
        conn.execute_direct("INSERT INTO names VALUES ('abc')")
        assert conn.fetchval("SELECT n FROM names") == "cba"
    assert registered == [pyodbc.SQL_VARCHAR]


@pytest.mark.anyio
async def test_pool_stats_hold_the_wait_and_use_time_distributions(sqlite: Backend) -> None:
    from informix_aio.aio._pool_state import TIME_BUCKETS

    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=1, max_size=1) as pool:
        async with pool.connection():
            await anyio.sleep(0.02)
        await pool.fetchval("SELECT 1")
        stats = pool.stats()
    assert len(stats.wait_time_buckets) == len(TIME_BUCKETS) + 1
    assert sum(stats.wait_time_buckets) == 2 == sum(stats.use_time_buckets)
    assert sum(stats.use_time_buckets[TIME_BUCKETS.index(0.05) :]) >= 1  # the 20 ms lease
