"""Server versions as the server itself reports them.

ODBC's ``SQL_DBMS_VER`` is ``##.##.####`` (major, minor, release, zero-padded) followed by
anything the driver likes. Drivers squeeze versions of other shapes into it: psqlODBC reports
PostgreSQL 15.20 as ``15.0.20`` (PostgreSQL has had two-part versions since 10, and the driver
fills the minor field with 0), MariaDB's driver 10.11.19 as ``10.11.000019``. :func:`server_version`
undoes that. A string it does not recognise, or one with text after the numbers (Informix's
fix-pack levels such as ``FC9W1DE``), is left as it is.
"""

from __future__ import annotations

import re

__all__ = ["server_version"]

_ODBC_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$")


def server_version(dbms_name: str, raw: str) -> str:
    """``SQL_DBMS_VER`` as the server would print its version.

    >>> server_version("PostgreSQL", "15.0.20")
    '15.20'
    >>> server_version("MariaDB", "10.11.000019")
    '10.11.19'

    :param dbms_name: ``SQL_DBMS_NAME`` (selects the PostgreSQL rule).
    :param raw: ``SQL_DBMS_VER`` as the driver returned it.
    """
    m = _ODBC_VERSION.match(raw)
    if m is None:
        return raw.strip()
    major, minor = int(m.group(1)), int(m.group(2))
    release = None if m.group(3) is None else int(m.group(3))
    if "postgres" in dbms_name.lower() and major >= 10:
        # Two-part versions: "15.0.20" (and "15.0020", the padded two-field form) mean 15.20.
        if release is None:
            return f"{major}.{minor}"
        if minor == 0:
            return f"{major}.{release}"
    parts = [major, minor] if release is None else [major, minor, release]
    return ".".join(str(p) for p in parts)
