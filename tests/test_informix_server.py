"""Informix-only behaviour, judged by a real server (``make test-informix``).

Runs when ``INFORMIX_AIO_TEST_INFORMIX`` names the test database (a DSN or a connection string,
as for the shared contract); skipped with that reason otherwise. The databases come from
``odbc/informix/create_test_db.py``: ``informix_aio_test`` (logged, the main one),
``informix_aio_nolog`` (no logging) and ``informix_aio_ansi`` (MODE ANSI). What is checked here
is what INFORMIX.md and INFORMIX-TYPES.md could only state from documentation: every column type
round trip (NULLs and extremes), ``last_serial`` per serial kind, 10 MB smart large objects,
isolation restore, lock-wait timeouts, non-logged and ANSI databases, read-only transactions,
SQLCancel of a running query, and a pool that survives ``onmode -z`` of its sessions.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import informix_aio
from informix_aio import aio
from informix_aio.dialects._informix_types import YearMonthInterval
from informix_aio.errors import (
    Error,
    NotSupportedError,
    OperationalError,
    QueryCanceled,
)

TARGET = os.environ.get("INFORMIX_AIO_TEST_INFORMIX", "")
pytestmark = pytest.mark.skipif(
    not TARGET,
    reason="no Informix server: set INFORMIX_AIO_TEST_INFORMIX to the test database's DSN or "
    "connection string (make test-informix does)",
)
NOLOG_DB = "informix_aio_nolog"
ANSI_DB = "informix_aio_ansi"
# A query that runs for a long time on any server: a cross join of the catalogue.
LONG_QUERY = "SELECT COUNT(*) FROM systables a, systables b, systables c, systables d, systables e"


def options(database: str | None = None, **extra: Any) -> dict[str, Any]:
    key = "connection_string" if "=" in TARGET else "dsn"
    target = TARGET
    if database is not None:
        target = (
            f"{target.rstrip(';')};DATABASE={database}" if key == "connection_string" else target
        )
        if key == "dsn":
            extra["database"] = database
    return {key: target, "dialect": "informix", **extra}


@pytest.fixture
def conn() -> Iterator[informix_aio.Connection]:
    with informix_aio.connect(**options(), autocommit=True) as c:
        yield c


@pytest.fixture
def table(conn: informix_aio.Connection) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    try:
        conn.execute_direct(f"DROP TABLE {name}")
    except Error:
        pass


# -- every type round trip ------------------------------------------------------------------

TYPES: list[tuple[str, Any]] = [
    ("SMALLINT", -32767),
    ("SMALLINT", 32767),
    ("INTEGER", -2147483647),
    ("INTEGER", 2147483647),
    ("INT8", -9223372036854775807),
    ("INT8", 9223372036854775807),
    ("BIGINT", -9223372036854775807),
    ("BIGINT", 9223372036854775807),
    ("SMALLFLOAT", 1.5),
    ("FLOAT", -1.7976931348623157e308),
    ("DECIMAL(32,2)", Decimal("-123456789012345678901234567890.12")),
    ("DECIMAL(16)", Decimal("1.5E+10")),
    ("MONEY(16,2)", Decimal("1234.56")),
    ("DATE", datetime.date(1, 1, 1)),
    ("DATE", datetime.date(9999, 12, 31)),
    ("DATETIME YEAR TO FRACTION(5)", datetime.datetime(9999, 12, 31, 23, 59, 59, 999990)),
    ("DATETIME YEAR TO SECOND", datetime.datetime(1, 1, 1, 0, 0, 0)),
    ("DATETIME YEAR TO DAY", datetime.date(2024, 2, 29)),
    ("DATETIME HOUR TO SECOND", datetime.time(23, 59, 59)),
    ("INTERVAL DAY(9) TO FRACTION(5)", datetime.timedelta(days=-999999999)),
    ("INTERVAL DAY(9) TO FRACTION(5)", datetime.timedelta(days=5, seconds=37230.12345)),
    ("INTERVAL YEAR(9) TO MONTH", YearMonthInterval(-999999999, -11)),
    ("INTERVAL YEAR(4) TO MONTH", YearMonthInterval(7623, 11)),
    ("BOOLEAN", True),
    ("BOOLEAN", False),
    ("CHAR(5)", "ab   "),
    ("NCHAR(5)", "żółw "),
    ("VARCHAR(255)", "x" * 255),
    ("LVARCHAR(32000)", "é" * 10000),
    ("TEXT", "t" * 100000),
    ("BYTE", bytes(range(256)) * 100),
    ("BLOB", b"\x00\xff" * 5000),
    ("CLOB", "c" * 50000),
]


@pytest.mark.parametrize(
    ("sql_type", "value"), TYPES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(TYPES)]
)
def test_every_type_round_trips_with_its_null(
    conn: informix_aio.Connection, table: str, sql_type: str, value: Any
) -> None:
    conn.execute_direct(f"CREATE TABLE {table} (id INT, v {sql_type})")
    conn.execute_direct(f"INSERT INTO {table} VALUES (1, ?)", [value])
    conn.execute_direct(f"INSERT INTO {table} VALUES (2, NULL)")
    rows = conn.fetch(f"SELECT id, v FROM {table} ORDER BY id")
    assert rows[0][1] == value
    assert rows[1][1] is None


@pytest.mark.parametrize(
    ("sql_type", "literal", "expected"),
    [
        ("DATETIME HOUR TO MINUTE", "DATETIME(10:20) HOUR TO MINUTE", None),
        ("INTERVAL HOUR TO MINUTE", "INTERVAL(10:20) HOUR TO MINUTE",
         datetime.timedelta(hours=10, minutes=20)),
        ("INTERVAL MINUTE TO SECOND", "INTERVAL(10:20) MINUTE TO SECOND",
         datetime.timedelta(minutes=10, seconds=20)),
        ("SET(INT NOT NULL)", "SET{3, 5, 7}", None),
        ("LIST(VARCHAR(10) NOT NULL)", "LIST{'a', 'b'}", None),
        ("MULTISET(INT NOT NULL)", "MULTISET{1, 1}", None),
        ("ROW(a INT, b VARCHAR(10))", "ROW(7, 'Dexter')", None),
    ],
)  # fmt: skip
def test_subsets_rows_and_collections_come_back_as_documented(
    conn: informix_aio.Connection, table: str, sql_type: str, literal: str, expected: Any
) -> None:
    conn.execute_direct(f"CREATE TABLE {table} (v {sql_type})")
    conn.execute_direct(f"INSERT INTO {table} VALUES ({literal})")
    value = conn.fetchval(f"SELECT v FROM {table}")
    if expected is not None:
        assert value == expected
    elif sql_type.startswith(("SET", "LIST", "MULTISET", "ROW")):
        assert isinstance(value, str)
        assert value.replace(" ", "").upper().startswith(sql_type.split("(")[0])
    else:
        assert isinstance(value, (datetime.datetime, datetime.time))


# -- serials ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "kind", "start"),
    [
        ("SERIAL", "serial", 2147483000),
        ("SERIAL8", "serial8", 2**40),
        ("BIGSERIAL", "bigserial", 2**50),
    ],
)
def test_last_serial_reports_each_serial_kind(
    conn: informix_aio.Connection, table: str, column: str, kind: str, start: int
) -> None:
    conn.execute_direct(f"CREATE TABLE {table} (id {column}({start}), v INT)")
    conn.execute_direct(f"INSERT INTO {table} (v) VALUES (1)")
    conn.execute_direct(f"INSERT INTO {table} (v) VALUES (2)")
    assert conn.last_serial(kind) == start + 1
    assert conn.fetchval(f"SELECT MAX(id) FROM {table}") == start + 1


# -- smart large objects ------------------------------------------------------------------------


def test_blob_and_clob_of_10_mb_read_and_write_as_bytes_and_str(
    conn: informix_aio.Connection, table: str
) -> None:
    blob = os.urandom(10 * 1024 * 1024)
    clob = "ab\u00e9" * (10 * 1024 * 1024 // 3)
    conn.execute_direct(f"CREATE TABLE {table} (b BLOB, c CLOB)")
    conn.execute_direct(f"INSERT INTO {table} VALUES (?, ?)", [blob, clob])
    row = conn.fetchrow(f"SELECT b, c FROM {table}")
    assert row is not None
    assert row[0] == blob
    assert row[1] == clob


# -- isolation, locks, read-only ----------------------------------------------------------------


def current_isolation(conn: informix_aio.Connection) -> str:
    value = conn.fetchval(
        "SELECT sqs_iso FROM sysmaster:syssqlstat WHERE sqs_sessionid = DBINFO('sessionid')"
    )
    return str(value).strip()


def test_isolation_returns_to_the_connections_own_level_after_a_transaction() -> None:
    with informix_aio.connect(**options(), autocommit=True, isolation="last_committed") as c:
        before = current_isolation(c)
        with c.transaction(isolation="repeatable_read"):
            assert current_isolation(c) != before
        assert current_isolation(c) == before


def test_isolation_in_an_ansi_database_returns_to_repeatable_read() -> None:
    with informix_aio.connect(**options(ANSI_DB), autocommit=True) as c:
        assert c.database_mode() == "ansi"
        before = current_isolation(c)
        with c.transaction(isolation="read_committed"):
            pass
        assert current_isolation(c) == before


def test_lock_wait_timeout_is_transient_with_isam_154(table: str) -> None:
    with (
        informix_aio.connect(**options(), autocommit=True) as holder,
        informix_aio.connect(**options(), autocommit=True, lock_timeout=1) as waiter,
    ):
        holder.execute_direct(f"CREATE TABLE {table} (id INT PRIMARY KEY, v INT) LOCK MODE ROW")
        holder.execute_direct(f"INSERT INTO {table} VALUES (1, 1)")
        with holder.transaction():
            holder.execute_direct(f"UPDATE {table} SET v = 2 WHERE id = 1")
            started = time.monotonic()
            with pytest.raises(OperationalError) as info, waiter.transaction():
                waiter.execute_direct(f"UPDATE {table} SET v = 3 WHERE id = 1")
            assert time.monotonic() - started >= 0.9  # it waited, then gave up
        err = info.value
        assert err.is_transient
        assert err.native_code in (-252, -244, -233, -346)
        assert err.isam_code == -154


def test_read_only_transaction_refuses_writes_and_allows_reads(
    conn: informix_aio.Connection, table: str
) -> None:
    conn.execute_direct(f"CREATE TABLE {table} (v INT)")
    with pytest.raises(Error), conn.transaction(readonly=True):
        assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
        conn.execute_direct(f"INSERT INTO {table} VALUES (1)")
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 0


# -- database modes -----------------------------------------------------------------------------


def test_database_without_logging_refuses_transaction_and_runs_executemany() -> None:
    with informix_aio.connect(**options(NOLOG_DB), autocommit=True) as c:
        assert c.database_mode() == "unlogged"
        name = f"t_{uuid.uuid4().hex[:12]}"
        c.execute_direct(f"CREATE TABLE {name} (v INT)")
        try:
            with (
                pytest.raises(NotSupportedError, match="no transaction logging"),
                c.transaction(),
            ):
                pass
            cur = c.cursor()
            cur.executemany(f"INSERT INTO {name} VALUES (?)", [(1,), (2,)])
            cur.close()
            assert c.fetchval(f"SELECT COUNT(*) FROM {name}") == 2
        finally:
            c.execute_direct(f"DROP TABLE {name}")


def test_logged_and_ansi_modes_are_told_apart(conn: informix_aio.Connection) -> None:
    assert conn.database_mode() in ("logged", "buffered")
    with informix_aio.connect(**options(ANSI_DB), autocommit=True) as c:
        assert c.database_mode() == "ansi"


# -- cancel and sessions killed by the administrator ---------------------------------------------


def test_sqlcancel_interrupts_a_long_query(conn: informix_aio.Connection) -> None:
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    try:
        with pytest.raises(QueryCanceled) as info:
            conn.fetchval(LONG_QUERY)
    finally:
        timer.cancel()
    assert info.value.native_code in (-213, -11065, -11039)
    assert conn.fetchval("SELECT 1 FROM systables WHERE tabid = 1") == 1


@pytest.mark.anyio
async def test_pool_survives_onmode_z_of_its_sessions() -> None:
    async with aio.create_pool(**options(), min_size=2, max_size=2) as pool:
        sessions = set()
        async with pool.connection() as a, pool.connection() as b:
            for c in (a, b):
                sessions.add(
                    await c.fetchval("SELECT DBINFO('sessionid') FROM systables WHERE tabid = 1")
                )
        with informix_aio.connect(**options(database="sysadmin"), autocommit=True) as admin:
            for sid in sessions:
                admin.fetchval("EXECUTE FUNCTION task('onmode', 'z', ?)", [str(sid)])
        failures: list[OperationalError] = []
        for _ in range(4):  # a killed connection may fail once; the pool then replaces it
            try:
                assert await pool.fetchval("SELECT 1 FROM systables WHERE tabid = 1") == 1
                break
            except OperationalError as exc:
                failures.append(exc)
        else:
            pytest.fail(f"the pool never served a query after onmode -z: {failures}")
        assert all(f.is_disconnect for f in failures)
        assert await pool.fetchval("SELECT 1 FROM systables WHERE tabid = 1") == 1
