"""Test bed: real ODBC drivers, a private PostgreSQL, and the backend contract fixtures.

Every test that takes ``backend`` runs once per available backend: SQLite (a temp file) and
PostgreSQL and MariaDB (private servers started here) always;
Informix when ``INFORMIX_AIO_TEST_INFORMIX`` holds an ODBC connection string or DSN. Async
tests run on asyncio, uvloop and trio through anyio's pytest plugin.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests._servers import MariaDBServer, PostgresServer, close_private_mariadb, private_mariadb

INFORMIX_ENV = "INFORMIX_AIO_TEST_INFORMIX"
BACKENDS = ("sqlite", "postgresql", "mariadb", "informix")


@dataclass
class Backend:
    """One database the contract runs against."""

    name: str
    options: dict[str, Any]
    pg: PostgresServer | None = None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def connect_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Options for ``informix_aio.connect`` / ``aio.connect`` / ``aio.create_pool``."""
        return {**self.options, **overrides}

    def table(self, stem: str = "t") -> str:
        """A table name unique to this test."""
        return f"{stem}_{self.tag}"

    @property
    def text_type(self) -> str:
        return {"mariadb": "VARCHAR(200)", "informix": "LVARCHAR(2000)"}.get(self.name, "TEXT")

    @property
    def blob_type(self) -> str:
        return {"postgresql": "BYTEA", "mariadb": "LONGBLOB", "informix": "BYTE"}.get(
            self.name, "BLOB"
        )

    @property
    def timestamp_type(self) -> str:
        return {
            "mariadb": "DATETIME(6)",
            "informix": "DATETIME YEAR TO FRACTION(5)",
        }.get(self.name, "TIMESTAMP")

    def sleep_sql(self, seconds: float) -> str:
        """A statement that runs for ``seconds`` on the server (server-side cancel tests)."""
        if self.name == "postgresql":
            return f"SELECT pg_sleep({seconds})"
        if self.name == "mariadb":
            return f"SELECT SLEEP({seconds})"
        raise NotImplementedError(self.name)

    def activity(self) -> list[tuple[int, str, str]]:
        """PostgreSQL: this test's backends (pid, state, query), found by application_name."""
        assert self.pg is not None
        return self.pg.activity(application_name=self.tag)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the whole session."""
    server = PostgresServer.start(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """A private MariaDB server for the whole session (shared with ``mariadb_options()``)."""
    try:
        server = private_mariadb()
    except RuntimeError as exc:
        pytest.fail(f"the private MariaDB server did not start: {exc}")
    try:
        yield server
    finally:
        close_private_mariadb()


def pg_backend(server: PostgresServer) -> Backend:
    """A PostgreSQL backend whose connections carry a per-test application_name."""
    b = Backend("postgresql", {}, pg=server)
    b.options = {**server.odbc_options(), "pqopt": f"application_name={b.tag}"}
    return b


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each available backend in turn."""
    name: str = request.param
    if name == "sqlite":
        return Backend("sqlite", {"driver": "SQLite3", "database": str(tmp_path / "test.db")})
    if name == "postgresql":
        return pg_backend(request.getfixturevalue("pg_server"))
    if name == "mariadb":
        server: MariaDBServer = request.getfixturevalue("mariadb_server")
        return Backend("mariadb", server.odbc_options())
    target = os.environ.get(INFORMIX_ENV)
    if not target:
        pytest.skip(f"Informix backend not configured: set {INFORMIX_ENV} to a DSN or string")
    key = "connection_string" if "=" in target else "dsn"
    return Backend("informix", {key: target, "dialect": "informix"})


@pytest.fixture
def pg(pg_server: PostgresServer) -> Backend:
    """The PostgreSQL backend alone (server-side cancellation, killed backends)."""
    return pg_backend(pg_server)


@pytest.fixture
def sqlite(tmp_path: Path) -> Backend:
    """The SQLite backend alone."""
    return Backend("sqlite", {"driver": "SQLite3", "database": str(tmp_path / "test.db")})


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Async tests run on asyncio, uvloop and trio."""
    return request.param  # type: ignore[no-any-return]


def worker_threads() -> list[threading.Thread]:
    """Live informix-aio threads (workers and cancel helpers)."""
    return [t for t in threading.enumerate() if t.name.startswith("informix-aio")]


def thread_baseline(timeout: float = 2.0) -> int:
    """The informix-aio thread count once threads of earlier tests have finished exiting."""
    end = time.monotonic() + timeout
    count = len(worker_threads())
    while time.monotonic() < end:
        time.sleep(0.02)
        now = len(worker_threads())
        if now == count:
            return count
        count = now
    return count


def wait_for_threads(baseline: int, timeout: float = 5.0) -> int:
    """Wait until there are no more informix-aio threads than ``baseline``; return the count."""
    end = time.monotonic() + timeout
    while len(worker_threads()) > baseline and time.monotonic() < end:
        time.sleep(0.01)
    return len(worker_threads())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the pool soak (make soak)")
    parser.addoption("--soak-seconds", type=float, default=180.0, help="soak duration")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The soak is collected only with ``--soak`` (``make soak``): it runs for minutes."""
    if collection_path.name == "test_pool_soak.py" and not config.getoption("--soak"):
        return True
    return None


_per_backend: Counter[str] = Counter()
_backend_of: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Remember which backend each contract test runs on (its ``backend`` parameter)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            _backend_of[item.nodeid] = callspec.params["backend"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid in _backend_of:
        _per_backend[_backend_of[report.nodeid]] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _per_backend:
        counts = ", ".join(f"{name}: {_per_backend[name]}" for name in BACKENDS)
        terminalreporter.write_line(f"contract tests passed per backend: {counts}")
