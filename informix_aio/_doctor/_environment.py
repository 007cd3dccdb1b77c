"""The Informix client environment: INFORMIXDIR, ODBCINI, LD_LIBRARY_PATH, ``UNICODE=UCS-2``
in odbc.ini, and the sqlhosts file with the target server's entry.

How loudly each check complains depends on the relevance level (see :mod:`._findings`):
only the Informix driver reads any of this.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._config import (
    SqlhostsEntry,
    find_section,
    join_ini_files,
    parse_sqlhosts,
    read_ini_quietly,
    sqlhosts_file,
)
from ._findings import INFORMIX_REGISTERED, INFORMIX_TARGETED, UCS2_WHY, Finding, Status
from ._templates import template_command

__all__ = [
    "check_informix_env",
    "check_sqlhosts",
    "check_sqlhosts_entry",
    "check_unicode_setting",
]


def _need(relevance: int) -> Status:
    """How a missing piece of the Informix setup counts at this relevance level."""
    if relevance >= INFORMIX_TARGETED:
        return "error"
    return "warn" if relevance >= INFORMIX_REGISTERED else "info"


def check_informix_env(env: Mapping[str, str], relevance: int) -> list[Finding]:
    """INFORMIXDIR (set, exists, holds lib/cli), ODBCINI, and LD_LIBRARY_PATH holding
    ``$INFORMIXDIR/lib``, ``lib/cli`` and ``lib/esql``.

    :param relevance: 0 no Informix here, 1 a driver is registered, 2 the target is Informix.
    """
    findings: list[Finding] = []
    need = _need(relevance)
    home = env.get("INFORMIXDIR")
    fix_dir = (
        "export INFORMIXDIR=<the Client SDK install directory> (e.g. /opt/IBM/Informix_"
        "Client-SDK; /opt/ibm/informix in IBM's informix-developer-database image)"
    )
    if not home:
        findings.append(Finding("informixdir", need, "INFORMIXDIR is not set", fix_dir))
    elif not Path(home).is_dir():
        findings.append(Finding("informixdir", need, f"INFORMIXDIR={home} does not exist", fix_dir))
    elif not (Path(home) / "lib" / "cli").is_dir():
        findings.append(
            Finding(
                "informixdir",
                need,
                f"INFORMIXDIR={home} has no lib/cli: not a Client SDK install",
                fix_dir,
            )
        )
    else:
        libs = sorted(p.name for p in (Path(home) / "lib" / "cli").glob("*.so"))
        findings.append(
            Finding(
                "informixdir", "ok", f"INFORMIXDIR={home} (lib/cli: {', '.join(libs) or 'no .so'})"
            )
        )

    odbcini = env.get("ODBCINI")
    if not odbcini:
        findings.append(
            Finding("odbcini", "info", "ODBCINI is not set: the user odbc.ini is ~/.odbc.ini")
        )
    elif not Path(odbcini).is_file():
        findings.append(
            Finding(
                "odbcini",
                need,
                f"ODBCINI={odbcini} does not exist",
                f"point ODBCINI at an odbc.ini (template: {template_command('odbc')})",
            )
        )
    else:
        findings.append(Finding("odbcini", "ok", f"ODBCINI={odbcini}"))

    if home:
        wanted = [os.path.join(home, *sub) for sub in (("lib",), ("lib", "cli"), ("lib", "esql"))]
        have = {os.path.normpath(p) for p in env.get("LD_LIBRARY_PATH", "").split(":") if p}
        missing = [w for w in wanted if os.path.normpath(w) not in have]
        if missing:
            findings.append(
                Finding(
                    "ld-library-path",
                    "warn" if relevance else "info",
                    f"LD_LIBRARY_PATH lacks {', '.join(missing)}",
                    "export LD_LIBRARY_PATH=$INFORMIXDIR/lib:$INFORMIXDIR/lib/cli:"
                    "$INFORMIXDIR/lib/esql:$LD_LIBRARY_PATH (the driver loads its GLS/ESQL "
                    "libraries from there)",
                )
            )
        else:
            findings.append(
                Finding(
                    "ld-library-path",
                    "ok",
                    "LD_LIBRARY_PATH has $INFORMIXDIR/lib, lib/cli and lib/esql",
                )
            )
    return findings


def check_unicode_setting(files: Sequence[Path], relevance: int) -> Finding:
    """``UNICODE=UCS-2`` in the ``[ODBC]`` section of the odbc.ini files read (first wins).

    An error when an Informix driver is registered or targeted and the setting is missing or
    different; information otherwise (only the Informix driver reads it).
    """
    found = [
        (f, v)
        for f in files
        if (v := (find_section(read_ini_quietly(f), "ODBC") or {}).get("UNICODE")) is not None
    ]
    fix = (
        f"add to {files[0] if files else '~/.odbc.ini'} (ODBCINI, else ~/.odbc.ini):\n"
        f"[ODBC]\nUNICODE=UCS-2\n(template: {template_command('odbc')}). If connecting still "
        "fails with -11060, see pyodbc issue #1433."
    )
    bad: Status = "error" if relevance >= INFORMIX_REGISTERED else "info"
    if not found:
        return Finding(
            "odbc-unicode",
            bad,
            f"no UNICODE=UCS-2 in the [ODBC] section of {join_ini_files(files)}"
            + (f": {UCS2_WHY}" if relevance else " (only the Informix driver needs it)"),
            fix if relevance else "",
        )
    where, value = found[0]
    if value.upper().replace("-", "").replace("_", "") == "UCS2":
        return Finding("odbc-unicode", "ok", f"UNICODE={value} in the [ODBC] section of {where}")
    return Finding(
        "odbc-unicode",
        bad,
        f"UNICODE={value} (not UCS-2) in the [ODBC] section of {where}: {UCS2_WHY}",
        fix if relevance else "",
    )


def check_sqlhosts(env: Mapping[str, str], relevance: int) -> tuple[Finding, list[SqlhostsEntry]]:
    """Find and parse the sqlhosts file."""
    path = sqlhosts_file(env)
    fix = (
        "export INFORMIXSQLHOSTS=/path/to/sqlhosts (template: "
        f"{template_command('sqlhosts')}), or give HOST, SERVICE and PROTOCOL in the connection"
    )
    if path is None:
        return Finding(
            "sqlhosts",
            "warn" if relevance else "info",
            "neither INFORMIXSQLHOSTS nor INFORMIXDIR is set: no sqlhosts file",
            fix,
        ), []
    try:
        entries, bad = parse_sqlhosts(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return Finding(
            "sqlhosts",
            "warn" if relevance else "info",
            f"sqlhosts file {path} cannot be read: {exc.strerror or exc}",
            fix,
        ), []
    names = ", ".join(e.name for e in entries) or "none"
    if bad:
        return Finding(
            "sqlhosts",
            "warn",
            f"{path}: entries {names}; lines {bad} are not `name protocol host service [options]`",
            "fix or comment out those lines (# starts a comment)",
        ), entries
    return Finding("sqlhosts", "ok", f"{path}: entries {names}"), entries


def check_sqlhosts_entry(
    entries: Sequence[SqlhostsEntry], keywords: Mapping[str, str], env: Mapping[str, str]
) -> Finding:
    """Does the target's SERVER have a sqlhosts entry (or HOST, SERVICE and PROTOCOL)?"""
    server = keywords.get("SERVER")
    direct = all(keywords.get(k) for k in ("HOST", "SERVICE", "PROTOCOL"))
    if not server:
        fallback = env.get("INFORMIXSERVER")
        return Finding(
            "sqlhosts-entry",
            "warn",
            "no server name given (--server, SERVER= or the DSN's Server=)"
            + (f"; INFORMIXSERVER={fallback}" if fallback else ""),
            "give --server: the DBSERVERNAME (or sqlhosts group) of the instance",
        )
    entry = next((e for e in entries if e.name == server), None)
    if entry is not None and entry.protocol.lower() == "group":
        members = [
            e.name for e in entries if re.search(rf"(^|,)g={re.escape(server)}(,|$)", e.options)
        ]
        return Finding(
            "sqlhosts-entry",
            "ok" if members else "error",
            f"server {server!r} is a sqlhosts group of {', '.join(members) or 'nobody'}",
            "" if members else f"tag the members' option fields with g={server}",
        )
    if entry is not None:
        return Finding(
            "sqlhosts-entry",
            "ok",
            f"server {server!r}: {entry.protocol} "
            f"{entry.host} {entry.service} {entry.options}".rstrip(),
        )
    if direct:
        return Finding(
            "sqlhosts-entry",
            "ok",
            f"server {server!r} has no sqlhosts entry; not "
            "needed: HOST, SERVICE and PROTOCOL are given",
        )
    path = sqlhosts_file(env) or "$INFORMIXSQLHOSTS"
    return Finding(
        "sqlhosts-entry",
        "error",
        f"no sqlhosts entry for server {server!r} in {path} and no HOST/SERVICE/PROTOCOL given",
        f"add `{server} onsoctcp <host> <port>` to {path} (see {template_command('sqlhosts')}) "
        "or pass --host, --service and --protocol onsoctcp",
    )
