"""What ``CancelOnDisconnectMiddleware`` costs a normal request: ``python -m benchmarks.middleware``.

Every figure alternates the app without and with the middleware, in rounds, and reports the
median of each. Two routes:

- ``/ping`` returns a small JSON object: the worst case for a fixed per-request cost;
- ``/query`` runs ``SELECT 1`` on a pooled connection (SQLite in memory, through its ODBC
  driver, :class:`~informix_aio.fastapi.Connection` dependency): a minimal database route.

Three ways to drive them:

- ``layer``: the middleware alone around a trivial ASGI app (no framework), many requests per
  round: its own cost per request to a tenth of a microsecond, beside an empty middleware
  (what any layer costs);

- ``asgi``: requests straight through the ASGI interface in this process (no sockets, no HTTP
  parsing), so nothing hides the middleware's own cost: requests/s, and the difference per
  request in microseconds;
- ``http``: uvicorn in a child process per app on a real socket, loaded by ``wrk`` when it is
  installed (it needs far less CPU than the server, so the server is what is measured), else
  by an ``httpx.AsyncClient``, with several requests in flight: requests/s as clients see it.
  Each round starts fresh server processes, in a rotating order: one server process can be
  steadily faster than another with the very same app (where the scheduler put its threads),
  so a server kept for every round would bias the comparison. A second server with the plain
  app runs beside them, as a control: how far two identical servers differ is the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from informix_aio.fastapi import (
    CancelOnDisconnectMiddleware,
    Connection,
    install_error_handlers,
    pool_lifespan,
)

__all__ = [
    "ROUTES",
    "EmptyMiddleware",
    "control_app",
    "empty_app",
    "main",
    "make_app",
    "plain_app",
    "watched_app",
]

ROUTES = ("/ping", "/query")


class EmptyMiddleware:
    """A pure ASGI middleware that does nothing: the cost of any middleware layer at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def make_app(*, middleware: bool, empty: bool = False) -> FastAPI:
    """The benchmark app, with or without the middleware (or with an empty one instead)."""
    app = FastAPI(
        lifespan=pool_lifespan(driver="SQLite3", database=":memory:", min_size=4, max_size=4)
    )
    if middleware:
        app.add_middleware(CancelOnDisconnectMiddleware)
    elif empty:
        app.add_middleware(EmptyMiddleware)
    install_error_handlers(app)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/query")
    async def query(conn: Connection) -> dict[str, int]:
        return {"value": int(await conn.fetchval("SELECT 1"))}

    return app


plain_app = make_app(middleware=False)
control_app = make_app(middleware=False)  # the same app, for a second server process
watched_app = make_app(middleware=True)
empty_app = make_app(middleware=False, empty=True)


def _scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "server": ("bench", 80),
        "client": ("bench", 1),
    }


async def _one_request(app: FastAPI, scope: Scope) -> None:
    """One request the way uvicorn serves it: the body, then ``http.disconnect`` only once
    the response is complete (or the client left)."""
    done = asyncio.Event()
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(dict(scope), receive, send)


async def _asgi_rate(app: FastAPI, path: str, requests: int) -> float:
    scope = {**_scope(path), "state": {}, "app": app}
    async with app.router.lifespan_context(app):
        start = time.perf_counter()
        for _ in range(requests):
            await _one_request(app, scope)
            # A server goes back to its event loop between requests (socket reads): whatever
            # a request left scheduled runs here, and is counted, as it would be in production.
            await asyncio.sleep(0)
        return requests / (time.perf_counter() - start)


async def _trivial_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def bench_layer(requests: int, rounds: int) -> tuple[float, float, float]:
    """The layer alone: median microseconds per request of a trivial ASGI app without
    middleware, with an empty one and with ours, measured alternately in one event loop."""
    scope = _scope("/ping")
    apps: tuple[ASGIApp, ...] = (
        _trivial_app,
        EmptyMiddleware(_trivial_app),
        CancelOnDisconnectMiddleware(_trivial_app),
    )

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    async def run() -> tuple[float, float, float]:
        times: tuple[list[float], ...] = ([], [], [])
        for _ in range(rounds + 1):  # the first round warms up
            for app, out in zip(apps, times, strict=True):
                start = time.perf_counter()
                for _ in range(requests):
                    await app(scope, receive, send)
                out.append((time.perf_counter() - start) / requests * 1e6)
        none, empty, ours = (statistics.median(t[1:]) for t in times)
        return none, empty, ours

    return asyncio.run(run())


def bench_asgi(path: str, requests: int, rounds: int) -> tuple[float, float, float, float]:
    """In-process ASGI: median requests/s (plain, with the middleware, with an empty one),
    the three measured in turn, the order rotated every round (so that no app always runs
    first or last), and the noise: how far apart the plain app's own rounds were, in
    microseconds per request."""
    apps = (plain_app, watched_app, empty_app)
    for app in apps:  # warm-up: imports, caches, the driver
        asyncio.run(_asgi_rate(app, path, requests))
    rates: tuple[list[float], ...] = ([], [], [])
    for r in range(rounds):
        for i in (r % 3, (r + 1) % 3, (r + 2) % 3):
            rates[i].append(asyncio.run(_asgi_rate(apps[i], path, requests)))
    plain, watched, empty = (statistics.median(r) for r in rates)
    noise = (1 / min(rates[0]) - 1 / max(rates[0])) * 1e6
    return plain, watched, empty, noise


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _httpx_rate(url: str, seconds: float, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        for _ in range(concurrency):  # open the connections first
            (await client.get(url)).raise_for_status()
        count = 0
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < end:
                (await client.get(url)).raise_for_status()
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start)


