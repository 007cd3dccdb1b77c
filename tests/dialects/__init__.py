"""Dialect tests, and the one helper every error test shares: driver errors built exactly as
pyodbc builds them (``src/errors.cpp``), so that classification is proven on real shapes."""

from __future__ import annotations

import pyodbc

__all__ = ["pyodbc_class_for", "pyodbc_error"]

# pyodbc's SQLSTATE -> exception class table (errors.cpp, verbatim); anything else is
# plain pyodbc.Error, which is what pyodbc raises for HY000 and for every SQLite error.
_EXACT: dict[str, type[pyodbc.Error]] = {
    "01002": pyodbc.OperationalError,
    "08001": pyodbc.OperationalError,
    "08003": pyodbc.OperationalError,
    "08004": pyodbc.OperationalError,
    "08007": pyodbc.OperationalError,
    "08S01": pyodbc.OperationalError,
    "0A000": pyodbc.NotSupportedError,
    "28000": pyodbc.InterfaceError,
    "40002": pyodbc.IntegrityError,
    "HY001": pyodbc.OperationalError,
    "HY014": pyodbc.OperationalError,
    "HYT00": pyodbc.OperationalError,
    "HYT01": pyodbc.OperationalError,
    "IM001": pyodbc.InterfaceError,
    "IM002": pyodbc.InterfaceError,
    "IM003": pyodbc.InterfaceError,
}
_PREFIX: dict[str, type[pyodbc.Error]] = {
    "22": pyodbc.DataError,
    "23": pyodbc.IntegrityError,
    "24": pyodbc.ProgrammingError,
    "25": pyodbc.ProgrammingError,
    "42": pyodbc.ProgrammingError,
}


def pyodbc_class_for(sqlstate: str) -> type[pyodbc.Error]:
    """The class pyodbc raises for a driver error with this SQLSTATE."""
    return _EXACT.get(sqlstate) or _PREFIX.get(sqlstate[:2], pyodbc.Error)


def pyodbc_error(sqlstate: str, message: str) -> pyodbc.Error:
    """The exception pyodbc raises: ``args == (sqlstate, message)``, class from the SQLSTATE.

    ``message`` is pyodbc's whole text, ``"[SQLSTATE] <driver text> (<native>) (<SQLFunc>)"``.
    """
    return pyodbc_class_for(sqlstate)(sqlstate, message)
