"""The DB-API 2.0 contract of the sync layer, on every backend's real ODBC driver."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import pytest

import informix_aio
from informix_aio import Connection, dict_row, namedtuple_row
from informix_aio.errors import (
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from tests.conftest import Backend


@pytest.fixture
def conn(backend: Backend) -> Iterator[Connection]:
    c = informix_aio.connect(**backend.connect_kwargs())
    yield c
    c.close()


@pytest.fixture
def table(backend: Backend, conn: Connection) -> Iterator[str]:
    name = backend.table("items")
    conn.execute_direct(
        f"CREATE TABLE {name} (id INTEGER NOT NULL PRIMARY KEY, "
        f"email VARCHAR(100) UNIQUE, note {backend.text_type}, data {backend.blob_type}, "
        f"amount DECIMAL(20,6), at {backend.timestamp_type}, day DATE)"
    )
    conn.commit()
    yield name
    try:
        conn.rollback()
        conn.execute_direct(f"DROP TABLE {name}")
        conn.commit()
    except Error:
        pass


def count(conn: Connection, table: str) -> int:
    return int(conn.fetchval(f"SELECT COUNT(*) FROM {table}"))


def test_module_globals_follow_pep_249() -> None:
    assert informix_aio.apilevel == "2.0"
    assert informix_aio.threadsafety == 1
    assert informix_aio.paramstyle == "qmark"
    # PEP 249 type objects compare equal to the description's type codes.
    assert informix_aio.STRING == str  # noqa: E721, SIM300
    assert informix_aio.NUMBER == decimal.Decimal  # noqa: SIM300
    assert informix_aio.DATETIME == datetime.date  # noqa: SIM300
    assert informix_aio.BINARY == bytes  # noqa: E721, SIM300
    assert issubclass(informix_aio.IntegrityError, informix_aio.DatabaseError)
    assert issubclass(informix_aio.DatabaseError, informix_aio.Error)


def test_dialect_is_detected_from_the_driver(backend: Backend, conn: Connection) -> None:
    assert conn.dialect.name == backend.name
    assert conn.ping() >= 0


def test_cursor_executes_and_fetches_rows_as_tuples(conn: Connection, table: str) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} (id, email) VALUES (?, ?)", [(i, f"u{i}@x") for i in range(1, 6)]
        )
        cur.execute(f"SELECT id, email FROM {table} ORDER BY id")
        assert cur.description is not None
        assert [d[0].lower() for d in cur.description] == ["id", "email"]
        assert cur.fetchone() == (1, "u1@x")
        assert cur.fetchmany(2) == [(2, "u2@x"), (3, "u3@x")]
        assert cur.fetchall() == [(4, "u4@x"), (5, "u5@x")]
        assert cur.fetchone() is None
        cur.execute(f"SELECT id FROM {table} ORDER BY id")
        assert [r[0] for r in cur] == [1, 2, 3, 4, 5]
    conn.commit()


def test_execute_prefetch_returns_the_first_rows_and_refuses_a_prefetch_below_one(
    conn: Connection, table: str
) -> None:
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} (id) VALUES (?)", [(i,) for i in range(1, 4)])
        query = f"SELECT id FROM {table} ORDER BY id"
        description, _, rows, exhausted = cur.execute_prefetch(query, None, 2)
        assert description is not None and rows == [(1,), (2,)] and not exhausted
        assert cur.fetchall() == [(3,)]
        assert cur.execute_prefetch(query, None, 5)[2:] == ([(1,), (2,), (3,)], True)
        for bad in (0, -1):
            with pytest.raises(ProgrammingError, match="prefetch"):
                cur.execute_prefetch(query, None, bad)
    conn.commit()


def test_row_factories_shape_rows_on_connection_and_cursor(
    backend: Backend, conn: Connection, table: str
) -> None:
    conn.execute_direct(f"INSERT INTO {table} (id, email) VALUES (?, ?)", (1, "a@x"))
    row = conn.fetchrow(f"SELECT id, email FROM {table}", row_factory=dict_row)
    assert {k.lower(): v for k, v in row.items()} == {"id": 1, "email": "a@x"}
    with conn.cursor(row_factory=namedtuple_row) as cur:
        cur.execute(f"SELECT id AS ident, email FROM {table}")
        nt = cur.fetchone()
        assert nt[0] == 1 and nt[1] == "a@x"
    conn.rollback()


def test_transaction_commits_on_success_and_rolls_back_on_error(
    conn: Connection, table: str
) -> None:
    with conn.transaction():
        conn.execute_direct(f"INSERT INTO {table} (id) VALUES (1)")
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute_direct(f"INSERT INTO {table} (id) VALUES (2)")
        raise RuntimeError("boom")
    assert count(conn, table) == 1
    assert not conn.in_transaction


def test_nested_transaction_rolls_back_only_its_savepoint(conn: Connection, table: str) -> None:
    with conn.transaction():
        conn.execute_direct(f"INSERT INTO {table} (id) VALUES (1)")
        with pytest.raises(ValueError), conn.transaction():
            conn.execute_direct(f"INSERT INTO {table} (id) VALUES (2)")
            raise ValueError
        with conn.transaction():
            conn.execute_direct(f"INSERT INTO {table} (id) VALUES (3)")
    assert [r[0] for r in conn.fetch(f"SELECT id FROM {table} ORDER BY id")] == [1, 3]


def test_executemany_is_atomic_when_a_row_fails(conn: Connection, table: str) -> None:
    conn.autocommit = True
    rows = [(1, "a@x"), (2, "b@x"), (3, "a@x"), (4, "d@x")]  # the third violates UNIQUE
    with conn.cursor() as cur, pytest.raises(IntegrityError):
        cur.executemany(f"INSERT INTO {table} (id, email) VALUES (?, ?)", rows)
    assert count(conn, table) == 0
    assert conn.autocommit


def test_context_manager_commits_then_closes(backend: Backend, table: str) -> None:
    with informix_aio.connect(**backend.connect_kwargs()) as c:
        c.execute_direct(f"INSERT INTO {table} (id) VALUES (7)")
    assert c.closed
    with informix_aio.connect(**backend.connect_kwargs()) as c2:
        assert count(c2, table) == 1


def test_context_manager_rolls_back_on_exception(backend: Backend, table: str) -> None:
    with pytest.raises(KeyError), informix_aio.connect(**backend.connect_kwargs()) as c:
        c.execute_direct(f"INSERT INTO {table} (id) VALUES (8)")
        raise KeyError
    with informix_aio.connect(**backend.connect_kwargs()) as c2:
        assert count(c2, table) == 0


# -- bad input: a clear DB-API error, and the connection still works -------------------------
BAD_CALLS: list[tuple[str, str, Any, type[Error]]] = [
    ("too_many_parameters", "SELECT ? FROM {t}", (1, 2), ProgrammingError),
    ("too_few_parameters", "SELECT id FROM {t} WHERE id = ? AND email = ?", (1,), Error),
    (
        "unsupported_parameter_type",
        "SELECT id FROM {t} WHERE id = ?",
        (object(),),
        ProgrammingError,
    ),
    ("mapping_parameters", "SELECT id FROM {t} WHERE id = ?", {"id": 1}, ProgrammingError),
    ("string_as_parameters", "SELECT id FROM {t} WHERE email = ?", "a@x", ProgrammingError),
    ("syntax_error", "SELEC id FROM {t}", None, ProgrammingError),
    ("missing_table", "SELECT * FROM no_such_table_xyz", None, ProgrammingError),
    ("duplicate_primary_key", "INSERT INTO {t} (id) VALUES (1)", None, IntegrityError),
]


@pytest.mark.parametrize(
    ("sql", "params", "error"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_input_raises_dbapi_error_and_connection_survives(
    conn: Connection, table: str, sql: str, params: Any, error: type[Error]
) -> None:
    conn.autocommit = True
    conn.execute_direct(f"INSERT INTO {table} (id, email) VALUES (1, 'a@x')")
    with conn.cursor() as cur, pytest.raises(error) as info:
        cur.execute(sql.format(t=table), params)
    assert isinstance(info.value, informix_aio.Error)
    assert str(info.value)
    assert conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 1


def test_closed_cursor_and_connection_raise_interface_error(backend: Backend) -> None:
    c = informix_aio.connect(**backend.connect_kwargs())
    cur = c.cursor()
    cur.close()
    with pytest.raises(InterfaceError):
        cur.execute("SELECT 1")
    cur2 = c.cursor()
    c.close()
    c.close()  # idempotent
    with pytest.raises(InterfaceError):
        cur2.fetchone()
    with pytest.raises(InterfaceError):
        c.cursor()
    with pytest.raises(InterfaceError):
        c.commit()


def test_nul_in_string_is_refused_or_kept_exactly(
    backend: Backend, conn: Connection, table: str
) -> None:
    conn.autocommit = True
    value = "a\x00b"
    if conn.dialect.truncates_at_nul:
        with pytest.raises(DataError, match="NUL"):
            conn.execute_direct(f"INSERT INTO {table} (id, note) VALUES (1, ?)", (value,))
        assert count(conn, table) == 0
    else:
        conn.execute_direct(f"INSERT INTO {table} (id, note) VALUES (1, ?)", (value,))
        assert conn.fetchval(f"SELECT note FROM {table}") == value


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("note", "emoji \U0001f600 and CJK \u4e2d\u6587 and \u00e7"),
        ("data", bytes(range(256)) * 40),
        ("data", b""),
        ("amount", decimal.Decimal("-12345678901234.567891")),
        ("at", datetime.datetime(2024, 2, 29, 23, 59, 58, 123450)),
        ("day", datetime.date(1999, 12, 31)),
        ("note", None),
    ],
    ids=["non_bmp_unicode", "bytes", "empty_bytes", "decimal", "datetime", "date", "null"],
)
def test_values_round_trip_exactly(
    backend: Backend, conn: Connection, table: str, column: str, value: Any
) -> None:
    conn.autocommit = True
    if backend.name == "sqlite" and isinstance(value, decimal.Decimal):
        # SQLite's NUMERIC affinity keeps 15 significant digits (its storage rule, not ours).
        value = decimal.Decimal("-123456789.567891")
    if backend.name == "informix" and isinstance(value, datetime.datetime):
        value = value.replace(microsecond=value.microsecond // 10 * 10)  # FRACTION(5)
    conn.execute_direct(f"INSERT INTO {table} (id, {column}) VALUES (1, ?)", (value,))
    got = conn.fetchval(f"SELECT {column} FROM {table}")
    if backend.name == "sqlite" and isinstance(value, decimal.Decimal):
        # SQLite has no DECIMAL storage class; the driver hands back the exact text.
        got = decimal.Decimal(got)
    assert got == value
    assert type(got) is type(value)


def test_error_carries_sqlstate_native_code_and_cause(conn: Connection, table: str) -> None:
    conn.autocommit = True
    conn.execute_direct(f"INSERT INTO {table} (id, email) VALUES (1, 'a@x')")
    with pytest.raises(IntegrityError) as info:
        conn.execute_direct(f"INSERT INTO {table} (id, email) VALUES (2, 'a@x')")
    err = info.value
    assert err.sqlstate is not None and len(err.sqlstate) == 5
    assert err.__cause__ is not None and type(err.__cause__).__module__ == "pyodbc"
    assert not err.is_disconnect and not err.is_transient


def test_explicit_commit_inside_transaction_block_is_refused(conn: Connection) -> None:
    with conn.transaction():
        with pytest.raises(ProgrammingError):
            conn.commit()
        with pytest.raises(ProgrammingError):
            conn.autocommit = True


def test_unknown_isolation_level_is_refused_before_anything_starts(conn: Connection) -> None:
    with pytest.raises(ProgrammingError, match="isolation"), conn.transaction(isolation="chaotic"):
        pass
    assert not conn.in_transaction


# -- PostgreSQL-specific: server-side behaviour that only a real server shows -----------------
def test_postgresql_error_aborts_the_transaction_as_the_server_does(pg: Backend) -> None:
    with informix_aio.connect(**pg.connect_kwargs()) as c:
        with pytest.raises(InternalError, match="25P02"), c.transaction():
            with pytest.raises(ProgrammingError):
                c.execute_direct("SELECT * FROM no_such_table_xyz")
            # psqlODBC's default would hide this behind a savepoint; Protocol=7.4-0 does not.
            c.execute_direct("SELECT 1")
        assert c.fetchval("SELECT 1") == 1


def test_killed_backend_raises_disconnect_and_marks_connection_broken(pg: Backend) -> None:
    assert pg.pg is not None
    c = informix_aio.connect(**pg.connect_kwargs())
    try:
        assert c.fetchval("SELECT 1") == 1
        assert pg.pg.terminate_backends(application_name=pg.tag) == 1
        with pytest.raises(OperationalError) as info:
            c.fetchval("SELECT 1")
        assert info.value.is_disconnect
        assert c.broken
    finally:
        c.close()


def test_connect_to_closed_port_is_operational_error_without_password(pg: Backend) -> None:
    opts = {**pg.connect_kwargs(), "port": 1, "password": "s3cr3t;pw"}
    with pytest.raises(OperationalError) as info:
        informix_aio.connect(**opts, login_timeout=2)
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(info.value.args)


def test_unknown_driver_is_interface_error() -> None:
    with pytest.raises(InterfaceError, match="NoSuchDriver"):
        informix_aio.connect(driver="NoSuchDriver", database="x", dialect="sqlite")


def test_fetchval_on_a_longer_result_leaves_no_statement_open(sqlite: Backend) -> None:
    """An open statement would hold SQLite's read lock and block every writer."""
    with informix_aio.connect(**sqlite.connect_kwargs(autocommit=True)) as reader:
        reader.execute_direct("CREATE TABLE t (id INTEGER)")
        reader.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        assert reader.fetchval("SELECT id FROM t ORDER BY id") == 1
        assert reader.fetchrow("SELECT id FROM t ORDER BY id") == (1,)
        reader.execute_direct("SELECT id FROM t")  # rows nobody reads
        with informix_aio.connect(
            **sqlite.connect_kwargs(autocommit=True, lock_timeout=0.2)
        ) as writer:
            writer.execute_direct("INSERT INTO t VALUES (4)")
        assert reader.fetchval("SELECT COUNT(*) FROM t") == 4
