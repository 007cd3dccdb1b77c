"""The example service end to end: ``python -m examples.app`` (what ``make run`` starts) in a
child process on a free port, httpx over real HTTP, against SQLite and PostgreSQL.

Each backend gets one service for the module, on a database of its own: a new SQLite file,
or a new PostgreSQL database whose connections carry an ``application_name``, so that
``pg_stat_activity`` shows the service's statements. Tests that change data use rows of
their own and check the database directly.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import pytest

import informix_aio
from examples.app import DEFAULT_SQLITE_PATH, ENV_DSN, describe, pool_options
from informix_aio.fastapi.error_handlers import DATA_ERROR_DETAIL
from tests._http import ServiceProcess
from tests._servers import PostgresServer

BULK_USERS = 100_000
#: Peak RSS growth allowed while 100k rows (~25 MB of CSV) stream out. Reading the whole
#: result set first, as psqlODBC and the SQLite driver do by default, grows it by ~35 MiB.
STREAMING_RSS_BOUND = 24 * 2**20


@dataclass
class Service:
    """A running example service and a direct line to its database."""

    backend: str
    process: ServiceProcess
    dsn: str  #: for the test's own connections (PostgreSQL: without the service's name)
    pg: PostgresServer | None = None
    app_name: str = ""

    @property
    def url(self) -> str:
        return self.process.url

    def db(self) -> informix_aio.Connection:
        """A sync connection to the service's database (autocommit)."""
        return informix_aio.connect(connection_string=self.dsn, autocommit=True)

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.db() as conn:
            return conn.fetchval(sql, params)

    def running_statements(self, needle: str) -> list[tuple[int, str, str]]:
        """PostgreSQL: the service's active statements that contain ``needle``."""
        assert self.pg is not None
        return [
            a
            for a in self.pg.activity(application_name=self.app_name)
            if a[1] == "active" and needle in a[2]
        ]

    def health(self) -> dict[str, Any]:
        """``GET /health`` (liveness: the pool's statistics, no connection borrowed)."""
        reply = httpx.get(f"{self.url}/health", timeout=5)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def new_product(self, stock: int) -> int:
        name = f"p-{uuid.uuid4().hex[:8]}"
        with self.db() as conn:
            conn.execute_direct("INSERT INTO products (name, stock) VALUES (?, ?)", (name, stock))
            return int(conn.fetchval("SELECT id FROM products WHERE name = ?", (name,)))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    backend: str = request.param
    pg: PostgresServer | None = None
    app_name = ""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("example") / "example.db"
        dsn = f"DRIVER={{SQLite3}};Database={path};"
    else:
        pg = request.getfixturevalue("pg_server")
        name = f"example_{uuid.uuid4().hex[:8]}"
        app_name = name
        pg.create_database(name)
        dsn = pg.connection_string(name)
    service_dsn = (
        dsn
        if pg is None
        else pg.connection_string(app_name, pqopt=f"{{application_name={app_name}}}")
    )
    process = ServiceProcess({ENV_DSN: service_dsn})
    try:
        process.wait_ready()
        yield Service(backend, process, dsn, pg, app_name)
    finally:
        code = process.stop()
    assert code == 0, process.output
    assert "Traceback" not in process.output, process.output


# -- make run ---------------------------------------------------------------------------------------
def test_service_prints_its_url_and_backend_and_serves_the_api_docs(service: Service) -> None:
    out = service.process.output
    assert f"informix-aio example service on {service.url} (API docs: {service.url}/docs)" in out
    assert f"backend: {service.backend} (" in out
    assert "tables created and seeded" in out
    assert httpx.get(f"{service.url}/docs").status_code == 200
    paths = set(httpx.get(f"{service.url}/openapi.json").json()["paths"])
    assert paths >= {
        "/users/{user_id}",
        "/users",
        "/orders",
        "/export/users.csv",
        "/dashboard",
        "/health",
        "/health/live",
        "/health/ready",
        "/slow",
    }


