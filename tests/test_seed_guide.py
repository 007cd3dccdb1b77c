"""The FastAPI guide of the pure-Python Informix driver runs on informix-aio unchanged but for its
import line and its connection target, over real HTTP, on PostgreSQL and SQLite.

:data:`GUIDE_APP` is the guide's app as users bring it. The test changes two things in its text,
the two a user changes: the ``aio`` import and ``<connection target>``; then it imports the
result as a module and serves it with uvicorn. The guide never closes its cursors and writes in
``async with conn.transaction()``; the pool must take both in its stride.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import informix_aio
from tests._http import ThreadedServer
from tests._servers import PostgresServer

GUIDE_IMPORT = "from informix_driver import aio"
GUIDE_TARGET = "<connection target>"

GUIDE_APP = """\
from contextlib import asynccontextmanager
from fastapi import FastAPI, Depends, HTTPException
from pydantic import BaseModel
from informix_driver import aio


@asynccontextmanager
async def lifespan(app):
    app.state.pool = await aio.create_pool(<connection target>, min_size=2, max_size=20)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


async def get_conn():
    async with app.state.pool.connection() as conn:
        yield conn


class UserIn(BaseModel):
    name: str
    email: str


@app.get("/users/{user_id}")
async def get_user(user_id: int, conn=Depends(get_conn)):
    cur = await conn.cursor()
    await cur.execute("SELECT id, name, email FROM users WHERE id = ?", (user_id,))
    row = await cur.fetchone()
    if row is None:
        raise HTTPException(404)
    return {"id": row[0], "name": row[1], "email": row[2]}


@app.post("/users", status_code=201)
async def create_user(user: UserIn):
    async with app.state.pool.connection() as conn:
        async with conn.transaction():
            cur = await conn.cursor()
            await cur.execute(
                "INSERT INTO users (name, email) VALUES (?, ?)", (user.name, user.email)
            )
    return {"name": user.name, "email": user.email}
"""

USERS_DDL = {
    "sqlite": "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL)",
    "postgresql": "CREATE TABLE users (id SERIAL PRIMARY KEY, "
    "name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL)",
}


def user_app_source(target: dict[str, Any]) -> str:
    """The guide's app with the two lines a user changes: the import and the target."""
    assert GUIDE_APP.count(GUIDE_IMPORT) == 1 and GUIDE_APP.count(GUIDE_TARGET) == 1
    keywords = ", ".join(f"{key}={value!r}" for key, value in target.items())
    return GUIDE_APP.replace(GUIDE_IMPORT, "from informix_aio import aio").replace(
        GUIDE_TARGET, keywords
    )


def import_app(source: str, directory: Path) -> ModuleType:
    """Import ``source`` as a module of its own (as ``uvicorn main:app`` would)."""
    name = f"seed_guide_app_{uuid.uuid4().hex[:8]}"
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Connection options of a database with the guide's ``users`` table and one user."""
    if request.param == "sqlite":
        options: dict[str, Any] = {"driver": "SQLite3", "database": str(tmp_path / "guide.db")}
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        database = f"guide_{uuid.uuid4().hex[:8]}"
        server.create_database(database)
        options = dict(server.odbc_options(database))
    with informix_aio.connect(**options) as conn:
        cur = conn.cursor()
        cur.execute(USERS_DDL[request.param])
        cur.execute("INSERT INTO users (name, email) VALUES (?, ?)", ("Ada", "ada@example.com"))
    return options


def users_named(options: dict[str, Any], name: str) -> list[tuple[Any, ...]]:
    """Read back from a connection of its own (committed rows only)."""
    with informix_aio.connect(**options) as conn:
        cur = conn.cursor()
        cur.execute("SELECT id, name, email FROM users WHERE name = ? ORDER BY id", (name,))
        return [tuple(row) for row in cur.fetchall()]


def test_seed_guide_app_serves_get_and_post_unchanged(
    target: dict[str, Any], tmp_path: Path
) -> None:
    module = import_app(user_app_source(target), tmp_path)

    with ThreadedServer(module.app) as server, httpx.Client(base_url=server.url) as client:
        found = client.get("/users/1")
        assert found.status_code == 200, found.text
        assert found.json() == {"id": 1, "name": "Ada", "email": "ada@example.com"}

        missing = client.get("/users/999")
        assert missing.status_code == 404

        created = client.post("/users", json={"name": "Grace", "email": "grace@example.com"})
        assert created.status_code == 201, created.text
        # Committed by the transaction block: another connection sees it, and so does the app.
        ((new_id, name, email),) = users_named(target, "Grace")
        assert (name, email) == ("Grace", "grace@example.com")
        assert client.get(f"/users/{new_id}").json() == {
            "id": new_id,
            "name": "Grace",
            "email": "grace@example.com",
        }


def test_seed_guide_cursors_left_open_do_not_leak_connections(
    target: dict[str, Any], tmp_path: Path
) -> None:
    # The guide never closes a cursor: every request leaves one open on a pooled connection.
    # Twice max_size requests at once, then more in a row: all are answered, and the pool
    # neither runs dry nor throws connections away.
    module = import_app(user_app_source(target), tmp_path)

    with ThreadedServer(module.app) as server, httpx.Client(base_url=server.url) as client:

        def get(user_id: int) -> int:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                return own.get(f"/users/{user_id}").status_code

        with ThreadPoolExecutor(max_workers=40) as workers:
            codes = list(workers.map(get, [1, 999] * 20))
        assert codes == [200, 404] * 20
        for n in range(10):
            posted = client.post("/users", json={"name": f"U{n}", "email": f"u{n}@example.com"})
            assert posted.status_code == 201, posted.text
        assert [client.get("/users/1").status_code for _ in range(30)] == [200] * 30

        # The guide's dependency releases after the response is sent: let the last one land.
        pool = module.app.state.pool
        deadline = time.monotonic() + 5
        while (pool.stats().in_use or pool.stats().reaping) and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = pool.stats()
        assert stats.in_use == 0 and stats.reaping == 0
        assert stats.size <= 20
        assert stats.broken_on_return == 0
        assert stats.connections_closed == 0
        assert stats.requests >= 80
    assert len(users_named(target, "U9")) == 1
