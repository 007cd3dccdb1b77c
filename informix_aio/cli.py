"""The ``informix-aio`` command line: ``informix-aio doctor [connection options] [--json]``
and ``informix-aio doctor --template odbcinst|odbc|sqlhosts``.

``doctor`` checks what a connection needs (unixODBC, the registered drivers and their libraries,
pyodbc, the Informix client environment, ``UNICODE=UCS-2``, sqlhosts) and, given a target,
connects and measures it. Without a target, a machine with no Informix driver registered is an
error. Exit status: 0 when nothing blocks a connection, 1 when a finding is an error, 2 for
usage errors. ``--template`` prints one of the configuration templates that ship with the
package (the ones the fixes refer to) and exits 0. The checks live in
:mod:`informix_aio._doctor`.

The target comes from the options, else from ``$INFORMIX_AIO_DSN`` (a connection string when it
holds ``=``, else a DSN name); the password from ``--password`` or ``$INFORMIX_AIO_PASSWORD``.
No password is ever printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from . import __version__
from ._doctor import Report, dsn_dialect, run_doctor
from ._doctor._templates import TEMPLATES, template_text
from ._options import ConnectOptions, build_options
from .errors import InterfaceError

__all__ = ["build_parser", "main"]

DSN_ENV = "INFORMIX_AIO_DSN"
PASSWORD_ENV = "INFORMIX_AIO_PASSWORD"
_TAGS = {"ok": "[ ok  ]", "info": "[info ]", "warn": "[warn ]", "error": "[ERROR]"}
_CONNECTION_OPTIONS = (
    "dsn",
    "connection_string",
    "driver",
    "host",
    "port",
    "server",
    "database",
    "user",
    "password",
    "protocol",
    "dialect",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``informix-aio``."""
    parser = argparse.ArgumentParser(
        prog="informix-aio", description="informix-aio command line tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="check the ODBC/Informix setup and, given a target, a connection",
        description="Check unixODBC, the registered drivers, pyodbc, the Informix client "
        "environment (INFORMIXDIR, INFORMIXSQLHOSTS, ODBCINI, LD_LIBRARY_PATH, UNICODE=UCS-2) "
        "and, with connection options or $INFORMIX_AIO_DSN, connect and time the liveness "
        "query. Exit status: 0 nothing blocks a connection, 1 an error was found, 2 usage.",
    )
    target = doctor.add_argument_group(
        "connection",
        f"default target: ${DSN_ENV} (a connection string if it contains '=', else a DSN name)",
    )
    target.add_argument("--dsn", help="an odbc.ini data source name")
    target.add_argument("--connection-string", help="a full ODBC connection string")
    target.add_argument("--driver", help="an odbcinst.ini driver name or a library path")
    target.add_argument("--host", help="database host")
    target.add_argument(
        "--port", "--service", dest="port", metavar="PORT", help="port, or Informix service name"
    )
    target.add_argument("--server", help="Informix DBSERVERNAME or sqlhosts group")
    target.add_argument("--database", help="database name (SQLite: file path)")
    target.add_argument("--user", help="user name")
    target.add_argument(
        "--password",
        default=None,
        help=f"password (prefer ${PASSWORD_ENV}: arguments show up in ps)",
    )
    target.add_argument("--protocol", help="Informix protocol, e.g. onsoctcp")
    target.add_argument(
        "--dialect",
        choices=("informix", "postgresql", "sqlite", "mariadb"),
        help="force the dialect (default: from the driver, then the server)",
    )
    target.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="login timeout of the test connection (default 10)",
    )
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.add_argument(
        "--template",
        choices=tuple(TEMPLATES),
        help="print a configuration template and exit: "
        + "; ".join(f"{name}: {what}" for name, (_, what) in TEMPLATES.items()),
    )
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _connect_options(args: argparse.Namespace, env: Mapping[str, str]) -> ConnectOptions | None:
    """The validated target, or ``None`` when no target is given at all.

    :raises InterfaceError, ValueError: contradictory options (a usage error).
    """
    given: dict[str, Any] = {
        k: getattr(args, k) for k in _CONNECTION_OPTIONS if getattr(args, k) is not None
    }
    if given.get("password") is None and env.get(PASSWORD_ENV):
        given["password"] = env[PASSWORD_ENV]
    if not any(k in given for k in ("dsn", "connection_string", "driver")):
        default = env.get(DSN_ENV, "").strip()
        if default:
            given["connection_string" if "=" in default else "dsn"] = default
        elif set(given) <= {"password"}:
            return None
    if "dsn" in given and "dialect" not in given:
        guessed = dsn_dialect(given["dsn"], env)
        if guessed is not None:
            given["dialect"] = guessed
    return build_options(login_timeout=args.timeout, **given)


def render(report: Report, out: TextIO) -> None:
    """Human output: one line per finding (a status tag, the check, the message), and the fix
    indented beneath warnings and errors. ``--json`` carries every fix."""
    out.write(
        f"informix-aio {__version__} doctor (Python {platform.python_version()}, "
        f"{sys.executable})\n"
    )
    width = min(max((len(f.check) for f in report.findings), default=0), 20)
    for f in report.findings:
        message = [ln.strip() for ln in f.message.splitlines() if ln.strip()] or [""]
        out.write(f"{_TAGS[f.status]} {f.check:<{width}}  {message[0]}\n")
        for line in message[1:]:
            out.write(f"{'':{width + 10}}{line}\n")
        if f.status in ("warn", "error") and f.fix:
            fix = f.fix.splitlines()
            out.write(f"{'':8}fix: {fix[0]}\n")
            for line in fix[1:]:
                out.write(f"{'':13}{line}\n")
    c = report.connection
    if c is not None:
        out.write(
            f"connection: {c.get('dbms_name')} {c.get('dbms_version')}, dialect "
            f"{c.get('dialect')}, ping median {c.get('ping_ms', float('nan')):.2f} ms\n"
        )
    errors = sum(f.status == "error" for f in report.findings)
    warnings = sum(f.status == "warn" for f in report.findings)
    verdict = "OK: nothing blocks a connection" if report.ok else f"{errors} error(s)"
    out.write(f"result: {verdict} ({warnings} warning(s))\n")


def doctor(
    args: argparse.Namespace, parser: argparse.ArgumentParser, env: Mapping[str, str]
) -> int:
    """Run ``doctor`` (or print a template); return the exit status."""
    if args.template is not None:
        sys.stdout.write(template_text(args.template))
        return 0
    try:
        options = _connect_options(args, env)
    except (InterfaceError, ValueError) as exc:
        parser.exit(2, f"informix-aio doctor: error: {exc}\n")
    report = run_doctor(options, env=env, timeout=args.timeout)
    if args.json:
        text = json.dumps(report.to_dict(), indent=2, default=str) + "\n"
    else:
        buffer = io.StringIO()
        render(report, buffer)
        text = buffer.getvalue()
    sys.stdout.write(text)
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``informix-aio`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "doctor":
        parser.print_help(sys.stderr)
        return 2
    return doctor(args, parser, os.environ)
