"""Connection options -> an ODBC connection string, with escaping and redaction."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .dialects import (
    Dialect,
    InformixDialect,
    dialect_for_driver,
    get_dialect,
    normalize_isolation,
)
from .dialects.informix import DEFAULT_DRIVER, DRIVER_ENV
from .errors import InterfaceError
from .rows import RowFactory

__all__ = [
    "DEFAULT_INFORMIX_PROTOCOL",
    "DEFAULT_INFORMIX_SERVICE",
    "DRIVER_ENV",
    "ConnectOptions",
    "build_options",
    "escape_value",
    "redact",
]

#: The server's default SQLI listener: port 9088, plain TCP.
DEFAULT_INFORMIX_SERVICE = "9088"
DEFAULT_INFORMIX_PROTOCOL = "onsoctcp"
_TLS_PROTOCOL = "onsocssl"
_LOCALE_KEYS = ("CLIENT_LOCALE", "CLOC")

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
    tls: bool = False,
    network_timeout: float | None = None,
    **keywords: str | int | bool,
) -> ConnectOptions:
    """Validate connection options and build the connection string. No I/O.

    Informix defaults: with ``server=`` (and usually ``host=``) but no ``dsn=``, ``driver=`` or
    ``connection_string=``, the driver is ``$INFORMIX_AIO_DRIVER`` or ``"IBM INFORMIX ODBC
    DRIVER"``; with ``host=`` on Informix and no DSN, ``SERVICE`` defaults to 9088 and
    ``PROTOCOL`` to ``onsoctcp`` (``onsocssl`` with ``tls=True``). Each can be overridden.

    :param tls: Informix over TLS (``PROTOCOL=onsocssl``); the client's keystore is named in
        ``$INFORMIXDIR/etc/conssl.cfg`` (``informix-aio doctor`` checks it).
    :param network_timeout: Informix: seconds a network send or receive may block before it
        fails (the driver's send/receive timeout attributes), so a half-open connection fails
        instead of hanging.
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
    if network_timeout is not None and not network_timeout > 0:
        raise ValueError("network_timeout must be > 0")
    if isinstance(dialect, str):
        chosen: Dialect | None = get_dialect(dialect)
    else:
        chosen = dialect if dialect is not None else dialect_for_driver(driver)
    if chosen is None and connection_string is not None:
        m = re.search(r"DRIVER\s*=\s*(\{[^}]*\}|[^;]*)", connection_string, re.I)
        chosen = dialect_for_driver(m.group(1)) if m else None
    target_given = dsn is not None or driver is not None or connection_string is not None
    if not target_given and server is not None and _is_informix(chosen):
        # The seed form create_pool(host=..., server=..., ...): IBM's registered driver name.
        driver = os.environ.get(DRIVER_ENV) or DEFAULT_DRIVER
        chosen = chosen if chosen is not None else get_dialect("informix")
    if chosen is None and (tls or network_timeout is not None):
        chosen = get_dialect("informix")  # Informix-only options: the dialect must keep them
    if tls:
        if not _is_informix(chosen):
            raise InterfaceError("tls= is an Informix option (PROTOCOL=onsocssl)")
        if protocol is not None and protocol.lower() != _TLS_PROTOCOL:
            raise InterfaceError(f"tls=True means protocol {_TLS_PROTOCOL!r}, not {protocol!r}")
        protocol = _TLS_PROTOCOL
    if host is not None and dsn is None and connection_string is None and _is_informix(chosen):
        if port is None:
            if tls:
                raise InterfaceError(
                    "tls=True: give service= (the port of the server's onsocssl listener; "
                    "9088 is the plain onsoctcp one)"
                )
            port = DEFAULT_INFORMIX_SERVICE
        if protocol is None:
            protocol = DEFAULT_INFORMIX_PROTOCOL

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

    if network_timeout is not None and not _is_informix(chosen):
        raise InterfaceError("network_timeout= is an Informix option (the CSDK's attributes)")
    if isinstance(chosen, InformixDialect):
        chosen = chosen.with_settings(
            driver=driver,
            client_locale=_client_locale(pairs, connection_string),
            network_timeout=network_timeout,
        )

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


def _is_informix(dialect: Dialect | None) -> bool:
    """Informix, or not decided yet (the library's default dialect)."""
    return dialect is None or dialect.name == "informix"


def _client_locale(pairs: list[tuple[str, str]], connection_string: str | None) -> str | None:
    """The CLIENT_LOCALE (or CLOC) the connection gives, if it gives one."""
    for key, value in reversed(pairs):
        if key.upper() in _LOCALE_KEYS:
            return value.strip("{}")
    if connection_string is not None:
        m = re.search(r"(?:^|;)\s*(?:CLIENT_LOCALE|CLOC)\s*=\s*([^;]*)", connection_string, re.I)
        if m:
            return m.group(1).strip().strip("{}")
    return None
