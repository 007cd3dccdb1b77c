"""Informix database logging modes and ``transaction()``.

No Informix server runs here, so the sync layer's real code path runs on SQLite's driver with
the Informix dialect's mode query pointed at a table that stands in for
``sysmaster:sysdatabases``. What is exercised is ours: detection once per connection, the
refusal and its message, and that nothing was started.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

import informix_aio
from informix_aio.dialects import InformixDialect
from informix_aio.dialects.informix import last_serial_query
from informix_aio.errors import NotSupportedError


class InformixModeOnSQLite(InformixDialect):
    """The Informix dialect, reading its mode from a stand-in table."""

    database_mode_query: ClassVar[str | None] = (
        "SELECT is_logging, is_buff_log, is_ansi FROM sysdatabases"
    )
    truncates_at_nul = True

    def rollback_to_savepoint(self, name: str) -> str:
        return f"ROLLBACK TO SAVEPOINT {name}"  # SQLite lacks the WORK keyword


def connect_with_mode(tmp_path: Path, mode: tuple[int, int, int] | None) -> informix_aio.Connection:
    conn = informix_aio.connect(
        driver="SQLite3",
        database=str(tmp_path / "ifx.db"),
        dialect=InformixModeOnSQLite(),
        autocommit=True,
    )
    conn.execute_direct("CREATE TABLE sysdatabases (is_logging INT, is_buff_log INT, is_ansi INT)")
    if mode is not None:
        conn.execute_direct("INSERT INTO sysdatabases VALUES (?, ?, ?)", mode)
    return conn


@pytest.mark.parametrize(
    ("row", "mode"),
    [
        ((0, 0, 0), "unlogged"),
        ((1, 0, 0), "logged"),
        ((1, 1, 0), "buffered"),
        ((1, 0, 1), "ansi"),
        (None, "unlogged"),
    ],
)
def test_database_mode_is_read_from_sysdatabases(
    tmp_path: Path, row: tuple[int, int, int] | None, mode: str
) -> None:
    with connect_with_mode(tmp_path, row) as conn:
        assert conn.database_mode() == mode


def test_transaction_on_unlogged_database_says_why_and_starts_nothing(tmp_path: Path) -> None:
    with connect_with_mode(tmp_path, (0, 0, 0)) as conn:
        with pytest.raises(NotSupportedError, match="no transaction logging"), conn.transaction():
            pass
        assert conn.autocommit and not conn.in_transaction
        conn.execute_direct("INSERT INTO sysdatabases VALUES (9, 9, 9)")  # still usable


def test_mode_is_detected_once_per_connection(tmp_path: Path) -> None:
    with connect_with_mode(tmp_path, (1, 0, 0)) as conn:
        with conn.transaction():
            pass
        conn.execute_direct("UPDATE sysdatabases SET is_logging = 0")
        with conn.transaction():  # cached: no second query
            pass


def test_database_mode_is_informix_only(tmp_path: Path) -> None:
    with informix_aio.connect(driver="SQLite3", database=str(tmp_path / "x.db")) as conn:
        with pytest.raises(NotSupportedError):
            conn.database_mode()
        with pytest.raises(NotSupportedError):
            conn.last_serial()


class LoggingInformixOnSQLite(InformixModeOnSQLite):
    """Records the Informix session statements in a table instead of running them."""

    def _logged(self, statements: list[str]) -> list[str]:
        return [f"INSERT INTO stmt_log VALUES ('{sql}')" for sql in statements]

    def begin_statements(self, isolation: str | None, readonly: bool) -> list[str]:
        return self._logged(super().begin_statements(isolation, readonly))

    def end_statements(
        self,
        isolation: str | None,
        *,
        session_isolation: str | None = None,
        database_mode: str | None = None,
    ) -> list[str]:
        return self._logged(
            super().end_statements(
                isolation, session_isolation=session_isolation, database_mode=database_mode
            )
        )

    def session_isolation(self, isolation: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS stmt_log (sql TEXT)",
            *self._logged(super().session_isolation(isolation)),
        ]


def connect_logging(
    tmp_path: Path, mode: tuple[int, int, int], isolation: str | None = None
) -> informix_aio.Connection:
    conn = informix_aio.connect(
        driver="SQLite3",
        database=str(tmp_path / "ifx.db"),
        dialect=LoggingInformixOnSQLite(),
        autocommit=True,
        isolation=isolation,
    )
    conn.execute_direct("CREATE TABLE IF NOT EXISTS stmt_log (sql TEXT)")
    conn.execute_direct("CREATE TABLE sysdatabases (is_logging INT, is_buff_log INT, is_ansi INT)")
    conn.execute_direct("INSERT INTO sysdatabases VALUES (?, ?, ?)", mode)
    return conn


def statements(conn: informix_aio.Connection) -> list[str]:
    return [r[0] for r in conn.fetch("SELECT sql FROM stmt_log")]


def test_executemany_on_an_unlogged_database_runs_without_a_transaction(tmp_path: Path) -> None:
    with connect_with_mode(tmp_path, (0, 0, 0)) as conn:
        conn.execute_direct("CREATE TABLE t (v INT)")
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        cur.close()
        assert conn.fetchval("SELECT COUNT(*) FROM t") == 3
        assert conn.autocommit and not conn.in_transaction


def test_executemany_on_a_logged_database_stays_atomic(tmp_path: Path) -> None:
    with connect_with_mode(tmp_path, (1, 0, 0)) as conn:
        conn.execute_direct("CREATE TABLE t (v INT PRIMARY KEY)")
        cur = conn.cursor()
        with pytest.raises(informix_aio.DatabaseError):
            cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (1,)])
        cur.close()
        assert conn.fetchval("SELECT COUNT(*) FROM t") == 0


def test_isolation_after_a_transaction_returns_to_committed_read_in_a_logged_database(
    tmp_path: Path,
) -> None:
    with connect_logging(tmp_path, (1, 0, 0)) as conn:
        with conn.transaction(isolation="repeatable_read"):
            pass
        assert statements(conn) == [
            "SET ISOLATION TO REPEATABLE READ",
            "SET ISOLATION TO COMMITTED READ",
        ]


def test_isolation_after_a_transaction_returns_to_repeatable_read_in_an_ansi_database(
    tmp_path: Path,
) -> None:
    with connect_logging(tmp_path, (1, 0, 1)) as conn:
        with conn.transaction(isolation="last_committed"):
            pass
        with conn.transaction(isolation="serializable"):  # the ANSI default: nothing to undo
            pass
        assert statements(conn) == [
            "SET ISOLATION TO COMMITTED READ LAST COMMITTED",
            "SET ISOLATION TO REPEATABLE READ",
            "SET ISOLATION TO REPEATABLE READ",
        ]


def test_isolation_after_a_transaction_returns_to_the_connections_own_level(
    tmp_path: Path,
) -> None:
    with connect_logging(tmp_path, (1, 0, 0), isolation="cursor_stability") as conn:
        with conn.transaction(isolation="read_uncommitted"):
            pass
        assert statements(conn) == [
            "SET ISOLATION TO CURSOR STABILITY",  # at connect
            "SET ISOLATION TO DIRTY READ",
            "SET ISOLATION TO CURSOR STABILITY",
        ]


def test_readonly_transaction_runs_set_transaction_read_only(tmp_path: Path) -> None:
    with connect_logging(tmp_path, (1, 0, 0)) as conn:
        with conn.transaction(readonly=True):
            pass
        assert statements(conn) == ["SET TRANSACTION READ ONLY"]


class UnreadableSysmaster(InformixModeOnSQLite):
    """The cross-database read refused: the mode query names a table that is not there."""

    database_mode_query: ClassVar[str | None] = "SELECT 1, 0, 0 FROM no_such_sysdatabases"


def test_database_mode_falls_back_to_the_driver_when_sysmaster_is_refused(
    tmp_path: Path,
) -> None:
    with informix_aio.connect(
        driver="SQLite3",
        database=str(tmp_path / "x.db"),
        dialect=UnreadableSysmaster(),
        autocommit=True,
    ) as conn:
        # SQLite's driver reports SQL_TXN_CAPABLE != SQL_TC_NONE: transactions are possible.
        assert conn.database_mode() == "logged"
        with conn.transaction():
            conn.execute_direct("CREATE TABLE t (v INT)")
        assert conn.fetchval("SELECT COUNT(*) FROM t") == 0


def test_last_serial_kinds_are_three_dbinfo_options() -> None:
    assert "DBINFO('sqlca.sqlerrd1')" in last_serial_query("serial")
    assert "DBINFO('serial8')::INT8" in last_serial_query("SERIAL8")
    assert "DBINFO('bigserial')::INT8" in last_serial_query("bigserial")
    with pytest.raises(informix_aio.ProgrammingError, match="serial kind"):
        last_serial_query("identity")