def test_api_docs_pages_load_every_asset_from_the_service_itself(service: Service) -> None:
    for page in ("/docs", "/redoc"):
        reply = httpx.get(f"{service.url}{page}")
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
        # No absolute URL at all: nothing from a CDN, fonts included.
        assert re.findall(r"(?:https?:)?//[\w.-]+\.\w+", reply.text) == [], page
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", reply.text)
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            assert asset.startswith("/"), asset
            loaded = httpx.get(f"{service.url}{asset}")
            assert loaded.status_code == 200 and len(loaded.content) > 1000, asset


def test_default_backend_is_the_embedded_sqlite_file_and_one_variable_changes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_DSN, raising=False)
    default = pool_options()
    assert (default["driver"], default["database"]) == ("SQLite3", str(DEFAULT_SQLITE_PATH))
    assert Path("examples/data/example.db").resolve() == DEFAULT_SQLITE_PATH
    assert default["lock_timeout"] == 5.0
    monkeypatch.setenv(ENV_DSN, "stores_dsn")
    assert pool_options()["dsn"] == "stores_dsn"
    informix = "DRIVER={IBM INFORMIX ODBC DRIVER};SERVER=ifx;DATABASE=stores;UID=u;PWD=s3cret"
    monkeypatch.setenv(ENV_DSN, informix)
    options = pool_options()
    assert options["connection_string"] == informix and "dsn" not in options
    assert "s3cret" not in describe(options)


# -- the ORM router ---------------------------------------------------------------------------------
def test_orm_router_creates_lists_and_gets_products_on_the_embedded_default(
    service: Service,
) -> None:
    if service.backend != "sqlite":
        reply = httpx.get(f"{service.url}/orm/products")
        assert reply.status_code == 503  # no SQLAlchemy dialect over ODBC for this backend
        return
    made = httpx.post(f"{service.url}/orm/products", json={"name": "Lamp", "stock": 3})
    assert made.status_code == 201, made.text
    product = made.json()
    assert service.scalar("SELECT name FROM products WHERE id = ?", (product["id"],)) == "Lamp"
    got = httpx.get(f"{service.url}/orm/products/{product['id']}")
    assert got.json() == product
    listed = httpx.get(f"{service.url}/orm/products", params={"limit": 1000}).json()
    assert product in listed
    assert httpx.get(f"{service.url}/orm/products/987654321").status_code == 404


# -- users ----------------------------------------------------------------------------------------
def test_get_user_returns_the_seeded_user(service: Service) -> None:
    reply = httpx.get(f"{service.url}/users/1")
    assert reply.status_code == 200
    assert reply.json() == {"id": 1, "email": "user1@example.com", "name": "User 1"}


def test_get_missing_user_returns_404(service: Service) -> None:
    reply = httpx.get(f"{service.url}/users/987654321")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "no user 987654321"}


