"""The PEP 249 exception tree and :func:`translate`, proven on real driver messages.

The strings below were captured from the real drivers on the test machine (psqlODBC, SQLite3
ODBC, MariaDB Connector/ODBC, unixODBC, pyodbc itself); a few tests at the end raise the same
errors live, to prove the classifier matches what the drivers actually raise today.
Informix's SQLCODE table is in ``tests/dialects/test_informix.py``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyodbc
import pytest

import informix_aio
from informix_aio.dialects import Dialect, MariaDBDialect, PostgreSQLDialect, SQLiteDialect
from informix_aio.errors import (
    Classification,
    CommandTimeout,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PoolClosed,
    PoolError,
    PoolTimeout,
    ProgrammingError,
    QueryCanceled,
    TooManyRequests,
    Warning,
    split_pyodbc_args,
    translate,
)
from tests.conftest import Backend
from tests.dialects import pyodbc_error

SQLITE = SQLiteDialect()
POSTGRESQL = PostgreSQLDialect()
MARIADB = MariaDBDialect()
GENERIC = Dialect()

# -- the tree --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (InterfaceError, Error),
        (DatabaseError, Error),
        (DataError, DatabaseError),
        (OperationalError, DatabaseError),
        (IntegrityError, DatabaseError),
        (InternalError, DatabaseError),
        (ProgrammingError, DatabaseError),
        (NotSupportedError, DatabaseError),
        (QueryCanceled, OperationalError),
        (CommandTimeout, QueryCanceled),
        (CommandTimeout, TimeoutError),
        (PoolError, OperationalError),
        (PoolTimeout, PoolError),
        (TooManyRequests, PoolError),
        (PoolClosed, PoolError),
        (Error, Exception),
        (Warning, Exception),
    ],
)
def test_exception_tree_follows_pep_249(cls: type[BaseException], parent: type) -> None:
    assert issubclass(cls, parent)


def test_warning_is_not_an_error() -> None:
    assert not issubclass(Warning, Error)


def test_interface_error_is_not_a_database_error() -> None:
    assert not issubclass(InterfaceError, DatabaseError)


def test_errors_are_importable_from_the_package() -> None:
    for name in ("Error", "DatabaseError", "OperationalError", "QueryCanceled", "CommandTimeout"):
        assert getattr(informix_aio, name) is getattr(informix_aio.errors, name)


def test_error_carries_the_drivers_facts_and_prints_its_message() -> None:
    err = OperationalError(
        "boom", sqlstate="HY000", native_code=-244, isam_code=-107, is_transient=True
    )
    assert str(err) == "boom"
    assert err.message == "boom"
    assert (err.sqlstate, err.native_code, err.isam_code) == ("HY000", -244, -107)
    assert err.is_transient and not err.is_disconnect


def test_error_raised_by_the_library_has_no_driver_facts() -> None:
    err = InterfaceError("the cursor is closed")
    assert (err.sqlstate, err.native_code, err.isam_code) == (None, None, None)
    assert not err.is_transient and not err.is_disconnect


# -- pyodbc's argument shapes -------------------------------------------------------------


def test_split_pyodbc_args_driver_error_has_sqlstate_first() -> None:
    exc = pyodbc.Error("42P01", "[42P01] ERROR: relation does not exist (1) (SQLExecDirectW)")
    assert split_pyodbc_args(exc) == (
        "42P01",
        "[42P01] ERROR: relation does not exist (1) (SQLExecDirectW)",
    )


def test_split_pyodbc_args_pyodbc_own_error_has_message_first() -> None:
    exc = pyodbc.ProgrammingError(
        "The SQL contains 1 parameter markers, but 2 parameters were supplied", "HY000"
    )
    assert split_pyodbc_args(exc) == (
        "HY000",
        "The SQL contains 1 parameter markers, but 2 parameters were supplied",
    )


def test_split_pyodbc_args_single_message() -> None:
    exc = pyodbc.ProgrammingError("Attempt to use a closed cursor.")
    assert split_pyodbc_args(exc) == (None, "Attempt to use a closed cursor.")


def test_split_pyodbc_args_without_arguments_uses_the_repr() -> None:
    assert split_pyodbc_args(pyodbc.Error()) == (None, "Error()")


# -- translate mechanics ------------------------------------------------------------------


def test_translate_chains_the_driver_exception_as_cause() -> None:
    exc = pyodbc_error("23505", "[23505] ERROR: duplicate key (1) (SQLExecDirectW)")
    err = translate(exc, POSTGRESQL)
    assert str(err) == exc.args[1]
    assert err.__cause__ is exc


def test_translate_without_dialect_uses_the_generic_sqlstate_rules() -> None:
    err = translate(pyodbc_error("23000", "[23000] duplicate (1062) (SQLExecDirectW)"), GENERIC)
    assert type(err) is IntegrityError
    assert err.native_code == 1062


def test_translate_appends_the_dialects_hint_to_the_message() -> None:
    class Hinting(Dialect):
        def classify(self, *args: Any) -> Classification:
            return Classification(OperationalError, hint="do the thing")

    err = translate(pyodbc.Error("HY000", "[HY000] broken (1) (SQLExecDirectW)"), Hinting())
    assert str(err) == "[HY000] broken (1) (SQLExecDirectW) [hint: do the thing]"


def test_translate_returns_without_raising() -> None:
    err = translate(pyodbc.Error("HY000", "[HY000] x (1) (SQLExecDirectW)"), GENERIC)
    assert isinstance(err, Error)


# -- real messages from the real drivers --------------------------------------------------

# (dialect, the exception as pyodbc raised it, expected class, native code, disconnect, transient)
REAL_MESSAGES = [
    # SQLite3 ODBC: every error is HY000 + plain pyodbc.Error; SQLite's result code is native.
    pytest.param(
        SQLITE,
        pyodbc.Error(
            "HY000", "[HY000] [SQLite]UNIQUE constraint failed: t.email (19) (19) (SQLExecDirectW)"
        ),
        IntegrityError, 19, False, False,
        id="sqlite_unique_constraint_19_is_integrity_error",
    ),
    pytest.param(
        SQLITE,
        pyodbc.Error(
            "HY000", "[HY000] [SQLite]NOT NULL constraint failed: t.n (19) (19) (SQLExecDirectW)"
        ),
        IntegrityError, 19, False, False,
        id="sqlite_not_null_constraint_19_is_integrity_error",
    ),
    pytest.param(
        SQLITE,
        pyodbc.Error("HY000", "[HY000] [SQLite]no such table: nope (1) (1) (SQLExecDirectW)"),
        ProgrammingError, 1, False, False,
        id="sqlite_no_such_table_is_programming_error",
    ),
    pytest.param(
        SQLITE,
        pyodbc.Error(
            "HY000", '[HY000] [SQLite]near "SELEC": syntax error (1) (1) (SQLExecDirectW)'
        ),
        ProgrammingError, 1, False, False,
        id="sqlite_syntax_error_is_programming_error",
    ),
    pytest.param(
        SQLITE,
        pyodbc.Error("HY000", "[HY000] [SQLite]table t already exists (1) (1) (SQLExecDirectW)"),
        ProgrammingError, 1, False, False,
        id="sqlite_table_exists_is_programming_error",
    ),
    pytest.param(
        SQLITE,
        pyodbc.Error("HY000", "[HY000] [SQLite]database is locked (5) (5) (SQLExecDirectW)"),
        OperationalError, 5, False, True,
        id="sqlite_database_is_locked_5_is_transient",
    ),
    # psqlODBC (Protocol=7.4-0)
    pytest.param(
        POSTGRESQL,
        pyodbc.Error(
            "57014",
            "[57014] ERROR: canceling statement due to user request;\n"
            "Error while executing the query (1) (SQLExecDirectW)",
        ),
        QueryCanceled, 1, False, False,
        id="postgresql_57014_cancel_is_query_canceled",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.Error(
            "57P01",
            "[57P01] FATAL: terminating connection due to administrator command;\n"
            "The connection has been lost (35) (SQLExecDirectW)",
        ),
        OperationalError, 35, True, False,
        id="postgresql_57P01_terminated_is_disconnect",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.OperationalError(
            "08S01", "[08S01] SQLExecDirectW unable due to the connection lost (35) (SQLExecDirectW)"
        ),
        OperationalError, 35, True, False,
        id="postgresql_08S01_connection_lost_is_disconnect",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.IntegrityError(
            "23505",
            '[23505] ERROR: duplicate key value violates unique constraint "u_pkey"\n'
            "DETAIL: Key (id)=(1) already exists.;\n"
            "Error while executing the query (1) (SQLExecDirectW)",
        ),
        IntegrityError, 1, False, False,
        id="postgresql_23505_unique_is_integrity_error",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.ProgrammingError(
            "42P01",
            '[42P01] ERROR: relation "nope" does not exist;\n'
            "Error while executing the query (1) (SQLExecDirectW)",
        ),
        ProgrammingError, 1, False, False,
        id="postgresql_42P01_missing_table_is_programming_error",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.DataError(
            "22012",
            "[22012] ERROR: division by zero;\nError while executing the query (1) (SQLExecDirectW)",
        ),
        DataError, 1, False, False,
        id="postgresql_22012_division_by_zero_is_data_error",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.Error(
            "40001",
            "[40001] ERROR: could not serialize access due to concurrent update;\n"
            "Error while executing the query (1) (SQLExecDirectW)",
        ),
        OperationalError, 1, False, True,
        id="postgresql_40001_serialization_failure_is_transient",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.Error(
            "40P01",
            "[40P01] ERROR: deadlock detected;\nError while executing the query (1) (SQLExecDirectW)",
        ),
        OperationalError, 1, False, True,
        id="postgresql_40P01_deadlock_is_transient",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.Error(
            "55P03",
            "[55P03] ERROR: canceling statement due to lock timeout;\n"
            "Error while executing the query (1) (SQLExecDirectW)",
        ),
        OperationalError, 1, False, True,
        id="postgresql_55P03_lock_timeout_is_transient",
    ),
    pytest.param(
        POSTGRESQL,
        pyodbc.OperationalError(
            "08001",
            '[08001] connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?\n"
            " (101) (SQLDriverConnect)",
        ),
        OperationalError, 101, True, False,
        id="postgresql_08001_connection_refused_is_operational_error",
    ),
    # MariaDB Connector/ODBC 3.1
    pytest.param(
        MARIADB,
        pyodbc.IntegrityError(
            "23000",
            "[23000] [ma-3.1.15][10.11.19-MariaDB-0+deb12u1]Duplicate entry '1' for key "
            "'PRIMARY' (1062) (SQLExecDirectW)",
        ),
        IntegrityError, 1062, False, False,
        id="mariadb_1062_duplicate_is_integrity_error",
    ),
    pytest.param(
        MARIADB,
        pyodbc.Error(
            "HY000",
            "[HY000] [ma-3.1.15][10.11.19-MariaDB-0+deb12u1]Lock wait timeout exceeded; "
            "try restarting transaction (1205) (SQLExecDirectW)",
        ),
        OperationalError, 1205, False, True,
        id="mariadb_1205_lock_wait_timeout_is_transient",
    ),
    pytest.param(
        MARIADB,
        pyodbc.Error(
            "40001",
            "[40001] [ma-3.1.15][10.11.19-MariaDB-0+deb12u1]Deadlock found when trying to get "
            "lock; try restarting transaction (1213) (SQLExecDirectW)",
        ),
        OperationalError, 1213, False, True,
        id="mariadb_1213_deadlock_is_transient",
    ),
    pytest.param(
        MARIADB,
        pyodbc.OperationalError(
            "08S01",
            "[08S01] [ma-3.1.15][10.11.19-MariaDB-0+deb12u1]Server has gone away (2006) "
            "(SQLExecDirectW)",
        ),
        OperationalError, 2006, True, False,
        id="mariadb_2006_server_gone_is_disconnect",
    ),
    pytest.param(
        MARIADB,
        pyodbc.Error(
            "HY000",
            "[HY000] [ma-3.1.15]Lost connection to server during query (2013) (SQLExecDirectW)",
        ),
        OperationalError, 2013, True, False,
        id="mariadb_2013_lost_connection_is_disconnect",
    ),
    pytest.param(
        MARIADB,
        pyodbc.Error(
            "HY000",
            "[HY000] [ma-3.1.15][10.11.19-MariaDB-0+deb12u1]Write error: Broken pipe (32) (5014) "
            "(SQLExecDirectW)",
        ),
        OperationalError, 5014, True, False,
        id="mariadb_broken_pipe_after_kill_is_disconnect",
    ),
    pytest.param(
        MARIADB,
        pyodbc.Error(
            "HY000",
            "[HY000] [ma-3.1.15]Can't connect to server on '127.0.0.1' (115) (2002) "
            "(SQLDriverConnect)",
        ),
        OperationalError, 2002, True, False,
        id="mariadb_2002_cannot_connect_is_operational_error",
    ),
    pytest.param(
        MARIADB,
        pyodbc.OperationalError(
            "28000",
            "[28000] [ma-3.1.15]Access denied for user 'nouser'@'127.0.0.1' (using password: "
            "YES) (1045) (SQLDriverConnect)",
        ),
        OperationalError, 1045, False, False,
        id="mariadb_28000_access_denied_is_operational_error",
    ),
    # unixODBC driver manager
    pytest.param(
        GENERIC,
        pyodbc.Error(
            "01000",
            "[01000] [unixODBC][Driver Manager]Can't open lib 'NoSuchDriver' : file not found "
            "(0) (SQLDriverConnect)",
        ),
        InterfaceError, 0, False, False,
        id="unixodbc_cannot_open_lib_is_interface_error",
    ),
    pytest.param(
        GENERIC,
        pyodbc.InterfaceError(
            "IM002",
            "[IM002] [unixODBC][Driver Manager]Data source name not found and no default "
            "driver specified (0) (SQLDriverConnect)",
        ),
        InterfaceError, 0, False, False,
        id="unixodbc_unknown_dsn_is_interface_error",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("dialect", "exc", "expected", "native", "disconnect", "transient"), REAL_MESSAGES
)
def test_real_driver_message_becomes_its_class(
    dialect: Dialect,
    exc: pyodbc.Error,
    expected: type[Error],
    native: int,
    disconnect: bool,
    transient: bool,
) -> None:
    err = translate(exc, dialect)
    assert type(err) is expected
    assert err.native_code == native
    assert err.sqlstate == exc.args[0]
    assert err.is_disconnect is disconnect
    assert err.is_transient is transient
    assert err.isam_code is None
    assert err.__cause__ is exc


@pytest.mark.parametrize("dialect", [GENERIC, SQLITE, POSTGRESQL, MARIADB], ids=lambda d: d.name)
def test_pyodbc_parameter_count_error_is_programming_error(dialect: Dialect) -> None:
    # pyodbc raises this itself, message first, SQLSTATE second.
    exc = pyodbc.ProgrammingError(
        "The SQL contains 1 parameter markers, but 2 parameters were supplied", "HY000"
    )
    err = translate(exc, dialect)
    assert type(err) is ProgrammingError
    assert str(err) == "The SQL contains 1 parameter markers, but 2 parameters were supplied"
    assert err.native_code is None


@pytest.mark.parametrize(
    "message", ["Attempt to use a closed cursor.", "Attempt to use a closed connection."]
)
@pytest.mark.parametrize("dialect", [GENERIC, SQLITE, POSTGRESQL, MARIADB], ids=lambda d: d.name)
def test_pyodbc_closed_cursor_or_connection_is_interface_error(
    dialect: Dialect, message: str
) -> None:
    exc = pyodbc.ProgrammingError(message)
    err = translate(exc, dialect)
    assert type(err) is InterfaceError
    assert str(err) == message
    assert err.__cause__ is exc


def test_hyt00_query_timeout_is_command_timeout() -> None:
    exc = pyodbc.OperationalError("HYT00", "[HYT00] Query timeout expired (0) (SQLExecDirectW)")
    err = translate(exc, GENERIC)
    assert isinstance(err, CommandTimeout)
    assert isinstance(err, TimeoutError)


def test_hy008_operation_canceled_is_query_canceled() -> None:
    err = translate(pyodbc.Error("HY008", "[HY008] Operation canceled (0) (SQLExecDirectW)"), GENERIC)
    assert type(err) is QueryCanceled


def test_unknown_sqlstate_falls_back_to_pyodbcs_class() -> None:
    err = translate(pyodbc.ProgrammingError("ZZ999", "[ZZ999] odd (0) (SQLExecDirectW)"), GENERIC)
    assert type(err) is ProgrammingError
    err = translate(pyodbc.Error("ZZ999", "[ZZ999] odd (0) (SQLExecDirectW)"), GENERIC)
    assert type(err) is DatabaseError


def test_disconnect_text_makes_any_error_an_operational_disconnect() -> None:
    exc = pyodbc.Error("HY000", "[HY000] server closed the connection unexpectedly (1) (SQLF)")
    err = translate(exc, GENERIC)
    assert type(err) is OperationalError
    assert err.is_disconnect


# -- live: the classifier against what the drivers raise today ----------------------------


@contextlib.contextmanager
def connected(**options: Any) -> Iterator[informix_aio.Connection]:
    conn = informix_aio.connect(**options)
    try:
        yield conn
    finally:
        conn.close()


def raised_by(conn: informix_aio.Connection, sql: str, *params: Any) -> Error:
    with pytest.raises(Error) as info:
        conn.execute_direct(sql, params or None)
    return info.value


def test_live_sqlite_errors_are_classified_as_the_driver_reports_them(tmp_path: Path) -> None:
    with connected(driver="SQLite3", database=str(tmp_path / "t.db"), autocommit=True) as conn:
        assert conn.dialect.name == "sqlite"
        conn.execute_direct("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")
        conn.execute_direct("INSERT INTO t VALUES (1, 'a@x')")

        err = raised_by(conn, "INSERT INTO t VALUES (2, 'a@x')")
        assert type(err) is IntegrityError
        assert (err.sqlstate, err.native_code) == ("HY000", 19)
        assert "UNIQUE constraint failed: t.email" in str(err)
        assert isinstance(err.__cause__, pyodbc.Error)

        err = raised_by(conn, "SELECT * FROM nope")
        assert type(err) is ProgrammingError
        assert "no such table" in str(err)

        err = raised_by(conn, "SELEC 1")
        assert type(err) is ProgrammingError
        assert "syntax error" in str(err)

        err = raised_by(conn, "SELECT ?", 1, 2)
        assert type(err) is ProgrammingError
        assert "parameter markers" in str(err)


def test_live_sqlite_locked_database_is_transient(tmp_path: Path) -> None:
    db = str(tmp_path / "locked.db")
    with (
        connected(driver="SQLite3", database=db, autocommit=True) as holder,
        connected(driver="SQLite3", database=db, autocommit=True, lock_timeout=0.05) as waiter,
    ):
        holder.execute_direct("CREATE TABLE t (x)")
        holder.execute_direct("BEGIN IMMEDIATE")
        try:
            err = raised_by(waiter, "INSERT INTO t VALUES (1)")
        finally:
            holder.execute_direct("ROLLBACK")
    assert type(err) is OperationalError
    assert err.native_code == 5
    assert err.is_transient


def test_live_pyodbc_closed_cursor_is_interface_error(tmp_path: Path) -> None:
    raw = pyodbc.connect(f"DRIVER={{SQLite3}};Database={tmp_path / 'c.db'}")
    try:
        cur = raw.cursor()
        cur.close()
        with pytest.raises(pyodbc.Error) as info:
            cur.execute("SELECT 1")
    finally:
        raw.close()
    assert type(translate(info.value, SQLITE)) is InterfaceError


def test_live_unknown_driver_is_interface_error() -> None:
    with pytest.raises(InterfaceError, match="Can't open lib 'NoSuchDriver'") as info:
        informix_aio.connect(driver="NoSuchDriver", database="x")
    assert info.value.sqlstate == "01000"


def test_live_postgresql_errors_are_classified_as_the_driver_reports_them(pg: Backend) -> None:
    with connected(**pg.connect_kwargs(autocommit=True)) as conn:
        assert conn.dialect.name == "postgresql"
        table = pg.table("errs")
        conn.execute_direct(f"CREATE TABLE {table} (id INT PRIMARY KEY)")
        try:
            conn.execute_direct(f"INSERT INTO {table} VALUES (1)")
            err = raised_by(conn, f"INSERT INTO {table} VALUES (1)")
            assert type(err) is IntegrityError
            assert err.sqlstate == "23505"

            err = raised_by(conn, "SELECT * FROM no_such_table_here")
            assert type(err) is ProgrammingError
            assert err.sqlstate == "42P01"

            err = raised_by(conn, "SELECT 1/0")
            assert type(err) is DataError
            assert err.sqlstate == "22012"
        finally:
            conn.execute_direct(f"DROP TABLE {table}")


def test_live_postgresql_cancel_is_query_canceled(pg: Backend) -> None:
    with connected(**pg.connect_kwargs(autocommit=True)) as conn:
        timer = threading.Timer(0.3, conn.cancel)
        timer.start()
        try:
            err = raised_by(conn, pg.sleep_sql(10))
        finally:
            timer.cancel()
            # psqlODBC's SQLCancel may still be sending the cancel request when the statement
            # has already failed: let it return before the handle is used again or freed.
            timer.join()
        assert type(err) is QueryCanceled
        assert err.sqlstate == "57014"
        assert not err.is_disconnect
        assert conn.execute_direct("SELECT 1") in (-1, 1)


def test_live_postgresql_lock_timeout_is_transient(pg: Backend) -> None:
    table = pg.table("locks")
    with (
        connected(**pg.connect_kwargs(autocommit=True)) as holder,
        connected(**pg.connect_kwargs(autocommit=True, lock_timeout=0.1)) as waiter,
    ):
        holder.execute_direct(f"CREATE TABLE {table} (id INT PRIMARY KEY)")
        holder.execute_direct(f"INSERT INTO {table} VALUES (1)")
        try:
            with holder.transaction():
                holder.execute_direct(f"UPDATE {table} SET id = 1 WHERE id = 1")
                err = raised_by(waiter, f"UPDATE {table} SET id = 1 WHERE id = 1")
        finally:
            holder.execute_direct(f"DROP TABLE {table}")
    assert type(err) is OperationalError
    assert err.sqlstate == "55P03"
    assert err.is_transient


def test_live_postgresql_terminated_backend_is_disconnect(pg: Backend) -> None:
    assert pg.pg is not None
    with connected(**pg.connect_kwargs(autocommit=True)) as conn:
        conn.execute_direct("SELECT 1")
        assert pg.pg.terminate_backends(pg.tag) == 1
        err = raised_by(conn, "SELECT 1")
        assert type(err) is OperationalError
        assert err.sqlstate in {"57P01", "08S01"}
        assert err.is_disconnect
        assert conn.broken


def test_live_postgresql_closed_port_is_operational_error(pg: Backend) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OperationalError) as info:
        informix_aio.connect(**pg.connect_kwargs(port=port, login_timeout=5))
    assert info.value.sqlstate == "08001"
