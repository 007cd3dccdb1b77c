"""Wait for the Informix server, then create the logged test database (runner side).

1. Wait until the listener (``IFX_HOST``:``IFX_PORT``, default ``informix``:9088) accepts TCP.
2. Wait until a login to ``sysmaster`` works and the ``sysadmin`` database exists (the developer
   image builds it last, so the server is then fully initialised).
3. Unless the database named in ``create-test-db.sql`` exists, run that file through ODBC. A new
   database takes the session's DB_LOCALE, so it is created from a session with
   ``DB_LOCALE=$IFX_DB_LOCALE`` (default ``en_US.utf8``); if the driver refuses that locale for
   sysmaster (-23197, locale mismatch), from the sysmaster-locale session instead.
4. Check that the database has transaction logging; print its locale (e.g. ``en_US.57372``) as the
   only line on stdout, for run-tests.sh to put into the connection string.

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


def database_name() -> str:
    for sql in statements():
        m = re.match(r"CREATE\s+DATABASE\s+(\w+)", sql, re.IGNORECASE)
        if m:
            return m.group(1).lower()
    raise SystemExit(f"create_test_db: no CREATE DATABASE in {SQL_FILE}")


def create(admin: pyodbc.Connection, admin_locale: str) -> None:
    """Run the SQL file from a session whose DB_LOCALE is the wanted database locale."""
    conn = admin
    if admin_locale != DB_LOCALE:
        try:
            conn = connect(DB_LOCALE)
        except pyodbc.Error as exc:
            if LOCALE_MISMATCH not in str(exc):
                raise
            log(
                f"DB_LOCALE={DB_LOCALE} refused for sysmaster ({exc}); the test database "
                f"gets {admin_locale} instead"
            )
    try:
        for sql in statements():
            log(f"running: {sql}")
            conn.execute(sql)
    finally:
        if conn is not admin:
            conn.close()


def main() -> int:
    deadline = time.monotonic() + TIMEOUT
    wait_for_listener(deadline)
    admin, admin_locale = wait_for_server(deadline)
    try:
        name = database_name()
        query = "SELECT is_logging, is_buff_log, is_ansi FROM sysdatabases WHERE name = ?"
        if admin.execute(query, name).fetchone() is None:
            create(admin, admin_locale)
        else:
            log(f"database {name} exists")
        row = admin.execute(query, name).fetchone()
        if row is None:
            log(f"database {name} was not created")
            return 1
        if not (row[0] or row[2]):
            log(f"database {name} has no transaction logging: drop it and run again")
            return 1
        found = admin.execute(
            "SELECT dbs_collate FROM sysdbslocale WHERE dbs_dbsname = ?", name
        ).fetchone()
        locale = str(found[0]).strip() if found is not None else DB_LOCALE
        mode = "ANSI" if row[2] else "buffered log" if row[1] else "log"
        log(f"database {name} ready: {mode}, locale {locale}")
        print(locale)
        return 0
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