def test_create_user_returns_201_with_the_new_id_and_audits_it_in_the_background(
    service: Service,
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    reply = httpx.post(f"{service.url}/users", json={"email": email, "name": "New"})
    assert reply.status_code == 201
    user = reply.json()
    assert service.scalar("SELECT email FROM users WHERE id = ?", (user["id"],)) == email
    # Written by a background task after the response, on a connection of its own.
    event = f"user {user['id']} created"
    deadline = time.monotonic() + 3
    while not service.scalar("SELECT COUNT(*) FROM audit WHERE event = ?", (event,)):
        assert time.monotonic() < deadline, "no audit row"
        time.sleep(0.02)


def test_create_user_with_a_taken_email_returns_409_without_sql(service: Service) -> None:
    reply = httpx.post(f"{service.url}/users", json={"email": "user2@example.com", "name": "Copy"})
    assert reply.status_code == 409
    assert reply.json() == {"detail": "the request conflicts with existing data"}
    assert service.scalar("SELECT COUNT(*) FROM users WHERE email = ?", ("user2@example.com",)) == 1


def test_create_user_with_an_invalid_email_returns_422(service: Service) -> None:
    assert (
        httpx.post(f"{service.url}/users", json={"email": "nope", "name": "X"}).status_code == 422
    )


# -- orders ---------------------------------------------------------------------------------------
def test_order_inserts_the_order_and_takes_the_stock_in_one_transaction(
    service: Service,
) -> None:
    product = service.new_product(stock=10)
    reply = httpx.post(
        f"{service.url}/orders", json={"user_id": 1, "product_id": product, "qty": 3}
    )
    assert reply.status_code == 201, reply.text
    order = reply.json()
    assert order["stock_left"] == 7
    assert service.scalar("SELECT stock FROM products WHERE id = ?", (product,)) == 7
    assert service.scalar("SELECT qty FROM orders WHERE id = ?", (order["id"],)) == 3


def test_order_with_short_stock_returns_400_and_writes_nothing(service: Service) -> None:
    product = service.new_product(stock=2)
    orders_before = service.scalar("SELECT COUNT(*) FROM orders")
    reply = httpx.post(
        f"{service.url}/orders", json={"user_id": 1, "product_id": product, "qty": 5}
    )
    assert reply.status_code == 400
    assert reply.json() == {"detail": "not enough stock: 5 requested, 2 left"}
    # The order row was inserted before the shortage showed: the rollback removed it.
    assert service.scalar("SELECT COUNT(*) FROM orders") == orders_before
    assert service.scalar("SELECT COUNT(*) FROM orders WHERE product_id = ?", (product,)) == 0
    assert service.scalar("SELECT stock FROM products WHERE id = ?", (product,)) == 2
    stats = service.health()["pool"]
    assert stats["broken_on_return"] == 0


def test_order_for_a_missing_user_or_product_returns_404(service: Service) -> None:
    product = service.new_product(stock=5)
    missing_user = httpx.post(
        f"{service.url}/orders", json={"user_id": 987654321, "product_id": product, "qty": 1}
    )
    missing_product = httpx.post(
        f"{service.url}/orders", json={"user_id": 1, "product_id": 987654321, "qty": 1}
    )
    assert (missing_user.status_code, missing_product.status_code) == (404, 404)
    assert service.scalar("SELECT stock FROM products WHERE id = ?", (product,)) == 5


CONCURRENT_ORDERS = 50


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_concurrent_orders_never_oversell_and_answer_only_client_statuses(
    service: Service, anyio_backend: str
) -> None:
    # 50 orders of 1 at once for a product with 30 in stock: 30 placed, 20 refused for stock.
    # On SQLite the writers queue on BEGIN IMMEDIATE and the busy timeout.
    stock = 30
    product = service.new_product(stock=stock)
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=CONCURRENT_ORDERS)
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as client,
        anyio.create_task_group() as tg,
    ):

        async def order() -> None:
            reply = await client.post(
                "/orders", json={"user_id": 1, "product_id": product, "qty": 1}
            )
            statuses.append(reply.status_code)

        for _ in range(CONCURRENT_ORDERS):
            tg.start_soon(order)
    assert len(statuses) == CONCURRENT_ORDERS
    assert set(statuses) <= {201, 400, 404, 409}, sorted(statuses)
    placed = statuses.count(201)
    assert (placed, statuses.count(400)) == (stock, CONCURRENT_ORDERS - stock)
    left = service.scalar("SELECT stock FROM products WHERE id = ?", (product,))
    ordered = service.scalar("SELECT SUM(qty) FROM orders WHERE product_id = ?", (product,))
    assert (left, ordered) == (0, stock)


# -- errors at the HTTP edge and the log ----------------------------------------------------------
def test_a_user_id_beyond_the_columns_range_is_refused_with_422_or_missing(
    service: Service,
) -> None:
    reply = httpx.get(f"{service.url}/users/2147483648")
    if service.backend == "postgresql":
        # psqlODBC sends the value as text; PostgreSQL refuses it for an INTEGER column.
        assert reply.status_code == 422, reply.text
        assert "range" not in reply.text and "SELECT" not in reply.text
    else:
        assert reply.status_code == 404  # SQLite integers are 64-bit: no such user


def _driver_overflow_is_a_data_error() -> bool:
    """Whether the library turns an int beyond 64 bits into DataError (not OverflowError)."""
    with informix_aio.connect(driver="SQLite3", database=":memory:") as conn:
        try:
            conn.fetchval("SELECT ?", (2**63,))
        except informix_aio.DataError:
            return True
        except OverflowError:
            return False
    return True


def test_a_user_id_beyond_64_bits_is_refused_with_422_not_a_plain_500(service: Service) -> None:
    if not _driver_overflow_is_a_data_error():
        pytest.skip("the library still lets the driver's OverflowError escape")
    reply = httpx.get(f"{service.url}/users/9223372036854775808")
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"] == DATA_ERROR_DETAIL


