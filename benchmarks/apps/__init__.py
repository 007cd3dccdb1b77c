"""The FastAPI apps of scenario 3, one module each, all serving ``GET /users/{id}``.

Run by ``uvicorn benchmarks.apps.<name>:app`` in a subprocess; the database options come from
the run's :class:`benchmarks.harness.Context` in the environment.

- :mod:`.ours_seed`    informix-aio in the seed guide's form: a ``get_conn`` generator
                       dependency, ``await conn.cursor()``, the cursor never closed
- :mod:`.ours`         informix-aio as ``informix_aio.fastapi`` documents it: ``pool_lifespan``
                       and a ``conn: Connection`` dependency
- :mod:`.ours_pool`    informix-aio's shortcut, ``await pool.fetchrow(...)`` in the route
- :mod:`.aioodbc_app`  aioodbc pool with a dedicated 10-thread executor
- :mod:`.sync_app`     a sync ``def`` route on a queue of 10 pyodbc connections (threadpool)
- :mod:`.constant`     no database at all: the ceiling of FastAPI + uvicorn here
"""

from __future__ import annotations

__all__ = ["APPS", "POOL_SIZE", "SQL", "user_json"]

from typing import Any

#: The one query of every route.
SQL = "SELECT id, name, email FROM users WHERE id = ?"
#: Connections per app (the pools' max_size, the sync app's queue).
POOL_SIZE = 10
#: Module names, in the order the scenario measures them.
APPS: tuple[str, ...] = ("ours_seed", "ours", "ours_pool", "aioodbc_app", "sync_app", "constant")


def user_json(row: Any) -> dict[str, Any]:
    """The response body of every app."""
    return {"id": row[0], "name": row[1], "email": row[2]}
