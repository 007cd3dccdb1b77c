"""Connection options -> an ODBC connection string, with escaping and redaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .dialects import Dialect, dialect_for_driver, get_dialect, normalize_isolation
from .errors import InterfaceError
from .rows import RowFactory

__all__ = ["ConnectOptions", "build_options", "escape_value", "redact"]

_SECRET_KEYS = frozenset({"PWD", "PASSWORD"})
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]*$")
_PWD_IN_STRING = re.compile(r"((?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)", re.I)


def escape_value(value: str) -> str:
    """Quote a connection-string value so that it cannot end early or inject a keyword.

    ODBC's rule: a value holding ``;``, ``{``, ``}``, ``=`` or edge spaces is wrapped in braces,
    with every ``}`` doubled.
    """
    if "\x00" in value:
        raise InterfaceError("connection option values cannot contain NUL characters")
    if any(c in value for c in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def redact(connection_string: str) -> str:
    """The connection string with any password replaced by ``***``."""
    return _PWD_IN_STRING.sub(lambda m: m.group(1) + "***", connection_string)


@dataclass(frozen=True)
class ConnectOptions:
    """Everything needed to open (and re-open) one connection. ``repr`` never shows secrets."""

    connection_string: str = field(repr=False)
    dialect: Dialect | None = field(repr=False)
    autocommit: bool = False
    login_timeout: int | None = None
    lock_timeout: float | None = None
    isolation: str | None = None
    row_factory: RowFactory | None = field(default=None, repr=False)
    fast_executemany: bool = False
    attrs_before: Mapping[int, Any] = field(default_factory=dict, repr=False)

    @property
    def redacted(self) -> str:
        """The connection string as it is safe to log."""
        return redact(self.connection_string)

    def __repr__(self) -> str:
        dialect = self.dialect.name if self.dialect else "auto"
        return (
            f"ConnectOptions({self.redacted!r}, dialect={dialect!r}, "
            f"autocommit={self.autocommit!r}, login_timeout={self.login_timeout!r})"
        )


def build_options(
    *,
    dsn: str | None = None,
    connection_string: str | None = None,
    driver: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    service: int | str | None = None,
    server: str | None = None,
    database: str | None = None,
    user: str | None = None,
    password: str | None = None,
    protocol: str | None = None,
    dialect: str | Dialect | None = None,
    autocommit: bool = False,
    login_timeout: float | None = None,
    lock_timeout: float | None = None,
    isolation: str | None = None,
    row_factory: RowFactory | None = None,
    fast_executemany: bool = False,
    attrs_before: Mapping[int, Any] | None = None,
    **keywords: str | int | bool,
) -> ConnectOptions:
    """Validate connection options and build the connection string. No I/O.

    :raises InterfaceError: contradictory or malformed options.
    :raises ValueError: a numeric option out of range.
    """
    if port is not None and service is not None:
        raise InterfaceError("give port= or service= (its Informix name), not both")
    port = service if port is None else port
    if login_timeout is not None and login_timeout < 0:
        raise ValueError("login_timeout must be >= 0")
    if lock_timeout is not None and lock_timeout < 0:
        raise ValueError("lock_timeout must be >= 0")
    if isinstance(dialect, str):
        chosen: Dialect | None = get_dialect(dialect)
    else:
        chosen = dialect if dialect is not None else dialect_for_driver(driver)
    if chosen is None and connection_string is not None:
        m = re.search(r"DRIVER\s*=\s*(\{[^}]*\}|[^;]*)", connection_string, re.I)
        chosen = dialect_for_driver(m.group(1)) if m else None

    pairs: list[tuple[str, str]] = []
    if driver is not None:
        if "\x00" in driver:
            raise InterfaceError("connection option values cannot contain NUL characters")
        pairs.append(("DRIVER", "{" + driver.replace("}", "}}") + "}"))
    if dsn is not None:
        pairs.append(("DSN", escape_value(dsn)))
    common = {
        "host": host,
        "port": port,
        "server": server,
        "database": database,
        "user": user,
        "password": password,
        "protocol": protocol,
    }
    if any(v is not None for v in common.values()):
        keyword_dialect = chosen if chosen is not None else get_dialect("informix")
        for key, text in keyword_dialect.connection_keywords(
            host=host,
            port=port,
            server=server,
            database=database,
            user=user,
            password=password,
            protocol=protocol,
        ):
            pairs.append((key, escape_value(text)))
    for key, value in keywords.items():
        if not _KEY_RE.match(key):
            raise InterfaceError(f"invalid connection keyword {key!r}")
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        pairs.append((key.upper(), escape_value(text)))
    if chosen is not None:
        given = {k.upper() for k, _ in pairs}
        if connection_string is not None:
            given |= {
                k.strip().upper() for k in re.findall(r"(?:^|;)\s*([^=;]+)=", connection_string)
            }
        implied = [*chosen.lock_timeout_keywords(lock_timeout), *chosen.default_keywords.items()]
        pairs.extend((k, v) for k, v in implied if k.upper() not in given)

    parts = [f"{k}={v}" for k, v in pairs]
    if connection_string is not None:
        parts.insert(0, connection_string.strip().rstrip(";"))
    if not parts or (connection_string is None and dsn is None and driver is None):
        raise InterfaceError(
            "nothing to connect to: give dsn=, driver= (with host/server/database...) "
            "or connection_string="
        )
    return ConnectOptions(
        connection_string=";".join(parts) + ";",
        dialect=chosen,
        autocommit=autocommit,
        login_timeout=None if login_timeout is None else max(1, round(login_timeout)),
        lock_timeout=lock_timeout,
        isolation=None if isolation is None else normalize_isolation(isolation),
        row_factory=row_factory,
        fast_executemany=fast_executemany,
        attrs_before=dict(attrs_before or {}),
    )
