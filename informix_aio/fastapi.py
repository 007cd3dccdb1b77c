"""FastAPI integration: the pool's lifespan, request dependencies, cancel-on-disconnect, errors.

Install with the ``fastapi`` extra (``pip install 'informix-aio[fastapi]'``)::

    from fastapi import FastAPI, HTTPException
    from informix_aio.fastapi import (CancelOnDisconnectMiddleware, Connection, Transaction,
                                      install_error_handlers, pool_lifespan)

    app = FastAPI(lifespan=pool_lifespan(dsn="stores", min_size=2, max_size=20))
    app.add_middleware(CancelOnDisconnectMiddleware)   # a client that hangs up cancels its SQL
    install_error_handlers(app)                        # PoolTimeout -> 503, IntegrityError -> 409

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, conn: Connection) -> dict[str, object]:
        row = await conn.fetchrow("SELECT id, name FROM users WHERE id = ?", (user_id,))
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "name": row[1]}

The dependencies find the pool on ``request.app.state`` (attribute :data:`POOL_STATE_ATTR`),
so routes in any ``APIRouter`` module use them without importing the app.

When dependency clean-up runs (FastAPI >= 0.121 lets a dependency choose): :data:`Connection`
and :data:`Transaction` use ``scope="function"``, so the connection goes back to the pool and
the transaction commits *before* the response is sent. A failed commit therefore becomes an
error response instead of a 200 the client already has, and a background task that borrows a
connection of its own never waits for the request's. A ``StreamingResponse`` that reads from
the database must therefore borrow its connection inside its generator (``pool.connection()``
with :data:`DBPool`), or declare ``Depends(get_connection, scope="request")`` itself.
On older FastAPI the dependencies fall back to FastAPI's own default.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.params import Depends as DependsParam
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .aio import Pool, PooledConnection, create_pool
from .errors import Error, IntegrityError, PoolClosed, PoolTimeout, TooManyRequests

__all__ = [
    "POOL_STATE_ATTR",
    "CancelOnDisconnectMiddleware",
    "Connection",
    "DBPool",
    "Transaction",
    "get_connection",
    "get_pool",
    "get_transaction",
    "install_error_handlers",
    "open_pool",
    "pool_lifespan",
]

logger = logging.getLogger(__name__)

#: The attribute of ``app.state`` that holds the pool.
POOL_STATE_ATTR = "informix_aio_pool"

AppLifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


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
    await pool.open()
    setattr(app.state, POOL_STATE_ATTR, pool)
    try:
        yield pool
    finally:
        setattr(app.state, POOL_STATE_ATTR, None)
        # Shut-down may itself be cancelled (a second Ctrl-C): still close every connection.
        with anyio.CancelScope(shield=True):
            await pool.close()


def pool_lifespan(
    *, lifespan: AppLifespan | None = None, **options: Any
) -> Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any] | None]]:
    """A FastAPI ``lifespan=`` that opens a pool at start-up and closes it at shutdown.

    ``FastAPI(lifespan=pool_lifespan(dsn="stores", max_size=20))``; to keep a lifespan of the
    application's own, pass it as ``lifespan=``: it runs inside, with the pool already open,
    and whatever state it yields is passed on.

    :param lifespan: the application's own lifespan, entered after the pool opened.
    :param options: :class:`~informix_aio.aio.Pool` options.
    """

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any] | None]:
        async with open_pool(app, **options):
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as state:
                    yield state

    return _lifespan


# -- dependencies ---------------------------------------------------------------------------------
def get_pool(conn: HTTPConnection) -> Pool:
    """The application's pool (a dependency for HTTP and WebSocket routes).

    :raises RuntimeError: no pool is open: the app lacks :func:`pool_lifespan` / :func:`open_pool`.
    """
    pool = getattr(conn.app.state, POOL_STATE_ATTR, None)
    if not isinstance(pool, Pool):
        raise RuntimeError(
            f"no informix-aio pool on app.state.{POOL_STATE_ATTR}: create the app with "
            "FastAPI(lifespan=pool_lifespan(...)) or enter open_pool(app, ...) in its lifespan"
        )
    return pool


async def get_connection(conn: HTTPConnection) -> AsyncIterator[PooledConnection]:
    """Borrow a pooled connection for the request; it goes back on exit, whatever happened.

    An exception (``HTTPException`` included) or a cancellation (the client went away, with
    :class:`CancelOnDisconnectMiddleware`) still returns it: a statement still running is
    cancelled and the pool reaps the connection before lending it again.
    """
    async with get_pool(conn).connection() as pooled:
        yield pooled


async def get_transaction(conn: HTTPConnection) -> AsyncIterator[PooledConnection]:
    """Borrow a connection inside ``transaction()``: commit when the route returns, roll back
    on any exception, ``HTTPException`` included, and on cancellation."""
    async with get_pool(conn).connection() as pooled, pooled.transaction():
        yield pooled


def _function_scoped(dependency: Callable[..., Any]) -> DependsParam:
    """``Depends(dependency, scope="function")`` where FastAPI has scopes (>= 0.121)."""
    try:
        return Depends(dependency, scope="function")  # type: ignore[call-arg,unused-ignore]
    except TypeError:  # pragma: no cover - FastAPI < 0.121
        return Depends(dependency)


#: ``pool: DBPool``: the application's :class:`~informix_aio.aio.Pool`.
DBPool = Annotated[Pool, Depends(get_pool)]
#: ``conn: Connection``: a pooled connection, returned to the pool when the route ends.
Connection = Annotated[PooledConnection, _function_scoped(get_connection)]
#: ``conn: Transaction``: a pooled connection in a transaction, committed when the route
#: returns (before the response is sent), rolled back on any exception.
Transaction = Annotated[PooledConnection, _function_scoped(get_transaction)]


# -- cancel on disconnect -------------------------------------------------------------------------
class CancelOnDisconnectMiddleware:
    """Cancel a request's work as soon as its client disconnects (pure ASGI; asyncio and trio).

    Stock Starlette/FastAPI let a route run to the end after its client hung up: nothing reads
    the receive channel while the route awaits its database call, so the server's
    ``http.disconnect`` goes unnoticed. This middleware runs the application in the request's
    own task, next to a watcher task that owns the server's ``receive``:

    - request body messages are forwarded to the application unchanged, one chunk at a time
      (the watcher reads the next chunk only once the application took the previous one, so
      uploads keep their back-pressure); with ``Expect: 100-continue`` the watcher waits for
      the application to ask for the body first, so that rejecting it still skips the upload;
    - once the body is complete the watcher waits for ``http.disconnect``; when it comes before
      the response is complete, the application is cancelled (its pending database call is
      cancelled through the async facade: SQLCancel, then the pool reaps the connection), and
      every later ``receive()`` of the application gets ``http.disconnect``;
    - when the last response message is sent, the watcher stops, so background tasks that run
      after the response are never cancelled; a ``receive()`` after that goes to the server.

    WebSocket and lifespan scopes pass straight through. A route that never reads a request
    body sent in several chunks is not watched beyond its first chunk (the server would not
    notice the disconnect either while the body is unread).
    """

    def __init__(self, app: ASGIApp) -> None:
        """:param app: the ASGI application to wrap."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one request (ASGI)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _DisconnectWatch(scope, receive, send).run(self.app)


