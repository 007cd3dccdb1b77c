"""Informix column values: the output converters for the driver's own type codes, the
INTERVAL types, and the adaptation of Python values the driver cannot bind.

pyodbc hands an output converter the column's value as the bytes of ``SQLGetData(SQL_C_BINARY)``
and never calls it for NULL (the project's ``shared/INFORMIX-TYPES.md`` §1). What those bytes
hold for INTERVAL, ROW and collections is undocumented, so every converter here decides by the
SQL type code it is registered for and by the length and layout of the bytes, never by what the
bytes happen to spell, and refuses anything else with a :class:`DataError` that names the type
and the escape (``ODTYP=1``, or a cast to text in SQL).

What comes back, per type:

- INTERVAL day-time (SQL types 103-106, 108-113): :class:`datetime.timedelta`;
- INTERVAL year-month (101, 102, 107): :class:`YearMonthInterval`;
- BIGINT/BIGSERIAL (-114): ``int``;
- LVARCHAR (-104): ``str`` in the connection's client-locale code set;
- ROW and collections (-105..-109), opaque UDTs (-100/-101): their text form as ``str``;
- BLOB/CLOB (-102/-103): never reached while LO automatic mode is on (they are then plain
  long binary/text); with it off the driver hands out a large-object handle, refused here.
"""

from __future__ import annotations

import datetime
import re
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import DataError

__all__ = [
    "INTERVAL_FIELDS",
    "INTERVAL_SQL_TYPES",
    "YearMonthInterval",
    "codec_for_locale",
    "converters",
    "decode_bigint",
    "format_timedelta",
    "interval_converter",
    "parse_day_time",
    "parse_year_month",
]

#: ODBC interval SQL type codes -> (name, first field, last field), per the ODBC headers.
INTERVAL_SQL_TYPES: dict[int, tuple[str, str, str]] = {
    101: ("INTERVAL YEAR", "year", "year"),
    102: ("INTERVAL MONTH", "month", "month"),
    103: ("INTERVAL DAY", "day", "day"),
    104: ("INTERVAL HOUR", "hour", "hour"),
    105: ("INTERVAL MINUTE", "minute", "minute"),
    106: ("INTERVAL SECOND", "second", "second"),
    107: ("INTERVAL YEAR TO MONTH", "year", "month"),
    108: ("INTERVAL DAY TO HOUR", "day", "hour"),
    109: ("INTERVAL DAY TO MINUTE", "day", "minute"),
    110: ("INTERVAL DAY TO SECOND", "day", "second"),
    111: ("INTERVAL HOUR TO MINUTE", "hour", "minute"),
    112: ("INTERVAL HOUR TO SECOND", "hour", "second"),
    113: ("INTERVAL MINUTE TO SECOND", "minute", "second"),
}
#: The day-time fields in order; a qualifier keeps a contiguous run of them.
INTERVAL_FIELDS = ("day", "hour", "minute", "second")
_SECONDS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
_ESCAPE = (
    "connect with ODTYP=1 (the driver then reports standard ODBC types) or cast the column to "
    "text in SQL (e.g. col::LVARCHAR)"
)

# SQL_INTERVAL_STRUCT on Linux x86-64 (unixODBC sqltypes.h, measured): int32 interval_type,
# int16 interval_sign + 2 bytes padding, then 5 x uint32 (day, hour, minute, second, fraction)
# or 2 x uint32 (year, month) in the same 20-byte union.
_STRUCT_LEN = 28
_HEAD = struct.Struct("=ih2x")
_DAY_SECOND = struct.Struct("=5I")
_YEAR_MONTH = struct.Struct("=2I")


