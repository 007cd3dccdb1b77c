"""The pool's lifespan and the request dependencies that borrow from it.

:func:`pool_lifespan` (or :func:`open_pool` inside an application's own lifespan) opens a pool
at start-up and puts it on ``app.state`` (attribute :data:`POOL_STATE_ATTR`); :data:`DBPool`,
:data:`Connection` and :data:`Transaction` find it there, so routes in any ``APIRouter`` module
use them without importing the app.

When dependency clean-up runs (FastAPI >= 0.121 lets a dependency choose): :data:`Connection`
and :data:`Transaction` use ``scope="function"``, so the connection goes back to the pool and
the transaction commits *before* the response is sent. A failed commit therefore becomes an
error response instead of a 200 the client already has, and a background task that borrows a
connection of its own never waits for the request's. On older FastAPI the dependencies fall
back to FastAPI's own default.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, TypeVar, cast, overload

import anyio
from fastapi import Depends, FastAPI
from fastapi.params import Depends as DependsParam
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from ..aio import Pool, PooledConnection, create_pool
from ._logging import LOGGER_NAME

__all__ = [
    "BORROWED_SCOPE_KEY",
    "POOL_STATE_ATTR",
    "Connection",
    "DBPool",
    "Transaction",
    "get_connection",
    "get_pool",
    "get_transaction",
    "open_pool",
    "pool_lifespan",
]

logger = logging.getLogger(LOGGER_NAME)

#: The attribute of ``app.state`` that holds the pool.
POOL_STATE_ATTR = "informix_aio_pool"
#: The key of the ASGI scope under which :func:`get_connection` and :func:`get_transaction`
#: list the connections a request holds (read by ``CancelOnDisconnectMiddleware`` to tell
#: what a client's disconnect did to the request's statement).
BORROWED_SCOPE_KEY = "informix_aio.borrowed"

AppLifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]
_State = TypeVar("_State")


# -- lifespan -------------------------------------------------------------------------------------
@asynccontextmanager
async def open_pool(
    app: Starlette, pool: Pool | None = None, **options: Any
) -> AsyncIterator[Pool]:
    """Open a pool, put it on ``app.state`` for the dependencies, close it on exit.

    For an application that has a lifespan of its own::

        @asynccontextmanager
        async def lifespan(app: FastAPI):
            async with open_pool(app, dsn="stores", max_size=20) as pool:
                ...  # the application's own start-up, which may use the pool
                yield

    A pool that cannot open logs one line (``ERROR``, logger ``informix_aio.fastapi``) with
    the cause and the hint to run ``informix-aio doctor``, and the error is raised unchanged.

    :param app: the application whose ``state`` receives the pool.
    :param pool: an unopened :class:`~informix_aio.aio.Pool`; or give pool ``options``.
    :param options: :class:`~informix_aio.aio.Pool` options (``min_size``, ``dsn``, ...).
    :raises ValueError: both ``pool`` and ``options`` were given.
    :raises RuntimeError: the application already has a pool open.
    :raises OperationalError: the pool's first connections could not be made.
    """
    if pool is None:
        pool = create_pool(**options)
    elif options:
        raise ValueError("give an unopened Pool or pool options, not both")
    if getattr(app.state, POOL_STATE_ATTR, None) is not None:
        raise RuntimeError(f"app.state.{POOL_STATE_ATTR} already holds an open pool")
    try:
        await pool.open()
    except Exception as exc:
        cause = _first_cause(exc)
        logger.error(
            "could not open the database pool: %s: %s (run `informix-aio doctor` to check "
            "the ODBC driver and the connection settings)",
            type(cause).__name__,
            cause,
        )
        raise
    setattr(app.state, POOL_STATE_ATTR, pool)
    try:
        yield pool
    finally:
        setattr(app.state, POOL_STATE_ATTR, None)
        # Shut-down may itself be cancelled (a second Ctrl-C): still close every connection.
        with anyio.CancelScope(shield=True):
            await pool.close()


def _first_cause(exc: BaseException) -> BaseException:
    """The first error inside an exception group (a task group's), else ``exc`` itself."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if not inner or not isinstance(inner[0], BaseException):
            return exc
        exc = inner[0]


@overload
def pool_lifespan(
    *, lifespan: None = None, **options: Any
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]: ...


@overload
def pool_lifespan(
    *, lifespan: Callable[[FastAPI], AbstractAsyncContextManager[_State]], **options: Any
) -> Callable[[FastAPI], AbstractAsyncContextManager[_State]]: ...


def pool_lifespan(
    *, lifespan: AppLifespan | None = None, **options: Any
) -> Callable[[FastAPI], AbstractAsyncContextManager[Any]]:
    """A FastAPI ``lifespan=`` that opens a pool at start-up and closes it at shutdown.

    ``FastAPI(lifespan=pool_lifespan(dsn="stores", max_size=20))``; to keep a lifespan of the
    application's own, pass it as ``lifespan=``: it runs inside, with the pool already open,
    and whatever state it yields is passed on.

    :param lifespan: the application's own lifespan, entered after the pool opened.
    :param options: :class:`~informix_aio.aio.Pool` options.
    """

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with open_pool(app, **options):
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as state:
                    yield state

    return _lifespan


# -- dependencies ---------------------------------------------------------------------------------
def get_pool(request: HTTPConnection) -> Pool:
    """The application's pool (a dependency for HTTP and WebSocket routes).

    :param request: the request or WebSocket (given by FastAPI).
    :raises RuntimeError: no pool is open: the app lacks :func:`pool_lifespan` / :func:`open_pool`.
    """
    pool = getattr(request.app.state, POOL_STATE_ATTR, None)
    if not isinstance(pool, Pool):
        raise RuntimeError(
            f"no informix-aio pool on app.state.{POOL_STATE_ATTR}: create the app with "
            "FastAPI(lifespan=pool_lifespan(...)) or enter open_pool(app, ...) in its lifespan"
        )
    return pool


async def get_connection(request: HTTPConnection) -> AsyncIterator[PooledConnection]:
    """Borrow a pooled connection for the request; it goes back on exit, whatever happened.

    An exception (``HTTPException`` included) or a cancellation (the client went away, with
    ``CancelOnDisconnectMiddleware``) still returns it: a statement still running is
    cancelled and the pool reaps the connection before lending it again.

    :param request: the request or WebSocket (given by FastAPI).
    :raises RuntimeError: no pool is open (see :func:`get_pool`).
    """
    async with get_pool(request).connection() as pooled:
        held = request.scope.setdefault(BORROWED_SCOPE_KEY, [])
        held.append(pooled)
        try:
            yield pooled
        finally:
            held.remove(pooled)


async def get_transaction(request: HTTPConnection) -> AsyncIterator[PooledConnection]:
    """Borrow a connection inside ``transaction()``: commit when the route returns, roll back
    on any exception, ``HTTPException`` included, and on cancellation.

    :param request: the request or WebSocket (given by FastAPI).
    :raises RuntimeError: no pool is open (see :func:`get_pool`).
    """
    async with get_pool(request).connection() as pooled, pooled.transaction():
        held = request.scope.setdefault(BORROWED_SCOPE_KEY, [])
        held.append(pooled)
        try:
            yield pooled
        finally:
            held.remove(pooled)


def _function_scoped(dependency: Callable[..., Any]) -> DependsParam:
    """``Depends(dependency, scope="function")`` where FastAPI has scopes (>= 0.121)."""
    marker: Any
    try:
        marker = Depends(dependency, scope="function")
    except TypeError:  # pragma: no cover - FastAPI < 0.121
        marker = Depends(dependency)
    return cast(DependsParam, marker)


#: ``pool: DBPool``: the application's :class:`~informix_aio.aio.Pool`.
DBPool = Annotated[Pool, Depends(get_pool)]
#: ``conn: Connection``: a pooled connection, returned to the pool when the route ends.
Connection = Annotated[PooledConnection, _function_scoped(get_connection)]
#: ``conn: Transaction``: a pooled connection in a transaction, committed when the route
#: returns (before the response is sent), rolled back on any exception.
Transaction = Annotated[PooledConnection, _function_scoped(get_transaction)]
