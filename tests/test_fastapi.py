"""informix_aio.fastapi: lifespan, dependencies, CancelOnDisconnectMiddleware, error handlers.

The dependencies and error handlers run in process (httpx's ASGI transport) on asyncio,
uvloop and trio; the middleware also runs behind a real uvicorn on a real socket, where a
client can actually hang up. The example service has its own end-to-end tests
(``test_example_service.py``).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

import informix_aio
from informix_aio.aio import Pool
from informix_aio.errors import PoolClosed
from informix_aio.fastapi import (
    POOL_STATE_ATTR,
    CancelOnDisconnectMiddleware,
    Connection,
    DBPool,
    Transaction,
    install_error_handlers,
    open_pool,
    pool_lifespan,
)
from informix_aio.fastapi.error_handlers import DATA_ERROR_DETAIL
from tests._http import AsgiClient, Reply, ThreadedServer, served
from tests.conftest import Backend

# -- a test application, its routes in an APIRouter that never sees the app -------------------
router = APIRouter()
events: list[str] = []


class Item(BaseModel):
    name: str
    fail: str = ""


@router.get("/items/{item_id}")
async def read_item(item_id: int, conn: Connection) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT id, name FROM items WHERE id = ?", (item_id,))
    if row is None:
        raise HTTPException(status_code=404, detail="no such item")
    return {"id": row[0], "name": row[1]}


@router.post("/items", status_code=201)
async def add_item(item: Item, tx: Transaction) -> dict[str, Any]:
    await tx.execute("INSERT INTO items (name) VALUES (?)", (item.name,))
    if item.fail == "http":
        raise HTTPException(status_code=400, detail="refused after the insert")
    if item.fail == "error":
        raise RuntimeError("a bug after the insert")
    return {"name": item.name}


@router.get("/items-named")
async def item_named(name: str, conn: Connection) -> dict[str, Any]:
    return {"id": await conn.fetchval("SELECT id FROM items WHERE name = ?", (name,))}


@router.post("/numbers")
async def add_number(value: int, conn: Connection) -> None:
    await conn.execute("INSERT INTO numbers (n) VALUES (?)", (value,))


@router.get("/broken")
async def broken(conn: Connection) -> None:
    await conn.fetch("SELECT secret_column FROM table_with_a_telling_name")


@router.get("/state")
async def lifespan_state(request: Request, pool: DBPool) -> dict[str, Any]:
    return {"greeting": request.state.greeting, "pool_open": not pool.closed}


@router.get("/sleep")
async def sleep(seconds: float = 1.0) -> dict[str, bool]:
    try:
        await anyio.sleep(seconds)
    except BaseException:
        events.append("cancelled")
        raise
    events.append("finished")
    return {"slept": True}


@router.get("/hold")
async def hold_a_connection(conn: Connection, seconds: float = 5.0) -> None:
    await anyio.sleep(seconds)


@router.get("/db-sleep")
async def db_sleep(conn: Connection, seconds: float = 5.0) -> dict[str, bool]:
    await conn.fetchval("SELECT pg_sleep(?)", (seconds,))
    return {"slept": True}


@router.post("/items/slowly")
async def add_item_slowly(item: Item, tx: Transaction) -> None:
    await tx.execute("INSERT INTO items (name) VALUES (?)", (item.name,))
    await tx.fetchval("SELECT pg_sleep(30)")


@router.post("/upload")
async def upload(request: Request) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


@router.post("/json")
async def echo_json(item: Item) -> Item:
    return item


@router.get("/stream")
async def stream(chunks: int = 300) -> StreamingResponse:
    async def numbers() -> AsyncIterator[str]:
        for i in range(chunks):
            await anyio.lowlevel.checkpoint()
            yield f"{i}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


@router.get("/background")
async def with_background_task(tasks: BackgroundTasks) -> dict[str, bool]:
    async def later() -> None:
        await anyio.sleep(0.3)
        events.append("background done")

    tasks.add_task(later)
    return {"scheduled": True}


@router.websocket("/ws")
async def echo_ws(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        text = await ws.receive_text()
        if text == "bye":
            await ws.close()
            return
        await ws.send_text(text.upper())


def configure(app: FastAPI, *, middleware: bool = True) -> FastAPI:
    if middleware:
        app.add_middleware(CancelOnDisconnectMiddleware)
    install_error_handlers(app)
    app.include_router(router)
    return app


def make_app(
    options: Mapping[str, Any] | None, *, middleware: bool = True, lifespan: Any = None
) -> FastAPI:
    if lifespan is None and options is not None:
        return configure(FastAPI(lifespan=pool_lifespan(**options)), middleware=middleware)
    return configure(FastAPI(lifespan=lifespan), middleware=middleware)


def app_pool(app: FastAPI) -> Pool:
    pool = getattr(app.state, POOL_STATE_ATTR)
    assert isinstance(pool, Pool)
    return pool


@pytest.fixture
def sqlite_options(sqlite: Backend) -> dict[str, Any]:
    with informix_aio.connect(**sqlite.connect_kwargs(autocommit=True)) as conn:
        conn.execute_direct("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        conn.execute_direct("INSERT INTO items (name) VALUES ('first')")
    return sqlite.connect_kwargs(min_size=1, max_size=2, acquire_timeout=5.0)


def count_items(options: Mapping[str, Any], name: str) -> int:
    keep = {k: v for k, v in options.items() if k in ("driver", "database")}
    with informix_aio.connect(**keep) as conn:
        return int(conn.fetchval("SELECT COUNT(*) FROM items WHERE name = ?", (name,)))


# -- lifespan ------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_pool_lifespan_opens_pool_on_app_state_and_closes_it_at_shutdown(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        pool = app_pool(app)
        was_open = not pool.closed and pool.stats().size >= 1
        assert (await client.get("/items/1")).json() == {"id": 1, "name": "first"}
    assert was_open and pool.closed
    assert getattr(app.state, POOL_STATE_ATTR) is None


@pytest.mark.anyio
async def test_open_pool_composes_with_the_applications_own_lifespan(
    sqlite_options: dict[str, Any],
) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        async with open_pool(app, **sqlite_options) as pool:
            seen.append(f"start-up saw {await pool.fetchval('SELECT COUNT(*) FROM items')}")
            yield {"greeting": "hello"}
            seen.append("shutdown")

    app = make_app(None, lifespan=lifespan)
    async with served(app) as client:
        assert (await client.get("/state")).json() == {"greeting": "hello", "pool_open": True}
    assert seen == ["start-up saw 1", "shutdown"]


@pytest.mark.anyio
async def test_pool_lifespan_runs_the_applications_lifespan_inside_with_the_pool_open(
    sqlite_options: dict[str, Any],
) -> None:
    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        assert not app_pool(app).closed
        yield {"greeting": "from own lifespan"}

    app = configure(FastAPI(lifespan=pool_lifespan(lifespan=own, **sqlite_options)))
    async with served(app) as client:
        assert (await client.get("/state")).json()["greeting"] == "from own lifespan"


@pytest.mark.anyio
async def test_open_pool_refuses_a_pool_and_options_together_and_a_second_pool(
    sqlite_options: dict[str, Any],
) -> None:
    app = FastAPI()
    with pytest.raises(ValueError, match="not both"):
        async with open_pool(app, Pool(**sqlite_options), max_size=3):
            pass
    async with open_pool(app, **sqlite_options):
        with pytest.raises(RuntimeError, match="already holds"):
            async with open_pool(app, **sqlite_options):
                pass


@pytest.mark.anyio
async def test_a_pool_that_cannot_open_logs_the_cause_and_the_doctor_hint_and_reraises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options: dict[str, Any] = {"driver": "No Such ODBC Driver", "database": str(tmp_path / "x.db")}
    app = make_app(options)
    with pytest.raises(Exception) as raised:  # whatever the pool raised
        async with app.router.lifespan_context(app):
            pass
    with pytest.raises(Exception) as direct:
        await Pool(**options).open()
    assert type(raised.value) is type(direct.value)  # re-raised as the pool raised it
    (record,) = [r for r in caplog.records if r.name.startswith("informix_aio.fastapi")]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message.startswith("could not open the database pool: ")
    assert "Group" not in message.split(":")[1]  # the cause, not a task group's wrapper
    assert "No Such ODBC Driver" in message
    assert "run `informix-aio doctor`" in message
    assert getattr(app.state, POOL_STATE_ATTR, None) is None


@pytest.mark.anyio
async def test_dependency_without_a_pool_says_how_to_add_one() -> None:
    app = make_app(None)
    with pytest.raises(RuntimeError, match="pool_lifespan"):
        await AsgiClient(app).get("/items/1")


# -- dependencies --------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_connection_dependency_returns_the_connection_after_success_and_http_errors(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        assert (await client.get("/items/1")).status == 200
        assert (await client.get("/items/99")).status == 404
        stats = app_pool(app).stats()
        assert (stats.in_use, stats.requests, stats.broken_on_return) == (0, 2, 0)


@pytest.mark.anyio
async def test_transaction_dependency_commits_and_returns_the_connection_before_responding(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app(sqlite_options)
    at_start: dict[str, int] = {}

    async def observe() -> None:
        pool = app_pool(app)
        at_start["in_use"] = pool.stats().in_use
        at_start["rows"] = await pool.fetchval(
            "SELECT COUNT(*) FROM items WHERE name = ?", ("committed",)
        )

    async with served(app) as client:
        reply = await client.request("POST", "/items", {"name": "committed"}, observe)
    assert reply.status == 201
    assert at_start == {"in_use": 0, "rows": 1}


@pytest.mark.anyio
@pytest.mark.parametrize(("fail", "status"), [("http", 400), ("error", 500)])
async def test_transaction_dependency_rolls_back_on_http_exception_and_on_errors(
    sqlite_options: dict[str, Any], fail: str, status: int
) -> None:
    app = make_app(sqlite_options)
    async with served(app, raise_app_exceptions=False) as client:
        response = await client.post("/items", {"name": f"doomed-{fail}", "fail": fail})
        assert response.status == status
        stats = app_pool(app).stats()
        assert (stats.in_use, stats.broken_on_return) == (0, 0)
    assert count_items(sqlite_options, f"doomed-{fail}") == 0


# -- error handlers ------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_pool_timeout_becomes_503_with_retry_after(sqlite_options: dict[str, Any]) -> None:
    app = make_app({**sqlite_options, "max_size": 1, "acquire_timeout": 0.1})
    async with served(app) as client, app_pool(app).connection():
        response = await client.get("/items/1")
    assert response.status == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"detail": "the database is busy; retry later"}


@pytest.mark.anyio
async def test_too_many_waiting_requests_become_503_and_the_waiting_one_is_served(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app({**sqlite_options, "max_size": 1, "max_waiting": 1, "acquire_timeout": 5})
    async with served(app) as client:
        pool = app_pool(app)
        held = await pool.acquire()
        async with anyio.create_task_group() as tg:
            first: list[Reply] = []

            async def waiting_request() -> None:
                first.append(await client.get("/items/1"))

            tg.start_soon(waiting_request)
            while pool.stats().waiting == 0:
                await anyio.sleep(0.005)
            rejected = await client.get("/items/1")
            await pool.release(held)
    assert rejected.status == 503 and rejected.headers["retry-after"] == "1"
    assert first[0].status == 200


@pytest.mark.anyio
async def test_pool_closed_becomes_503(sqlite_options: dict[str, Any]) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        await app_pool(app).close()
        response = await client.get("/items/1")
    assert response.status == 503
    assert response.json() == {"detail": "the service is shutting down"}
    assert isinstance(PoolClosed("x"), informix_aio.errors.PoolError)


@pytest.mark.anyio
async def test_integrity_error_becomes_409_without_the_constraint_text(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        response = await client.post("/items", {"name": "first"})
    assert response.status == 409
    assert response.json() == {"detail": "the request conflicts with existing data"}
    assert "UNIQUE" not in response.text and "items" not in response.text


@pytest.mark.anyio
async def test_other_database_errors_become_500_without_sql_or_driver_text(
    sqlite_options: dict[str, Any],
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        response = await client.get("/broken")
    assert response.status == 500
    assert response.json() == {"detail": "internal database error"}
    for leak in ("table_with_a_telling_name", "secret_column", "SQLite", "HY000", "SELECT"):
        assert leak not in response.text


@pytest.mark.anyio
async def test_a_nul_in_a_value_is_the_clients_fault_422_without_driver_text(
    sqlite_options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        response = await client.get("/items-named?name=a%00b")
    assert response.status == 422
    assert response.json() == {"detail": DATA_ERROR_DETAIL}
    for leak in ("NUL", "parameter", "sqlite", "SELECT"):
        assert leak not in response.text
    (record,) = [r for r in caplog.records if r.name.startswith("informix_aio.fastapi")]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("GET /items-named -> 422: DataError: ")


def test_an_integer_out_of_range_for_its_column_on_postgresql_answers_422(
    pg: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    assert pg.pg is not None
    database = pg.table("numbers")
    pg.pg.create_database(database)
    pg.pg.admin_execute("CREATE TABLE numbers (n INTEGER)", database=database)
    app = make_app(pg.connect_kwargs(database=database, min_size=1, max_size=2))
    with ThreadedServer(app) as server:
        too_big = httpx.post(f"{server.url}/numbers", params={"value": 2**31}, timeout=5)
        fits = httpx.post(f"{server.url}/numbers", params={"value": 2**31 - 1}, timeout=5)
    assert (too_big.status_code, fits.status_code) == (422, 200)
    assert too_big.json() == {"detail": DATA_ERROR_DETAIL}
    assert "range" not in too_big.text and "22003" not in too_big.text
    assert pg.pg.admin_execute("SELECT n FROM numbers", database=database) == [(2**31 - 1,)]
    logged = [r.getMessage() for r in caplog.records if r.name == "informix_aio.fastapi"]
    assert any(m.startswith("POST /numbers -> 422: DataError") for m in logged), logged


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "status", "level"),
    [("/items/1", 503, logging.ERROR), ("/broken", 500, logging.ERROR)],
)
async def test_mapped_server_errors_are_logged_as_errors_with_method_and_route(
    sqlite_options: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    path: str,
    status: int,
    level: int,
) -> None:
    app = make_app({**sqlite_options, "max_size": 1, "acquire_timeout": 0.05})
    async with served(app) as client, app_pool(app).connection() as held:
        if status == 500:
            await app_pool(app).release(held)
        response = await client.get(path)
    assert response.status == status
    (record,) = [r for r in caplog.records if r.name.startswith("informix_aio.fastapi")]
    assert record.levelno == level
    route = "/items/{item_id}" if path == "/items/1" else path
    assert record.getMessage().startswith(f"GET {route} -> {status}: ")
    assert (record.exc_info is not None) == (status == 500)  # a traceback for the unexpected


@pytest.mark.anyio
async def test_a_conflict_is_logged_as_a_warning(
    sqlite_options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(sqlite_options)
    async with served(app) as client:
        assert (await client.post("/items", {"name": "first"})).status == 409
    (record,) = [r for r in caplog.records if r.name.startswith("informix_aio.fastapi")]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("POST /items -> 409: IntegrityError: ")


_LOGGING_PROBE = """
import logging, logging.config, sys
from uvicorn.config import LOGGING_CONFIG
import informix_aio.fastapi
if sys.argv[1] == "uvicorn":
    logging.config.dictConfig(LOGGING_CONFIG)
