"""Informix values: INTERVAL literals and structs, BIGINT bytes, text by client locale, ROW and
collection text, and the parameters pyodbc cannot bind (``timedelta``, year-month intervals).

The formats are IBM's documented literals (INFORMIX-TYPES.md §5): ``'7623-11'`` year-month,
``'-9834 15:45:12.345'`` day-time, ``'06 05:45'`` for DAY TO MINUTE, and the 28-byte ODBC
``SQL_INTERVAL_STRUCT`` as unixODBC's headers lay it out on Linux x86-64.
"""

from __future__ import annotations

import datetime
import struct
from typing import Any

import pytest

from informix_aio.dialects import InformixDialect
from informix_aio.dialects._informix_types import (
    YearMonthInterval,
    codec_for_locale,
    converters,
    decode_bigint,
    format_timedelta,
    interval_converter,
    parse_day_time,
    parse_year_month,
)
from informix_aio.errors import DataError

td = datetime.timedelta


def interval_struct(code: int, negative: bool, *fields: int) -> bytes:
    """SQL_INTERVAL_STRUCT: int32 type, int16 sign, 2 pad bytes, 5 x uint32."""
    values = (list(fields) + [0] * 5)[:5]
    return struct.pack("=ih2x5I", code - 100, 1 if negative else 0, *values)


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (110, "-9834 15:45:12.345", -td(days=9834, hours=15, minutes=45, seconds=12.345)),
        (110, "5 10:20:30.12345", td(days=5, hours=10, minutes=20, seconds=30.12345)),
        (110, "    5 10:20:30.12345", td(days=5, hours=10, minutes=20, seconds=30.12345)),
        (110, "-0 00:00:01", td(seconds=-1)),
        (109, "06 05:45", td(days=6, hours=5, minutes=45)),
        (108, "3 04", td(days=3, hours=4)),
        (103, "  12", td(days=12)),
        (104, "100", td(hours=100)),
        (111, "10:20", td(hours=10, minutes=20)),
        (113, "10:20", td(minutes=10, seconds=20)),
        (113, "10:20.5", td(minutes=10, seconds=20.5)),
        (112, "-1:00:00.00001", -td(hours=1, microseconds=10)),
        (106, "59.99999", td(seconds=59.99999)),
        (110, "999999999 23:59:59.99999", td(days=999999999, seconds=86399.99999)),
    ],
)
def test_day_time_interval_text_becomes_timedelta(
    code: int, text: str, expected: datetime.timedelta
) -> None:
    assert interval_converter(code)(text.encode()) == expected


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (107, "7623-11", YearMonthInterval(7623, 11)),
        (107, "-3-06", YearMonthInterval(-3, -6)),
        (107, "  1-00", YearMonthInterval(1, 0)),
        (101, "12", YearMonthInterval(12, 0)),
        (102, "14", YearMonthInterval(1, 2)),
        (102, "-5", YearMonthInterval(0, -5)),
    ],
)
def test_year_month_interval_text_becomes_year_month_interval(
    code: int, text: str, expected: YearMonthInterval
) -> None:
    assert interval_converter(code)(text.encode()) == expected


def test_interval_struct_is_read_by_its_layout() -> None:
    raw = interval_struct(110, False, 5, 10, 20, 30, 123450)
    assert len(raw) == 28
    assert interval_converter(110)(raw) == td(days=5, hours=10, minutes=20, seconds=30.12345)
    negative = interval_struct(110, True, 1, 0, 0, 0, 0)
    assert interval_converter(110)(negative) == td(days=-1)
    ym = struct.pack("=ih2x2I12x", 7, 0, 3, 6)
    assert interval_converter(107)(ym) == YearMonthInterval(3, 6)


def test_a_28_byte_text_is_not_mistaken_for_the_struct() -> None:
    text = b"   123456789 10:20:30.12345 "[:28]
    assert len(text) == 28
    assert interval_converter(110)(text) == td(
        days=123456789, hours=10, minutes=20, seconds=30.12345
    )


@pytest.mark.parametrize(
    ("code", "raw"),
    [
        (110, b"\x01\x02\x03"),  # neither struct nor text
        (110, b"10:20"),  # too few fields for DAY TO SECOND
        (111, b"10:20:30"),  # too many for HOUR TO MINUTE
        (109, b"1 02:03.5"),  # a fraction on a qualifier that ends in MINUTE
        (107, b"12"),  # YEAR TO MONTH needs both fields
        (110, interval_struct(111, False, 1)),  # a struct of another interval type
    ],
)
def test_undecodable_interval_bytes_are_data_error_naming_the_type_and_the_escape(
    code: int, raw: bytes
) -> None:
    with pytest.raises(DataError, match="INTERVAL") as info:
        interval_converter(code)(raw)
    assert "ODTYP=1" in str(info.value)
    assert "cast" in str(info.value)


def test_interval_converters_leave_null_alone() -> None:
    for code in range(101, 114):
        assert interval_converter(code)(None) is None


