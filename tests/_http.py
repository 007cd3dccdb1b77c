"""Real HTTP servers for the FastAPI tests: uvicorn in a thread, or the example in a process.

- :class:`ThreadedServer`: ``uvicorn.Server`` on a free port, on an event loop in a thread
  of this process (fast to start; the app's objects are inspectable from the test).
- :class:`ServiceProcess`: ``python -m examples.app`` exactly as ``make run`` starts it, on a
  free port, with its output collected (its RSS is measurable with psutil).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx
import uvicorn
from starlette.types import ASGIApp

__all__ = ["REPO", "ServiceProcess", "ThreadedServer", "free_port"]

REPO = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


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