class _DisconnectWatch:
    """One request's watcher; the state below changes only on the event loop's thread."""

    __slots__ = ("_app_asked", "_app_scope", "_changed", "_disconnect", "_inbox", "_receive",
                 "_response_done", "_scope", "_send", "_trailers", "_watch_scope", "_watching")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope, self._receive, self._send = scope, receive, send
        self._inbox: deque[Message] = deque()  # read by the watcher, not yet taken by the app
        self._changed = anyio.Event()  # set (and replaced) whenever the state below changes
        self._watching = True
        self._disconnect: Message | None = None
        self._response_done = False
        self._trailers = False
        self._app_scope = anyio.CancelScope()
        self._watch_scope = anyio.CancelScope()
        expects_continue = any(
            k == b"expect" and v.lower() == b"100-continue" for k, v in scope.get("headers", ())
        )
        self._app_asked: anyio.Event | None = anyio.Event() if expects_continue else None

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def run(self, app: ASGIApp) -> None:
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch)
            try:
                with self._app_scope:
                    await app(self._scope, self.receive, self.send)
            except Exception as exc:  # raised below, outside the task group, so not wrapped
                error = exc
            finally:
                self._watch_scope.cancel()
        if error is not None:
            raise error
        if self._app_scope.cancelled_caught:
            logger.debug("client disconnected: cancelled %s %s",
                         self._scope.get("method"), self._scope.get("path"))

    async def _watch(self) -> None:
        try:
            with self._watch_scope:
                if self._app_asked is not None:
                    await self._app_asked.wait()
                while True:
                    message = await self._receive()
                    if message["type"] == "http.disconnect":
                        self._disconnect = message
                        if not self._response_done:
                            self._app_scope.cancel()
                        return
                    self._inbox.append(message)
                    self._wake()
                    if message.get("more_body", False):
                        # Back-pressure: read the next chunk once the app took this one.
                        while self._inbox:
                            await self._changed.wait()
        finally:
            self._watching = False
            self._wake()

    async def receive(self) -> Message:
        """The application's ``receive``."""
        if self._app_asked is not None:
            self._app_asked.set()
        while True:
            if self._inbox:
                message = self._inbox.popleft()
                self._wake()
                return message
            if self._disconnect is not None:
                return self._disconnect
            if not self._watching:
                # The watcher has stopped: the server's receive is free to call directly.
                return await self._receive()
            await self._changed.wait()

    async def send(self, message: Message) -> None:
        """The application's ``send``: notes when the response is complete."""
        kind = message["type"]
        if kind == "http.response.start":
            self._trailers = bool(message.get("trailers", False))
        elif (
            (kind == "http.response.body" and not message.get("more_body", False)
             and not self._trailers)
            or (kind == "http.response.trailers" and not message.get("more_trailers", False))
            or kind == "http.response.pathsend"
        ):
            # From here on a disconnect is no reason to cancel (background tasks run next).
            self._response_done = True
            self._watch_scope.cancel()
        await self._send(message)