elif sys.argv[1] == "basicConfig":
    logging.config.dictConfig(LOGGING_CONFIG)
    logging.basicConfig(format="configured %(levelname)s %(name)s %(message)s")
log = logging.getLogger("informix_aio.fastapi.error_handlers")
log.error("GET /x -> 500: an error")
log.warning("GET /y -> 409: a warning")
log.info("an info line")
"""


@pytest.mark.parametrize("config", ["uvicorn", "basicConfig"])
def test_the_librarys_lines_show_once_under_uvicorns_default_logging_or_the_apps_own(
    config: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOGGING_PROBE, config],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    if config == "uvicorn":
        # uvicorn configures its own loggers only: the library's handler speaks, in its layout.
        expected = "ERROR:    GET /x -> 500: an error\nWARNING:  GET /y -> 409: a warning\n"
    else:
        # Once the application configures logging, the library's handler stays silent.
        expected = (
            "configured ERROR informix_aio.fastapi.error_handlers GET /x -> 500: an error\n"
            "configured WARNING informix_aio.fastapi.error_handlers GET /y -> 409: a warning\n"
        )
    assert (done.stdout, done.stderr) == ("", expected)


def test_install_error_handlers_refuses_a_negative_retry_after() -> None:
    with pytest.raises(ValueError, match="retry_after"):
        install_error_handlers(FastAPI(), retry_after=-1)


# -- CancelOnDisconnectMiddleware over real HTTP ---------------------------------------------------
@pytest.fixture
def served_over_http(sqlite_options: dict[str, Any]) -> Iterator[ThreadedServer]:
    events.clear()
    with ThreadedServer(make_app(sqlite_options)) as server:
        yield server


def hang_up_after(url: str, seconds: float, json: Any = None) -> None:
    """A client that gives up waiting and closes its connection."""
    with (
        httpx.Client(timeout=httpx.Timeout(5.0, read=seconds)) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.request("GET" if json is None else "POST", url, json=json)


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Poll until ``predicate()``; return the seconds it took (``timeout`` if never)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            break
        time.sleep(0.01)
    return time.monotonic() - start


def test_stock_fastapi_runs_a_route_to_the_end_after_its_client_left(
    sqlite_options: dict[str, Any],
) -> None:
    events.clear()
    with ThreadedServer(make_app(sqlite_options, middleware=False)) as server:
        hang_up_after(f"{server.url}/sleep?seconds=0.6", 0.1)
        wait_for(lambda: bool(events), 2.0)
    assert events == ["finished"]


def cancel_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("informix_aio.fastapi") and r.levelno == logging.WARNING
    ]


def test_middleware_cancels_the_route_when_its_client_disconnects(
    served_over_http: ThreadedServer, caplog: pytest.LogCaptureFixture
) -> None:
    hang_up_after(f"{served_over_http.url}/sleep?seconds=5", 0.2)
    assert wait_for(lambda: bool(events), 1.0) < 1.0
    assert events == ["cancelled"]
    wait_for(lambda: bool(cancel_lines(caplog)), 1.0)
    assert cancel_lines(caplog) == [
        "client disconnected: cancelled GET /sleep "
        "(no connection lent by the Connection/Transaction dependencies)"
    ]


def test_middleware_logs_that_no_statement_ran_when_the_route_held_an_idle_connection(
    served_over_http: ThreadedServer, caplog: pytest.LogCaptureFixture
) -> None:
    hang_up_after(f"{served_over_http.url}/hold?seconds=5", 0.2)
    wait_for(lambda: bool(cancel_lines(caplog)), 2.0)
    assert cancel_lines(caplog) == [
        "client disconnected: cancelled GET /hold "
        "(no statement was running; its connection goes back to the pool)"
    ]


def test_middleware_cancels_the_statement_on_the_server_and_the_connection_comes_back_clean(
    pg: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(pg.connect_kwargs(min_size=1, max_size=2))
    with ThreadedServer(app) as server:
        pool = app_pool(app)

        def sleeping() -> list[tuple[int, str, str]]:
            return [a for a in pg.activity() if a[1] == "active" and "pg_sleep" in a[2]]

        hang_up_after(f"{server.url}/db-sleep?seconds=30", 0.5)
        hung_up = time.monotonic()
        assert wait_for(lambda: not sleeping(), 1.0) < 1.0
        wait_for(lambda: pool.stats().reaping == 0 and pool.stats().in_use == 0, 2.0)
        assert time.monotonic() - hung_up < 2.0
        stats = pool.stats()
        assert (stats.in_use, stats.reaping, stats.broken_on_return) == (0, 0, 0)
        assert stats.reaped_after_cancel == 1
        assert httpx.get(f"{server.url}/db-sleep?seconds=0", timeout=5).json() == {"slept": True}
        assert all(state == "idle" for _, state, _ in pg.activity())
    assert cancel_lines(caplog) == [
        "client disconnected: cancelled GET /db-sleep "
        "(statement cancelled in the driver; the pool reaps its connection)"
    ]


def test_client_disconnect_mid_transaction_cancels_the_statement_and_rolls_back(
    pg: Backend,
) -> None:
    assert pg.pg is not None
    database = pg.table("fastapi")
    pg.pg.create_database(database)
    pg.pg.admin_execute(
        "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT UNIQUE)", database=database
    )
    app = make_app(pg.connect_kwargs(database=database, min_size=1, max_size=2))
    with ThreadedServer(app) as server:
        pool = app_pool(app)
        hang_up_after(f"{server.url}/items/slowly", 0.5, json={"name": "half-done"})
        assert wait_for(lambda: "pg_sleep" not in str(pg.activity()), 1.0) < 1.0
        wait_for(lambda: pool.stats().reaping == 0 and pool.stats().in_use == 0, 2.0)
        stats = pool.stats()
        assert (stats.in_use, stats.reaping, stats.broken_on_return) == (0, 0, 0)
        assert all(state == "idle" for _, state, _ in pg.activity())
    rows = pg.pg.admin_execute("SELECT COUNT(*) FROM items", database=database)
    assert rows == [(0,)]


def test_middleware_forwards_every_request_body_chunk(served_over_http: ThreadedServer) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB

    def body() -> Iterator[bytes]:
        for _ in range(80):
            yield chunk

    with httpx.Client(base_url=served_over_http.url, timeout=10) as client:
        uploaded = client.post("/upload", content=body()).json()
        echoed = client.post("/json", json={"name": "ü" * 1000, "fail": "no"}).json()
    assert uploaded == {"sha256": hashlib.sha256(chunk * 80).hexdigest(), "size": 80 * 65536}
    assert echoed == {"name": "ü" * 1000, "fail": "no"}


def test_middleware_keeps_streaming_responses_intact(served_over_http: ThreadedServer) -> None:
    response = httpx.get(f"{served_over_http.url}/stream?chunks=2000", timeout=10)
    assert response.text == "".join(f"{i}\n" for i in range(2000))


def test_middleware_never_cancels_background_tasks_after_the_response(
    served_over_http: ThreadedServer,
) -> None:
    with httpx.Client(base_url=served_over_http.url, timeout=5) as client:
        assert client.get("/background").json() == {"scheduled": True}
    # The client is gone; the task still has 0.3 s to sleep.
    wait_for(lambda: bool(events), 2.0)
    assert events == ["background done"]


@pytest.mark.anyio
async def test_middleware_passes_websockets_through() -> None:
    app = make_app(None)
    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "hello"},
        {"type": "websocket.receive", "text": "bye"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "server": ("app", 80),
        "client": ("test", 1),
        "subprotocols": [],
        "app": app,
    }
    with anyio.fail_after(2):
        await app(scope, receive, send)
    assert [(m["type"], m.get("text")) for m in sent] == [
        ("websocket.accept", None),
        ("websocket.send", "HELLO"),
        ("websocket.close", None),
    ]


# -- CancelOnDisconnectMiddleware at the ASGI level (asyncio, uvloop, trio) ------------------------
class FakeServer:
    """An ASGI server's side of one request: a body, then a disconnect when told to."""

    def __init__(self, body: list[bytes], headers: list[tuple[bytes, bytes]] | None = None):
        self.scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": headers or [],
        }
        self._messages: list[Message] = [
            {"type": "http.request", "body": b, "more_body": i < len(body) - 1}
            for i, b in enumerate(body)
        ]
        self.hang_up = anyio.Event()
        self.receive_calls = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.receive_calls += 1
        if self._messages:
            return self._messages.pop(0)
        if not self.response_complete:
            await self.hang_up.wait()
        return {"type": "http.disconnect"}

    @property
    def response_complete(self) -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body") for m in self.sent)

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if self.response_complete:
            self.hang_up.set()


