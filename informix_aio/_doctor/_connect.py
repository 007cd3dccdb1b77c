"""The test connection, made in a child process: connect, describe the server, time the
liveness query, read the Informix logging mode, and turn the outcome into findings.

A driver that crashes on connect kills the child, not the doctor. The child gets the
connection string on stdin, never on its command line, so a password does not show up in
``ps``; passwords a driver echoes in its messages are scrubbed from the result.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._options import ConnectOptions
from ._findings import UCS2_WHY, Finding, Status
from ._process import signal_name
from ._target import Target
from ._version import server_version

__all__ = ["check_connection", "probe_connection"]


_PROBE_MARK = "@@informix-aio-doctor-probe@@ "


def _probe_main() -> None:
    """Child side of :func:`probe_connection`: request on stdin, one marked JSON line out."""
    request = json.loads(sys.stdin.read())
    print(_PROBE_MARK + json.dumps(_probe(request), default=str), flush=True)


def _probe(request: Mapping[str, Any]) -> dict[str, Any]:
    import pyodbc

    from .. import build_options
    from .._sync import open_connection
    from ..errors import Error

    stage = "connect"
    info: dict[str, Any] = {}
    try:
        options = build_options(
            connection_string=request["connection_string"],
            dialect=request["dialect"],
            login_timeout=request["timeout"],
        )
        started = time.perf_counter()
        conn = open_connection(options)
        info["connect_ms"] = round((time.perf_counter() - started) * 1000, 3)
        try:
            stage = "server-info"
            info["dialect"] = conn.dialect.name
            info["dbms_name"] = conn.dbms_name
            # SQL_DBMS_VER is padded and reshaped by drivers (psqlODBC: "15.0.20" for 15.20).
            info["dbms_version_odbc"] = str(conn.getinfo(pyodbc.SQL_DBMS_VER))
            info["dbms_version"] = server_version(conn.dbms_name, info["dbms_version_odbc"])
            info["driver_name"] = str(conn.getinfo(pyodbc.SQL_DRIVER_NAME))
            info["driver_version"] = str(conn.getinfo(pyodbc.SQL_DRIVER_VER))
            info["liveness_query"] = conn.dialect.liveness_query
            stage = "ping"
            samples = [round(conn.ping() * 1000, 3) for _ in range(int(request["pings"]))]
            info["ping_ms"] = round(statistics.median(samples), 3)
            info["ping_samples_ms"] = samples
            info["database_mode"] = None
            if conn.dialect.database_mode_query is not None:
                stage = "database-mode"
                info["database_mode"] = conn.database_mode()
        finally:
            conn.close()
    except Error as exc:
        return {
            "ok": False,
            "stage": stage,
            "info": info,
            "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "sqlstate": exc.sqlstate,
                "native_code": exc.native_code,
                "is_disconnect": exc.is_disconnect,
            },
        }
    return {"ok": True, "info": info}


def probe_connection(
    options: ConnectOptions, env: Mapping[str, str], *, timeout: float, pings: int = 5
) -> dict[str, Any]:
    """Connect in a child process; return ``{"ok": True, "info": {...}}`` or
    ``{"ok": False, "stage": ..., "error": {"message": ..., "sqlstate": ...}}``."""
    root = str(Path(__file__).resolve().parents[2])  # the directory holding informix_aio/
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from informix_aio._doctor._connect import _probe_main; _probe_main()"
    )
    request = {
        "connection_string": options.connection_string,
        "dialect": options.dialect.name if options.dialect else None,
        "timeout": timeout,
        "pings": pings,
    }
    limit = 2 * timeout + 30
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(request),
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _probe_failure(f"no answer within {limit:.0f} s (the driver hung)")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_PROBE_MARK):
            result: dict[str, Any] = json.loads(line[len(_PROBE_MARK) :])
            return result
    if proc.returncode < 0:
        return _probe_failure(
            f"the ODBC driver crashed the process ({signal_name(-proc.returncode)})", crashed=True
        )
    tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return _probe_failure(f"the connection probe failed: {tail}")


def _probe_failure(message: str, *, crashed: bool = False) -> dict[str, Any]:
    return {
        "ok": False,
        "stage": "connect",
        "info": {},
        "crashed": crashed,
        "error": {
            "type": "ProbeError",
            "message": message,
            "sqlstate": None,
            "native_code": None,
            "is_disconnect": False,
        },
    }


def _connect_fix(error: Mapping[str, Any], is_informix: bool, crashed: bool) -> str:
    message = str(error.get("message") or "")
    state = str(error.get("sqlstate") or "")
    native = error.get("native_code")
    if crashed:
        return (
            "a driver that crashes on connect is typically the Informix UCS-4/UCS-2 "
            "mismatch (UNICODE=UCS-2 in [ODBC] of odbc.ini) or a library built for another "
            "platform; see the odbc-unicode and driver: findings"
        )
    if native == -11060 or "-11060" in message:
        return f"set UNICODE=UCS-2 in the [ODBC] section of odbc.ini: {UCS2_WHY}"
    if state == "IM002":
        return (
            "unixODBC does not know that DSN or driver name: list them with "
            "`odbcinst -q -s` and `odbcinst -q -d`"
        )
    if "can't open lib" in message.lower() or state.startswith("IM"):
        return (
            "unixODBC could not load the driver library: see the target-driver and driver: "
            "findings, the Driver= path and LD_LIBRARY_PATH"
        )
    if state.startswith("28") or native in (-951, -952, -956, -387):
        return "check --user and --password (or INFORMIX_AIO_PASSWORD) and the user's rights"
    if native == -761:
        return "SERVER must name the instance's DBSERVERNAME or a DBSERVERALIASES entry"
    if native in (-329, -827) or state == "3D000":
        return "the database does not exist: check --database (or create it)"
    if state in ("HYT00", "S1T00"):
        return "the login timed out: is the server reachable and not overloaded? raise --timeout"
    informix = (
        (
            " and that SERVER names the instance's DBSERVERNAME in a sqlhosts entry "
            "(or give HOST/SERVICE/PROTOCOL)"
        )
        if is_informix
        else ""
    )
    return (
        "check that the server is running and listening at that host and port "
        f"(firewalls, container networks){informix}"
    )


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (nested dicts, lists, strings) with every secret replaced by ``***``."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def check_connection(
    options: ConnectOptions, target: Target, env: Mapping[str, str], timeout: float
) -> tuple[list[Finding], dict[str, Any] | None]:
    """Connect, describe the server, measure the liveness query, read the Informix logging mode."""
    # Targets are shown redacted; this guards against a driver message echoing a password.
    secrets = [v for k in ("PWD", "PASSWORD") if len(v := target.keywords.get(k, "")) >= 3]
    result = _scrub(probe_connection(options, env, timeout=timeout), secrets)
    info: dict[str, Any] = result.get("info") or {}
    where = options.redacted
    if "connect_ms" not in info:
        error = result["error"]
        return [
            Finding(
                "connect",
                "error",
                f"cannot connect to {where}: {error['message']}",
                _connect_fix(error, target.is_informix, bool(result.get("crashed"))),
            )
        ], None
    info["target"] = where
    findings = [
        Finding(
            "connect",
            "ok",
            f"connected in {info['connect_ms']:.0f} ms to {info.get('dbms_name')} "
            f"{info.get('dbms_version', '')} via {info.get('driver_name')} "
            f"{info.get('driver_version', '')}; dialect {info.get('dialect')}",
        )
    ]
    if result["ok"] or result["stage"] not in ("server-info", "ping"):
        samples = info.get("ping_samples_ms", [])
        findings.append(
            Finding(
                "ping",
                "ok",
                f"{info['liveness_query']}: median "
                f"{info['ping_ms']:.2f} ms over {len(samples)} runs",
            )
        )
    if not result["ok"]:
        error = result["error"]
        status: Status = "warn" if result["stage"] == "database-mode" else "error"
        findings.append(
            Finding(
                result["stage"],
                status,
                error["message"],
                "the connection opened but this step failed; see the message",
            )
        )
        if status == "error":
            return findings, None
    mode = info.get("database_mode")
    if mode == "unlogged":
        findings.append(
            Finding(
                "database-mode",
                "warn",
                "the database has no transaction "
                "logging: transaction() and commit/rollback are unavailable",
                "for transactions: ondblog buf <db> (then ontape -s -B <db>), "
                "or CREATE DATABASE ... WITH LOG",
            )
        )
    elif mode is not None:
        findings.append(Finding("database-mode", "ok", f"database logging mode: {mode}"))
    return findings, info