# -- error responses ------------------------------------------------------------------------------
def install_error_handlers(app: Starlette, *, retry_after: int = 1) -> None:
    """Map database errors that escape a route to HTTP responses that leak no SQL or secrets.

    - :class:`~informix_aio.errors.PoolTimeout`, :class:`~informix_aio.errors.TooManyRequests`
      and :class:`~informix_aio.errors.PoolClosed`: 503 with ``Retry-After``;
    - :class:`~informix_aio.errors.IntegrityError`: 409;
    - any other :class:`~informix_aio.errors.Error`: 500.

    The body is ``{"detail": "..."}`` like FastAPI's own errors; the full error is logged.

    :param app: the application.
    :param retry_after: seconds for the ``Retry-After`` header of 503 responses.
    :raises ValueError: ``retry_after`` is negative.
    """
    if retry_after < 0:
        raise ValueError("retry_after must be >= 0")
    headers = {"Retry-After": str(retry_after)}

    async def busy(request: Request, exc: Exception) -> Response:
        logger.warning("%s %s: %s: %s", request.method, request.url.path,
                       type(exc).__name__, exc)
        detail = ("the service is shutting down" if isinstance(exc, PoolClosed)
                  else "the database is busy; retry later")
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)

    async def conflict(request: Request, exc: Exception) -> Response:
        logger.info("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return JSONResponse({"detail": "the request conflicts with existing data"},
                            status_code=409)

    async def internal(request: Request, exc: Exception) -> Response:
        logger.error("%s %s: database error", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal database error"}, status_code=500)

    for cls in (PoolTimeout, TooManyRequests, PoolClosed):
        app.add_exception_handler(cls, busy)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(Error, internal)
