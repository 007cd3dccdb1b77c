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
with :data:`DBPool`), or declare ``Depends(get_connection, scope="request")`` itself; and as
Starlette leaves a body generator suspended when its client goes away, close it (``aclose()``)
once the response ends, so that its ``async with`` blocks exit at once rather than whenever the
garbage collector gets to it (``examples/routers/export.py`` shows both).
On older FastAPI the dependencies fall back to FastAPI's own default.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Protocol, cast

import anyio
import sniffio
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
def get_pool(request: HTTPConnection) -> Pool:
    """The application's pool (a dependency for HTTP and WebSocket routes).

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
    :class:`CancelOnDisconnectMiddleware`) still returns it: a statement still running is
    cancelled and the pool reaps the connection before lending it again.
    """
    async with get_pool(request).connection() as pooled:
        yield pooled


async def get_transaction(request: HTTPConnection) -> AsyncIterator[PooledConnection]:
    """Borrow a connection inside ``transaction()``: commit when the route returns, roll back
    on any exception, ``HTTPException`` included, and on cancellation."""
    async with get_pool(request).connection() as pooled, pooled.transaction():
        yield pooled


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


#: A request still running after this many seconds gets its watcher task (on asyncio); one
#: that reads its body gets it at once. Fast requests never pay for a task.
WATCH_AFTER = 0.02
#: Python 3.11's Task.uncancel() tells our cancellation from anyone else's.
_NATIVE_CANCEL = sys.version_info >= (3, 11)


