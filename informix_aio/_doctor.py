"""The checks behind ``informix-aio doctor``: why can (or can't) this machine connect?

Each check is a function that returns :class:`Finding` objects (``ok`` / ``info`` / ``warn`` /
``error``, a message and a fix). They read the files and the environment mapping they are given,
so tests point them at temporary files. :func:`run_doctor` runs them all in order.

Two things happen in child processes, because a broken ODBC driver can crash the process that
loads it (a UCS-4/UCS-2 mismatch in the Informix driver is the classic case): loading each driver
library with ``ctypes.CDLL``, and the test connection itself. The child gets the connection string
on stdin, never on its command line, so a password does not show up in ``ps``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ._options import ConnectOptions
from .dialects import InformixDialect, dialect_for_driver

__all__ = [
    "DriverEntry",
    "Finding",
    "OdbcPaths",
    "Report",
    "SqlhostsEntry",
    "Status",
    "check_connection",
    "check_driver_libraries",
    "check_informix_driver",
    "check_informix_env",
    "check_pyodbc",
    "check_sqlhosts",
    "check_sqlhosts_entry",
    "check_unicode_setting",
    "check_unixodbc",
    "dsn_dialect",
    "odbc_ini_files",
    "parse_connection_string",
    "parse_odbcinst_j",
    "parse_sqlhosts",
    "probe_connection",
    "probe_library",
    "read_ini",
    "registered_drivers",
    "run_doctor",
    "sqlhosts_file",
]

Status = Literal["ok", "info", "warn", "error"]
"""How a finding counts: only ``error`` means something blocks a connection."""

# How much Informix matters here: 0 not at all, 1 a driver is registered, 2 the target is Informix.
_NONE, _REGISTERED, _TARGETED = 0, 1, 2
_INFORMIX_HINTS = InformixDialect.driver_hints
_NON_THREADED = ("iclis", "libifcli")
_CONNECTION_KEY_ALIASES = {
    "SERVERNAME": "SERVER",
    "DB": "DATABASE",
    "SRVR": "SERVER",
    "SERV": "SERVICE",
    "PRO": "PROTOCOL",
    "LOGONID": "UID",
}
_PROBE_MARK = "@@informix-aio-doctor-probe@@ "
_UCS2_WHY = (
    "the Informix driver assumes 4-byte UCS-4 wide characters on UNIX unless told otherwise, "
    "while unixODBC and pyodbc 5 (which always calls SQLDriverConnectW) pass 2-byte UTF-16; "
    "connecting then fails with -11060 or garbled text (pyodbc issues #1392, #1433)"
)
_INSTALL_CSDK = (
    "install the IBM Informix Client SDK (or copy $INFORMIXDIR out of IBM's "
    "informix-developer-database image, as odbc/informix/Dockerfile does), fix the paths in "
    "odbc/odbcinst.informix.ini and register it: odbcinst -i -d -f odbc/odbcinst.informix.ini"
)


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    :param check: a stable identifier (``"connect"``, ``"odbc-unicode"``, ``"driver:SQLite3"``).
    :param status: ``ok``, ``info``, ``warn`` or ``error`` (blocks a connection).
    :param message: what was found.
    :param fix: what to do about it (empty when there is nothing to do).
    """

    check: str
    status: Status
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        """The finding as the JSON object ``--json`` prints."""
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class Report:
    """Everything the doctor found; ``connection`` describes a successful test connection."""

    findings: list[Finding] = field(default_factory=list)
    connection: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when no finding is an error, i.e. nothing blocks a connection."""
        return not any(f.status == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": bool, "findings": [...], "connection": {...} | None}``."""
        return {
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "connection": self.connection,
        }


@dataclass(frozen=True)
class OdbcPaths:
    """What ``odbcinst -j`` says unixODBC reads (``None`` where it said nothing)."""

    version: str | None
    drivers: Path | None
    system_dsn: Path | None
    user_dsn: Path | None


@dataclass(frozen=True)
class DriverEntry:
    """A driver registered in ``odbcinst.ini``: its name, ``Driver=`` value and resolved file."""

    name: str
    library: str | None
    path: Path | None

    @property
    def is_informix(self) -> bool:
        """Named like Informix, or its library is one of the CSDK's (iclit*, iclis*, ...)."""
        text = f"{self.name} {Path(self.library).name if self.library else ''}".lower()
        return any(h in text for h in _INFORMIX_HINTS)


