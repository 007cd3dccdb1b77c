"""HTTP for the FastAPI tests: in process over ASGI, uvicorn in a thread, or the example in a
process.

- :class:`AsgiClient` and :func:`served`: requests straight through the ASGI interface, in the
  test's own task, on any event loop (the app's lifespan runs around them);
- :class:`ThreadedServer`: ``uvicorn.Server`` on a free port, on an event loop in a thread
  of this process (fast to start; the app's objects are inspectable from the test).
- :class:`ServiceProcess`: ``python -m examples.app`` exactly as ``make run`` starts it, on a
  free port, with its output collected (its RSS is measurable with psutil).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio
import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Scope

__all__ = [
    "REPO",
    "AsgiClient",
    "Reply",
    "ServiceProcess",
    "ThreadedServer",
    "free_port",
    "served",
]

REPO = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


class AsgiClient:
    """Requests straight through the ASGI interface, in this task (any event loop).

    httpx's ASGI transport leaves an async generator to the garbage collector, which trio
    reports as an error; this client has no such generator.
    """

    def __init__(self, app: ASGIApp, *, raise_app_exceptions: bool = True) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.state: dict[str, Any] = {}

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        on_response_start: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """Send one request; ``on_response_start`` runs when the response starts, before its
        first byte would reach a client."""
        payload = b"" if body is None else json.dumps(body).encode()
        pending: list[Message] = [{"type": "http.request", "body": payload, "more_body": False}]
        reply = Reply(0, {}, b"")

        async def receive() -> Message:
            if pending:
                return pending.pop()
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = {k.decode(): v.decode() for k, v in message["headers"]}
                if on_response_start is not None:
                    await on_response_start()
            elif message["type"] == "http.response.body":
                reply.body += message.get("body", b"")

        raw_path, _, query = path.partition("?")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"content-type", b"application/json")],
            "server": ("app", 80),
            "client": ("test", 1),
            "state": dict(self.state),
        }
        try:
            await self.app(scope, receive, send)
        except Exception:
            # Starlette sends its 500 and then re-raises, for the server to log.
            if self.raise_app_exceptions or reply.status != 500:
                raise
        return reply

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any) -> Reply:
        return await self.request("POST", path, body)


@asynccontextmanager
async def served(app: FastAPI, **options: bool) -> AsyncIterator[AsgiClient]:
    """Run the app's lifespan and talk to it in process."""
    async with app.router.lifespan_context(app) as state:
        client = AsgiClient(app, **options)
        client.state = dict(state or {})
        yield client


class ThreadedServer:
    """``with ThreadedServer(app) as server:`` serves ``app`` at ``server.url`` (uvicorn,
    asyncio, lifespan on), stopping it on exit."""

    def __init__(self, app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "on") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan=lifespan,
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="test-uvicorn", daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        end = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


class ServiceProcess:
    """The example service in a child process (``python -m examples.app``)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        full_env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "examples.app"],
            cwd=REPO,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name="service-output", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The server process id."""
        return self.proc.pid

    @property
    def output(self) -> str:
        """Everything the service printed so far."""
        return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until ``GET /health`` answers 200."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited early:\n{self.output}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the service did not become ready:\n{self.output}")

    def stop(self, timeout: float = 15.0) -> int:
        """Ctrl-C (graceful shutdown: the lifespan closes the pool); return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode
