"""informix_aio.fastapi.health: liveness apart from readiness, over real HTTP (uvicorn).

Liveness answers while the process serves, whatever the pool does; readiness answers 200 only
when a connection can be borrowed and pinged within its short deadline, and 503 otherwise,
without waiting out the pool's ``acquire_timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from informix_aio.aio import Pool
from informix_aio.fastapi import (
    POOL_STATE_ATTR,
    Connection,
    DBPool,
    Readiness,
    check_readiness,
    health_router,
    pool_lifespan,
)
from tests._http import ThreadedServer
from tests.conftest import Backend

READY_TIMEOUT = 0.3


def make_app(options: dict[str, Any]) -> FastAPI:
    app = FastAPI(lifespan=pool_lifespan(**options))
    app.include_router(health_router(ready_timeout=READY_TIMEOUT))

    @app.get("/hold")
    async def hold(conn: Connection, seconds: float) -> None:
        await anyio.sleep(seconds)

    @app.post("/close-pool")
    async def close_pool(pool: DBPool) -> None:
        await pool.close()

    return app


def app_pool(app: FastAPI) -> Pool:
    pool = getattr(app.state, POOL_STATE_ATTR)
    assert isinstance(pool, Pool)
    return pool


@pytest.fixture
def sqlite_options(sqlite: Backend) -> dict[str, Any]:
    # A long acquire timeout: readiness must not wait for it.
    return sqlite.connect_kwargs(min_size=1, max_size=1, acquire_timeout=10.0)


@pytest.fixture
def server(sqlite_options: dict[str, Any]) -> Iterator[tuple[ThreadedServer, FastAPI]]:
    app = make_app(sqlite_options)
    with ThreadedServer(app) as served:
        yield served, app


def test_liveness_answers_get_and_head_on_health_and_health_live_with_pool_stats(
    server: tuple[ThreadedServer, FastAPI],
) -> None:
    served, _ = server
    with httpx.Client(base_url=served.url, timeout=5) as client:
        for path in ("/health", "/health/live"):
            reply = client.get(path)
            assert reply.status_code == 200
            body = reply.json()
            assert body["status"] == "ok"
            assert {"size", "idle", "in_use", "waiting", "requests"} <= set(body["pool"])
            head = client.head(path)
            assert (head.status_code, head.content) == (200, b"")


def test_readiness_answers_200_with_the_backend_and_the_ping_time(
    server: tuple[ThreadedServer, FastAPI],
) -> None:
    served, _ = server
    with httpx.Client(base_url=served.url, timeout=5) as client:
        reply = client.get("/health/ready")
        head = client.head("/health/ready")
    assert reply.status_code == 200
    body = reply.json()
    assert (body["status"], body["backend"]) == ("ready", "sqlite")
    assert body["ping_ms"] >= 0 and body["pool"]["in_use"] == 0
    assert (head.status_code, head.content) == (200, b"")


def test_a_busy_pool_is_not_ready_within_the_short_deadline_but_stays_alive(
    server: tuple[ThreadedServer, FastAPI],
) -> None:
    served, app = server
    pool = app_pool(app)
    with (
        httpx.Client(base_url=served.url, timeout=5) as client,
        ThreadPoolExecutor(1) as background,
    ):
        # Every connection in use: a request holds the only one for a second.
        holder = background.submit(client.get, "/hold", params={"seconds": 1.0})
        while pool.stats().in_use == 0:
            time.sleep(0.01)
        start = time.monotonic()
        ready = client.get("/health/ready")
        took = time.monotonic() - start
        live = client.get("/health")
        assert holder.result().status_code == 200
        after = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["reason"] == "busy" and ready.json()["error"] == "PoolTimeout"
    assert took < READY_TIMEOUT + 0.5  # not the pool's 10 s acquire timeout
    assert live.status_code == 200 and live.json()["pool"]["in_use"] == 1
    assert after.status_code == 200


def test_a_closed_pool_is_not_ready_and_the_process_still_live(
    server: tuple[ThreadedServer, FastAPI],
) -> None:
    served, app = server
    pool = app_pool(app)
    with httpx.Client(base_url=served.url, timeout=5) as client:
        client.post("/close-pool")
        ready = client.get("/health/ready")
        live = client.get("/health/live")
    assert pool.closed
    assert ready.status_code == 503 and ready.json()["reason"] == "closed"
    assert live.status_code == 200


def test_liveness_never_borrows_a_connection(server: tuple[ThreadedServer, FastAPI]) -> None:
    served, app = server
    before = app_pool(app).stats().requests
    with httpx.Client(base_url=served.url, timeout=5) as client:
        for _ in range(5):
            assert client.get("/health").status_code == 200
    assert app_pool(app).stats().requests == before


def test_the_schema_lists_each_health_path_once_as_a_get(
    server: tuple[ThreadedServer, FastAPI],
) -> None:
    served, _ = server
    paths = httpx.get(f"{served.url}/openapi.json", timeout=5).json()["paths"]
    health = {path: set(ops) for path, ops in paths.items() if path.startswith("/health")}
    assert health == {"/health": {"get"}, "/health/live": {"get"}, "/health/ready": {"get"}}


@pytest.mark.anyio
async def test_check_readiness_reports_ok_then_closed_and_never_raises(
    sqlite_options: dict[str, Any],
) -> None:
    pool = Pool(**sqlite_options)
    await pool.open()
    try:
        ok = await check_readiness(pool, timeout=1.0)
    finally:
        await pool.close()
    closed = await check_readiness(pool, timeout=1.0)
    assert ok.ready and ok.reason == "ok" and ok.backend == "sqlite"
    assert ok.latency is not None and ok.latency >= 0
    assert closed == Readiness(False, "closed")


@pytest.mark.anyio
async def test_check_readiness_reports_an_unreachable_database_as_unavailable(
    pg: Backend,
) -> None:
    assert pg.pg is not None
    database = pg.table("ready")
    pg.pg.create_database(database)
    pool = Pool(**pg.connect_kwargs(database=database, min_size=1, max_size=2))
    await pool.open()
    try:
        # The server ends every session of the database: the idle connection is dead.
        pg.pg.admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?",
            (database,),
        )
        pg.pg.admin_execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        outcome = await check_readiness(pool, timeout=2.0)
    finally:
        await pool.close()
        pg.pg.admin_execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert not outcome.ready
    assert outcome.reason == "unavailable" and outcome.error is not None


def test_health_router_refuses_a_bad_deadline_or_prefix() -> None:
    with pytest.raises(ValueError, match="ready_timeout"):
        health_router(ready_timeout=0)
    with pytest.raises(ValueError, match="prefix"):
        health_router(prefix="health")
    with pytest.raises(ValueError, match="prefix"):
        health_router(prefix="/health/")