@dataclass(frozen=True)
class SqlhostsEntry:
    """One sqlhosts line: ``name protocol host service [options]``."""

    name: str
    protocol: str
    host: str
    service: str
    options: str = ""


# -- parsing (pure) ------------------------------------------------------------------------------
def read_ini(path: Path) -> dict[str, dict[str, str]]:
    """Parse an odbc.ini / odbcinst.ini the way unixODBC does: ``;``/``#`` comments, keys
    upper-cased, the first value of a repeated key wins. Section names keep their case.

    :raises OSError: the file cannot be read.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and "]" in line:
            current = sections.setdefault(line[1 : line.index("]")].strip(), {})
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current.setdefault(key.strip().upper(), value.strip())
    return sections


def _section(ini: Mapping[str, Mapping[str, str]], name: str) -> Mapping[str, str] | None:
    for key, values in ini.items():
        if key.lower() == name.lower():
            return values
    return None


def _read_ini_quietly(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None or not path.is_file():
        return {}
    try:
        return read_ini(path)
    except OSError:
        return {}


def parse_odbcinst_j(text: str) -> OdbcPaths:
    """Parse ``odbcinst -j``: the unixODBC version and the files it reads."""
    version = None
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*unixODBC\s+(\S+)", line)
        if m:
            version = m.group(1)
        key, sep, value = line.partition(":")
        if sep and value.strip():
            values[key.rstrip(". ").strip().upper()] = value.strip()

    def path(key: str) -> Path | None:
        return Path(values[key]) if key in values else None

    return OdbcPaths(
        version, path("DRIVERS"), path("SYSTEM DATA SOURCES"), path("USER DATA SOURCES")
    )


def parse_sqlhosts(text: str) -> tuple[list[SqlhostsEntry], list[int]]:
    """Parse a sqlhosts file; return its entries and the numbers of lines that are not entries."""
    entries: list[SqlhostsEntry] = []
    bad: list[int] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 4:
            bad.append(number)
            continue
        name, protocol, host, service, *rest = fields
        entries.append(SqlhostsEntry(name, protocol, host, service, " ".join(rest)))
    return entries, bad


def parse_connection_string(text: str) -> dict[str, str]:
    """``KEY=value;...`` -> ``{KEY: value}``: keys upper-cased (Informix short forms such as
    ``SRVR`` mapped to their long names), ``{braced}`` values unquoted, the first value wins."""
    result: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().strip(";").strip().upper()
        j = eq + 1
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] == "{":
            chars: list[str] = []
            j += 1
            while j < n:
                if text[j] == "}":
                    if text[j + 1 : j + 2] == "}":
                        chars.append("}")
                        j += 2
                        continue
                    j += 1
                    break
                chars.append(text[j])
                j += 1
            value = "".join(chars)
            end = text.find(";", j)
        else:
            end = text.find(";", j)
            value = text[j : n if end < 0 else end].strip()
        i = n if end < 0 else end + 1
        if key:
            result.setdefault(_CONNECTION_KEY_ALIASES.get(key, key), value)
    return result


# -- unixODBC and drivers ---------------------------------------------------------------------------
def _run(argv: Sequence[str], env: Mapping[str, str], timeout: float = 15.0) -> tuple[int, str]:
    """Run a tool; return (exit status, stdout + stderr); (127, "") when it is missing."""
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        return 127, ""
    try:
        proc = subprocess.run(
            list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 126, str(exc)
    return proc.returncode, proc.stdout + proc.stderr


def _default_paths(env: Mapping[str, str]) -> OdbcPaths:
    """Where unixODBC looks when ``odbcinst`` is not there to tell us."""
    sysdir = Path(env.get("ODBCSYSINI", "/etc"))
    user = env.get("ODBCINI") or str(Path(env.get("HOME", "~")).expanduser() / ".odbc.ini")
    return OdbcPaths(None, sysdir / "odbcinst.ini", sysdir / "odbc.ini", Path(user))


def check_unixodbc(env: Mapping[str, str]) -> tuple[Finding, OdbcPaths]:
    """``odbcinst -j``: is unixODBC there, which version, which files does it read?"""
    status, output = _run(["odbcinst", "-j"], env)
    if status != 0:
        paths = _default_paths(env)
        return Finding(
            "unixodbc",
            "warn",
            f"`odbcinst -j` {'not found' if status == 127 else 'failed: ' + output.strip()}; "
            f"assuming {paths.drivers}, {paths.system_dsn} and {paths.user_dsn}",
            "install unixODBC and its tools (Debian/Ubuntu: apt-get install unixodbc "
            "unixodbc-dev odbcinst; RHEL: dnf install unixODBC)",
        ), paths
    paths = parse_odbcinst_j(output)
    if paths.drivers is not None and paths.drivers.is_dir():  # ODBCINSTINI names a bare file
        paths = OdbcPaths(
            paths.version,
            paths.drivers / env.get("ODBCINSTINI", "odbcinst.ini"),
            paths.system_dsn,
            paths.user_dsn,
        )
    return Finding(
        "unixodbc",
        "ok",
        f"unixODBC {paths.version or '(version unknown)'}: DRIVERS {paths.drivers}, "
        f"SYSTEM DATA SOURCES {paths.system_dsn}, USER DATA SOURCES {paths.user_dsn}",
    ), paths


def _driver_dirs() -> list[Path]:
    """Where unixODBC resolves a bare ``Driver=libfoo.so`` (its build-time lib prefix)."""
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = [
        f"/usr/lib/{arch}/odbc",
        f"/usr/lib/{arch}",
        "/usr/lib64",
        "/usr/lib64/odbc",
        "/usr/lib/odbc",
        "/usr/lib",
        "/usr/local/lib",
        "/opt/homebrew/lib",
    ]
    return [Path(d) for d in dict.fromkeys(dirs) if "//" not in d]


def registered_drivers(paths: OdbcPaths, env: Mapping[str, str]) -> list[DriverEntry]:
    """The drivers ``odbcinst -q -d`` lists (else the odbcinst.ini sections), with libraries."""
    ini = _read_ini_quietly(paths.drivers)
    status, output = _run(["odbcinst", "-q", "-d"], env)
    names = re.findall(r"^\[(.+)\]\s*$", output, re.M) if status == 0 else []
    names = names or [s for s in ini if s.upper() not in ("ODBC", "ODBC DRIVERS")]
    entries = []
    for name in names:
        library = (_section(ini, name) or {}).get("DRIVER") or None
        path = None
        if library:
            candidates = (
                [Path(library)] if "/" in library else [d / library for d in _driver_dirs()]
            )
            path = next((p for p in candidates if p.is_file()), None)
        entries.append(DriverEntry(name, library, path))
    return entries


# ctypes loads with RTLD_NOW. Drivers may use unixODBC symbols they do not link themselves
# (SQLGetPrivateProfileString, ...), so load the driver manager's libraries first, globally, as
# they are in a process where unixODBC loads the driver.
_LOAD_SNIPPET = """\
import ctypes, sys
for name in ("libodbcinst.so.2", "libodbc.so.2"):
    try:
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        pass
ctypes.CDLL(sys.argv[1])
"""


def probe_library(library: str, env: Mapping[str, str], timeout: float = 30.0) -> str | None:
    """Load a shared library in a child process; return ``None`` if it loads, else why not.

    A library that crashes the loader (or its constructors) kills the child, not the doctor.
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _LOAD_SNIPPET, library],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"loading it did not finish within {timeout:.0f} s"
    if proc.returncode == 0:
        return None
    if proc.returncode < 0:
        return f"loading it killed the process ({_signal_name(-proc.returncode)})"
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1].removeprefix("OSError: ") if lines else f"exit status {proc.returncode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def check_driver_libraries(
    drivers: Sequence[DriverEntry], env: Mapping[str, str]
) -> tuple[list[Finding], dict[str, str | None]]:
    """Does each registered driver's library exist and load? Returns findings and
    ``{driver name: None if it loads else the reason}``."""

    def probe(d: DriverEntry) -> str | None:
        if not d.library:
            return "no Driver= line in odbcinst.ini"
        if d.path is None and "/" in d.library:
            extra = " (unixODBC does not expand $VARIABLES)" if "$" in d.library else ""
            return f"{d.library} does not exist{extra}"
        return probe_library(str(d.path or d.library), env)

    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = dict(zip([d.name for d in drivers], pool.map(probe, drivers), strict=True))
    findings = []
    for d in drivers:
        problem = problems[d.name]
        where = str(d.path) if d.path else f"{d.library} (found by the dynamic loader)"
        if problem is None:
            findings.append(Finding(f"driver:{d.name}", "ok", f"{d.name}: {where} loads"))
            continue
        fix = (
            "correct Driver= in odbcinst.ini (`odbcinst -j` shows which file) or install the driver"
        )
        if d.is_informix and d.path is None and "/" in (d.library or ""):
            fix = _INSTALL_CSDK
        elif d.is_informix:
            fix = (
                "put $INFORMIXDIR/lib, $INFORMIXDIR/lib/cli and $INFORMIXDIR/lib/esql on "
                "LD_LIBRARY_PATH and check Driver= points at $INFORMIXDIR/lib/cli/iclit09b.so "
                "(CSDK 15: iclit15a.so)"
            )
        findings.append(
            Finding(
                f"driver:{d.name}",
                "warn",
                f"{d.name}: library {d.library!r} does not load: {problem}",
                fix,
            )
        )
    return findings, problems