@dataclass(frozen=True)
class YearMonthInterval:
    """An Informix ``INTERVAL YEAR TO MONTH`` (or ``YEAR`` / ``MONTH``) value.

    Normalised on creation: ``years`` and ``months`` share one sign and ``abs(months) < 12``,
    so ``YearMonthInterval(0, 14) == YearMonthInterval(1, 2)``. ``str()`` gives the Informix
    literal (``'1-02'``, ``'-3-06'``), which is how the value binds as a parameter.

    :param years: whole years (may be negative).
    :param months: months (may exceed 11 or be negative; folded into years).
    """

    years: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        total = self.years * 12 + self.months
        sign = -1 if total < 0 else 1
        object.__setattr__(self, "years", sign * (abs(total) // 12))
        object.__setattr__(self, "months", sign * (abs(total) % 12))

    @property
    def total_months(self) -> int:
        """The whole interval in months."""
        return self.years * 12 + self.months

    def __str__(self) -> str:
        sign = "-" if self.total_months < 0 else ""
        return f"{sign}{abs(self.years)}-{abs(self.months):02d}"


def format_timedelta(value: datetime.timedelta) -> str:
    """The Informix ``INTERVAL DAY(9) TO FRACTION(5)`` literal of a ``timedelta``.

    ``timedelta(days=-1, seconds=3600)`` is ``'-0 23:00:00.00000'``: the sign covers the whole
    interval, as in Informix.

    :raises DataError: the value has a microsecond digit finer than FRACTION(5) keeps (10 µs).
    """
    total_us = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    if total_us % 10:
        raise DataError(
            f"timedelta {value!r} is finer than INTERVAL ... TO FRACTION(5) keeps (10 µs); "
            "round it first"
        )
    seconds, us = divmod(total_us, 1_000_000)
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    return f"{sign}{days} {h:02d}:{m:02d}:{s:02d}.{us // 10:05d}"


_DAY_TIME_TEXT = re.compile(r"^\s*([+-])?\s*(\d+(?:[ :]\d+)*)(?:\.(\d{1,9}))?\s*$")
_YEAR_MONTH_TEXT = re.compile(r"^\s*([+-])?\s*(\d+)(?:-(\d+))?\s*$")


def parse_day_time(text: str, first: str, last: str) -> datetime.timedelta:
    """Parse an Informix day-time interval literal of the qualifier ``first TO last``.

    ``'-9834 15:45:12.345'`` (DAY TO FRACTION), ``'06 05:45'`` (DAY TO MINUTE), ``'10:20'``
    (HOUR TO MINUTE or MINUTE TO SECOND, told apart by the qualifier). Leading blanks (a padded
    leading field) and an optional sign are accepted.

    :raises ValueError: the text does not fit the qualifier.
    """
    m = _DAY_TIME_TEXT.match(text)
    if m is None:
        raise ValueError(f"not an interval literal: {text!r}")
    sign, body, fraction = m.groups()
    parts = re.split(r"[ :]", body)
    fields = INTERVAL_FIELDS[INTERVAL_FIELDS.index(first) : INTERVAL_FIELDS.index(last) + 1]
    if len(parts) != len(fields):
        raise ValueError(f"{text!r} does not have the fields {first} to {last}")
    if " " in body and (first != "day" or body.index(" ") != len(parts[0])):
        raise ValueError(f"{text!r}: only the day field is followed by a blank")
    if fraction is not None and last != "second":
        raise ValueError(f"{text!r}: a fraction needs a qualifier ending in SECOND/FRACTION")
    seconds = sum(int(p) * _SECONDS[f] for p, f in zip(parts, fields, strict=True))
    us = int((fraction or "0")[:6].ljust(6, "0"))
    delta = datetime.timedelta(seconds=seconds, microseconds=us)
    return -delta if sign == "-" else delta


def parse_year_month(text: str, first: str, last: str) -> YearMonthInterval:
    """Parse an Informix year-month interval literal: ``'7623-11'``, ``'-3'`` (YEAR), ``'14'``
    (MONTH).

    :raises ValueError: the text does not fit the qualifier.
    """
    m = _YEAR_MONTH_TEXT.match(text)
    if m is None:
        raise ValueError(f"not a year-month interval literal: {text!r}")
    sign, a, b = m.groups()
    if (first, last) == ("year", "month"):
        if b is None:
            raise ValueError(f"{text!r} lacks the month of a YEAR TO MONTH interval")
        value = YearMonthInterval(int(a), int(b))
    elif b is not None:
        raise ValueError(f"{text!r} has two fields; the qualifier has one")
    else:
        value = YearMonthInterval(int(a), 0) if first == "year" else YearMonthInterval(0, int(a))
    return YearMonthInterval(0, -value.total_months) if sign == "-" else value


def _from_struct(raw: bytes, code: int) -> datetime.timedelta | YearMonthInterval | None:
    """The 28-byte ODBC interval struct, when the bytes have its layout; else ``None``."""
    if len(raw) != _STRUCT_LEN:
        return None
    kind, sign = _HEAD.unpack_from(raw)
    # SQL_IS_YEAR = 1 ... SQL_IS_MINUTE_TO_SECOND = 13, in the order of the codes 101..113.
    if kind != code - 100 or sign not in (0, 1):
        return None
    negative = sign == 1  # ODBC: SQL_TRUE means negative (the driver's convention unverified)
    if code in (101, 102, 107):
        years, months = _YEAR_MONTH.unpack_from(raw, _HEAD.size)
        ym = YearMonthInterval(years, months)
        return YearMonthInterval(0, -ym.total_months) if negative else ym
    day, hour, minute, second, fraction = _DAY_SECOND.unpack_from(raw, _HEAD.size)
    # The fraction is in the interval's seconds precision; ODBC's default for the C type is 6.
    delta = datetime.timedelta(
        days=day, hours=hour, minutes=minute, seconds=second, microseconds=fraction
    )
    return -delta if negative else delta


def interval_converter(code: int) -> Callable[[bytes | None], Any]:
    """The output converter for the ODBC interval SQL type ``code`` (101-113)."""
    name, first, last = INTERVAL_SQL_TYPES[code]
    year_month = first in ("year", "month")

    def convert(raw: bytes | None) -> Any:
        if raw is None:
            return None
        value = _from_struct(raw, code)
        if value is not None:
            return value
        try:
            text = raw.decode("ascii")
            if year_month:
                return parse_year_month(text, first, last)
            return parse_day_time(text, first, last)
        except ValueError:
            pass
        raise DataError(
            f"{name} column: the driver handed over {len(raw)} bytes that are neither the "
            f"ODBC interval struct nor an interval literal ({raw[:40]!r}); {_ESCAPE}"
        )

    convert.__name__ = f"convert_{name.lower().replace(' ', '_')}"
    return convert


def decode_bigint(raw: bytes | None) -> int | None:
    """BIGINT/BIGSERIAL (-114): 8 bytes are the native-endian int64 the driver writes for
    SQL_C_BINARY; any other length is read as decimal text. Decided by length, never content:
    eight bytes that spell digits are still the binary integer.

    :raises DataError: bytes of another length that are not a decimal integer.
    """
    if raw is None:
        return None
    if len(raw) == 8:
        return int.from_bytes(raw, sys.byteorder, signed=True)
    text = raw.strip()
    if re.fullmatch(rb"[+-]?\d{1,20}", text):
        return int(text)
    raise DataError(f"BIGINT column: cannot read {len(raw)} bytes {raw[:40]!r}; {_ESCAPE}")


# Informix locale code sets (the part after the dot of CLIENT_LOCALE) -> Python codecs.
_CODESETS = {
    "8859-1": "iso8859-1",
    "819": "iso8859-1",
    "8859-15": "iso8859-15",
    "utf8": "utf-8",
    "57372": "utf-8",
    "1252": "cp1252",
    "cp1252": "cp1252",
    "1250": "cp1250",
    "1251": "cp1251",
    "8859-2": "iso8859-2",
    "8859-5": "iso8859-5",
    "koi8-r": "koi8-r",
    "sjis-s": "shift_jis",
    "932": "cp932",
    "ujis": "euc_jp",
    "gb18030-2000": "gb18030",
    "gb": "gb2312",
    "big5": "big5",
    "ksc": "euc_kr",
    "949": "cp949",
}


def codec_for_locale(locale: str | None) -> str | None:
    """The Python codec of an Informix locale name (``en_us.utf8`` -> ``utf-8``), or ``None``
    when it is not known (then text converters try UTF-8, then ISO 8859-1)."""
    if not locale or "." not in locale:
        return None
    codeset = locale.rsplit(".", 1)[1].strip().lower()
    return _CODESETS.get(codeset)


def _text_decoder(codec: str | None, name: str) -> Callable[[bytes], str]:
    def decode(raw: bytes) -> str:
        if codec is None:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("iso8859-1")  # the driver's default code set on UNIX
        try:
            return raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise DataError(f"{name} column: not valid {codec} text ({exc.reason})") from None

    return decode


def _text_converter(codec: str | None, name: str) -> Callable[[bytes | None], str | None]:
    decode = _text_decoder(codec, name)

    def convert(raw: bytes | None) -> str | None:
        return None if raw is None else decode(raw)

    return convert


_COMPOSITE_TEXT = re.compile(
    rb"^\s*(?:ROW\s*\(|(?:SET|MULTISET|LIST)\s*\{|[A-Za-z_]\w*\s*\()", re.I
)


def _composite_converter(codec: str | None, name: str) -> Callable[[bytes | None], str | None]:
    """ROW and collections: text such as ``ROW(7, 'Dexter')`` or ``SET{3 ,5 ,7 }`` comes back as
    ``str``; a row/collection handle (a binary fetch without the text switch) is refused."""
    decode = _text_decoder(codec, name)

    def convert(raw: bytes | None) -> str | None:
        if raw is None:
            return None
        if _COMPOSITE_TEXT.match(raw) and raw.rstrip().endswith((b")", b"}")):
            return decode(raw)
        raise DataError(
            f"{name} column: the driver handed over {len(raw)} bytes that are not the type's "
            f"text form (a row/collection handle?); {_ESCAPE}"
        )

    return convert


def _opaque_converter(codec: str | None, name: str) -> Callable[[bytes | None], Any]:
    """Opaque UDTs: their external text when it decodes to printable text, else the internal
    form as ``bytes`` (the driver gives an opaque type no fixed C form)."""
    decode = _text_decoder(codec, name)

    def convert(raw: bytes | None) -> Any:
        if raw is None:
            return None
        try:
            text = decode(raw)
        except DataError:
            return bytes(raw)
        return text if text.isprintable() or not text.strip("\t\r\n ") else bytes(raw)

    return convert


def _large_object_refused(name: str) -> Callable[[bytes | None], Any]:
    def convert(raw: bytes | None) -> Any:
        if raw is None:
            return None
        raise DataError(
            f"{name} column came back as a large-object handle: the driver's LO automatic "
            "mode (SQL_INFX_ATTR_LO_AUTOMATIC) is off; connect with ODTYP=1, or select the "
            "column through LOTOFILE() / a cast"
        )

    return convert


def converters(client_locale: str | None) -> dict[int, Callable[[bytes | None], Any]]:
    """Every output converter the Informix dialect registers, by SQL type code."""
    codec = codec_for_locale(client_locale)
    out: dict[int, Callable[[bytes | None], Any]] = {
        code: interval_converter(code) for code in INTERVAL_SQL_TYPES
    }
    out[-100] = _opaque_converter(codec, "opaque (fixed)")
    out[-101] = _opaque_converter(codec, "opaque (varying)")
    out[-102] = _large_object_refused("BLOB")
    out[-103] = _large_object_refused("CLOB")
    out[-104] = _text_converter(codec, "LVARCHAR")
    out[-105] = _composite_converter(codec, "ROW")
    out[-106] = _composite_converter(codec, "COLLECTION")
    out[-107] = _composite_converter(codec, "LIST")
    out[-108] = _composite_converter(codec, "SET")
    out[-109] = _composite_converter(codec, "MULTISET")
    out[-114] = decode_bigint
    return out
