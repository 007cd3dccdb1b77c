"""``CancelOnDisconnectMiddleware``: a client that hangs up cancels its request's work.

The middleware and the machinery behind it: one watcher per request (started lazily on
asyncio, see :data:`WATCH_AFTER`), and on asyncio one sweeper per event loop that starts the
watchers of requests that run long enough to need one.

When it cancels a request it logs one line (``WARNING``, logger ``informix_aio.fastapi``) with
the method, the route and what happened to the request's statement, as far as the
``Connection`` / ``Transaction`` dependencies tell it: cancelled in the driver (the pool reaps
the connection before lending it again), or none was running.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._logging import LOGGER_NAME
from .lifespan import BORROWED_SCOPE_KEY

__all__ = ["WATCH_AFTER", "CancelOnDisconnectMiddleware"]

logger = logging.getLogger(LOGGER_NAME)


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
        "_statement_outcome",
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
        self._statement_outcome = ""  # for the log line, decided when the client left

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _state_change(self) -> None:
        if self._changed is None:
            self._changed = self._new_event()
        await self._changed.wait()

    def _log_cancelled(self) -> None:
        route = self._scope.get("route")
        logger.warning(
            "client disconnected: cancelled %s %s (%s)",
            self._scope.get("method"),
            getattr(route, "path", None) or self._scope.get("path"),
            self._statement_outcome,
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
            self._log_cancelled()

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
            self._log_cancelled()

    # -- both ------------------------------------------------------------------------------
    def _cancel_app(self) -> None:
        self._app_cancelled = True
        self._statement_outcome = _statement_outcome(self._scope)
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


def _statement_outcome(scope: Scope) -> str:
    """What cancelling the request does to its statement, told at the moment of the cancel
    (from the connections the ``Connection`` / ``Transaction`` dependencies lent it)."""
    held = scope.get(BORROWED_SCOPE_KEY)
    if not held:
        return "no connection lent by the Connection/Transaction dependencies"
    if any(not pooled.released and not pooled.raw_connection.is_idle for pooled in held):
        return "statement cancelled in the driver; the pool reaps its connection"
    return "no statement was running; its connection goes back to the pool"


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
