"""Informix column types for SQLAlchemy, and how values cross the driver in both directions.

Use them like SQLAlchemy's own: ``Column("price", MONEY(10, 2))``,
``Column("at", DATETIME("year", "fraction", fraction=3))``, ``Column("notes", LVARCHAR(4000))``.
What the CSDK ODBC driver returns for each type is in the project's INFORMIX-TYPES notes; the
result processors here accept every form listed there (e.g. an INTERVAL as text or as
``timedelta``), since several are unverified on a real server.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import sqltypes as _sqltypes
from sqlalchemy.sql import type_api

__all__ = [
    "BIGSERIAL",
    "BYTE",
    "DATETIME",
    "DATETIME_FIELDS",
    "INT8",
    "INTERVAL",
    "LVARCHAR",
    "MONEY",
    "SERIAL",
    "SERIAL8",
    "SMALLFLOAT",
    "InformixBoolean",
    "InformixTime",
    "format_interval",
    "parse_interval",
]

#: DATETIME / INTERVAL qualifier fields, most significant first.
DATETIME_FIELDS = ("year", "month", "day", "hour", "minute", "second", "fraction")
_DAY_TIME = ("day", "hour", "minute", "second", "fraction")


def _check_qualifier(start: str, end: str, fraction: int | None) -> tuple[str, str]:
    start, end = start.lower(), end.lower()
    if start not in DATETIME_FIELDS or end not in DATETIME_FIELDS:
        raise ValueError(f"qualifier fields are {', '.join(DATETIME_FIELDS)}; got {start}/{end}")
    if DATETIME_FIELDS.index(start) > DATETIME_FIELDS.index(end):
        raise ValueError(f"qualifier {start.upper()} TO {end.upper()} runs backwards")
    if fraction is not None and not 1 <= fraction <= 5:
        raise ValueError("FRACTION(n) takes n from 1 to 5")
    return start, end


def _qualifier_sql(start: str, end: str, fraction: int | None, precision: int | None) -> str:
    first = start.upper()
    if precision is not None and start != "fraction":
        first += f"({precision})"
    last = f"FRACTION({fraction})" if end == "fraction" and fraction is not None else end.upper()
    return f"{first} TO {last}"


class LVARCHAR(sqltypes.String):
    """``LVARCHAR(n)``: variable-length text up to 32,739 bytes (VARCHAR stops at 255)."""

    __visit_name__ = "LVARCHAR"


class MONEY(sqltypes.Numeric[Any]):
    """``MONEY(p, s)``: a DECIMAL the server formats with a currency symbol; read as Decimal."""

    __visit_name__ = "MONEY"


class SMALLFLOAT(sqltypes.REAL[Any]):
    """``SMALLFLOAT``: single precision floating point (SQL ``REAL``)."""

    __visit_name__ = "SMALLFLOAT"


class BYTE(sqltypes.LargeBinary):
    """``BYTE``: the simple large object for binary data (no index, no comparison)."""

    __visit_name__ = "BYTE"


class INT8(sqltypes.BigInteger):
    """``INT8``: Informix's older 64-bit integer (stored in 10 bytes; BIGINT is 8)."""

    __visit_name__ = "INT8"


class SERIAL(sqltypes.Integer):
    """``SERIAL``: a 32-bit auto-numbered column (one per table; last value via DBINFO)."""

    __visit_name__ = "SERIAL"


class SERIAL8(sqltypes.BigInteger):
    """``SERIAL8``: a 64-bit auto-numbered column over INT8 (``DBINFO('serial8')``)."""

    __visit_name__ = "SERIAL8"


class BIGSERIAL(sqltypes.BigInteger):
    """``BIGSERIAL``: a 64-bit auto-numbered column over BIGINT (``DBINFO('bigserial')``)."""

    __visit_name__ = "BIGSERIAL"


class DATETIME(sqltypes.DateTime):
    """``DATETIME start TO end``, e.g. ``DATETIME("year", "fraction", fraction=5)``.

    :param start: the first field (``"year"`` ... ``"fraction"``).
    :param end: the last field.
    :param fraction: digits of FRACTION (1-5) when ``end`` is ``"fraction"``.
    :raises ValueError: unknown fields, a backwards qualifier, or fraction outside 1-5.
    """

    __visit_name__ = "INFORMIX_DATETIME"

    def __init__(
        self, start: str = "year", end: str = "fraction", *, fraction: int | None = 5
    ) -> None:
        super().__init__()
        self.start, self.end = _check_qualifier(start, end, fraction)
        self.fraction = fraction if self.end == "fraction" else None

    @property
    def qualifier(self) -> str:
        """``YEAR TO FRACTION(5)`` and the like."""
        return _qualifier_sql(self.start, self.end, self.fraction, None)