def test_parsers_are_usable_on_their_own() -> None:
    assert parse_day_time("1 00:00:00", "day", "second") == td(days=1)
    assert parse_year_month("2-03", "year", "month") == YearMonthInterval(2, 3)
    with pytest.raises(ValueError):
        parse_day_time("1:2:3:4:5", "day", "second")


# -- YearMonthInterval ----------------------------------------------------------------------


def test_year_month_interval_is_normalised_and_prints_as_the_informix_literal() -> None:
    assert YearMonthInterval(0, 14) == YearMonthInterval(1, 2)
    assert YearMonthInterval(1, -14) == YearMonthInterval(0, -2)
    assert YearMonthInterval(-3, -6).total_months == -42
    assert str(YearMonthInterval(7623, 11)) == "7623-11"
    assert str(YearMonthInterval(-3, -6)) == "-3-06"
    assert str(YearMonthInterval()) == "0-00"


# -- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (td(days=5, hours=10, minutes=20, seconds=30.12345), "5 10:20:30.12345"),
        (td(0), "0 00:00:00.00000"),
        (td(days=-1, hours=23), "-0 01:00:00.00000"),
        (td(days=999999999, seconds=86399, microseconds=999990), "999999999 23:59:59.99999"),
    ],
)
def test_timedelta_formats_as_a_day_to_fraction5_literal(
    value: datetime.timedelta, literal: str
) -> None:
    assert format_timedelta(value) == literal
    assert interval_converter(110)(literal.encode()) == value  # and reads back


def test_timedelta_finer_than_ten_microseconds_is_data_error() -> None:
    with pytest.raises(DataError, match="10 µs"):
        format_timedelta(td(microseconds=1))


def test_interval_parameters_bind_as_literals_and_others_stay() -> None:
    params: list[Any] = [td(hours=1), YearMonthInterval(1, 6), 7, "x", None]
    adapted = InformixDialect().adapt_params(params)
    assert list(adapted) == ["0 01:00:00.00000", "1-06", 7, "x", None]
    plain = [1, "a"]
    assert InformixDialect().adapt_params(plain) is plain


def test_interval_parameter_next_to_a_nul_string_is_still_refused() -> None:
    with pytest.raises(DataError, match="parameter 2"):
        InformixDialect().adapt_params([td(0), "a\x00b"])


# -- BIGINT ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ((2**63 - 1).to_bytes(8, "little", signed=True), 2**63 - 1),
        ((-(2**63)).to_bytes(8, "little", signed=True), -(2**63)),
        (b"-9223372036854775808", -(2**63)),
        (b"42", 42),
        (b" 7 ", 7),
    ],
)
def test_bigint_reads_eight_bytes_as_int64_and_other_lengths_as_text(
    raw: bytes, expected: int
) -> None:
    assert decode_bigint(raw) == expected


@pytest.mark.parametrize("raw", [b"", b"abc", b"\x00\x01\x02", b"1.5"])
def test_bigint_other_bytes_are_data_error(raw: bytes) -> None:
    with pytest.raises(DataError, match="BIGINT"):
        decode_bigint(raw)


# -- locale, ROW/collections, opaque --------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "codec"),
    [
        ("en_us.8859-1", "iso8859-1"),
        ("en_US.utf8", "utf-8"),
        ("en_us.57372", "utf-8"),
        ("de_de.1252", "cp1252"),
        ("ja_jp.sjis-s", "shift_jis"),
        ("en_us", None),
        (None, None),
        ("xx_yy.nosuch", None),
    ],
)
def test_client_locale_names_its_codec(locale: str | None, codec: str | None) -> None:
    assert codec_for_locale(locale) == codec


def test_text_with_an_unknown_locale_is_utf8_else_latin1() -> None:
    lvarchar = converters(None)[-104]
    assert lvarchar("żółw".encode()) == "żółw"
    assert lvarchar("café".encode("latin-1")) == "café"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (-105, "ROW(7, 'Dexter')"),
        (-105, "address_t('Pune','City','411061')"),
        (-108, "SET{3 ,5 ,7 }"),
        (-109, "MULTISET{'a','b'}"),
        (-107, "LIST{10, 20}"),
        (-106, "SET {Smith, Waters}"),
    ],
)
def test_row_and_collection_text_comes_back_as_str(code: int, text: str) -> None:
    assert converters("en_us.utf8")[code](text.encode()) == text


@pytest.mark.parametrize("code", [-105, -106, -107, -108, -109])
def test_row_and_collection_handles_are_data_error_with_the_escape(code: int) -> None:
    with pytest.raises(DataError, match="ODTYP=1"):
        converters(None)[code](b"\x00\x00\x00\x2a\x00\x00\x00\x00")


def test_opaque_types_give_their_text_or_else_their_bytes() -> None:
    varying = converters("en_us.utf8")[-101]
    assert varying(b"1 [1], 4 [1]") == "1 [1], 4 [1]"  # sysindices.indexkeys
    assert varying(b"\x00\x01\xfe") == b"\x00\x01\xfe"
    assert varying(None) is None