def _wrk_rate(wrk: str, url: str, seconds: float, concurrency: int) -> float:
    out = subprocess.run(
        [wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


class _Servers:
    """uvicorn serving the given apps of this module, each in a child process, started in the
    order given."""

    def __init__(self, targets: Sequence[str]) -> None:
        self.urls: dict[str, str] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        try:
            for target in targets:
                port = _free_port()
                self._procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "uvicorn", f"benchmarks.middleware:{target}",
                         "--port", str(port), "--log-level", "warning", "--no-access-log"],
                        cwd=root,
                    )
                )  # fmt: skip
                self.urls[target] = f"http://127.0.0.1:{port}"
            for url in self.urls.values():
                deadline = time.monotonic() + 20
                while True:
                    try:
                        httpx.get(f"{url}/ping").raise_for_status()
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for proc in self._procs:
            proc.terminate()
            proc.wait()


#: The HTTP comparison: the app without the middleware, with it, and the control (the app
#: without the middleware again, in its own server process).
HTTP_APPS = ("plain_app", "watched_app", "control_app")


def bench_http(
    seconds: float, rounds: int, concurrency: int, wrk: str | None
) -> dict[str, tuple[float, float, float]]:
    """uvicorn over a real socket, fresh server processes every round: median requests/s per
    route (plain, with the middleware, control)."""

    def measure(url: str, duration: float) -> float:
        if wrk is not None:
            return _wrk_rate(wrk, url, duration, concurrency)
        return asyncio.run(_httpx_rate(url, duration, concurrency))

    rates: dict[str, dict[str, list[float]]] = {p: {a: [] for a in HTTP_APPS} for p in ROUTES}
    for r in range(rounds):
        order = HTTP_APPS[r % 3 :] + HTTP_APPS[: r % 3]
        servers = _Servers(order)
        try:
            for path in ROUTES:
                for app in order:  # warm-up: the pool, the driver, the code paths
                    measure(servers.urls[app] + path, 1.0)
                for app in order:
                    rates[path][app].append(measure(servers.urls[app] + path, seconds))
        finally:
            servers.close()
        print(f"      round {r + 1}/{rounds} done", flush=True)
    return {
        path: (
            statistics.median(by_app["plain_app"]),
            statistics.median(by_app["watched_app"]),
            statistics.median(by_app["control_app"]),
        )
        for path, by_app in rates.items()
    }


def _report(
    plain: float, watched: float, empty: float | None = None, noise: float | None = None
) -> None:
    cost_us = (1 / watched - 1 / plain) * 1e6
    print(f"      without middleware {plain:9.0f} req/s")
    print(
        f"      with middleware    {watched:9.0f} req/s   "
        f"({(watched / plain - 1) * 100:+.1f}%, {cost_us:+.1f} us per request)"
    )
    if empty is not None:
        empty_us = (1 / empty - 1 / plain) * 1e6
        print(
            f"      an empty middleware{empty:9.0f} req/s   "
            f"({(empty / plain - 1) * 100:+.1f}%, {empty_us:+.1f} us per request: any layer's cost)"
        )
    if noise is not None:
        print(f"      noise: the app without middleware varied by {noise:.1f} us per request")


def main(argv: list[str] | None = None) -> None:
    """Print requests/s with and without the middleware."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="ASGI requests per round")
    parser.add_argument("--seconds", type=float, default=3.0, help="HTTP seconds per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP requests in flight")
    parser.add_argument("--only", choices=("layer", "asgi", "http"))
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="HTTP load generator (auto: wrk when installed)",
    )
    args = parser.parse_args(argv)
    wrk = None if args.client == "httpx" else shutil.which("wrk")
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed")

    print(f"CancelOnDisconnectMiddleware overhead: median of {args.rounds} alternating rounds")
    if args.only in (None, "layer"):
        n = args.requests * 10
        none, empty, ours = bench_layer(n, args.rounds)
        print(f"  the layer alone, around a trivial ASGI app, {n} requests per round:")
        print(f"      without middleware   {none:6.2f} us per request")
        print(f"      an empty middleware  {empty:6.2f} us per request")
        print(
            f"      with middleware      {ours:6.2f} us per request "
            f"({ours - empty:+.2f} us over the empty one)"
        )
    if args.only in (None, "asgi"):
        print(f"  in-process ASGI, {args.requests} sequential requests per round:")
        for path in ROUTES:
            print(f"    GET {path}")
            _report(*bench_asgi(path, args.requests, args.rounds))
    if args.only in (None, "http"):
        client = "wrk" if wrk is not None else "httpx.AsyncClient"
        print(
            f"  uvicorn + {client} over 127.0.0.1, {args.concurrency} in flight, "
            f"{args.seconds:g} s per round, fresh servers every round:",
            flush=True,
        )
        results = bench_http(args.seconds, args.rounds, args.concurrency, wrk)
        for path, (plain, watched, control) in results.items():
            print(f"    GET {path}")
            _report(plain, watched)
            print(
                f"      control: a second server without middleware {control:9.0f} req/s   "
                f"({(control / plain - 1) * 100:+.1f}%: the noise between two servers)"
            )


if __name__ == "__main__":
    main()
