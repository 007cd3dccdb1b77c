"""informix_aio.opentelemetry on the real drivers, with the SDK's in-memory span exporter and
metric reader: a CLIENT span per statement (sync and async, shortcuts and cursors) under the
caller's span, errors, cancellations and timeouts, parameters only when asked, the pool
metrics after a known workload, a FastAPI request span over its query spans, and nothing left
behind by uninstrument()."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer

import informix_aio
from informix_aio import aio
from informix_aio.aio._pool_state import GLOBAL_OBSERVERS
from informix_aio.errors import CommandTimeout, IntegrityError, PoolTimeout
from informix_aio.fastapi import Connection, DBPool, pool_lifespan
from informix_aio.hooks import ConnectionInfo
from informix_aio.opentelemetry import InformixAioInstrumentor, pool_name
from informix_aio.opentelemetry._metrics import PoolMetrics
from informix_aio.opentelemetry._spans import base_attributes, error_type, system_name
from informix_aio.opentelemetry._sql import parse_sql
from tests._http import REPO, AsgiClient, ServiceProcess, served
from tests.conftest import Backend

SYSTEM_NAMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "mariadb": "mariadb",
    "informix": "ibm.informix",
}
POOL = "db.client.connection.pool.name"


@dataclass
class Telemetry:
    """The SDK pieces a test reads: finished spans, collected metrics, a tracer of its own."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    tracer: Tracer

    def spans(self, *, containing: str = "") -> list[ReadableSpan]:
        """Finished CLIENT spans whose query text contains ``containing``, oldest first."""
        return [
            s
            for s in self.exporter.get_finished_spans()
            if s.kind is SpanKind.CLIENT
            and containing in str((s.attributes or {}).get("db.query.text", ""))
        ]

    def metrics(self) -> dict[str, list[Any]]:
        """Every data point collected now, by metric name."""
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@contextmanager
def instrumented(**options: Any) -> Iterator[Telemetry]:
    """Instrument with fresh SDK providers; uninstrument on the way out."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = InformixAioInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, **options
    )
    try:
        yield Telemetry(exporter, reader, tracer_provider, tracer_provider.get_tracer("tests"))
    finally:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        meter_provider.shutdown()
        tracer_provider.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    with instrumented() as t:
        yield t


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def point(points: Sequence[Any], **labels: str) -> Any:
    """The one data point whose attributes include ``labels``."""
    found = [p for p in points if all(p.attributes.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (labels, [dict(p.attributes) for p in points])
    return found[0]


# -- spans ---------------------------------------------------------------------------------------
def test_sync_statements_become_client_spans_named_and_attributed_by_the_conventions(
    backend: Backend, telemetry: Telemetry
) -> None:
    name = backend.table("ot")
    before = time.time_ns()
    with informix_aio.connect(**backend.connect_kwargs(autocommit=True)) as conn:
        conn.execute_direct(f"CREATE TABLE {name} (id INT PRIMARY KEY, note {backend.text_type})")
        try:
            conn.execute_direct(f"INSERT INTO {name} VALUES (?, ?)", (1, "private"))
            with pytest.raises(IntegrityError) as duplicate:
                conn.execute_direct(f"INSERT INTO {name} VALUES (?, ?)", (1, "private"))
            assert conn.fetch(f"SELECT id FROM {name} WHERE id = ?", (1,)) == [(1,)]
            conn.cursor().execute(f"SELECT note FROM {name} WHERE note <> 'a literal'")
        finally:
            conn.execute_direct(f"DROP TABLE {name}")
    after = time.time_ns()
    create, insert, failed, fetch, cursor, drop = telemetry.spans(containing=name)
    assert [s.name for s in (create, insert, fetch, cursor, drop)] == [
        "CREATE",
        f"INSERT {name}",
        f"SELECT {name}",
        f"SELECT {name}",
        "DROP",
    ]
    common = attrs(insert)
    assert common["db.system.name"] == SYSTEM_NAMES[backend.name]
    assert common["db.operation.name"] == "INSERT" and common["db.collection.name"] == name
    assert common["db.query.text"] == f"INSERT INTO {name} VALUES (?, ?)"
    assert common["db.namespace"]
    if backend.name != "sqlite":
        assert common["server.address"] and isinstance(common["server.port"], int)
    # No parameter is recorded by default; literals of unparameterized text are redacted.
    assert not any(k.startswith("db.query.parameter") for k in common)
    assert attrs(cursor)["db.query.text"] == f"SELECT note FROM {name} WHERE note <> ?"
    assert attrs(fetch)["db.response.returned_rows"] == 1
    for span in (create, insert, failed, fetch, cursor, drop):
        assert span.kind is SpanKind.CLIENT and span.parent is None
        assert span.start_time is not None and span.end_time is not None
        assert before <= span.start_time <= span.end_time <= after
    # The failure: status, exception event, error type and the database's own code.
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    err = attrs(failed)
    assert err["error.type"] == "informix_aio.IntegrityError"
    exc = duplicate.value
    expected_code = exc.sqlstate if backend.name == "postgresql" else str(exc.native_code)
    assert err["db.response.status_code"] == expected_code
    assert "error.type" not in common and insert.status.status_code is StatusCode.UNSET


@pytest.mark.anyio
async def test_async_connection_pool_shortcuts_and_cursors_each_get_a_span(
    pg: Backend, telemetry: Telemetry
) -> None:
    name = pg.table("ota")
    conn = await aio.connect(**pg.connect_kwargs(autocommit=True))
    try:
        await conn.execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
        await conn.executemany(f"INSERT INTO {name} VALUES (?)", [(1,), (2,), (3,)])
        await conn.executemany(f"INSERT INTO {name} VALUES (?)", [(4,)])
    finally:
        await conn.close()
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=2) as pool:
        assert await pool.fetchval(f"SELECT count(*) FROM {name}") == 4
        assert await pool.fetchrow(f"SELECT id FROM {name} WHERE id = ?", (2,)) == (2,)
        async with pool.connection() as c:
            cur = await c.cursor()
            await cur.execute(f"SELECT id FROM {name} ORDER BY id")
            assert len(await cur.fetchall()) == 4
            await cur.close()
        await pool.execute(f"DROP TABLE {name}")
    spans = telemetry.spans(containing=name)
    assert [s.name for s in spans] == [
        "CREATE",
        f"BATCH INSERT {name}",
        f"INSERT {name}",
        f"SELECT {name}",
        f"SELECT {name}",
        f"SELECT {name}",
        "DROP",
    ]
    batch, single = attrs(spans[1]), attrs(spans[2])
    assert batch["db.operation.name"] == "BATCH INSERT" and batch["db.operation.batch.size"] == 3
    assert "db.operation.batch.size" not in single and single["db.operation.name"] == "INSERT"
    assert attrs(spans[4])["db.response.returned_rows"] == 1
    assert pg.pg is not None and attrs(spans[3])["server.port"] == pg.pg.port
    assert all(
        s.kind is SpanKind.CLIENT and attrs(s)["db.system.name"] == "postgresql" for s in spans
    )
    # The stable duration metric counts every statement, by operation and table.
    durations = telemetry.metrics()["db.client.operation.duration"]
    selects = point(durations, **{"db.query.summary": f"SELECT {name}"})
    assert selects.count == 3 and "db.query.text" not in selects.attributes


@pytest.mark.anyio
async def test_query_spans_are_children_of_the_callers_current_span(
    sqlite: Backend, telemetry: Telemetry
) -> None:
    async with aio.create_pool(**sqlite.connect_kwargs(), min_size=2, max_size=2) as pool:

        async def request(n: int) -> None:
            with telemetry.tracer.start_as_current_span(f"request {n}"):
                await pool.fetchval(f"SELECT {n} + 0 AS request_{n}")
                await anyio.sleep(0.01)
                async with pool.connection() as c:
                    await c.fetch(f"SELECT {n} + 1 AS request_{n}")

        async with anyio.create_task_group() as tg:
            for n in range(3):
                tg.start_soon(request, n)
    with (
        telemetry.tracer.start_as_current_span("sync caller"),
        informix_aio.connect(**sqlite.connect_kwargs()) as sync_conn,
    ):
        sync_conn.fetchval("SELECT 1 AS sync_caller")
    parents = {
        s.name: s.context
        for s in telemetry.exporter.get_finished_spans()
        if s.kind is SpanKind.INTERNAL
    }
    for n in range(3):
        children = telemetry.spans(containing=f"request_{n}")
        assert len(children) == 2
        for child in children:
            assert child.parent is not None
            assert child.parent.span_id == parents[f"request {n}"].span_id
            assert child.context.trace_id == parents[f"request {n}"].trace_id
    (sync_child,) = telemetry.spans(containing="sync_caller")
    assert sync_child.parent is not None
    assert sync_child.parent.span_id == parents["sync caller"].span_id


@pytest.mark.anyio
async def test_timeouts_and_cancellations_end_their_spans_with_their_error_type(
    pg: Backend, telemetry: Telemetry, anyio_backend: tuple[str, dict[str, Any]]
) -> None:
    async with aio.create_pool(**pg.connect_kwargs(), min_size=1, max_size=1) as pool:
        with pytest.raises(CommandTimeout):
            await pool.execute("SELECT pg_sleep(5), 'timed out'", timeout=0.2)
        with anyio.move_on_after(0.2) as scope:
            await pool.execute("SELECT pg_sleep(5), 'cancelled'")
        assert scope.cancelled_caught
        assert await pool.fetchval("SELECT 1") == 1  # the pool serves on
    timed_out, cancelled = telemetry.spans(containing="pg_sleep(?), ?")
    timeout_attrs = attrs(timed_out)
    assert timeout_attrs["error.type"] == "informix_aio.CommandTimeout"
    assert timed_out.status.status_code is StatusCode.ERROR
    assert timed_out.end_time is not None and timed_out.start_time is not None
    assert timed_out.end_time - timed_out.start_time >= 150_000_000  # it covers the wait
    expected = "trio.Cancelled" if anyio_backend[0] == "trio" else "asyncio.CancelledError"
    assert attrs(cancelled)["error.type"] == expected
    assert cancelled.status.status_code is StatusCode.ERROR
    assert [e.name for e in cancelled.events] == ["exception"]


def test_parameters_are_recorded_only_when_asked(sqlite: Backend) -> None:
    with (
        instrumented(capture_parameters=True) as telemetry,
        informix_aio.connect(**sqlite.connect_kwargs()) as conn,
    ):
        conn.fetchval("SELECT ? || ? AS asked", ("secret", 7))
    (asked,) = telemetry.spans(containing="asked")
    assert attrs(asked)["db.query.parameter.0"] == "secret"
    assert attrs(asked)["db.query.parameter.1"] == "7"
    with (
        instrumented(sanitize_query=False) as telemetry,
        informix_aio.connect(**sqlite.connect_kwargs()) as conn,
    ):
        conn.fetchval("SELECT ? AS hidden", ("secret",))
        conn.fetchval("SELECT 'literal' AS kept")
    (hidden,) = telemetry.spans(containing="hidden")
    assert not any(k.startswith("db.query.parameter") for k in attrs(hidden))
    assert "secret" not in str(hidden.to_json())
    (kept,) = telemetry.spans(containing="kept")
    assert attrs(kept)["db.query.text"] == "SELECT 'literal' AS kept"


@pytest.mark.anyio
async def test_uninstrument_removes_the_hook_the_observers_and_the_pool_metrics(
    sqlite: Backend,
) -> None:
    pool = aio.Pool(**sqlite.connect_kwargs(), min_size=1, max_size=1, name="left-behind")
    async with pool:
        with instrumented() as telemetry:
            await pool.fetchval("SELECT 1 AS while_on")
            assert point(telemetry.metrics()["db.client.connection.max"], **{POOL: "left-behind"})
            InformixAioInstrumentor().uninstrument()
            assert not InformixAioInstrumentor().is_instrumented_by_opentelemetry
            with informix_aio.connect(**sqlite.connect_kwargs()) as conn:
                assert conn.hooks.active == ()  # nothing runs after a statement any more
                conn.fetchval("SELECT 1 AS after_off")
            await pool.fetchval("SELECT 1 AS after_off")
            assert [s.name for s in telemetry.spans(containing="while_on")] == ["SELECT"]
            assert telemetry.spans(containing="after_off") == []
            assert not any(isinstance(o, PoolMetrics) for o in GLOBAL_OBSERVERS)
            collected = telemetry.metrics()
            assert "db.client.connection.max" not in collected
            uses = point(collected["db.client.connection.use_time"], **{POOL: "left-behind"})
            assert uses.count == 1  # the loan after uninstrument() was not observed


# -- metrics -------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_pool_metrics_after_a_known_workload(sqlite: Backend) -> None:
    # A pool open before instrument() is observed as well as one opened after it.
    earlier = aio.Pool(**sqlite.connect_kwargs(), min_size=1, max_size=3, name="earlier")
    async with earlier:
        with instrumented() as telemetry:
            async with aio.create_pool(
                **sqlite.connect_kwargs(), min_size=1, max_size=1, name="orders"
            ) as pool:
                for _ in range(3):
                    await pool.fetchval("SELECT 1")
                await earlier.fetchval("SELECT 1")
                # Leaving the lease releases the connection to the waiting task; then the
                # task group ends.
                async with anyio.create_task_group() as tg, pool.connection():
                    with pytest.raises(PoolTimeout):
                        await pool.acquire(timeout=0.05)
                    tg.start_soon(pool.fetchval, "SELECT 2")
                    await anyio.sleep(0.1)  # the task waits for the held connection
                    busy = telemetry.metrics()
                done = telemetry.metrics()
    orders = {POOL: "orders"}
    count = busy["db.client.connection.count"]
    assert point(count, **orders, **{"db.client.connection.state": "used"}).value == 1
    assert point(count, **orders, **{"db.client.connection.state": "idle"}).value == 0
    assert point(busy["db.client.connection.pending_requests"], **orders).value == 1
    assert point(busy["db.client.connection.max"], **orders).value == 1
    assert point(busy["db.client.connection.idle.min"], **orders).value == 1
    assert point(done["db.client.connection.pending_requests"], **orders).value == 0
    assert point(done["db.client.connection.timeouts"], **orders).value == 1
    assert point(done["db.client.connection.create_time"], **orders).count == 1
    waits = point(done["db.client.connection.wait_time"], **orders)
    assert waits.count == 5  # three shortcuts, the held lease, the waiter
    assert waits.max >= 0.08  # the waiter waited while the lease was held
    uses = point(done["db.client.connection.use_time"], **orders)
    assert uses.count == 5 and uses.sum >= 0.14
    earlier_uses = point(done["db.client.connection.use_time"], **{POOL: "earlier"})
    assert earlier_uses.count == 1
    assert point(done["db.client.connection.max"], **{POOL: "earlier"}).value == 3


def test_unnamed_pools_get_a_stable_name_from_their_target(pg: Backend, sqlite: Backend) -> None:
    assert pg.pg is not None
    first = aio.Pool(**pg.connect_kwargs(), min_size=0)
    second = aio.Pool(**pg.connect_kwargs(), min_size=0)
    named = aio.Pool(**sqlite.connect_kwargs(), min_size=0, name="reports")
    base = f"127.0.0.1:{pg.pg.port}/{pg.connect_kwargs()['database']}"
    # Another live pool of an earlier test may hold the plain form: then the next "#n".
    assert pool_name(first).startswith(base) and pool_name(first) == pool_name(first)
    assert pool_name(second).startswith(f"{base}#") and pool_name(second) != pool_name(first)
    assert pool_name(named) == "reports"


# -- FastAPI -------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_fastapi_request_span_is_the_parent_of_its_query_spans(
    sqlite: Backend, telemetry: Telemetry
) -> None:
    app = FastAPI(lifespan=pool_lifespan(**sqlite.connect_kwargs(min_size=1, max_size=2)))

    @app.get("/items/{item_id}")
    async def item(item_id: int, conn: Connection, pool: DBPool) -> dict[str, Any]:
        found = await conn.fetchval("SELECT ? + 0 AS from_route", (item_id,))
        total = await pool.fetchval("SELECT ? + 1 AS from_route", (item_id,))
        return {"id": found, "next": total}

    traced = OpenTelemetryMiddleware(app, tracer_provider=telemetry.tracer_provider)
    async with served(app) as plain:
        client = AsgiClient(traced)
        client.state = plain.state
        reply = await client.get("/items/41")
    assert reply.status == 200 and reply.json() == {"id": 41, "next": 42}
    (server,) = [s for s in telemetry.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    queries = telemetry.spans(containing="from_route")
    assert len(queries) == 2
    for query in queries:
        assert query.parent is not None and query.parent.span_id == server.context.span_id
        assert query.context.trace_id == server.context.trace_id


def test_the_example_service_prints_its_spans_when_asked(tmp_path: Path) -> None:
    service = ServiceProcess(
        {
            "INFORMIX_AIO_EXAMPLE_DSN": f"DRIVER={{SQLite3}};Database={tmp_path / 'ex.db'};",
            "INFORMIX_AIO_EXAMPLE_TRACE": "console",
        }
    )
    try:
        service.wait_ready()
        assert httpx.get(f"{service.url}/users/1", timeout=5).status_code == 200
    finally:
        assert service.stop() == 0, service.output
    out = service.output
    assert "traces: printed on the console (a span per request and per statement)" in out
    assert '"kind": "SpanKind.CLIENT"' in out and '"db.system.name": "sqlite"' in out
    assert '"name": "GET /users/{user_id}"' in out and '"kind": "SpanKind.SERVER"' in out


# -- the instrumentor ---------------------------------------------------------------------------
def test_the_instrumentor_follows_the_contrib_pattern() -> None:
    first, second = InformixAioInstrumentor(), InformixAioInstrumentor()
    assert first is second  # a singleton, as every BaseInstrumentor
    assert list(first.instrumentation_dependencies()) == []
    found = [
        e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "informix_aio"
    ]
    assert [e.load() for e in found] == [InformixAioInstrumentor]
    with pytest.raises(TypeError, match="capture_parameters"):
        first.instrument(capture_parameters="yes")  # type: ignore[arg-type]
    assert not first.is_instrumented_by_opentelemetry


def test_opentelemetry_instrument_loads_the_instrumentor_with_no_code() -> None:
    script = Path(sys.executable).parent / "opentelemetry-instrument"
    code = (
        "from informix_aio.opentelemetry import InformixAioInstrumentor as I\n"
        "print('instrumented:', I().is_instrumented_by_opentelemetry)"
    )
    env = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "PATH": ""}
    out = subprocess.run(
        [str(script), sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "instrumented: True" in out


def test_without_the_extra_the_import_error_names_it() -> None:
    code = (
        "import sys; sys.modules['opentelemetry.instrumentation'] = None\n"
        "try:\n    import informix_aio.opentelemetry\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'informix-aio[opentelemetry]'" in out


def test_system_names_namespaces_and_error_types_follow_the_registry() -> None:
    informix = ConnectionInfo("informix", "Informix", "ol_prod", "db1", 9088, "stores", "app")
    assert base_attributes(informix) == {
        "db.system.name": "ibm.informix",
        "db.namespace": "ol_prod|stores",
        "server.address": "db1",
        "server.port": 9088,
    }
    assert system_name(ConnectionInfo("generic", "Microsoft SQL Server")) == "microsoft.sql_server"
    assert system_name(ConnectionInfo("mariadb", "MySQL")) == "mysql"
    assert system_name(ConnectionInfo("generic", "SomethingElse")) == "other_sql"
    assert error_type(IntegrityError("x")) == "informix_aio.IntegrityError"
    assert error_type(ValueError("x")) == "ValueError"


@pytest.mark.parametrize(
    ("sql", "dialect", "operation", "collection", "sanitized"),
    [
        ("SELECT id FROM orders WHERE id = ?", "informix", "SELECT", "orders", None),
        (
            "select * from informix.orders o where o.id = 5",
            "informix",
            "select",
            "informix.orders",
            "select * from informix.orders o where o.id = ?",
        ),
        ("SELECT a FROM t1, t2", "sqlite", "SELECT", None, None),
        ("SELECT a FROM t1 JOIN t2 ON t1.id = t2.id", "postgresql", "SELECT", None, None),
        ("SELECT a FROM t WHERE id IN (SELECT id FROM u)", "sqlite", "SELECT", None, None),
        ("INSERT INTO orders (a) SELECT a FROM staging", "sqlite", "INSERT", None, None),
        (
            "UPDATE stock SET qty = qty - 1 WHERE id = 3",
            "mariadb",
            "UPDATE",
            "stock",
            "UPDATE stock SET qty = qty - ? WHERE id = ?",
        ),
        (
            'DELETE FROM t WHERE note = "secret"',
            "informix",
            "DELETE",
            "t",
            "DELETE FROM t WHERE note = ?",
        ),
        ("SELECT 1; DROP TABLE users", "sqlite", None, None, "SELECT ?; DROP TABLE users"),
        (
            "/* it's */ SELECT 'a;b' FROM t",
            "postgresql",
            "SELECT",
            "t",
            "/* it's */ SELECT ? FROM t",
        ),
        ("SELECT $$x'y$$, E'a\\'b', $1", "postgresql", "SELECT", None, "SELECT ?, ?, $1"),
        ("SELECT 'a\\'b' FROM t", "mariadb", "SELECT", "t", "SELECT ? FROM t"),
    ],
)
def test_sql_is_read_only_where_it_is_plain(
    sql: str, dialect: str, operation: str | None, collection: str | None, sanitized: str | None
) -> None:
    parsed = parse_sql(sql, dialect)
    assert (parsed.operation, parsed.collection) == (operation, collection)
    assert parsed.sanitized == (sql if sanitized is None else sanitized)
