"""Informix type names for SQLAlchemy's generic and upper-case types (DDL and CAST).

From IBM's Informix Guide to SQL: Reference (data types): VARCHAR stops at 255 bytes, LVARCHAR
at 32,739; DATETIME and INTERVAL carry qualifiers; TEXT/BYTE are the simple large objects,
CLOB/BLOB the smart ones; SMALLFLOAT is single and FLOAT double precision.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql import compiler

from . import types as ifxtypes

__all__ = ["InformixTypeCompiler"]

# VARCHAR holds at most 255 bytes; longer strings need LVARCHAR (32,739 bytes at most).
_VARCHAR_MAX = 255


class InformixTypeCompiler(compiler.GenericTypeCompiler):
    """Informix type names for SQLAlchemy's generic and upper-case types."""

    def visit_BOOLEAN(self, type_: Any, **kw: Any) -> str:
        """``BOOLEAN``."""
        return "BOOLEAN"

    def visit_boolean(self, type_: Any, **kw: Any) -> str:
        """``BOOLEAN``."""
        return "BOOLEAN"

    def visit_BIGINT(self, type_: Any, **kw: Any) -> str:
        """``BIGINT``."""
        return "BIGINT"

    def visit_INT8(self, type_: Any, **kw: Any) -> str:
        """``INT8``."""
        return "INT8"

    def visit_SERIAL(self, type_: Any, **kw: Any) -> str:
        """``SERIAL``."""
        return "SERIAL"

    def visit_SERIAL8(self, type_: Any, **kw: Any) -> str:
        """``SERIAL8``."""
        return "SERIAL8"

    def visit_BIGSERIAL(self, type_: Any, **kw: Any) -> str:
        """``BIGSERIAL``."""
        return "BIGSERIAL"

    def visit_REAL(self, type_: Any, **kw: Any) -> str:
        """``SMALLFLOAT`` (single precision)."""
        return "SMALLFLOAT"

    def visit_SMALLFLOAT(self, type_: Any, **kw: Any) -> str:
        """``SMALLFLOAT``."""
        return "SMALLFLOAT"

    def visit_FLOAT(self, type_: Any, **kw: Any) -> str:
        """``FLOAT`` (double precision; Informix ignores a precision)."""
        return "FLOAT"

    def visit_DOUBLE(self, type_: Any, **kw: Any) -> str:
        """``FLOAT``."""
        return "FLOAT"

    def visit_DOUBLE_PRECISION(self, type_: Any, **kw: Any) -> str:
        """``FLOAT``."""
        return "FLOAT"

    def visit_NUMERIC(self, type_: Any, **kw: Any) -> str:
        """``DECIMAL(p, s)`` (NUMERIC is its synonym)."""
        return self.visit_DECIMAL(type_, **kw)

    def visit_MONEY(self, type_: Any, **kw: Any) -> str:
        """``MONEY(p, s)``."""
        if type_.precision is None:
            return "MONEY"
        if type_.scale is None:
            return f"MONEY({type_.precision})"
        return f"MONEY({type_.precision}, {type_.scale})"

    def visit_VARCHAR(self, type_: Any, **kw: Any) -> str:
        """``VARCHAR(n)`` up to 255; longer or unbounded strings are ``LVARCHAR``."""
        length = type_.length
        if length is None or length > _VARCHAR_MAX:
            return self.visit_LVARCHAR(type_, **kw)
        return f"VARCHAR({length})"

    def visit_NVARCHAR(self, type_: Any, **kw: Any) -> str:
        """``NVARCHAR(n)`` up to 255; longer ones ``LVARCHAR``."""
        length = type_.length
        if length is None or length > _VARCHAR_MAX:
            return self.visit_LVARCHAR(type_, **kw)
        return f"NVARCHAR({length})"

    def visit_LVARCHAR(self, type_: Any, **kw: Any) -> str:
        """``LVARCHAR`` or ``LVARCHAR(n)``."""
        return "LVARCHAR" if type_.length is None else f"LVARCHAR({type_.length})"

    def visit_TEXT(self, type_: Any, **kw: Any) -> str:
        """``TEXT`` (the simple large object; no comparison or index)."""
        return "TEXT"

    def visit_CLOB(self, type_: Any, **kw: Any) -> str:
        """``CLOB`` (smart large object)."""
        return "CLOB"

    def visit_BLOB(self, type_: Any, **kw: Any) -> str:
        """``BLOB`` (smart large object)."""
        return "BLOB"

    def visit_BYTE(self, type_: Any, **kw: Any) -> str:
        """``BYTE``."""
        return "BYTE"

    def visit_large_binary(self, type_: Any, **kw: Any) -> str:
        """``LargeBinary`` -> ``BYTE``."""
        return "BYTE"

    def visit_BINARY(self, type_: Any, **kw: Any) -> str:
        """``BYTE`` (Informix has no fixed binary type)."""
        return "BYTE"

    def visit_VARBINARY(self, type_: Any, **kw: Any) -> str:
        """``BYTE``."""
        return "BYTE"

    def visit_DATETIME(self, type_: Any, **kw: Any) -> str:
        """``DATETIME YEAR TO FRACTION(5)``."""
        return "DATETIME YEAR TO FRACTION(5)"

    def visit_TIMESTAMP(self, type_: Any, **kw: Any) -> str:
        """``DATETIME YEAR TO FRACTION(5)``."""
        return "DATETIME YEAR TO FRACTION(5)"

    def visit_TIME(self, type_: Any, **kw: Any) -> str:
        """``DATETIME HOUR TO FRACTION(5)``."""
        return "DATETIME HOUR TO FRACTION(5)"

    def visit_INFORMIX_DATETIME(self, type_: ifxtypes.DATETIME, **kw: Any) -> str:
        """``DATETIME <qualifier>``."""
        return f"DATETIME {type_.qualifier}"

    def visit_INFORMIX_INTERVAL(self, type_: ifxtypes.INTERVAL, **kw: Any) -> str:
        """``INTERVAL <qualifier>``."""
        return f"INTERVAL {type_.qualifier}"

    def visit_interval(self, type_: Any, **kw: Any) -> str:
        """``Interval`` -> ``INTERVAL DAY(9) TO FRACTION(5)``."""
        return f"INTERVAL {ifxtypes.INTERVAL().qualifier}"

    def visit_uuid(self, type_: Any, **kw: Any) -> str:
        """``CHAR(32)``: Informix has no UUID type."""
        return "CHAR(32)"

    def visit_JSON(self, type_: Any, **kw: Any) -> str:
        """``JSON`` (Informix 12.10+ stores it as an opaque type)."""
        return "JSON"