class INTERVAL(type_api.NativeForEmulated, _sqltypes._AbstractInterval):
    """``INTERVAL start(precision) TO end``, e.g. ``INTERVAL("day", "fraction", precision=9)``.

    Day-time intervals (DAY ... FRACTION) map to :class:`datetime.timedelta`; year-month
    intervals are not timedeltas and come back as the server's text (``"3-06"``).

    :param start: the first field.
    :param end: the last field.
    :param precision: digits of the first field (Informix default 2; 9 at most).
    :param fraction: digits of FRACTION (1-5) when ``end`` is ``"fraction"``.
    :raises ValueError: unknown fields, a backwards qualifier, or mixed year-month/day-time.
    """

    __visit_name__ = "INFORMIX_INTERVAL"
    native = True

    def __init__(
        self,
        start: str = "day",
        end: str = "fraction",
        *,
        precision: int | None = 9,
        fraction: int | None = 5,
    ) -> None:
        self.start, self.end = _check_qualifier(start, end, fraction)
        if (self.start in ("year", "month")) != (self.end in ("year", "month")):
            raise ValueError("an INTERVAL is year-month or day-time, not both")
        if precision is not None and not 1 <= precision <= 9:
            raise ValueError("INTERVAL precision is 1 to 9 digits")
        self.precision = precision
        self.fraction = fraction if self.end == "fraction" else None

    @property
    def qualifier(self) -> str:
        """``DAY(9) TO FRACTION(5)`` and the like."""
        return _qualifier_sql(self.start, self.end, self.fraction, self.precision)

    @property
    def is_day_time(self) -> bool:
        """True for DAY ... FRACTION intervals (the ones a ``timedelta`` holds)."""
        return self.start in _DAY_TIME

    def bind_processor(self, dialect: Dialect) -> Any:
        """``timedelta`` -> the interval literal text (pyodbc cannot send an interval)."""
        if not self.is_day_time:
            return None

        def process(value: Any) -> Any:
            if isinstance(value, datetime.timedelta):
                return format_interval(value)
            return value

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """Text (``"-5 10:20:30.12345"``) or ``timedelta`` -> ``timedelta`` (day-time only)."""
        if not self.is_day_time:
            return None
        start = self.start

        def process(value: Any) -> Any:
            if isinstance(value, str):
                return parse_interval(value, start=start)
            return value

        return process

    @classmethod
    def adapt_emulated_to_native(  # type: ignore[override]
        cls, interval: sqltypes.Interval, **kw: Any
    ) -> INTERVAL:
        """SQLAlchemy's generic ``Interval()`` -> ``INTERVAL DAY(9) TO FRACTION(5)``."""
        return cls()

    @property
    def _type_affinity(self) -> type[sqltypes.Interval]:
        return sqltypes.Interval

    def as_generic(self, allow_nulltype: bool = False) -> sqltypes.Interval:
        """The generic ``Interval``."""
        return sqltypes.Interval(native=True)

    @property
    def python_type(self) -> type[datetime.timedelta]:
        """``timedelta``."""
        return datetime.timedelta


class InformixTime(sqltypes.Time):
    """``DATETIME HOUR TO FRACTION(5)``; the driver may return ``time`` or ``datetime``."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """A ``datetime`` becomes its ``time()``."""

        def process(value: Any) -> Any:
            if isinstance(value, datetime.datetime):
                return value.time()
            return value

        return process


class InformixBoolean(sqltypes.Boolean):
    """BOOLEAN: the driver reports SQL_BIT (``bool``); its text form is ``'1'``/``'0'`` or
    ``'t'``/``'f'``, accepted too."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """``bool``, ``int`` or text -> ``bool``."""

        def process(value: Any) -> Any:
            if value is None or isinstance(value, bool):
                return value
            if isinstance(value, str):
                return value.strip().lower() in ("1", "t", "true")
            return bool(value)

        return process


_INTERVAL_RE = re.compile(
    r"^\s*(?P<sign>[-+])?\s*(?:(?P<lead>\d+)\s+)?(?P<time>[\d:.]+)\s*$|^\s*(?P<sign2>[-+])?(?P<only>\d+)\s*$"
)


def format_interval(value: datetime.timedelta) -> str:
    """A ``timedelta`` as an Informix DAY TO FRACTION(5) literal: ``-5 10:20:30.12345``."""
    total_us = abs(value) // datetime.timedelta(microseconds=1)
    days, rest = divmod(total_us, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    sign = "-" if value < datetime.timedelta(0) else ""
    return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{micros // 10:05d}"


def parse_interval(text: str, *, start: str = "day") -> datetime.timedelta:
    """Informix day-time interval text -> ``timedelta``.

    ``"6 05:45"`` (DAY TO MINUTE), ``"-9834 15:45:12.345"``, ``"  5 10:20:30.00000"``,
    ``"10:20"`` (HOUR TO MINUTE, with ``start="hour"``).

    :param start: the interval's first field, which says what the leading number counts.
    :raises ValueError: text that is not an interval.
    """
    m = _INTERVAL_RE.match(text)
    if m is None:
        raise ValueError(f"not an Informix interval: {text!r}")
    if m.group("only") is not None:
        sign = -1 if m.group("sign2") == "-" else 1
        return sign * _unit(start) * int(m.group("only"))
    sign = -1 if m.group("sign") == "-" else 1
    fields = [f for f in _DAY_TIME if DATETIME_FIELDS.index(f) >= DATETIME_FIELDS.index(start)]
    numbers: list[str] = []
    if m.group("lead") is not None:
        numbers.append(m.group("lead"))
    clock, _, frac = m.group("time").partition(".")
    numbers.extend(p for p in clock.split(":") if p)
    total = datetime.timedelta(0)
    for field, number in zip(fields, numbers, strict=False):
        if field == "fraction":
            break
        total += _unit(field) * int(number)
    if frac:
        total += datetime.timedelta(microseconds=int((frac + "000000")[:6]))
    return sign * total


def _unit(field: str) -> datetime.timedelta:
    return {
        "day": datetime.timedelta(days=1),
        "hour": datetime.timedelta(hours=1),
        "minute": datetime.timedelta(minutes=1),
        "second": datetime.timedelta(seconds=1),
        "fraction": datetime.timedelta(microseconds=10),
    }[field]
