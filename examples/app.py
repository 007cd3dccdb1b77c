"""The example service: ``python -m examples.app`` (``make run``), then open ``/docs``.

Where the data lives is one environment variable, ``INFORMIX_AIO_EXAMPLE_DSN``:

- unset or empty: an embedded SQLite database, ``examples/data/example.db``, through the
  ``SQLite3`` ODBC driver; created and seeded on first start. No server needed.
- an ODBC connection string (it contains ``=``), e.g. Informix::

      DRIVER={IBM INFORMIX ODBC DRIVER};SERVER=informix;HOST=dbhost;SERVICE=9088;
      PROTOCOL=onsoctcp;DATABASE=stores;UID=informix;PWD=secret

  or PostgreSQL::

      DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=example;UID=me;PWD=secret

- anything else: the name of a DSN in ``odbc.ini``.

The tables are created and seeded when they do not exist yet (:mod:`examples.schema`).
``HOST`` and ``PORT`` choose where uvicorn listens (default ``127.0.0.1:8000``).
``INFORMIX_AIO_EXAMPLE_TRACE=console`` prints an OpenTelemetry span per statement (and per
request) on the console, when the ``opentelemetry`` extra and ``opentelemetry-sdk`` are
installed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from informix_aio import build_options
from informix_aio.aio import PooledConnection
from informix_aio.fastapi import (
    CancelOnDisconnectMiddleware,
    health_router,
    install_error_handlers,
    open_pool,
)

from . import schema
from .routers import dashboard, export, orders, orm_items, slow, users

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "ENV_DSN",
    "ENV_TRACE",
    "create_app",
    "describe",
    "main",
    "pool_options",
]

ENV_DSN = "INFORMIX_AIO_EXAMPLE_DSN"
ENV_TRACE = "INFORMIX_AIO_EXAMPLE_TRACE"
DEFAULT_SQLITE_PATH = Path(__file__).resolve().parent / "data" / "example.db"

#: ``lock_timeout``: a statement waits at most 5 s for a lock held by another connection
#: (SQLite: the driver's Timeout keyword and busy_timeout; PostgreSQL: SET lock_timeout).
#: On SQLite that is what makes concurrent orders queue: ``transaction()`` begins with
#: ``BEGIN IMMEDIATE`` there, so a second writer waits for the first one's commit (up to the
#: busy timeout) instead of failing with "database is locked".
_POOL_SETTINGS: dict[str, Any] = {
    "min_size": 2,
    "max_size": 10,
    "acquire_timeout": 10.0,
    "lock_timeout": 5.0,
}


def _connection_target(target: str) -> dict[str, Any]:
    if not target:
        return {"driver": "SQLite3", "database": str(DEFAULT_SQLITE_PATH)}
    if "=" in target:
        return {"connection_string": target}
    return {"dsn": target}


async def _setup_connection(conn: PooledConnection) -> None:
    """Run once on every new pooled connection."""
    if conn.dialect.name == "sqlite":
        await conn.execute("PRAGMA foreign_keys = ON")  # off by default, per connection


def pool_options(target: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Pool options for ``target`` (default: ``$INFORMIX_AIO_EXAMPLE_DSN``, else SQLite).

    :param target: an ODBC connection string, a DSN name, or ``""`` for the SQLite default.
    :param overrides: pool settings to change (``max_size=...``).
    """
    if target is None:
        target = os.environ.get(ENV_DSN, "")
    return {
        **_connection_target(target.strip()),
        **_POOL_SETTINGS,
        "setup": _setup_connection,
        **overrides,
    }


def _connection_string(options: Mapping[str, Any]) -> str:
    keys = ("dsn", "connection_string", "driver", "database", "lock_timeout")
    return build_options(**{k: v for k, v in options.items() if k in keys}).connection_string


def describe(options: Mapping[str, Any]) -> str:
    """Where ``options`` connect, fit to print: the connection string with no password."""
    keys = ("dsn", "connection_string", "driver", "database", "lock_timeout")
    return build_options(**{k: v for k, v in options.items() if k in keys}).redacted


def create_app(options: Mapping[str, Any] | None = None) -> FastAPI:
    """The application; ``options`` are pool options (default :func:`pool_options`)."""
    pool_opts = dict(options) if options is not None else pool_options()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The application's own lifespan, with the pool helper composed into it.
        if pool_opts.get("database") == str(DEFAULT_SQLITE_PATH):
            DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        async with open_pool(app, **pool_opts) as pool:
            created = await schema.ensure_schema(pool)
            async with pool.connection() as conn:
                dialect, dbms = conn.dialect.name, conn.raw_connection.dbms_name
            app.state.backend = dialect
            # The ORM routes (/orm/products) reach the same database through SQLAlchemy.
            app.state.orm = orm_items.make_sessions(_connection_string(pool_opts), dialect)
            print(
                f"backend: {dialect} ({dbms}), tables "
                f"{'created and seeded' if created else 'already there'}",
                flush=True,
            )
            try:
                yield
            finally:
                if app.state.orm is not None:
                    await app.state.orm[0].dispose()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files of the
    # fastapi-offline package, not from a CDN, so they work without internet access.
    app = FastAPIOffline(
        title="informix-aio example",
        summary="A FastAPI service over an informix-aio connection pool.",
        lifespan=lifespan,
    )
    app.add_middleware(CancelOnDisconnectMiddleware)
    install_error_handlers(app)
    for module in (users, orders, export, dashboard, slow, orm_items):
        app.include_router(module.router)
    # /health and /health/live: liveness; /health/ready: the pool serves a query within 1 s.
    app.include_router(health_router())
    return app


def _traced(app: Any) -> tuple[Any, str]:
    """With ``$INFORMIX_AIO_EXAMPLE_TRACE=console``: spans printed on the console (a span per
    statement; per request too when opentelemetry-instrumentation-asgi is there). Returns the
    app to serve and a line saying what happened."""
    if os.environ.get(ENV_TRACE, "").strip().lower() != "console":
        return app, f"traces: off (set {ENV_TRACE}=console to print a span per statement)"
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

        from informix_aio.opentelemetry import InformixAioInstrumentor
    except ImportError:
        return app, (
            f"traces: off ({ENV_TRACE}=console needs "
            "pip install 'informix-aio[opentelemetry]' opentelemetry-sdk)"
        )
    provider = TracerProvider()
    # Simple, not batched: each span is printed as it ends (a demo, not a production setup).
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    InformixAioInstrumentor().instrument(tracer_provider=provider)
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError:
        return app, "traces: printed on the console (a span per statement)"
    return OpenTelemetryMiddleware(app, tracer_provider=provider), (
        "traces: printed on the console (a span per request and per statement)"
    )


def main() -> None:
    """Serve the example with uvicorn on ``$HOST:$PORT`` (default ``127.0.0.1:8000``)."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    options = pool_options()
    url = f"http://{host}:{port}"
    print(f"informix-aio example service on {url} (API docs: {url}/docs)", flush=True)
    print(
        f"database: {describe(options)}"
        f"{'' if os.environ.get(ENV_DSN) else f'  (set {ENV_DSN} to use another)'}",
        flush=True,
    )
    app, traces = _traced(create_app(options))
    print(traces, flush=True)
    uvicorn.run(app, host=host, port=port)


if __name__ == "__main__":
    main()