def check_pyodbc() -> Finding:
    """Is pyodbc importable, which version, which drivers does it see?"""
    try:
        import pyodbc
    except ImportError as exc:
        return Finding(
            "pyodbc",
            "error",
            f"pyodbc cannot be imported: {exc}",
            "pip install 'pyodbc>=5' (it needs libodbc.so.2 from unixODBC at run time)",
        )
    version = str(pyodbc.version)
    drivers = ", ".join(pyodbc.drivers()) or "none"
    if int(version.split(".")[0]) < 5:
        return Finding(
            "pyodbc",
            "warn",
            f"pyodbc {version} (drivers: {drivers})",
            "informix-aio needs pyodbc>=5: pip install -U pyodbc",
        )
    return Finding("pyodbc", "ok", f"pyodbc {version} (drivers: {drivers})")


def check_informix_driver(drivers: Sequence[DriverEntry], targeted: bool) -> Finding:
    """Is an Informix ODBC driver registered, and is it the threaded library?"""
    found = [d for d in drivers if d.is_informix]
    if not found:
        return Finding(
            "informix-driver",
            "error" if targeted else "warn",
            "no Informix ODBC driver registered",
            _INSTALL_CSDK,
        )
    names = "; ".join(f"{d.name!r} -> {d.library}" for d in found)
    unthreaded = [
        d.name
        for d in found
        if d.library and Path(d.library).name.lower().startswith(_NON_THREADED)
    ]
    if unthreaded:
        return Finding(
            "informix-driver",
            "warn",
            f"Informix driver registered with the NON-threaded library: {names}",
            "informix-aio calls the driver from worker threads: point Driver= at the "
            "threaded $INFORMIXDIR/lib/cli/iclit09b.so (CSDK 15: iclit15a.so)",
        )
    return Finding("informix-driver", "ok", f"Informix ODBC driver registered: {names}")


