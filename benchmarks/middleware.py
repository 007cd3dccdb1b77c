"""What ``CancelOnDisconnectMiddleware`` costs a normal request: ``python -m benchmarks.middleware``.

Two measurements, each alternating the plain app and the app with the middleware, in rounds,
and reporting the median:

- ``asgi``: requests driven straight through the ASGI interface in this process (no sockets,
  no HTTP parsing), so the middleware's own cost is not hidden by the network: requests/s and
  the difference per request in microseconds;
- ``http``: uvicorn in a child process per app, on a real socket, loaded by ``wrk`` when it
  is installed (it needs far less CPU than the server, so the server is what is measured),
  else by an ``httpx.AsyncClient``, with several requests in flight: requests/s as a client
  sees them.

The route is trivial (``GET /ping`` returning a small JSON object), the worst case for a fixed
per-request cost.
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
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from starlette.types import Message, Scope

from informix_aio.fastapi import CancelOnDisconnectMiddleware

__all__ = ["main", "make_app", "plain_app", "watched_app"]


def make_app(*, middleware: bool) -> FastAPI:
    """A FastAPI app with one trivial route, with or without the middleware."""
    app = FastAPI()
    if middleware:
        app.add_middleware(CancelOnDisconnectMiddleware)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


plain_app = make_app(middleware=False)
watched_app = make_app(middleware=True)

_SCOPE: Scope = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/ping",
    "raw_path": b"/ping",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"bench")],
    "server": ("bench", 80),
    "client": ("bench", 1),
}


async def _one_request(app: FastAPI) -> None:
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

    await app(dict(_SCOPE), receive, send)


async def _asgi_rate(app: FastAPI, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        await _one_request(app)
        # A server goes back to its event loop between requests (socket reads): the tasks a
        # request left behind run here, and are counted, as they would be in production.
        await asyncio.sleep(0)
    return requests / (time.perf_counter() - start)


def _alternate(rounds: int, measure: Callable[[bool], float]) -> tuple[float, float]:
    """Median requests/s without and with the middleware, measured alternately."""
    plain: list[float] = []
    watched: list[float] = []
    for _ in range(rounds):
        plain.append(measure(False))
        watched.append(measure(True))
    return statistics.median(plain), statistics.median(watched)


def bench_asgi(requests: int, rounds: int) -> tuple[float, float]:
    """In-process ASGI: median requests/s (plain, with middleware)."""

    def measure(middleware: bool) -> float:
        return asyncio.run(_asgi_rate(watched_app if middleware else plain_app, requests))

    asyncio.run(_asgi_rate(plain_app, requests // 10))  # warm-up: imports, caches
    asyncio.run(_asgi_rate(watched_app, requests // 10))
    return _alternate(rounds, measure)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _http_rate(url: str, seconds: float, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        for _ in range(concurrency):  # open the connections first
            (await client.get("/ping")).raise_for_status()
        count = 0
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < end:
                (await client.get("/ping")).raise_for_status()
                count += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start)


def _wrk_rate(wrk: str, url: str, seconds: float, concurrency: int) -> float:
    out = subprocess.run(
        [wrk, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", f"{url}/ping"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))


def bench_http(
    seconds: float, rounds: int, concurrency: int, wrk: str | None
) -> tuple[float, float]:
    """uvicorn over a real socket: median requests/s (plain, with middleware)."""
    servers: dict[bool, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for middleware in (False, True):
            port = _free_port()
            target = "benchmarks.middleware:" + ("watched_app" if middleware else "plain_app")
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    target,
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            )
            servers[middleware] = (proc, f"http://127.0.0.1:{port}")
        for _, url in servers.values():
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(f"{url}/ping").raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

        def measure(middleware: bool) -> float:
            url = servers[middleware][1]
            if wrk is not None:
                return _wrk_rate(wrk, url, seconds, concurrency)
            return asyncio.run(_http_rate(url, seconds, concurrency))

        return _alternate(rounds, measure)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()


def main(argv: list[str] | None = None) -> None:
    """Print requests/s with and without the middleware."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="ASGI requests per round")
    parser.add_argument("--seconds", type=float, default=3.0, help="HTTP seconds per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP requests in flight")
    parser.add_argument("--only", choices=("asgi", "http"))
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

    print(
        "CancelOnDisconnectMiddleware overhead, trivial route, median of "
        f"{args.rounds} alternating rounds"
    )
    if args.only in (None, "asgi"):
        plain, watched = bench_asgi(args.requests, args.rounds)
        cost_us = (1 / watched - 1 / plain) * 1e6
        print(f"  in-process ASGI ({args.requests} sequential requests/round):")
        print(f"    without middleware {plain:10.0f} req/s")
        print(
            f"    with middleware    {watched:10.0f} req/s   "
            f"({(watched / plain - 1) * 100:+.1f}%, {cost_us:+.1f} us/request)"
        )
    if args.only in (None, "http"):
        plain, watched = bench_http(args.seconds, args.rounds, args.concurrency, wrk)
        client = "wrk" if wrk is not None else "httpx.AsyncClient"
        print(
            f"  uvicorn + {client} over 127.0.0.1 ({args.concurrency} in flight, "
            f"{args.seconds:g} s/round):"
        )
        print(f"    without middleware {plain:10.0f} req/s")
        print(
            f"    with middleware    {watched:10.0f} req/s   ({(watched / plain - 1) * 100:+.1f}%)"
        )


if __name__ == "__main__":
    main()
