"""What is checked before anything reaches the driver, and what the driver's own Python
exceptions become.

pyodbc raises builtin exceptions for some bad input (``OverflowError`` for an int beyond 64 bits,
``UnicodeEncodeError`` for a lone surrogate, ``TypeError`` for SQL that is not a ``str``), and
the ODBC drivers silently cut SQL text at a NUL character (a ``DELETE ... WHERE a = 'x'<NUL> AND
b = 'y'`` deleted every row with ``a = 'x'``). Every such case is refused here, before anything
runs, or translated into the PEP 249 class that fits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pyodbc

from .errors import DataError, Error, ProgrammingError

__all__ = ["check_sql", "conversion_error", "param_sequence", "translate_builtin"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_sql(sql: object) -> None:
    """Refuse SQL text the driver would mangle or reject with a builtin exception.

    :raises ProgrammingError: not a ``str``, a NUL character, or a lone surrogate.
    """
    if not isinstance(sql, str):
        raise ProgrammingError(f"the SQL must be a str, not {type(sql).__name__}")
    text = sql
    if "\x00" in text:
        raise ProgrammingError(
            f"the SQL holds a NUL character at offset {text.index(chr(0))}; the ODBC driver "
            "would cut the statement there and run only its first part"
        )
    if not text.isascii() and _SURROGATE.search(text) is not None:
        raise ProgrammingError(
            "the SQL holds a lone surrogate character, which no database encoding can carry"
        )


def param_sequence(params: object) -> Sequence[Any]:
    """The parameters as a sequence for ``?`` markers.

    :raises ProgrammingError: a mapping, a string, a set or any other non-sequence (a set
        would bind in arbitrary order).
    """
    cls = params.__class__
    if cls is tuple or cls is list:
        return params  # type: ignore[return-value]
    if isinstance(params, pyodbc.Row):
        return tuple(params)
    if isinstance(params, (str, bytes, bytearray, memoryview, Mapping)) or not isinstance(
        params, Sequence
    ):
        raise ProgrammingError(
            "parameters must be a sequence (tuple or list) matching the '?' markers, "
            f"not {type(params).__name__}"
        )
    return params


def translate_builtin(exc: Exception, params: Sequence[Any] | None) -> Error | None:
    """The PEP 249 error for a builtin exception pyodbc raised while binding, or ``None``.

    The SQL was checked before (:func:`check_sql`), so these come from the parameters.
    """
    where = _which_param(exc, params)
    if isinstance(exc, OverflowError):
        return DataError(f"{where} is out of the range the ODBC driver can bind ({exc})")
    if isinstance(exc, UnicodeEncodeError):
        return DataError(f"{where} holds a character the ODBC driver cannot encode ({exc.reason})")
    if isinstance(exc, (TypeError, ValueError)):
        return ProgrammingError(f"{where} cannot be bound: {exc}")
    return None


def _which_param(exc: Exception, params: Sequence[Any] | None) -> str:
    if params:
        for i, value in enumerate(params):
            if isinstance(exc, OverflowError) and isinstance(value, int) and _too_big(value):
                return f"parameter {i + 1} ({value})"
            if (
                isinstance(exc, UnicodeEncodeError)
                and isinstance(value, str)
                and _SURROGATE.search(value) is not None
            ):
                return f"parameter {i + 1}"
    return "a parameter"


def _too_big(value: int) -> bool:
    return not -(2**63) <= value < 2**63


def conversion_error(exc: Exception) -> Error:
    """What a fetch raises when an output converter failed: a converter's own PEP 249 error
    as it is, anything else (a ``UnicodeDecodeError``, a ``ValueError``) as ``DataError``."""
    if isinstance(exc, Error):
        return exc
    return DataError(
        f"a fetched value could not be converted ({type(exc).__name__}: {exc}); check the "
        "output converter registered for its column's type"
    )