# -- the target ------------------------------------------------------------------------------------
def odbc_ini_files(paths: OdbcPaths, env: Mapping[str, str]) -> list[Path]:
    """The odbc.ini files read for DSNs and the ``[ODBC]`` section: ``$ODBCINI``, the user
    file, the system file (in that order, without repeats)."""
    odbcini = Path(env["ODBCINI"]) if env.get("ODBCINI") else None
    return list(dict.fromkeys(p for p in (odbcini, paths.user_dsn, paths.system_dsn) if p))


def dsn_dialect(dsn: str, env: Mapping[str, str]) -> str | None:
    """The dialect name a DSN's ``Driver=`` implies (``None`` if unknown), read from the
    odbc.ini files and, for a driver name, its odbcinst.ini library."""
    status, output = _run(["odbcinst", "-j"], env)
    paths = parse_odbcinst_j(output) if status == 0 else _default_paths(env)
    for ini in odbc_ini_files(paths, env):
        section = _section(_read_ini_quietly(ini), dsn)
        if section is None:
            continue
        driver = section.get("DRIVER", "")
        library = (_section(_read_ini_quietly(paths.drivers), driver) or {}).get("DRIVER", "")
        dialect = dialect_for_driver(driver) or dialect_for_driver(library)
        return dialect.name if dialect is not None else None
    return None


@dataclass(frozen=True)
class _Target:
    keywords: dict[str, str]
    driver: str | None
    is_informix: bool


