"""Scenario 3: FastAPI end to end, ``GET /users/{id}`` under uvicorn (one worker).

Each app of :mod:`benchmarks.apps` runs in its own uvicorn subprocess (all of them started
together, so rounds can alternate between them); the load comes from ``wrk`` (one thread, 64
keep-alive connections, a fixed number of requests: ``benchmarks/wrk_users.lua``), or from
:mod:`benchmarks.loadgen` in another process when ``wrk`` is not installed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from ..apps import APPS, POOL_SIZE
from ..harness import REPO_ROOT, Context, ScenarioResult, Series, alternate, machine_busy

__all__ = ["NUMBER", "TITLE", "run"]

NUMBER = 3
KEY = "fastapi"
TITLE = "FastAPI end to end: GET /users/{id}, uvicorn, 64 connections"
CONNECTIONS = 64
WRK_SCRIPT = Path(__file__).resolve().parent.parent / "wrk_users.lua"

LABELS = {
    "ours_seed": "informix-aio: seed form (Depends(get_conn), cursor never closed)",
    "ours": "informix-aio: Connection dependency (informix_aio.fastapi)",
    "ours_pool": "informix-aio: pool.fetchrow in the route",
    "aioodbc_app": "aioodbc pool, async route",
    "sync_app": "sync def route, 10 pyodbc connections",
    "constant": "constant response, no database (ceiling)",
}
KEYS = {
    "ours_seed": "ours_seed",
    "ours": "ours",
    "ours_pool": "ours_pool",
    "aioodbc_app": "aioodbc",
    "sync_app": "sync",
    "constant": "ceiling",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _AppServer:
    """One uvicorn subprocess serving one app."""

    def __init__(self, ctx: Context, app: str) -> None:
        self.app = app
        self.port = _free_port()
        self.log_path = Path(ctx.workdir) / f"uvicorn-{app}.log"
        self._log: IO[str] = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"benchmarks.apps.{app}:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--loop",
                "auto",
                "--http",
                "auto",
                "--no-access-log",
                "--log-level",
                "warning",
                "--lifespan",
                "on",
            ],
            env=ctx.to_env(),
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited: {self.log_path.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/users/1", timeout=2) as resp,
            ):
                body = json.loads(resp.read())
                if resp.status == 200 and body.get("id") == 1:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.app} not ready after {timeout} s: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _load(ctx: Context, url: str, requests: int) -> dict[str, Any]:
    """Run the load generator once; return its JSON result."""
    wrk = shutil.which("wrk")
    if wrk:
        argv = [
            wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            "-d300s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            url,
            "--",
            str(requests),
        ]
    else:
        port = url.rsplit(":", 1)[1]
        argv = [
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--port",
            port,
            "--requests",
            str(requests),
            "--connections",
            str(CONNECTIONS),
        ]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=330,
        check=False,
        cwd=REPO_ROOT,
        env=ctx.to_env(),
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"load generator failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def run(ctx: Context) -> ScenarioResult:
    """Start the apps, warm them up, then load them alternately."""
    import psutil

    requests = ctx.scale(6000, 2000)
    rounds = ctx.n_rounds(5, 2)
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    generator = "wrk -t1" if shutil.which("wrk") else "benchmarks.loadgen (wrk not installed)"
    integration = (
        "informix_aio.fastapi (pool_lifespan, Connection / DBPool dependencies)"
        if importlib.util.find_spec("informix_aio.fastapi")
        else "a plain lifespan with the pool on app.state (no informix_aio.fastapi)"
    )
    res = ScenarioResult(
        NUMBER,
        KEY,
        TITLE,
        setup=(
            f"uvicorn, one worker ({loop}, {http}); {generator}, {CONNECTIONS} keep-alive "
            f"connections, {requests} requests per round, {rounds} rounds after a warm-up; "
            f"every app has {POOL_SIZE} database connections; informix-aio through "
            f"{integration}; ids 1..10000 of a 10,000-row "
            "table. Value = requests per second; p50/p99 latency in ms; "
            "server_cpu_us_per_request = CPU time of the uvicorn process (all threads) per "
            "request; machine_cpu_us_per_request = CPU time the whole machine was busy "
            "(uvicorn, wrk, PostgreSQL) per request. They share the machine's cores."
        ),
    )
    servers = {app: _AppServer(ctx, app) for app in APPS}
    per_round: dict[str, list[dict[str, Any]]] = {app: [] for app in APPS}
    try:
        for server in servers.values():
            server.wait_ready()
        for app, server in servers.items():
            _load(ctx, server.url, max(1000, requests // 5))  # warm-up, not recorded
            print(f"    warmed up {app} on :{server.port}", flush=True)

        def step(app: str) -> float:
            server = psutil.Process(servers[app].proc.pid)
            before, machine_before = server.cpu_times(), psutil.cpu_times()
            data = _load(ctx, servers[app].url, requests)
            after, machine_after = server.cpu_times(), psutil.cpu_times()
            machine = machine_busy(machine_after) - machine_busy(machine_before)
            data["machine_cpu_us"] = machine / float(data["requests"]) * 1e6
            cpu = (after.user - before.user) + (after.system - before.system)
            data["server_cpu_us"] = cpu / float(data["requests"]) * 1e6
            per_round[app].append(data)
            return float(data["responses"]) / float(data["seconds"])

        values = alternate({app: functools.partial(step, app) for app in APPS}, rounds)
    finally:
        for server in servers.values():
            server.stop()
    for app in APPS:
        runs = per_round[app]
        res.series.append(
            Series(
                KEYS[app],
                LABELS[app],
                "requests/s",
                values[app],
                True,
                extra={
                    "p50_ms": [r["p50_us"] / 1000 for r in runs],
                    "p99_ms": [r["p99_us"] / 1000 for r in runs],
                    "server_cpu_us_per_request": [r["server_cpu_us"] for r in runs],
                    "machine_cpu_us_per_request": [r["machine_cpu_us"] for r in runs],
                },
            )
        )
        errors = sum(int(r["errors"]) + int(r["status_errors"]) for r in runs)
        if errors:
            res.notes.append(f"{app}: {errors} errors or non-2xx responses during the rounds")
    res.ratio_target("seed form vs aioodbc", "ours_seed", "aioodbc", ">=", 1.5)
    res.ratio_target("seed form vs sync def route", "ours_seed", "sync", ">=", 1.3)
    for ours in ("ours", "ours_pool"):
        res.ratio_target(f"{ours} vs the constant route", ours, "ceiling", ">=", 0.75)
        res.ratio_target(f"{ours} vs aioodbc", ours, "aioodbc", ">=", 1.5)
        res.ratio_target(f"{ours} vs sync def route", ours, "sync", ">=", 1.2)
    cores = os.cpu_count() or 1
    for key in ("ours_seed", "ours", "ours_pool", "aioodbc", "sync", "ceiling"):
        s = res.find(key)
        machine_us = s.extra_median("machine_cpu_us_per_request")
        busy = machine_us * s.stats.median / 1e6
        res.notes.append(
            f"{key}: p50 {s.extra_median('p50_ms'):.1f} ms, p99 {s.extra_median('p99_ms'):.1f} ms; "
            f"{machine_us:.0f} µs of machine CPU per request "
            f"({s.extra_median('server_cpu_us_per_request'):.0f} in uvicorn), "
            f"machine busy {busy:.2f} of {cores} cores"
        )
    return res
