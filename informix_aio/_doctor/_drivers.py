"""unixODBC and its drivers: is unixODBC there, which drivers are registered, do their
libraries load, is pyodbc usable, is an Informix driver (the threaded one) registered?

Each driver library is loaded in a child process, because a broken driver can crash the
process that loads it (a UCS-4/UCS-2 mismatch in the Informix driver is the classic case).
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..dialects import InformixDialect
from ._config import OdbcPaths, default_odbc_paths, find_section, parse_odbcinst_j, read_ini_quietly
from ._findings import INSTALL_CSDK, Finding
from ._process import run_tool, signal_name

__all__ = [
    "DriverEntry",
    "check_driver_libraries",
    "check_informix_driver",
    "check_pyodbc",
    "check_unixodbc",
    "probe_library",
    "registered_drivers",
]


_INFORMIX_HINTS = InformixDialect.driver_hints
_NON_THREADED = ("iclis", "libifcli")


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


def check_unixodbc(env: Mapping[str, str]) -> tuple[Finding, OdbcPaths]:
    """``odbcinst -j``: is unixODBC there, which version, which files does it read?"""
    status, output = run_tool(["odbcinst", "-j"], env)
    if status != 0:
        paths = default_odbc_paths(env)
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
    ini = read_ini_quietly(paths.drivers)
    status, output = run_tool(["odbcinst", "-q", "-d"], env)
    names = re.findall(r"^\[(.+)\]\s*$", output, re.M) if status == 0 else []
    names = names or [s for s in ini if s.upper() not in ("ODBC", "ODBC DRIVERS")]
    entries = []
    for name in names:
        library = (find_section(ini, name) or {}).get("DRIVER") or None
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
        return f"loading it killed the process ({signal_name(-proc.returncode)})"
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1].removeprefix("OSError: ") if lines else f"exit status {proc.returncode}"


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
            fix = INSTALL_CSDK
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


def check_informix_driver(drivers: Sequence[DriverEntry], required: bool) -> Finding:
    """Is an Informix ODBC driver registered, and is it the threaded library?

    :param required: a missing driver is an error (the target is Informix, or there is no
        target and the question is whether this machine can reach Informix at all); else a
        warning (the target is another database).
    """
    found = [d for d in drivers if d.is_informix]
    if not found:
        return Finding(
            "informix-driver",
            "error" if required else "warn",
            "the Informix ODBC driver is missing: none is registered with unixODBC",
            INSTALL_CSDK,
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