def _describe_target(
    options: ConnectOptions, ini_files: Sequence[Path], drivers: Sequence[DriverEntry]
) -> tuple[_Target, list[Finding]]:
    """Effective keywords (the DSN's odbc.ini section under the connection string's own)."""
    keywords = parse_connection_string(options.connection_string)
    findings: list[Finding] = []
    dsn = keywords.get("DSN")
    if dsn:
        section = next((s for f in ini_files if (s := _section(_read_ini_quietly(f), dsn))), None)
        if section is None:
            findings.append(
                Finding(
                    "dsn",
                    "error",
                    f"DSN {dsn!r} is not defined in {_join(ini_files)}",
                    "define it in one of those files (template: odbc/odbc.informix.ini), point "
                    "ODBCINI at the file that has it, or connect with --driver/--connection-string",
                )
            )
        else:
            keywords = {
                **{_CONNECTION_KEY_ALIASES.get(k, k): v for k, v in section.items()},
                **keywords,
            }
            findings.append(
                Finding(
                    "dsn",
                    "ok",
                    f"DSN {dsn!r} uses driver {section.get('DRIVER', '(none given)')!r}",
                )
            )
    driver = keywords.get("DRIVER")
    by_name = {d.name.lower(): d for d in drivers}
    entry = by_name.get(driver.lower()) if driver else None
    is_informix = (
        (options.dialect is not None and options.dialect.name == "informix")
        or (driver is not None and isinstance(dialect_for_driver(driver), InformixDialect))
        or (entry is not None and entry.is_informix)
    )
    return _Target(keywords, driver, is_informix), findings


def _check_target_driver(
    target: _Target,
    drivers: Sequence[DriverEntry],
    problems: Mapping[str, str | None],
    env: Mapping[str, str],
) -> Finding | None:
    driver = target.driver
    if not driver:
        return None
    if "/" in driver:
        problem = probe_library(driver, env) if Path(driver).is_file() else "file not found"
        if problem is None:
            return Finding("target-driver", "ok", f"driver library {driver} loads")
        return Finding(
            "target-driver",
            "error",
            f"driver library {driver} does not load: {problem}",
            _INSTALL_CSDK if target.is_informix else "check the path",
        )
    entry = next((d for d in drivers if d.name.lower() == driver.lower()), None)
    template = "odbc/odbcinst.informix.ini" if target.is_informix else "odbc/odbcinst.testbed.ini"
    if entry is None:
        return Finding(
            "target-driver",
            "error",
            f"driver {driver!r} is not registered with unixODBC (`odbcinst -q -d`)",
            _INSTALL_CSDK
            if target.is_informix
            else f"install the driver and register it: odbcinst -i -d -f {template}",
        )
    if problems.get(entry.name) is not None:
        return Finding(
            "target-driver",
            "error",
            f"driver {driver!r} is registered but its library does not load: "
            f"{problems[entry.name]}",
            f"see the driver:{entry.name} finding",
        )
    return Finding("target-driver", "ok", f"driver {driver!r} is registered and loads")


# -- Informix environment --------------------------------------------------------------------------
def _need(relevance: int) -> Status:
    return "error" if relevance >= _TARGETED else "warn" if relevance >= _REGISTERED else "info"


def _join(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths) or "(no odbc.ini files)"


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
        "Client-SDK, /opt/ibm/informix in the odbc/informix image)"
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
                "point ODBCINI at an odbc.ini (template: odbc/odbc.informix.ini)",
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
        if (v := (_section(_read_ini_quietly(f), "ODBC") or {}).get("UNICODE")) is not None
    ]
    fix = (
        f"add to {files[0] if files else '~/.odbc.ini'} (ODBCINI, else ~/.odbc.ini):\n"
        "[ODBC]\nUNICODE=UCS-2\n(template: odbc/odbc.informix.ini). If connecting still "
        "fails with -11060, see pyodbc issue #1433."
    )
    bad: Status = "error" if relevance >= _REGISTERED else "info"
    if not found:
        return Finding(
            "odbc-unicode",
            bad,
            f"no UNICODE=UCS-2 in the [ODBC] section of {_join(files)}"
            + (f": {_UCS2_WHY}" if relevance else " (only the Informix driver needs it)"),
            fix if relevance else "",
        )
    where, value = found[0]
    if value.upper().replace("-", "").replace("_", "") == "UCS2":
        return Finding("odbc-unicode", "ok", f"UNICODE={value} in the [ODBC] section of {where}")
    return Finding(
        "odbc-unicode",
        bad,
        f"UNICODE={value} (not UCS-2) in the [ODBC] section of {where}: {_UCS2_WHY}",
        fix if relevance else "",
    )


def sqlhosts_file(env: Mapping[str, str]) -> Path | None:
    """``$INFORMIXSQLHOSTS``, else ``$INFORMIXDIR/etc/sqlhosts``, else ``None``."""
    if env.get("INFORMIXSQLHOSTS"):
        return Path(env["INFORMIXSQLHOSTS"])
    if env.get("INFORMIXDIR"):
        return Path(env["INFORMIXDIR"]) / "etc" / "sqlhosts"
    return None


