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
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Protocol, TypeVar, cast, overload

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
    "WATCH_AFTER",
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

    On asyncio the watcher starts when the application first calls ``receive()`` or after
    :data:`WATCH_AFTER` seconds, whichever comes first, so that a quick request costs two
    dictionary operations rather than a task (about 2 us a request in all, measured by
    ``python -m benchmarks.middleware``); and the cancellation is asyncio's own (Python >= 3.11: one
    ``CancelledError`` at the route's current ``await``, told apart from any other with
    ``Task.uncancel()``, as ``asyncio.timeout()`` does). On trio (and on Python 3.10) it is an
    anyio cancel scope around the application.

    WebSocket and lifespan scopes pass straight through. A route that never reads a request
    body sent in several chunks is not watched beyond its first chunk (the server would not
    notice the disconnect either while the body is unread).
    """

    def __init__(self, app: ASGIApp) -> None:
        """:param app: the ASGI application to wrap."""
        self.app = app
        self._sweeper: _Sweeper | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one request (ASGI)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # trio
            host = None
        else:
            host = asyncio.current_task(loop)  # None for a trio guest task on an asyncio loop
        watch = _DisconnectWatch(scope, receive, send)
        if host is None:
            await watch.run_in_task_group(self.app)
            return
        sweeper = self._sweeper
        if sweeper is None or sweeper.loop is not loop:
            sweeper = self._sweeper = _Sweeper(loop)
        await watch.run_on_asyncio(self.app, host, sweeper)


#: On asyncio, a request gets its watcher task when it first calls ``receive()`` or once it
#: has run for this many seconds (at most twice that): a quick request never pays for a task.
WATCH_AFTER = 0.02
#: Python 3.11's Task.uncancel() tells our cancellation from anyone else's.
_NATIVE_CANCEL = sys.version_info >= (3, 11)


class _Sweeper:
    """Starts the watchers of an event loop's requests that run longer than WATCH_AFTER.

    One timer for all of them, running only while requests are pending: a request costs two
    dictionary operations, not a timer handle of its own.
    """

    __slots__ = ("_handle", "_pending", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: dict[_DisconnectWatch, float] = {}  # insertion order: oldest first
        self._handle: asyncio.TimerHandle | None = None

    def add(self, watch: _DisconnectWatch) -> None:
        self._pending[watch] = self.loop.time()
        if self._handle is None:
            self._handle = self.loop.call_later(WATCH_AFTER, self._sweep)

    def discard(self, watch: _DisconnectWatch) -> None:
        self._pending.pop(watch, None)

    def _sweep(self) -> None:
        due = self.loop.time() - WATCH_AFTER
        started = []
        for watch, since in self._pending.items():
            if since > due:
                break
            started.append(watch)
        for watch in started:
            del self._pending[watch]
            watch.start_watching()
        self._handle = self.loop.call_later(WATCH_AFTER, self._sweep) if self._pending else None


class _DisconnectWatch:
    """One request's watcher; the state below changes only on the event loop's thread."""

    __slots__ = (
        "_app_cancelled",
        "_app_scope",
        "_asked",
        "_changed",
        "_disconnect",
        "_host",
        "_inbox",
        "_new_event",
        "_receive",
        "_response_done",
        "_scope",
        "_send",
        "_trailers",
        "_watch_scope",
        "_watcher",
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
        self._response_done = self._trailers = self._app_cancelled = False
        # asyncio: the request's task and the watcher's; trio: the two cancel scopes. All are
        # dropped when the request ends, which also breaks the reference cycles they make.
        self._host: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._app_scope: anyio.CancelScope | None = None
        self._watch_scope: anyio.CancelScope | None = None
        self._asked = False  # the application called receive()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _state_change(self) -> None:
        if self._changed is None:
            self._changed = self._new_event()
        await self._changed.wait()

    def _debug_cancelled(self) -> None:
        logger.debug(
            "client disconnected: cancelled %s %s",
            self._scope.get("method"),
            self._scope.get("path"),
        )

    # -- asyncio ---------------------------------------------------------------------------
    async def run_on_asyncio(
        self, app: ASGIApp, host: asyncio.Task[Any], sweeper: _Sweeper
    ) -> None:
        """The cheap path: a normal request pays for two wrapped callables and two dictionary
        operations, not for a task or a cancel scope (benchmarks/middleware.py)."""
        self._host, self._new_event = host, asyncio.Event
        sweeper.add(self)
        try:
            if _NATIVE_CANCEL:
                # asyncio's own cancellation, as asyncio.timeout() does it: one CancelledError
                # at the route's current await; clean-up code after it runs normally.
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
                self._app_scope = anyio.CancelScope()
                with self._app_scope:
                    await app(self._scope, self.receive, self.send)
        finally:
            sweeper.discard(self)
            if self._watcher is not None:
                self._watcher.cancel()
            self._host = self._watcher = self._app_scope = None
        if self._app_cancelled:
            self._debug_cancelled()

    def start_watching(self) -> None:
        """asyncio: start the watcher task, unless it runs already or the response is done."""
        if self._watcher is None and self._watching and self._host is not None:
            self._watcher = self._host.get_loop().create_task(self._watch())
            self._watcher.add_done_callback(_report_watcher_failure)

    # -- trio (any anyio backend) ----------------------------------------------------------
    async def run_in_task_group(self, app: ASGIApp) -> None:
        """The watcher in a task group, the application in a cancel scope."""
        error: Exception | None = None
        self._app_scope, self._watch_scope = anyio.CancelScope(), anyio.CancelScope()

        async def watch() -> None:
            assert self._watch_scope is not None
            with self._watch_scope:
                await self._watch()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                try:
                    with self._app_scope:
                        await app(self._scope, self.receive, self.send)
                except Exception as exc:  # raised below, outside the task group: not wrapped
                    error = exc
                finally:
                    self._watch_scope.cancel()
        finally:
            self._app_scope = self._watch_scope = None
        if error is not None:
            raise error
        if self._app_cancelled:
            self._debug_cancelled()

    # -- both ------------------------------------------------------------------------------
    def _cancel_app(self) -> None:
        self._app_cancelled = True
        if self._app_scope is not None:
            self._app_scope.cancel()
        elif self._host is not None:
            self._host.cancel("client disconnected")

    def _stop_watching(self) -> None:
        self._watching = False
        if self._watcher is not None:
            self._watcher.cancel()
        if self._watch_scope is not None:
            self._watch_scope.cancel()
        self._wake()

    async def _watch(self) -> None:
        try:
            if not self._asked and _expects_continue(self._scope):
                # The client waits for "100 Continue", which the server sends when the
                # application first asks for the body: reading it before would force the
                # upload even if the application rejects the request unread.
                while not self._asked:
                    await self._state_change()
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self._disconnect = message
                    if not self._response_done:
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
        """The application's ``receive``: from the watcher, started now if need be."""
        if not self._asked:
            self._asked = True
            self._wake()
        if self._watcher is None:
            self.start_watching()
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

    def send(self, message: Message) -> Awaitable[None]:
        """The application's ``send``: notes when the response is complete, then hands the
        message on (a plain function returning the server's awaitable: no coroutine of its
        own on every message)."""
        kind = message["type"]
        if kind == "http.response.body":
            done = not message.get("more_body", False) and not self._trailers
        elif kind == "http.response.start":
            self._trailers = bool(message.get("trailers", False))
            done = False
        else:
            done = kind == "http.response.pathsend" or (
                kind == "http.response.trailers" and not message.get("more_trailers", False)
            )
        if done:
            # From here on a disconnect is no reason to cancel (background tasks run next),
            # and the server's receive belongs to the application again.
            self._response_done = True
            self._stop_watching()
        return self._send(message)


def _expects_continue(scope: Scope) -> bool:
    return any(
        key == b"expect" and value.lower() == b"100-continue"
        for key, value in scope.get("headers", ())
    )


class _Event(Protocol):
    def set(self) -> None: ...

    async def wait(self) -> object: ...


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