def _wait_for_output(service: Service, text: str, timeout: float = 3.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in service.process.output:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return service.process.output


def test_the_service_log_shows_a_mapped_error_as_a_warning_with_its_route(
    service: Service,
) -> None:
    reply = httpx.post(f"{service.url}/users", json={"email": "user3@example.com", "name": "C"})
    assert reply.status_code == 409
    line = "WARNING:  POST /users -> 409: IntegrityError: "
    assert line in _wait_for_output(service, line)


def test_a_pool_that_cannot_open_at_start_up_says_why_and_how_to_diagnose(
    tmp_path: Path,
) -> None:
    process = ServiceProcess({ENV_DSN: f"DRIVER={{No Such ODBC Driver}};Database={tmp_path}/x"})
    try:
        process.proc.wait(timeout=30)
    finally:
        code = process.stop()
    assert code != 0
    (line,) = [
        line for line in process.lines if line.startswith("ERROR:    could not open the database")
    ]
    assert "No Such ODBC Driver" in line and "run `informix-aio doctor`" in line


# -- dashboard and health -------------------------------------------------------------------------
def test_dashboard_reports_what_the_database_holds(service: Service) -> None:
    reply = httpx.get(f"{service.url}/dashboard")
    assert reply.status_code == 200
    board = reply.json()
    assert board["users"] == service.scalar("SELECT COUNT(*) FROM users")
    assert board["orders"] == service.scalar("SELECT COUNT(*) FROM orders")
    low = {p["name"]: p["stock"] for p in board["low_stock"]}
    assert low["Gizmo"] == 5 and low["Doohickey"] == 0
    assert all(stock < 10 for stock in low.values())


def test_dashboard_borrows_a_connection_per_parallel_query(service: Service) -> None:
    before = service.health()["pool"]
    assert httpx.get(f"{service.url}/dashboard").status_code == 200
    after = service.health()["pool"]
    # Five acquisitions, one per query (liveness borrows none).
    assert after["requests"] - before["requests"] == 5


def test_liveness_answers_get_and_head_with_pool_stats_without_borrowing(
    service: Service,
) -> None:
    before = service.health()
    assert before["status"] == "ok"
    assert {"size", "idle", "in_use", "waiting", "requests", "reaped_after_cancel"} <= set(
        before["pool"]
    )
    for path in ("/health", "/health/live"):
        head = httpx.head(f"{service.url}{path}")
        assert (head.status_code, head.content) == (200, b"")
    assert service.health()["pool"]["requests"] == before["pool"]["requests"]


def test_readiness_pings_the_database_through_the_pool(service: Service) -> None:
    reply = httpx.get(f"{service.url}/health/ready", timeout=5)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["status"], body["backend"]) == ("ready", service.backend)
    assert body["ping_ms"] >= 0
    assert httpx.head(f"{service.url}/health/ready", timeout=5).status_code == 200


# -- slow and cancellation ------------------------------------------------------------------------
def test_slow_holds_the_database_for_about_the_requested_time(service: Service) -> None:
    reply = httpx.get(f"{service.url}/slow", params={"seconds": 0.3}, timeout=10)
    assert reply.status_code == 200
    assert reply.json()["backend"] == service.backend
    assert 0.1 < reply.json()["seconds"] < 2.0


