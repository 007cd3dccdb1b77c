"""The checks behind ``informix-aio doctor``: why can (or can't) this machine connect?

Each check is a function that returns :class:`Finding` objects (``ok`` / ``info`` / ``warn`` /
``error``, a message and a fix). They read the files and the environment mapping they are given,
so tests point them at temporary files. :func:`run_doctor` runs them all in order.

Two things happen in child processes, because a broken ODBC driver can crash the process that
loads it (a UCS-4/UCS-2 mismatch in the Informix driver is the classic case): loading each driver
library with ``ctypes.CDLL``, and the test connection itself. The child gets the connection string
on stdin, never on its command line, so a password does not show up in ``ps``.

The modules, in the order a run uses them:

- ``_findings``: :class:`Finding`, :data:`Status`, the Informix relevance levels, shared advice.
- ``_templates``: the configuration templates shipped in ``templates/`` (``--template``), and
  the command that prints each, which is what fix lines cite.
- ``_process``: running ``odbcinst`` and naming the signal that killed a child.
- ``_config``: parsing and locating odbcinst -j output, ini files, sqlhosts, connection strings.
- ``_drivers``: unixODBC, the registered drivers and their library load probes, pyodbc.
- ``_target``: what the connection options point at, and its driver.
- ``_environment``: INFORMIXDIR, ODBCINI, LD_LIBRARY_PATH, UNICODE=UCS-2, sqlhosts.
- ``_connect``: the test connection in a child process.
- ``_version``: the server's version as the server reports it (``SQL_DBMS_VER`` undone).
- ``_report``: :func:`run_doctor` and the :class:`Report` it returns.
"""

from __future__ import annotations

from ._config import (
    OdbcPaths,
    SqlhostsEntry,
    odbc_ini_files,
    parse_connection_string,
    parse_odbcinst_j,
    parse_sqlhosts,
    read_ini,
    sqlhosts_file,
)
from ._connect import check_connection, probe_connection
from ._drivers import (
    DriverEntry,
    check_driver_libraries,
    check_informix_driver,
    check_pyodbc,
    check_unixodbc,
    probe_library,
    registered_drivers,
)
from ._environment import (
    check_informix_env,
    check_sqlhosts,
    check_sqlhosts_entry,
    check_unicode_setting,
)
from ._findings import Finding, Status
from ._report import Report, run_doctor
from ._target import dsn_dialect

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
