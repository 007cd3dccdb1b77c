"""The configuration files a connection depends on: where they are and how to read them.

``odbcinst -j`` output, odbc.ini / odbcinst.ini files, Informix sqlhosts files and ODBC
connection strings. The parsers are pure; the locators only read the environment mapping
they are given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONNECTION_KEY_ALIASES",
    "OdbcPaths",
    "SqlhostsEntry",
    "default_odbc_paths",
    "find_section",
    "join_ini_files",
    "odbc_ini_files",
    "parse_connection_string",
    "parse_odbcinst_j",
    "parse_sqlhosts",
    "read_ini",
    "read_ini_quietly",
    "sqlhosts_file",
]


CONNECTION_KEY_ALIASES = {
    "SERVERNAME": "SERVER",
    "DB": "DATABASE",
    "SRVR": "SERVER",
    "SERV": "SERVICE",
    "PRO": "PROTOCOL",
    "LOGONID": "UID",
}


@dataclass(frozen=True)
class OdbcPaths:
    """What ``odbcinst -j`` says unixODBC reads (``None`` where it said nothing)."""

    version: str | None
    drivers: Path | None
    system_dsn: Path | None
    user_dsn: Path | None


@dataclass(frozen=True)
class SqlhostsEntry:
    """One sqlhosts line: ``name protocol host service [options]``."""

    name: str
    protocol: str
    host: str
    service: str
    options: str = ""


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


def find_section(ini: Mapping[str, Mapping[str, str]], name: str) -> Mapping[str, str] | None:
    """The section called ``name``, compared case-insensitively as unixODBC does."""
    for key, values in ini.items():
        if key.lower() == name.lower():
            return values
    return None


def read_ini_quietly(path: Path | None) -> dict[str, dict[str, str]]:
    """:func:`read_ini`, or no sections when ``path`` is ``None``, missing or unreadable."""
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
            result.setdefault(CONNECTION_KEY_ALIASES.get(key, key), value)
    return result


def default_odbc_paths(env: Mapping[str, str]) -> OdbcPaths:
    """Where unixODBC looks when ``odbcinst`` is not there to tell us."""
    sysdir = Path(env.get("ODBCSYSINI", "/etc"))
    user = env.get("ODBCINI") or str(Path(env.get("HOME", "~")).expanduser() / ".odbc.ini")
    return OdbcPaths(None, sysdir / "odbcinst.ini", sysdir / "odbc.ini", Path(user))


def odbc_ini_files(paths: OdbcPaths, env: Mapping[str, str]) -> list[Path]:
    """The odbc.ini files read for DSNs and the ``[ODBC]`` section: ``$ODBCINI``, the user
    file, the system file (in that order, without repeats)."""
    odbcini = Path(env["ODBCINI"]) if env.get("ODBCINI") else None
    return list(dict.fromkeys(p for p in (odbcini, paths.user_dsn, paths.system_dsn) if p))


def join_ini_files(paths: Sequence[Path]) -> str:
    """The odbc.ini files for a message."""
    return ", ".join(str(p) for p in paths) or "(no odbc.ini files)"


def sqlhosts_file(env: Mapping[str, str]) -> Path | None:
    """``$INFORMIXSQLHOSTS``, else ``$INFORMIXDIR/etc/sqlhosts``, else ``None``."""
    if env.get("INFORMIXSQLHOSTS"):
        return Path(env["INFORMIXSQLHOSTS"])
    if env.get("INFORMIXDIR"):
        return Path(env["INFORMIXDIR"]) / "etc" / "sqlhosts"
    return None
