"""The target: what the connection options point at once a DSN's odbc.ini section is merged
in, whether that is Informix, and whether its driver is registered and loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._options import ConnectOptions
from ..dialects import InformixDialect, dialect_for_driver
from ._config import (
    CONNECTION_KEY_ALIASES,
    default_odbc_paths,
    find_section,
    join_ini_files,
    odbc_ini_files,
    parse_connection_string,
    parse_odbcinst_j,
    read_ini_quietly,
)
from ._drivers import DriverEntry, probe_library
from ._findings import INSTALL_CSDK, Finding
from ._process import run_tool
from ._templates import template_command

__all__ = ["Target", "check_target_driver", "describe_target", "dsn_dialect"]


def dsn_dialect(dsn: str, env: Mapping[str, str]) -> str | None:
    """The dialect name a DSN's ``Driver=`` implies (``None`` if unknown), read from the
    odbc.ini files and, for a driver name, its odbcinst.ini library."""
    status, output = run_tool(["odbcinst", "-j"], env)
    paths = parse_odbcinst_j(output) if status == 0 else default_odbc_paths(env)
    for ini in odbc_ini_files(paths, env):
        section = find_section(read_ini_quietly(ini), dsn)
        if section is None:
            continue
        driver = section.get("DRIVER", "")
        library = (find_section(read_ini_quietly(paths.drivers), driver) or {}).get("DRIVER", "")
        dialect = dialect_for_driver(driver) or dialect_for_driver(library)
        return dialect.name if dialect is not None else None
    return None


@dataclass(frozen=True)
class Target:
    """The effective connection keywords, the driver they name, and whether it is Informix."""

    keywords: dict[str, str]
    driver: str | None
    is_informix: bool


def describe_target(
    options: ConnectOptions, ini_files: Sequence[Path], drivers: Sequence[DriverEntry]
) -> tuple[Target, list[Finding]]:
    """Effective keywords (the DSN's odbc.ini section under the connection string's own)."""
    keywords = parse_connection_string(options.connection_string)
    findings: list[Finding] = []
    dsn = keywords.get("DSN")
    if dsn:
        section = next(
            (s for f in ini_files if (s := find_section(read_ini_quietly(f), dsn))), None
        )
        if section is None:
            findings.append(
                Finding(
                    "dsn",
                    "error",
                    f"DSN {dsn!r} is not defined in {join_ini_files(ini_files)}",
                    f"define it in one of those files (template: {template_command('odbc')}), point "
                    "ODBCINI at the file that has it, or connect with --driver/--connection-string",
                )
            )
        else:
            keywords = {
                **{CONNECTION_KEY_ALIASES.get(k, k): v for k, v in section.items()},
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
    return Target(keywords, driver, is_informix), findings


def check_target_driver(
    target: Target,
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
            INSTALL_CSDK if target.is_informix else "check the path",
        )
    entry = next((d for d in drivers if d.name.lower() == driver.lower()), None)
    if entry is None:
        return Finding(
            "target-driver",
            "error",
            f"driver {driver!r} is not registered with unixODBC (`odbcinst -q -d`)",
            INSTALL_CSDK
            if target.is_informix
            else "install the driver (Debian: odbc-postgresql, libsqliteodbc, odbc-mariadb) and "
            f"register it under that name: odbcinst -i -d -f <a file with its [{driver}] entry>",
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
