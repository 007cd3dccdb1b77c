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
