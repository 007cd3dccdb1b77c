"""Bad input gets a clear PEP 249 error before anything runs, on every backend: no builtin
exception escapes the DB-API, and nothing is written half-way."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

import informix_aio
from informix_aio.errors import DataError, ProgrammingError
from tests.conftest import Backend


@pytest.fixture
def conn(backend: Backend) -> Iterator[informix_aio.Connection]:
    c = informix_aio.connect(**backend.connect_kwargs(autocommit=True))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def table(backend: Backend, conn: informix_aio.Connection) -> Iterator[str]:
    name = backend.table("bad")
    conn.execute_direct(f"CREATE TABLE {name} (a VARCHAR(20), b VARCHAR(20))")
    conn.execute_direct(f"INSERT INTO {name} VALUES ('x', 'y')")
    conn.execute_direct(f"INSERT INTO {name} VALUES ('x', 'z')")
    yield name
    conn.execute_direct(f"DROP TABLE {name}")


def test_nul_in_sql_text_is_refused_before_anything_runs(
    conn: informix_aio.Connection, table: str
) -> None:
    with pytest.raises(ProgrammingError, match="NUL character"):
        conn.execute_direct(f"DELETE FROM {table} WHERE a = 'x'\x00 AND b = 'y'")
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 2
    cur = conn.cursor()
    with pytest.raises(ProgrammingError, match="NUL character"):
        cur.execute(f"DELETE FROM {table} WHERE a = 'x'\x00 AND b = 'y'")
    with pytest.raises(ProgrammingError, match="NUL character"):
        cur.executemany(f"DELETE FROM {table} WHERE a = ?\x00 AND b = 'y'", [("x",)])
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 2


@pytest.mark.parametrize("sql", [b"SELECT 1", 42, None], ids=["bytes", "int", "none"])
def test_sql_that_is_not_a_str_is_a_programming_error(
    conn: informix_aio.Connection, sql: Any
) -> None:
    with pytest.raises(ProgrammingError, match="the SQL must be a str"):
        conn.execute_direct(sql)


def test_lone_surrogate_in_sql_is_a_programming_error(conn: informix_aio.Connection) -> None:
    with pytest.raises(ProgrammingError, match="lone surrogate"):
        conn.execute_direct("SELECT 'a\ud800'")


def test_lone_surrogate_in_a_parameter_is_a_data_error(
    conn: informix_aio.Connection, table: str
) -> None:
    with pytest.raises(DataError, match="parameter 1"):
        conn.execute_direct(f"INSERT INTO {table} (a) VALUES (?)", ("a\udc00",))
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 2


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**100])
def test_integer_beyond_64_bits_is_a_data_error(conn: informix_aio.Connection, value: int) -> None:
    with pytest.raises(DataError, match=f"parameter 1 \\({value}\\)"):
        conn.fetchval("SELECT ?", (value,))


@pytest.mark.parametrize(
    "params",
    [{1, 2}, frozenset({1}), {"a": 1}, "ab", b"ab", iter([1])],
    ids=["set", "frozenset", "dict", "str", "bytes", "iterator"],
)
def test_only_sequences_are_accepted_as_qmark_parameters(
    conn: informix_aio.Connection, params: Any
) -> None:
    with pytest.raises(ProgrammingError, match="must be a sequence"):
        conn.fetchval("SELECT ?", params)


def test_a_row_from_the_driver_is_accepted_as_parameters(conn: informix_aio.Connection) -> None:
    row = conn.raw.cursor().execute("SELECT 7").fetchone()
    assert int(conn.fetchval("SELECT ?", row)) == 7


def test_timezone_aware_datetime_is_refused_not_shifted(
    backend: Backend, conn: informix_aio.Connection
) -> None:
    name = backend.table("tz")
    conn.execute_direct(f"CREATE TABLE {name} (t {backend.timestamp_type})")
    try:
        aware = datetime.datetime(2026, 1, 2, 12, 0, tzinfo=datetime.timezone.utc)
        with pytest.raises(DataError, match="timezone-aware"):
            conn.execute_direct(f"INSERT INTO {name} VALUES (?)", (aware,))
        with pytest.raises(DataError, match="timezone-aware"):
            conn.cursor().executemany(f"INSERT INTO {name} VALUES (?)", [(aware,)])
        assert conn.fetchval(f"SELECT COUNT(*) FROM {name}") == 0
    finally:
        conn.execute_direct(f"DROP TABLE {name}")


def test_executemany_with_one_bad_row_writes_nothing(
    conn: informix_aio.Connection, table: str
) -> None:
    with pytest.raises(DataError):
        conn.cursor().executemany(f"INSERT INTO {table} (a) VALUES (?)", [("ok",), ("bad\udc00",)])
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 2


@pytest.mark.parametrize("batch", [None, 3, "ab", {"a": 1}], ids=["none", "int", "str", "dict"])
def test_executemany_refuses_what_is_not_a_sequence_of_parameter_sets(
    conn: informix_aio.Connection, table: str, batch: Any
) -> None:
    with pytest.raises(ProgrammingError, match="sequence of parameter sequences"):
        conn.cursor().executemany(f"INSERT INTO {table} (a) VALUES (?)", batch)


@pytest.mark.parametrize("column", [5, "a"])
def test_fetchval_of_a_column_the_row_lacks_is_a_programming_error(
    conn: informix_aio.Connection, column: Any
) -> None:
    with pytest.raises(ProgrammingError, match="not in the row"):
        conn.fetchval("SELECT 1", column=column)


@pytest.mark.parametrize("size", ["3", -1, 2.5, True])
def test_fetchmany_size_must_be_a_whole_number(conn: informix_aio.Connection, size: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT 1")
    with pytest.raises(ProgrammingError, match="fetchmany size"):
        cur.fetchmany(size)