def test_slow_refuses_nonsense_durations(service: Service) -> None:
    assert httpx.get(f"{service.url}/slow", params={"seconds": 0}).status_code == 422
    assert httpx.get(f"{service.url}/slow", params={"seconds": 3600}).status_code == 422


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_client_disconnect_during_slow_cancels_statement_on_server(
    service: Service, anyio_backend: str
) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as monitor:

        async def pool_stats() -> dict[str, int]:
            reply = await monitor.get("/health")
            stats: dict[str, int] = reply.json()["pool"]
            return stats

        async def statement_running() -> bool:
            if service.pg is not None:
                return bool(await anyio.to_thread.run_sync(service.running_statements, "pg_sleep"))
            # SQLite has no server to ask: a statement still running keeps its connection in
            # use, or being reaped once released, until it really stops.
            stats = await pool_stats()
            return stats["in_use"] + stats["reaping"] > 0

        before = await pool_stats()
        async with (
            httpx.AsyncClient(base_url=service.url, timeout=30) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(client.get, "/slow?seconds=20")
            with anyio.fail_after(5):
                while not await statement_running():
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()  # the client hangs up mid-request
        hung_up = time.monotonic()
        while await statement_running():
            assert time.monotonic() - hung_up < 1.0, "the statement outlived its client by 1 s"
            await anyio.sleep(0.02)
        after = await pool_stats()
        assert (after["in_use"], after["reaping"]) == (0, 0)
        assert after["reaped_after_cancel"] == before["reaped_after_cancel"] + 1
        assert after["broken_on_return"] == before["broken_on_return"]
        assert after["connections_lost"] == before["connections_lost"]
        if service.pg is not None:
            activity = await anyio.to_thread.run_sync(service.pg.activity, service.app_name)
            assert {state for _, state, _ in activity} <= {"idle"}  # none in a transaction
        assert (await monitor.get("/slow", params={"seconds": 0.05})).status_code == 200
        assert (await monitor.get("/users/1")).status_code == 200
    line = (
        "WARNING:  client disconnected: cancelled GET /slow "
        "(statement cancelled in the driver; the pool reaps its connection)"
    )
    assert line in _wait_for_output(service, line)


# -- export ---------------------------------------------------------------------------------------
def bulk_insert_users(service: Service, count: int) -> None:
    if service.backend == "postgresql":
        sql = (
            "INSERT INTO users (email, name) SELECT 'bulk' || g || '@example.com', "
            "repeat('x', 200) FROM generate_series(1, ?) AS g"
        )
    else:
        sql = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO users (email, name) SELECT 'bulk' || i || '@example.com', "
            "replace(hex(zeroblob(100)), '0', 'x') FROM n"
        )
    with service.db() as conn:
        conn.execute_direct(sql, (count,))


class PeakRSS:
    """Samples a process's resident set size every few milliseconds, in a thread."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.baseline = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return int(self.peak - self.baseline)


def test_csv_export_streams_100k_rows_in_bounded_memory(service: Service) -> None:
    warm = httpx.get(f"{service.url}/export/users.csv", timeout=30)
    assert warm.status_code == 200 and warm.headers["content-type"].startswith("text/csv")
    bulk_insert_users(service, BULK_USERS)
    total = service.scalar("SELECT COUNT(*) FROM users")
    rows, last_id, downloaded = 0, 0, 0
    with (
        PeakRSS(service.process.pid) as rss,
        httpx.stream("GET", f"{service.url}/export/users.csv", timeout=60) as reply,
    ):
        assert reply.status_code == 200
        lines = reply.iter_lines()
        assert next(lines) == "id,email,name"
        for line in lines:
            if not line:
                continue
            user_id = int(line.split(",", 1)[0])
            assert user_id > last_id  # in id order, none twice
            last_id, rows = user_id, rows + 1
        downloaded = reply.num_bytes_downloaded
    assert rows == total >= BULK_USERS
    assert downloaded > 20 * 2**20
    assert rss.growth < STREAMING_RSS_BOUND, f"RSS grew {rss.growth / 2**20:.1f} MiB"
    stats = service.health()["pool"]
    assert (stats["in_use"], stats["reaping"]) == (0, 0)


def test_csv_export_abandoned_by_its_client_returns_its_connection(service: Service) -> None:
    if service.scalar("SELECT COUNT(*) FROM users") < 10_000:
        bulk_insert_users(service, 20_000)
    before = service.health()["pool"]
    with httpx.stream("GET", f"{service.url}/export/users.csv", timeout=30) as reply:
        next(reply.iter_bytes())  # one chunk, then hang up
    deadline = time.monotonic() + 2
    while True:
        stats = service.health()["pool"]
        if stats["in_use"] == 0 and stats["reaping"] == 0:
            break
        assert time.monotonic() < deadline, stats
        time.sleep(0.02)
    assert stats["broken_on_return"] == before["broken_on_return"]
    if service.pg is not None:
        states = {state for _, state, _ in service.pg.activity(application_name=service.app_name)}
        assert "idle in transaction" not in states
    assert httpx.get(f"{service.url}/users/1").status_code == 200
