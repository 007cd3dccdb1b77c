"""Wait for the Informix server, then create the test databases (runner side).

1. Wait until the listener (``IFX_HOST``:``IFX_PORT``, default ``informix``:9088) accepts TCP.
2. Wait until a login to ``sysmaster`` works and the ``sysadmin`` database exists (the developer
   image builds it last, so the server is then fully initialised).
3. For each ``CREATE DATABASE`` of ``create-test-db.sql`` whose database does not exist, run it
   from a fresh session (CREATE DATABASE makes the new database the session's current one): the
   logged main database, one without logging and an ANSI one, which the Informix-only tests
   (tests/test_informix_server.py) use. A new database takes the session's DB_LOCALE, so it is
   created from a session with ``DB_LOCALE=$IFX_DB_LOCALE`` (default ``en_US.utf8``); if the
   driver refuses that locale for sysmaster (-23197, locale mismatch), from a session with the
   sysmaster locale instead.
4. Check that each database has the logging mode its statement asks for; print the main
   database's locale (e.g. ``en_US.57372``) as the only line on stdout, for run-tests.sh to put
   into the connection string.

Plain pyodbc on purpose: the library under test plays no part in preparing its own test bed.
Progress goes to stderr. Exit status 0 when the database is ready, 1 otherwise.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path

import pyodbc

SQL_FILE = Path(__file__).with_name("create-test-db.sql")
HOST = os.environ.get("IFX_HOST", "informix")
PORT = int(os.environ.get("IFX_PORT", "9088"))
SERVER = os.environ.get("IFX_SERVER", "informix")
DRIVER = os.environ.get("IFX_DRIVER", "IBM INFORMIX ODBC DRIVER")
USER = os.environ.get("IFX_USER", "informix")
PASSWORD = os.environ.get("IFX_PASSWORD", "in4mix")
DB_LOCALE = os.environ.get("IFX_DB_LOCALE", "en_US.utf8")
# System databases (sysmaster, sysadmin, ...) are en_US.819 in IBM's developer images.
SYSTEM_LOCALE = os.environ.get("IFX_SYSTEM_LOCALE", "en_US.819")
TIMEOUT = float(os.environ.get("INFORMIX_WAIT_TIMEOUT", "900"))
LOCALE_MISMATCH = "-23197"


def log(message: str) -> None:
    print(f"create_test_db: {message}", file=sys.stderr, flush=True)


def connect(db_locale: str) -> pyodbc.Connection:
    """A connection to sysmaster over HOST/SERVICE/PROTOCOL (no sqlhosts entry needed)."""
    return pyodbc.connect(
        f"DRIVER={{{DRIVER}}};SERVER={SERVER};HOST={HOST};SERVICE={PORT};PROTOCOL=onsoctcp;"
        f"DATABASE=sysmaster;UID={USER};PWD={PASSWORD};"
        f"CLIENT_LOCALE=en_US.utf8;DB_LOCALE={db_locale}",
        autocommit=True,
        timeout=10,
    )


def wait_for_listener(deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((HOST, PORT), timeout=5):
                log(f"{HOST}:{PORT} accepts connections")
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"create_test_db: {HOST}:{PORT} not listening: {exc}") from None
        time.sleep(3)


def wait_for_server(deadline: float) -> tuple[pyodbc.Connection, str]:
    """Log in to sysmaster until it works and sysadmin exists; return the connection and the
    DB_LOCALE it used."""
    locales = [SYSTEM_LOCALE, DB_LOCALE]
    last = ""
    while True:
        try:
            conn = connect(locales[0])
            built = conn.execute(
                "SELECT COUNT(*) FROM sysdatabases WHERE name = 'sysadmin'"
            ).fetchone()
            if built is not None and built[0]:
                log(f"server {SERVER} accepts logins (DB_LOCALE={locales[0]})")
                return conn, locales[0]
            conn.close()
            last = "sysadmin database not built yet"
        except pyodbc.Error as exc:
            last = str(exc)
            if LOCALE_MISMATCH in last:  # sysmaster has the other locale: try that one
                locales.reverse()
        if time.monotonic() > deadline:
            raise SystemExit(f"create_test_db: server not ready after {TIMEOUT:.0f} s: {last}")
        log(f"waiting for the server: {last}")
        time.sleep(5)


def statements() -> list[str]:
    text = "\n".join(line.split("--", 1)[0] for line in SQL_FILE.read_text().splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def databases() -> list[tuple[str, str, str]]:
    """``(name, expected mode, statement)`` for each CREATE DATABASE, the main one first."""
    out = []
    for sql in statements():
        m = re.match(r"CREATE\s+DATABASE\s+(\w+)(.*)$", sql, re.IGNORECASE | re.DOTALL)
        if m:
            tail = m.group(2).upper()
            mode = "ansi" if "ANSI" in tail else "logged" if "LOG" in tail else "unlogged"
            out.append((m.group(1).lower(), mode, sql))
    if not out:
        raise SystemExit(f"create_test_db: no CREATE DATABASE in {SQL_FILE}")
    return out


def create(sql: str, admin_locale: str) -> None:
    """Run one CREATE DATABASE from a fresh session whose DB_LOCALE is the wanted locale."""
    try:
        conn = connect(DB_LOCALE)
    except pyodbc.Error as exc:
        if LOCALE_MISMATCH not in str(exc):
            raise
        log(f"DB_LOCALE={DB_LOCALE} refused for sysmaster ({exc}); using {admin_locale}")
        conn = connect(admin_locale)
    try:
        log(f"running: {sql}")
        conn.execute(sql)
    finally:
        conn.close()


def mode_of(row: pyodbc.Row) -> str:
    is_logging, _buffered, is_ansi = (int(v or 0) for v in row)
    return "ansi" if is_ansi else "logged" if is_logging else "unlogged"


def main() -> int:
    deadline = time.monotonic() + TIMEOUT
    wait_for_listener(deadline)
    admin, admin_locale = wait_for_server(deadline)
    try:
        query = "SELECT is_logging, is_buff_log, is_ansi FROM sysdatabases WHERE name = ?"
        wanted = databases()
        for name, mode, sql in wanted:
            if admin.execute(query, name).fetchone() is None:
                create(sql, admin_locale)
            else:
                log(f"database {name} exists")
            row = admin.execute(query, name).fetchone()
            if row is None:
                log(f"database {name} was not created")
                return 1
            if mode_of(row) != mode:
                log(f"database {name} is {mode_of(row)}, not {mode}: drop it and run again")
                return 1
            log(f"database {name} ready: {mode}")
        main_db = wanted[0][0]
        found = admin.execute(
            "SELECT dbs_collate FROM sysdbslocale WHERE dbs_dbsname = ?", main_db
        ).fetchone()
        locale = str(found[0]).strip() if found is not None else DB_LOCALE
        log(f"main database {main_db}: locale {locale}")
        print(locale)
        return 0
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