async def respond(send: Send, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body, "more_body": False})


@pytest.mark.anyio
async def test_middleware_cancels_the_app_on_disconnect_on_every_event_loop() -> None:
    server, outcome = FakeServer([b""]), []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep(10)
        except anyio.get_cancelled_exc_class():
            outcome.append("cancelled")
            raise

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                CancelOnDisconnectMiddleware(app), server.scope, server.receive, server.send
            )
            await anyio.sleep(0.05)
            server.hang_up.set()
    assert outcome == ["cancelled"] and server.sent == []


@pytest.mark.anyio
async def test_middleware_hands_body_chunks_over_one_at_a_time_and_then_disconnect() -> None:
    server, got = FakeServer([b"a", b"b", b"c"]), []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            got.append(message.get("body", b""))
            # Back-pressure: the watcher has not read ahead of the application.
            assert server.receive_calls <= len(got) + 1
            if not message.get("more_body"):
                break
        await respond(send)
        # After the response, receive() is the server's again (no hang).
        got.append((await receive())["type"])

    with anyio.fail_after(2):
        await CancelOnDisconnectMiddleware(app)(server.scope, server.receive, server.send)
    assert got == [b"a", b"b", b"c", "http.disconnect"]


@pytest.mark.anyio
async def test_middleware_leaves_an_expect_100_continue_body_unread_until_the_app_asks() -> None:
    server = FakeServer([b"big upload"], headers=[(b"expect", b"100-continue")])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep(0.05)
        await respond(send, b"rejected without reading")

    with anyio.fail_after(2):
        await CancelOnDisconnectMiddleware(app)(server.scope, server.receive, server.send)
    assert server.receive_calls == 0


@pytest.mark.anyio
async def test_middleware_reraises_the_apps_exception_unwrapped() -> None:
    server = FakeServer([b""])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("from the app")

    with pytest.raises(LookupError, match="from the app"):
        await CancelOnDisconnectMiddleware(app)(server.scope, server.receive, server.send)


@pytest.mark.anyio
async def test_middleware_leaves_no_reference_cycles_behind() -> None:
    # A cycle per request would leave the garbage collector tens of objects to trace each time.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # reading the body starts the watcher at once
        await respond(send)

    async def requests(n: int) -> None:
        for _ in range(n):
            server = FakeServer([b""])
            await CancelOnDisconnectMiddleware(app)(server.scope, server.receive, server.send)
        await anyio.sleep(0.05)  # let cancelled watchers finish

    await requests(10)
    gc.collect()
    gc.disable()
    try:
        await requests(200)
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.anyio
async def test_middleware_passes_lifespan_scopes_straight_through() -> None:
    seen: list[tuple[str, Receive]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["type"], receive))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    await CancelOnDisconnectMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == [("lifespan", receive)]