class _DisconnectWatch:
    """One request's watcher; the state below changes only on the event loop's thread."""

    __slots__ = (
        "_app_asked",
        "_app_cancelled",
        "_cancel_app",
        "_changed",
        "_disconnect",
        "_inbox",
        "_new_event",
        "_receive",
        "_response_done",
        "_scope",
        "_send",
        "_start_watching",
        "_stop_watching",
        "_trailers",
        "_watching",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope, self._receive, self._send = scope, receive, send
        self._inbox: deque[Message] = deque()  # read by the watcher, not yet taken by the app
        # Set (and dropped) whenever the state below changes; made only when someone waits.
        self._changed: _Event | None = None
        self._new_event: Callable[[], _Event] = anyio.Event
        self._watching = True  # until the response is complete (or the watcher gave up)
        self._disconnect: Message | None = None
        self._response_done = False
        self._trailers = False
        self._app_cancelled = False
        # Set by run() for its event loop; reset to _nothing after, which also breaks the
        # reference cycles they make (self -> closure or task -> frame -> self).
        self._cancel_app: Callable[[], object] = _nothing
        self._start_watching: Callable[[], object] = _nothing
        self._stop_watching: Callable[[], object] = _nothing
        self._app_asked: _Event | None = None
        for key, value in scope.get("headers", ()):
            if key == b"expect" and value.lower() == b"100-continue":
                self._app_asked = anyio.Event()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _state_change(self) -> None:
        if self._changed is None:
            self._changed = self._new_event()
        await self._changed.wait()

    def _forget(self) -> None:
        self._cancel_app = self._start_watching = self._stop_watching = _nothing

    async def run(self, app: ASGIApp) -> None:
        if sniffio.current_async_library() == "asyncio":
            await self._run_asyncio(app)
        else:
            await self._run_in_task_group(app)
        if self._app_cancelled:
            logger.debug(
                "client disconnected: cancelled %s %s",
                self._scope.get("method"),
                self._scope.get("path"),
            )

    async def _run_asyncio(self, app: ASGIApp) -> None:
        # The cheap path: a normal request pays for a timer and two wrapped callables, not for
        # a task or a cancel scope (benchmarks/middleware.py).
        loop = asyncio.get_running_loop()
        host = asyncio.current_task()
        assert host is not None
        self._new_event = asyncio.Event
        watcher: asyncio.Task[None] | None = None

        def start() -> None:
            nonlocal watcher
            if watcher is None and self._watching:
                timer.cancel()
                watcher = loop.create_task(self._watch())
                watcher.add_done_callback(_report_watcher_failure)
                self._stop_watching = watcher.cancel

        timer = loop.call_later(WATCH_AFTER, start)
        self._start_watching, self._stop_watching = start, timer.cancel
        try:
            if _NATIVE_CANCEL:
                # asyncio's own cancellation, as asyncio.timeout() does it: one CancelledError
                # at the route's current await; clean-up code after it runs normally.
                self._cancel_app = functools.partial(host.cancel, "client disconnected")
                try:
                    await app(self._scope, self.receive, self.send)
                except asyncio.CancelledError:
                    # Ours alone ends the request quietly; anyone else's goes on.
                    if not (self._app_cancelled and host.uncancel() == 0):
                        raise
                else:
                    if self._app_cancelled:  # the application swallowed it
                        host.uncancel()
            else:  # pragma: no cover - Python 3.10
                scope = anyio.CancelScope()
                self._cancel_app = scope.cancel
                with scope:
                    await app(self._scope, self.receive, self.send)
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.cancel()
            self._forget()

    async def _run_in_task_group(self, app: ASGIApp) -> None:
        error: Exception | None = None
        app_scope, watch_scope = anyio.CancelScope(), anyio.CancelScope()
        self._cancel_app, self._stop_watching = app_scope.cancel, watch_scope.cancel

        async def watch() -> None:
            with watch_scope:
                await self._watch()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                try:
                    with app_scope:
                        await app(self._scope, self.receive, self.send)
                except Exception as exc:  # raised below, outside the task group: not wrapped
                    error = exc
                finally:
                    watch_scope.cancel()
        finally:
            self._forget()
        if error is not None:
            raise error

    async def _watch(self) -> None:
        try:
            if self._app_asked is not None:
                await self._app_asked.wait()
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self._disconnect = message
                    if not self._response_done:
                        self._app_cancelled = True
                        self._cancel_app()
                    return
                self._inbox.append(message)
                self._wake()
                if message.get("more_body", False):
                    # Back-pressure: read the next chunk once the app took this one.
                    while self._inbox:
                        await self._state_change()
        finally:
            self._watching = False
            self._wake()

    async def receive(self) -> Message:
        """The application's ``receive``: from the watcher, which it starts if need be."""
        self._start_watching()
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
            await self._state_change()

    async def send(self, message: Message) -> None:
        """The application's ``send``: notes when the response is complete."""
        kind = message["type"]
        if kind == "http.response.start":
            self._trailers = bool(message.get("trailers", False))
        elif (
            (
                kind == "http.response.body"
                and not message.get("more_body", False)
                and not self._trailers
            )
            or (kind == "http.response.trailers" and not message.get("more_trailers", False))
            or kind == "http.response.pathsend"
        ):
            # From here on a disconnect is no reason to cancel (background tasks run next),
            # and the server's receive belongs to the application again.
            self._response_done = True
            self._watching = False
            self._stop_watching()
            self._wake()
        await self._send(message)


class _Event(Protocol):
    def set(self) -> None: ...

    async def wait(self) -> object: ...


def _nothing() -> None:
    pass


def _report_watcher_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the disconnect watcher failed", exc_info=task.exception())


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
        logger.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        detail = (
            "the service is shutting down"
            if isinstance(exc, PoolClosed)
            else "the database is busy; retry later"
        )
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)

    async def conflict(request: Request, exc: Exception) -> Response:
        logger.info("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return JSONResponse({"detail": "the request conflicts with existing data"}, status_code=409)

    async def internal(request: Request, exc: Exception) -> Response:
        logger.error("%s %s: database error", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal database error"}, status_code=500)

    for cls in (PoolTimeout, TooManyRequests, PoolClosed):
        app.add_exception_handler(cls, busy)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(Error, internal)