def check_sqlhosts(env: Mapping[str, str], relevance: int) -> tuple[Finding, list[SqlhostsEntry]]:
    """Find and parse the sqlhosts file."""
    path = sqlhosts_file(env)
    fix = (
        "export INFORMIXSQLHOSTS=/path/to/sqlhosts (template: odbc/sqlhosts.example), or give "
        "HOST, SERVICE and PROTOCOL in the connection"
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
        f"add `{server} onsoctcp <host> <port>` to {path} (see odbc/sqlhosts.example) "
        "or pass --host, --service and --protocol onsoctcp",
    )


# -- the connection (in a child process) -----------------------------------------------------------
def _probe_main() -> None:
    """Child side of :func:`probe_connection`: request on stdin, one marked JSON line out."""
    request = json.loads(sys.stdin.read())
    print(_PROBE_MARK + json.dumps(_probe(request), default=str), flush=True)


def _probe(request: Mapping[str, Any]) -> dict[str, Any]:
    import pyodbc

    from . import build_options
    from ._sync import open_connection
    from .errors import Error

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
            info["dbms_version"] = str(conn.getinfo(pyodbc.SQL_DBMS_VER))
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
    root = str(Path(__file__).resolve().parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from informix_aio._doctor import _probe_main; _probe_main()"
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
            f"the ODBC driver crashed the process ({_signal_name(-proc.returncode)})", crashed=True
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
        return f"set UNICODE=UCS-2 in the [ODBC] section of odbc.ini: {_UCS2_WHY}"
    if state == "IM002":
        return (
            "unixODBC does not know that DSN or driver name: list them with "
            "`odbcinst -q -s` and `odbcinst -q -d`"
        )
    if "can't open lib" in message.lower() or state.startswith("IM"):
        return (
            "unixODBC could not load the driver library: see the driver: findings, the "
            "Driver= path and LD_LIBRARY_PATH"
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
    options: ConnectOptions, target: _Target, env: Mapping[str, str], timeout: float
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


# -- everything --------------------------------------------------------------------------------------
def run_doctor(
    options: ConnectOptions | None, *, env: Mapping[str, str] | None = None, timeout: float = 10.0
) -> Report:
    """Run every check (and a test connection when ``options`` are given).

    :param options: validated connection options, or ``None`` to check the machine only.
    :param env: the environment the checks read and the children get (default ``os.environ``).
        pyodbc, imported in this process, always sees the real environment.
    :param timeout: the login timeout of the test connection, in seconds.
    """
    env = dict(os.environ if env is None else env)
    report = Report()
    add = report.findings.append
    unixodbc, paths = check_unixodbc(env)
    add(unixodbc)
    drivers = registered_drivers(paths, env)
    add(
        Finding(
            "odbc-drivers",
            "ok" if drivers else "warn",
            f"{len(drivers)} driver(s) registered in {paths.drivers}: "
            f"{', '.join(d.name for d in drivers) or 'none'}",
            "" if drivers else "install and register an ODBC driver (odbc/README.md)",
        )
    )
    library_findings, problems = check_driver_libraries(drivers, env)
    report.findings.extend(library_findings)
    add(check_pyodbc())

    ini_files = odbc_ini_files(paths, env)
    target = None
    if options is not None:
        target, target_findings = _describe_target(options, ini_files, drivers)
    if target is not None and target.is_informix:
        relevance = _TARGETED
    elif any(d.is_informix for d in drivers):
        relevance = _REGISTERED
    else:
        relevance = _NONE
    add(check_informix_driver(drivers, relevance == _TARGETED))
    if target is not None:
        report.findings.extend(target_findings)
        target_driver = _check_target_driver(target, drivers, problems, env)
        if target_driver is not None:
            add(target_driver)
    report.findings.extend(check_informix_env(env, relevance))
    add(check_unicode_setting(ini_files, relevance))
    sqlhosts, entries = check_sqlhosts(env, relevance)
    add(sqlhosts)
    if target is not None and target.is_informix:
        add(check_sqlhosts_entry(entries, target.keywords, env))
    if options is not None and target is not None:
        findings, report.connection = check_connection(options, target, env, timeout)
        report.findings.extend(findings)
        if report.connection is not None:
            # The standalone load probe failed, yet unixODBC loaded the driver and connected.
            report.findings = [
                replace(f, status="warn", message=f"{f.message} (yet the connection works)")
                if f.check == "target-driver" and f.status == "error"
                else f
                for f in report.findings
            ]
    return report
