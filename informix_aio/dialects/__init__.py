"""Dialects: everything that differs between the databases this library talks to.

Informix is the product's reason to exist; PostgreSQL, SQLite and MariaDB exist so that the
library runs, and is tested, against real ODBC drivers where no Informix server is at hand.
"""

from __future__ import annotations

from .base import ISOLATION_LEVELS, Dialect, normalize_isolation
from .informix import InformixDialect
from .mariadb import MariaDBDialect
from .postgresql import PostgreSQLDialect
from .sqlite import SQLiteDialect

__all__ = [
    "ISOLATION_LEVELS",
    "Dialect",
    "InformixDialect",
    "MariaDBDialect",
    "PostgreSQLDialect",
    "SQLiteDialect",
    "dialect_for_dbms",
    "dialect_for_driver",
    "get_dialect",
    "normalize_isolation",
]

_DIALECTS: dict[str, type[Dialect]] = {
    d.name: d for d in (InformixDialect, PostgreSQLDialect, SQLiteDialect, MariaDBDialect)
}


def get_dialect(name: str) -> Dialect:
    """Return the dialect called ``name`` (``"informix"``, ``"postgresql"``, ...).

    :raises InterfaceError: no dialect has that name.
    """
    from ..errors import InterfaceError

    try:
        return _DIALECTS[name.lower()]()
    except KeyError:
        raise InterfaceError(
            f"unknown dialect {name!r}; expected one of {', '.join(sorted(_DIALECTS))}"
        ) from None


def dialect_for_driver(driver: str | None) -> Dialect | None:
    """Guess the dialect from an ODBC driver name or library path, before connecting."""
    if not driver:
        return None
    low = driver.lower()
    for cls in _DIALECTS.values():
        if any(h in low for h in cls.driver_hints):
            return cls()
    return None


def dialect_for_dbms(dbms_name: str) -> Dialect | None:
    """Choose the dialect from the driver's ``SQL_DBMS_NAME``, after connecting."""
    low = dbms_name.lower()
    for cls in _DIALECTS.values():
        if any(h in low for h in cls.dbms_hints):
            return cls()
    return None
