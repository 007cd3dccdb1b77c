"""Run the benchmark suite: ``python -m benchmarks.run [--only N[,N...]] [--quick]``.

Starts a private PostgreSQL (``tests._servers.PostgresServer``, in a temporary directory) and a
SQLite file, runs the scenarios of :mod:`benchmarks.scenarios` one after the other, and writes
``latest.md``, ``latest.json`` and ``latest.png`` to ``benchmarks/results/``.

A missed target prints ``MISSED`` and never changes the exit status; the exit status is 1
only when a scenario could not run at all (its error is in the report).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import importlib.util
import inspect
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .harness import REPO_ROOT, Context, ScenarioResult, machine_busy
from .scenarios import load_all

__all__ = ["main"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Above this many cores of other processes' CPU during a scenario, the report says so.
DISTURBED_CORES = 0.1


def _parse_only(values: Sequence[str] | None) -> set[int] | None:
    if not values:
        return None
    out: set[int] = set()
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.add(int(part))
    known = {m.NUMBER for m in load_all()}
    unknown = out - known
    if unknown:
        raise SystemExit(f"--only: no scenario {sorted(unknown)}; known: {sorted(known)}")
    return out


def _prepare_databases(server: Any, sqlite_path: Path) -> None:
    """Tables the scenarios use: users (scenario 3), bench_em (scenario 5)."""
    server.admin_execute(
        "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL)"
    )
    server.admin_execute(
        "INSERT INTO users SELECT g, 'user ' || g, 'user' || g || '@example.com' "
        "FROM generate_series(1, 10000) g"
    )
    server.admin_execute(
        "CREATE TABLE bench_em (id integer NOT NULL, name varchar(40) NOT NULL, "
        "val double precision NOT NULL)"
    )
    server.admin_execute("VACUUM ANALYZE users")
    import pyodbc

    conn = pyodbc.connect(f"DRIVER={{SQLite3}};Database={sqlite_path}", autocommit=True)
    try:
        conn.execute(
            "CREATE TABLE bench_em (id integer NOT NULL, name varchar(40) NOT NULL, "
            "val double precision NOT NULL)"
        )
    finally:
        conn.close()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _command_output(*argv: str) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if text else "unavailable"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def machine_info(ctx: Context) -> dict[str, str]:
    """Cores, CPU, Python and driver versions, for the report header."""
    import pyodbc

    info: dict[str, str] = {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pyodbc": pyodbc.version,
        "unixODBC": _command_output("odbcinst", "--version"),
    }
    with contextlib.suppress(pyodbc.Error):
        conn = pyodbc.connect(ctx.pg_dsn, autocommit=True)
        info["psqlODBC"] = str(conn.getinfo(pyodbc.SQL_DRIVER_VER))
        info["PostgreSQL"] = str(conn.getinfo(pyodbc.SQL_DBMS_VER))
        conn.close()
    with contextlib.suppress(pyodbc.Error):
        conn = pyodbc.connect(ctx.sqlite_dsn, autocommit=True)
        info["SQLite ODBC"] = (
            f"{conn.getinfo(pyodbc.SQL_DRIVER_VER)} (SQLite {conn.getinfo(pyodbc.SQL_DBMS_VER)})"
        )
        conn.close()
    for dist in ("informix-aio", "aioodbc", "uvloop", "fastapi", "uvicorn", "httptools"):
        info[dist] = _version(dist)
    wrk = shutil.which("wrk")
    info["load generator"] = (
        _command_output(wrk, "--version") if wrk else "benchmarks.loadgen (wrk not found)"
    )
    info["commit"] = _git_commit()
    return info


def _git_commit() -> str:
    """``abc1234``, plus a remark when the work tree has changes (the numbers are of those)."""
    git = ["git", "-C", str(REPO_ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changes = subprocess.run(
            [*git, "status", "--porcelain"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes" if changes else "")


class _Tee(io.TextIOBase):
    """Write to the console and keep a copy (the middleware benchmark's printed results)."""

    def __init__(self, console: IO[str], copy: io.StringIO) -> None:
        self._console, self._copy = console, copy

    def write(self, text: str) -> int:
        self._copy.write(text)
        return self._console.write(text)

    def flush(self) -> None:
        self._console.flush()


class _Disturbance:
    """CPU the rest of the machine used while a scenario ran: other people's processes.

    Machine-wide busy time (``/proc/stat``) minus the CPU of this process tree (children
    included, also those already reaped) and of the private PostgreSQL (postmaster, backends).
    """

    def __init__(self, server: Any) -> None:
        import psutil

        self._psutil = psutil
        self._postmaster: Any = None
        with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
            pid = int((Path(server.data_dir) / "postmaster.pid").read_text().split()[0])
            self._postmaster = psutil.Process(pid)

    def _own(self) -> float:
        psutil = self._psutil
        total = 0.0
        for root in (psutil.Process(), self._postmaster):
            if root is None:
                continue
            with contextlib.suppress(psutil.Error):
                t = root.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
                for child in root.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        c = child.cpu_times()
                        total += c.user + c.system
        return total

    def __enter__(self) -> _Disturbance:
        self._machine = machine_busy(self._psutil.cpu_times())
        self._own_start = self._own()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall = time.perf_counter() - self._t0
        machine = machine_busy(self._psutil.cpu_times()) - self._machine
        own = self._own() - self._own_start
        #: cores' worth of CPU that other processes used meanwhile
        self.cores = max(0.0, machine - own) / wall if wall > 0 else 0.0


def _run_middleware() -> dict[str, Any] | None:
    """``benchmarks/middleware.py`` (written separately): run its ``main()`` if it exists.

    ``main`` gets an empty argv when it takes one (its own defaults), or runs with ``sys.argv``
    reduced to the program name, so that it never parses this runner's options; what it
    prints is kept for the report.
    """
    if importlib.util.find_spec("benchmarks.middleware") is None:
        return None
    print("\n== middleware (benchmarks/middleware.py) ==", flush=True)
    started = time.perf_counter()
    saved_argv = sys.argv[:]
    captured = io.StringIO()
    try:
        module = importlib.import_module("benchmarks.middleware")
        entry = getattr(module, "main", None)
        if entry is None:
            return {"error": "benchmarks/middleware.py has no main()"}
        sys.argv = [f"{module.__name__}"]
        with contextlib.redirect_stdout(_Tee(sys.stdout, captured)):
            outcome = entry([]) if inspect.signature(entry).parameters else entry()
    except SystemExit as exc:
        outcome = {"exit": exc.code}
    except Exception:
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        return {"error": traceback.format_exc(limit=5)}
    finally:
        sys.argv = saved_argv
    seconds = time.perf_counter() - started
    print(f"  ({seconds:.1f} s)", flush=True)
    return {"seconds": seconds, "result": outcome, "output": captured.getvalue()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios and write the report; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--only", action="append", metavar="N", help="run only scenario N (repeat or N,M)"
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds")
    parser.add_argument("--rounds", type=int, help="override every scenario's round count")
    parser.add_argument(
        "--out",
        type=Path,
        help="results directory (default: benchmarks/results for a full run, "
        "benchmarks/results/partial for --only/--quick/--rounds, so that a partial run never "
        "replaces the published full results)",
    )
    args = parser.parse_args(argv)
    only = _parse_only(args.only)
    if args.out is None:
        partial = bool(args.only or args.quick or args.rounds)
        args.out = RESULTS_DIR / "partial" if partial else RESULTS_DIR
    command = (
        "python -m benchmarks.run"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    sys.path.insert(0, str(REPO_ROOT))
    from informix_aio._options import build_options
    from tests._servers import PostgresServer, sqlite_options

    from . import report

    workdir = Path(tempfile.mkdtemp(prefix="informix-aio-bench-"))
    print("starting a private PostgreSQL ...", flush=True)
    server = PostgresServer.start(None)
    results: list[ScenarioResult] = []
    try:
        sqlite_path = workdir / "bench.db"
        _prepare_databases(server, sqlite_path)
        pg: dict[str, Any] = dict(server.odbc_options())
        sqlite: dict[str, Any] = dict(sqlite_options(sqlite_path))
        ctx = Context(
            pg=pg,
            pg_dsn=build_options(**pg).connection_string,
            sqlite=sqlite,
            sqlite_dsn=build_options(**sqlite).connection_string,
            workdir=str(workdir),
            quick=args.quick,
            rounds=args.rounds,
        )
        meta: dict[str, Any] = {
            "command": command,
            "started": started_at.isoformat(),
            "quick": args.quick,
            "machine": machine_info(ctx),
        }
        print(
            f"  {server!r}; machine: {meta['machine']['cores']} cores, {meta['machine']['cpu']}",
            flush=True,
        )
        for module in load_all():
            if only is not None and module.NUMBER not in only:
                continue
            print(f"\n== {module.NUMBER}. {module.TITLE} ==", flush=True)
            t0 = time.perf_counter()
            with _Disturbance(server) as others:
                try:
                    res: ScenarioResult = module.run(ctx)
                except Exception:
                    err = traceback.format_exc()
                    print(err, file=sys.stderr, flush=True)
                    res = ScenarioResult(module.NUMBER, module.KEY, module.TITLE, "", error=err)
            res.seconds = time.perf_counter() - t0
            res.others_cores = others.cores
            if others.cores > DISTURBED_CORES:
                res.notes.append(
                    f"other processes on the machine used {others.cores:.2f} cores on average "
                    "while this scenario ran: its numbers may be disturbed"
                )
            results.append(res)
            for target in res.targets:
                print("  " + target.describe(), flush=True)
            for note in res.notes:
                print("  note: " + note, flush=True)
            print(f"  ({res.seconds:.1f} s)", flush=True)
        if only is None and not args.quick:
            middleware = _run_middleware()
            if middleware is not None:
                meta["middleware"] = middleware
        elif importlib.util.find_spec("benchmarks.middleware") is not None:
            print("\n(benchmarks/middleware.py runs only in a full run: no --only, no --quick)")
    finally:
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)

    meta["duration_s"] = time.perf_counter() - started
    written = report.write(args.out, meta, results)
    targets = [t for r in results for t in r.targets]
    missed = [t for t in targets if not t.passed]
    print("\n== targets ==")
    for target in targets:
        print("  " + target.describe())
    print(
        f"\n{len(targets) - len(missed)}/{len(targets)} targets met, {len(missed)} MISSED; "
        f"total {meta['duration_s']:.0f} s; wrote {', '.join(str(p) for p in written)}"
    )
    failed = [r for r in results if r.error]
    if failed:
        print(f"scenarios that could not run: {', '.join(str(r.number) for r in failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
