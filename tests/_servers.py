"""Private database servers and driver options for the informix-aio test bed.

The test suite never touches a system PostgreSQL: :class:`PostgresServer`
creates a throw-away cluster (``initdb --no-sync``) in a temporary directory,
starts it on a free TCP port on 127.0.0.1 and removes everything again on
:meth:`PostgresServer.close`. Durability is switched off (``fsync=off`` ...),
so start-up takes well under two seconds.

PostgreSQL refuses to run as root. When the tests run as root (containers,
CI) ``initdb`` and ``pg_ctl`` are run as the ``postgres`` system user via
``runuser -u postgres --`` and the server directory is owned by that user;
every parent directory must then be traversable by ``postgres``, which is why
a directory such as pytest's ``/tmp/pytest-of-root/...`` (mode 0700) is
replaced by a fresh ``/tmp/informix-aio-pg-*`` directory (mode 0755).

MariaDB gets the same treatment: :class:`MariaDBServer` runs
``mariadb-install-db`` into a fresh ``/tmp/informix-aio-mariadb-*`` directory and
starts ``mariadbd`` on a free port (as the ``mysql`` user when root);
:func:`private_mariadb` keeps one per process. SQLite (a file) needs no
management: :func:`sqlite_options` just builds the option dictionary.

Run ``python tests/_servers.py`` for a self-test.
"""

from __future__ import annotations

__all__ = [
    "MARIADB_DRIVER",
    "PG_DRIVER",
    "SQLITE_DRIVER",
    "MariaDBServer",
    "PostgresServer",
    "StopMode",
    "close_private_mariadb",
    "find_mariadbd",
    "find_pg_bin",
    "mariadb_options",
    "mariadb_unavailable_reason",
    "private_mariadb",
    "sqlite_options",
]

import atexit
import contextlib
import functools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, overload

import pyodbc

PG_DRIVER = "PostgreSQL Unicode"
"""odbcinst.ini name of the psqlODBC (Unicode) driver."""
SQLITE_DRIVER = "SQLite3"
"""odbcinst.ini name of the SQLite 3 ODBC driver (libsqliteodbc)."""
MARIADB_DRIVER = "MariaDB Unicode"
"""odbcinst.ini name of MariaDB Connector/ODBC."""

StopMode = Literal["smart", "fast", "immediate"]
"""``pg_ctl stop -m`` shutdown modes."""

_PG_HOST = "127.0.0.1"
_PG_SUPERUSER = "postgres"
_PG_SYSTEM_USER = "postgres"
# Per-connection psqlODBC logging off. NB: the per-process
# /tmp/psqlodbc_<prog><user><pid>.log that Debian's CommLog=1 causes is
# controlled by odbcinst.ini only (scripts/install-system-deps.sh fixes it).
_PG_QUIET = "CommLog=0;Debug=0;"
_SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "400",
    "listen_addresses": _PG_HOST,
    "shared_buffers": "64MB",
}
# sun_path is 108 bytes on Linux; ".s.PGSQL.NNNNN" needs 15 of them.
_MAX_SOCKET_DIR_LEN = 90


def find_pg_bin() -> Path | None:
    """Return the directory holding the PostgreSQL server binaries, or ``None``.

    Order: ``$INFORMIX_AIO_PG_BIN``; the newest ``/usr/lib/postgresql/*/bin``
    that contains ``initdb`` (Debian/Ubuntu layout); ``pg_config --bindir``;
    the directory of ``initdb`` on ``PATH``.
    """
    override = os.environ.get("INFORMIX_AIO_PG_BIN")
    if override and (Path(override) / "initdb").is_file():
        return Path(override)

    def version_key(bin_dir: Path) -> tuple[int, ...]:
        parts = bin_dir.parent.name.split(".")
        return tuple(int(p) if p.isdigit() else -1 for p in parts)

    debian = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()]
    if debian:
        return max(debian, key=version_key)

    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            if out and (Path(out) / "initdb").is_file():
                return Path(out)

    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port(host: str = _PG_HOST) -> int:
    """Ask the kernel for a currently unused TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _make_tmp_dir(prefix: str) -> Path:
    """Create a fresh directory under /tmp that any user may traverse (0755)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def _traversable_by(path: Path, uid: int, gids: set[int]) -> bool:
    """True if user ``uid`` (member of ``gids``) can reach ``path``'s contents."""
    for directory in [path, *path.parents]:
        try:
            st = directory.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid in gids:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return False
    return True


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """``chown -R uid:gid root`` without following symlinks."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


class _Launcher(Protocol):
    def __call__(
        self, base_dir: Path | None = None, *, bin_dir: Path | None = None, timeout: float = 60.0
    ) -> PostgresServer: ...


class _Starter(Protocol):
    def __call__(self, timeout: float = 60.0) -> None: ...


class _StartMethod:
    """``PostgresServer.start(base_dir)`` creates a server, ``server.start()`` restarts it."""

    @overload
    def __get__(self, obj: None, owner: type[PostgresServer]) -> _Launcher: ...

    @overload
    def __get__(
        self, obj: PostgresServer, owner: type[PostgresServer] | None = None
    ) -> _Starter: ...

    def __get__(
        self, obj: PostgresServer | None, owner: type[PostgresServer] | None = None
    ) -> _Launcher | _Starter:
        if obj is None:
            assert owner is not None
            return owner.launch
        return obj.start_stopped


class PostgresServer:
    """A private, throw-away PostgreSQL cluster for one test session.

    Create and start one with ``PostgresServer.start(base_dir)`` (alias
    :meth:`launch`); the same name on an instance, ``server.start()``,
    starts a stopped server again on the same port and data directory.

    Layout of :attr:`base_dir`: ``data/`` (the cluster), ``sock/`` (unix
    socket), ``pg.log`` (server log). Connect over TCP: :meth:`connection_string`
    or :meth:`odbc_options`. Usable as a context manager (closes on exit).
    """

    start = _StartMethod()

    def __init__(
        self,
        base_dir: Path,
        bin_dir: Path,
        port: int,
        *,
        run_as: str | None,
        socket_dir: Path,
        cleanup: Sequence[Path] = (),
    ) -> None:
        """Record the layout; use :meth:`launch` / ``PostgresServer.start`` instead."""
        self.base_dir = base_dir
        """Directory holding ``data/``, ``pg.log`` and (normally) ``sock/``."""
        self.bin_dir = bin_dir
        """Directory of ``initdb``, ``pg_ctl``, ``postgres``."""
        self.data_dir = base_dir / "data"
        """The cluster's data directory (``PGDATA``)."""
        self.log_path = base_dir / "pg.log"
        """Server log file (``pg_ctl -l``)."""
        self.socket_dir = socket_dir
        """``unix_socket_directories`` of the server."""
        self.run_as = run_as
        """System user the server runs as (``postgres`` when we are root), else ``None``."""
        self._port = port
        self._cleanup = list(cleanup)
        self._closed = False
        self._atexit_registered = False

    # ------------------------------------------------------------------ creation

    @classmethod
    def launch(
        cls, base_dir: Path | None = None, *, bin_dir: Path | None = None, timeout: float = 60.0
    ) -> PostgresServer:
        """Run initdb into ``base_dir/data`` and start the server; return it.

        ``base_dir`` is created if needed (``None``: a new ``/tmp/informix-aio-pg-*``).
        When running as root and ``postgres`` cannot traverse ``base_dir``'s
        parents, a fresh ``/tmp/informix-aio-pg-*`` directory is used instead
        (:attr:`base_dir` tells which one). Raises ``RuntimeError`` with the
        tool output / log tail if anything fails.
        """
        bin_dir = bin_dir or find_pg_bin()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, "
                "pg_config --bindir, or initdb on PATH); run `make system`"
            )

        run_as: str | None = None
        uid = gid = -1
        gids: set[int] = set()
        if os.geteuid() == 0:
            run_as = _PG_SYSTEM_USER
            try:
                pw = pwd.getpwnam(run_as)
            except KeyError:
                raise RuntimeError(
                    f"running as root but there is no {run_as!r} system user to run "
                    "PostgreSQL as (it refuses to run as root); install the postgresql package"
                ) from None
            uid, gid = pw.pw_uid, pw.pw_gid
            gids = {gid, *os.getgrouplist(run_as, gid)}

        cleanup: list[Path] = []
        if base_dir is None:
            base_dir = _make_tmp_dir("informix-aio-pg-")
        else:
            base_dir = Path(base_dir).absolute()
            base_dir.mkdir(parents=True, exist_ok=True)
            if run_as is not None and not _traversable_by(base_dir, uid, gids):
                # e.g. /tmp/pytest-of-root is 0700: postgres cannot get in.
                cleanup.append(base_dir)
                base_dir = _make_tmp_dir("informix-aio-pg-")
        cleanup.append(base_dir)
        if (base_dir / "data").exists():
            raise RuntimeError(f"{base_dir / 'data'} already exists; pass an empty base_dir")

        socket_dir = base_dir / "sock"
        if len(str(socket_dir)) > _MAX_SOCKET_DIR_LEN:
            socket_dir = _make_tmp_dir("ifx-aio-sock-")
            cleanup.append(socket_dir)
        socket_dir.mkdir(exist_ok=True)
        if run_as is not None:
            _chown_tree(base_dir, uid, gid)
            _chown_tree(socket_dir, uid, gid)

        server = cls(
            base_dir, bin_dir, _free_port(), run_as=run_as, socket_dir=socket_dir, cleanup=cleanup
        )
        try:
            server._initdb(timeout)
            for attempt in range(3):
                try:
                    server.start_stopped(timeout)
                    break
                except RuntimeError:
                    # Somebody grabbed the port between _free_port() and bind().
                    if attempt == 2 or "could not bind" not in server.log_tail():
                        raise
                    server._port = _free_port()
        except BaseException:
            server.close()
            raise
        return server

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        """TCP port the server listens on (stable across restarts)."""
        return self._port

    @property
    def host(self) -> str:
        """Address the server listens on: always ``127.0.0.1``."""
        return _PG_HOST

    @property
    def is_running(self) -> bool:
        """True if ``pg_ctl status`` reports a running server."""
        if self._closed or not self.data_dir.exists():
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    # ------------------------------------------------------------------ lifecycle

    def start_stopped(self, timeout: float = 60.0) -> None:
        """Start the (stopped) server on the same port and data directory.

        No-op if it is running. Waits until it accepts TCP connections. This is what ``server.start()``
        calls. Raises ``RuntimeError`` (with the log tail) on failure.
        """
        if self._closed:
            raise RuntimeError("server has been closed")
        if self.data_dir.joinpath("postmaster.pid").exists() and self.is_running:
            return
        settings = {
            **_SERVER_SETTINGS,
            "port": str(self._port),
            "unix_socket_directories": str(self.socket_dir),
        }
        options = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
        self._run(
            [
                "pg_ctl",
                "start",
                "-w",
                "-t",
                str(max(1, int(timeout))),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-o",
                options,
            ],
            timeout=timeout + 10,
        )
        self._wait_tcp(timeout)
        if not self._atexit_registered:
            atexit.register(self._atexit)
            self._atexit_registered = True

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop the server (``pg_ctl stop -w -m mode``); no-op if not running."""
        if not self.is_running:
            return
        self._run(["pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir)], timeout=120)

    def restart(self, mode: StopMode = "fast") -> None:
        """Stop (``mode``) and start again on the same port; waits until ready."""
        self.stop(mode)
        self.start_stopped()

    def kill(self) -> None:
        """Stop abruptly (``immediate`` mode: no checkpoint, clients see a dead socket).

        The next :meth:`start` runs crash recovery, which is quick here.
        """
        self.stop("immediate")

    def close(self) -> None:
        """Stop the server (fast, falling back to immediate) and delete its directories."""
        if self._closed:
            return
        try:
            self.stop("fast")
        except RuntimeError:
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        finally:
            self._closed = True
            if self._atexit_registered:
                atexit.unregister(self._atexit)
                self._atexit_registered = False
            for path in self._cleanup:
                shutil.rmtree(path, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        """Return self; the server is already running."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the server."""
        self.close()

    def __repr__(self) -> str:
        """Show port and base directory."""
        return f"<PostgresServer {_PG_HOST}:{self._port} {self.base_dir}>"

    # ------------------------------------------------------------------ connecting

    def connection_string(self, database: str = "postgres", **extra: str) -> str:
        """ODBC connection string for :data:`PG_DRIVER` to ``database`` as ``postgres``.

        ``DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=...;DATABASE=...;UID=postgres;PWD=;``
        followed by ``CommLog=0;Debug=0;`` (per-connection psqlODBC logging
        off; the per-process /tmp/psqlodbc_*.log file is governed by
        odbcinst.ini alone) and ``KEY=value;`` for each ``extra`` item. psqlODBC sets the
        libpq application_name via ``pqopt={application_name=NAME}``.
        """
        parts = [
            f"DRIVER={{{PG_DRIVER}}};SERVER={_PG_HOST};PORT={self._port};"
            f"DATABASE={database};UID={_PG_SUPERUSER};PWD=;",
            _PG_QUIET,
        ]
        parts.extend(f"{key}={value};" for key, value in extra.items())
        return "".join(parts)

    def odbc_options(self, database: str = "postgres") -> dict[str, str | int]:
        """Connection options as a dict: driver, host, port, database, user (no password)."""
        return {
            "driver": PG_DRIVER,
            "host": _PG_HOST,
            "port": self._port,
            "database": database,
            "user": _PG_SUPERUSER,
        }

    # ------------------------------------------------------------------ admin SQL

    def admin_execute(
        self, sql: str, params: Sequence[object] = (), *, database: str = "postgres"
    ) -> list[tuple[object, ...]]:
        """Run one statement in autocommit on a fresh connection; return its rows.

        Uses its own short-lived pyodbc connection (so it works across
        restarts); statements without a result set return ``[]``.
        """
        conn = pyodbc.connect(self.connection_string(database), autocommit=True, timeout=10)
        try:
            cursor = conn.cursor()
            if params:
                cursor.execute(sql, *params)
            else:
                cursor.execute(sql)
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE "name"`` (identifier quoted)."""
        quoted = '"' + name.replace('"', '""') + '"'
        self.admin_execute(f"CREATE DATABASE {quoted}")

    def terminate_backends(self, application_name: str | None = None) -> int:
        """``pg_terminate_backend`` every client backend (optionally only those with
        ``application_name``) except the one running this query; return how many."""
        sql = (
            "SELECT count(*) FROM ("
            " SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        params: tuple[object, ...] = ()
        if application_name is not None:
            sql += " AND application_name = ?"
            params = (application_name,)
        sql += ") AS t WHERE ok"
        rows = self.admin_execute(sql, params)
        return int(str(rows[0][0]))

    def activity(self, application_name: str | None = None) -> list[tuple[int, str, str]]:
        """``(pid, state, query)`` of client backends other than this query's own.

        Optionally only those with ``application_name``. ``state`` is e.g.
        ``'active'``, ``'idle'``, ``'idle in transaction'`` (``''`` if unknown).
        """
        sql = (
            "SELECT pid, coalesce(state, ''), coalesce(query, '') FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        params: tuple[object, ...] = ()
        if application_name is not None:
            sql += " AND application_name = ?"
            params = (application_name,)
        sql += " ORDER BY pid"
        return [
            (int(str(pid)), str(state), str(query))
            for pid, state, query in self.admin_execute(sql, params)
        ]

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of :attr:`log_path` (``''`` if there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ internals

    def _initdb(self, timeout: float) -> None:
        self._run(
            [
                "initdb",
                "-A",
                "trust",
                "-U",
                _PG_SUPERUSER,
                "--no-sync",
                "-E",
                "UTF8",
                # Independent of the machine's installed locales.
                "--no-locale",
                "-D",
                str(self.data_dir),
            ],
            timeout=timeout,
        )

    def _run(
        self, argv: list[str], *, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool from :attr:`bin_dir`, as :attr:`run_as` if set."""
        cmd = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.run_as is not None:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run(
            cmd,
            # cwd must be readable by run_as (root's cwd, e.g. /root, is not).
            cwd=self.base_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(cmd)} failed with exit code {result.returncode}\n"
                f"{result.stdout}{result.stderr}\n--- {self.log_path} (tail) ---\n{self.log_tail()}"
            )
        return result

    def _wait_tcp(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((_PG_HOST, self._port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL not accepting TCP connections on {_PG_HOST}:{self._port}\n"
                        f"{self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def _atexit(self) -> None:
        # Safety net for sessions that die without close(): no orphan postmaster.
        with contextlib.suppress(Exception):
            self.stop("immediate")


# ---------------------------------------------------------------------- MariaDB

_MARIADB_SYSTEM_USER = "mysql"
# Databases the contract tests and SQLAlchemy's compliance suite expect (``test_schema`` and
# ``test_schema_2`` are the suite's "other schema" targets).
_MARIADB_DATABASES = ("test", "test_schema", "test_schema_2")
_MARIADB_SETTINGS = (
    "--skip-name-resolve",
    "--skip-log-bin",
    "--performance-schema=0",
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--open-files-limit=4096",
    "--max-connections=400",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
)


def find_mariadbd() -> tuple[Path, Path] | None:
    """``(mariadbd, mariadb-install-db)`` from ``PATH`` or ``/usr/sbin``, or ``None``."""
    found: list[Path] = []
    for names in (("mariadbd", "mysqld"), ("mariadb-install-db", "mysql_install_db")):
        for name in names:
            path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
            if path:
                found.append(Path(path))
                break
        else:
            return None
    return found[0], found[1]


class MariaDBServer:
    """A private, throw-away MariaDB server for one test session.

    ``MariaDBServer.launch()`` runs ``mariadb-install-db`` into a fresh
    ``/tmp/informix-aio-mariadb-*`` directory and starts ``mariadbd`` on a free
    port on 127.0.0.1 (as the ``mysql`` user when we are root); an init file
    lets ``root`` log in over TCP without a password and creates the
    databases ``test``, ``test_schema`` and ``test_schema_2``. Durability is off
    (no binlog, no doublewrite, lazy log flush): start-up takes about 2 s.
    :meth:`close` stops the server and removes the directory.
    """

    def __init__(self, base_dir: Path, mariadbd: Path, port: int, *, run_as: str | None) -> None:
        """Record the layout; use :meth:`launch` instead."""
        self.base_dir = base_dir
        """Directory holding ``data/``, ``init.sql``, ``error.log`` and the socket."""
        self.data_dir = base_dir / "data"
        """The server's data directory."""
        self.log_path = base_dir / "error.log"
        """The server's error log."""
        self.run_as = run_as
        """System user the server runs as (``mysql`` when we are root), else ``None``."""
        self._mariadbd = mariadbd
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    @classmethod
    def launch(cls, *, timeout: float = 60.0) -> MariaDBServer:
        """Create the data directory and start the server; return it.

        :raises RuntimeError: no MariaDB server binaries (install ``mariadb-server``), or
            the server did not come up (the message holds the log tail).
        """
        binaries = find_mariadbd()
        if binaries is None:
            raise RuntimeError(
                "MariaDB server binaries not found (mariadbd, mariadb-install-db); "
                "run `make system` (Debian package mariadb-server)"
            )
        mariadbd, install_db = binaries
        run_as = _MARIADB_SYSTEM_USER if os.geteuid() == 0 else None
        base_dir = _make_tmp_dir("informix-aio-mariadb-")
        server = cls(base_dir, mariadbd, _free_port(), run_as=run_as)
        try:
            server.data_dir.mkdir()
            init = base_dir / "init.sql"
            init.write_text(
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
                + "".join(f"CREATE DATABASE IF NOT EXISTS {db};\n" for db in _MARIADB_DATABASES)
            )
            init.chmod(0o644)
            if run_as is not None:
                try:
                    pw = pwd.getpwnam(run_as)
                except KeyError:
                    raise RuntimeError(
                        f"running as root but there is no {run_as!r} system user to run "
                        "MariaDB as; install the mariadb-server package"
                    ) from None
                # mariadbd creates its socket and log next to the data directory.
                _chown_tree(base_dir, pw.pw_uid, pw.pw_gid)
            argv = [
                str(install_db),
                "--no-defaults",
                f"--datadir={server.data_dir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]
            if run_as is not None:
                argv.append(f"--user={run_as}")
            result = subprocess.run(
                argv,
                cwd=base_dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"{shlex.join(argv)} failed with exit code {result.returncode}\n"
                    f"{result.stdout}{result.stderr}"
                )
            for attempt in range(3):
                try:
                    server._start(timeout)
                    break
                except RuntimeError:
                    # Somebody grabbed the port between _free_port() and bind().
                    if attempt == 2 or "Address already in use" not in server.log_tail():
                        raise
                    server._port = _free_port()
        except BaseException:
            server.close()
            raise
        return server

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        return self._port

    @property
    def host(self) -> str:
        """Address the server listens on: always ``127.0.0.1``."""
        return _PG_HOST

    @property
    def is_running(self) -> bool:
        """True while the ``mariadbd`` process is alive."""
        return self._process is not None and self._process.poll() is None

    def odbc_options(self, database: str = "test") -> dict[str, str | int]:
        """Options for ``informix_aio.connect``: driver, host, port, database, user, password."""
        return {
            "driver": MARIADB_DRIVER,
            "host": _PG_HOST,
            "port": self._port,
            "database": database,
            "user": "root",
            "password": "",
        }

    def connection_string(self, database: str = "test") -> str:
        """ODBC connection string for :data:`MARIADB_DRIVER` as ``root`` (no password)."""
        return (
            f"DRIVER={{{MARIADB_DRIVER}}};SERVER={_PG_HOST};PORT={self._port};"
            f"DATABASE={database};UID=root;PWD=;"
        )

    def admin_execute(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run one statement in autocommit on a fresh connection; return its rows."""
        conn = pyodbc.connect(self.connection_string(), autocommit=True, timeout=10)
        try:
            cursor = conn.cursor()
            if params:
                cursor.execute(sql, *params)
            else:
                cursor.execute(sql)
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the error log (``''`` if there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s) and delete its directory."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._atexit)
        proc, self._process = self._process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> MariaDBServer:
        """Return self; the server is already running."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the server."""
        self.close()

    def __repr__(self) -> str:
        """Show port and base directory."""
        return f"<MariaDBServer {_PG_HOST}:{self._port} {self.base_dir}>"

    def _start(self, timeout: float) -> None:
        argv = [
            str(self._mariadbd),
            "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--port={self._port}",
            f"--bind-address={_PG_HOST}",
            f"--socket={self.base_dir / 'mysqld.sock'}",
            f"--pid-file={self.base_dir / 'mysqld.pid'}",
            f"--log-error={self.log_path}",
            f"--init-file={self.base_dir / 'init.sql'}",
            *_MARIADB_SETTINGS,
        ]
        if self.run_as is not None:
            argv.append(f"--user={self.run_as}")
        self._process = subprocess.Popen(
            argv,
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(self._atexit)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"mariadbd exited with code {self._process.returncode}\n{self.log_tail()}"
                )
            try:
                conn = pyodbc.connect(self.connection_string(), timeout=2)
            except pyodbc.Error:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"MariaDB not accepting logins on {_PG_HOST}:{self._port}\n"
                        f"{self.log_tail()}"
                    ) from None
                time.sleep(0.05)
            else:
                conn.close()
                return

    def _atexit(self) -> None:
        # Safety net for sessions that die without close(): no orphan mariadbd.
        with contextlib.suppress(Exception):
            self.close()


_private_mariadb: MariaDBServer | None = None


def private_mariadb() -> MariaDBServer:
    """The process's private MariaDB server, started on first use (about 2 s) and stopped at
    exit (or by :func:`close_private_mariadb`)."""
    global _private_mariadb
    if _private_mariadb is None or _private_mariadb._closed:
        _private_mariadb = MariaDBServer.launch()
    return _private_mariadb


def close_private_mariadb() -> None:
    """Stop the private MariaDB server if one was started."""
    global _private_mariadb
    server, _private_mariadb = _private_mariadb, None
    if server is not None:
        server.close()


@functools.cache
def _probe_mariadb(
    host: str, port: int, database: str, user: str, password: str
) -> tuple[dict[str, str | int] | None, str | None]:
    conn_str = (
        f"DRIVER={{{MARIADB_DRIVER}}};SERVER={host};PORT={port};DATABASE={database};"
        f"UID={user};PWD={password};"
        # Bound every phase of the handshake, not just the TCP connect.
        "CONN_TIMEOUT=2;READ_TIMEOUT=2;WRITE_TIMEOUT=2;"
    )
    try:
        conn = pyodbc.connect(conn_str, timeout=2)
    except pyodbc.Error as exc:
        return None, f"cannot connect to MariaDB at {host}:{port}/{database} as {user}: {exc}"
    try:
        conn.cursor().execute("SELECT 1").fetchall()
    except pyodbc.Error as exc:
        return None, f"MariaDB at {host}:{port} connected but SELECT 1 failed: {exc}"
    finally:
        conn.close()
    options: dict[str, str | int] = {
        "driver": MARIADB_DRIVER,
        "host": host,
        "port": port,
        "database": database,
        "user": user,
        "password": password,
    }
    return options, None


def mariadb_options(
    host: str | None = None,
    port: int = 3306,
    database: str = "test",
    user: str = "root",
    password: str = "",
) -> dict[str, str | int] | None:
    """Options for a usable MariaDB server, or ``None``.

    Without ``host``: the private server of :func:`private_mariadb` (started on first use);
    ``None`` only when it cannot start. With ``host``: that server, probed once per argument
    set (cached) with a ~2 s bound on the login. The dict has driver, host, port, database,
    user, password. Why it is unusable: :func:`mariadb_unavailable_reason` (same arguments).
    """
    if host is None:
        try:
            return private_mariadb().odbc_options(database)
        except RuntimeError:
            return None
    return _probe_mariadb(host, port, database, user, password)[0]


def mariadb_unavailable_reason(
    host: str | None = None,
    port: int = 3306,
    database: str = "test",
    user: str = "root",
    password: str = "",
) -> str | None:
    """Why :func:`mariadb_options` returned ``None`` (for ``pytest.skip``); ``None`` if usable."""
    if host is None:
        try:
            private_mariadb()
        except RuntimeError as exc:
            return f"the private MariaDB server did not start: {exc}"
        return None
    return _probe_mariadb(host, port, database, user, password)[1]


# ---------------------------------------------------------------------- SQLite


def sqlite_options(path: Path) -> dict[str, str]:
    """Options for the SQLite3 ODBC driver on database file ``path`` (created on connect)."""
    return {"driver": SQLITE_DRIVER, "database": str(path)}


# ---------------------------------------------------------------------- self-test


def _self_test() -> None:
    t0 = time.perf_counter()
    server = PostgresServer.start(None)
    started = time.perf_counter() - t0
    print(f"started {server!r} as {server.run_as or 'current user'} in {started:.2f}s")
    try:
        (version,) = server.admin_execute("SELECT version()")[0]
        print(f"version: {version}")
        assert server.admin_execute("SELECT ? + 1", (41,)) == [(42,)]

        server.create_database("selftest_db")
        conn = pyodbc.connect(
            server.connection_string("selftest_db", pqopt="{application_name=selftest}"),
            autocommit=True,
        )
        assert conn.cursor().execute("SELECT current_database()").fetchone()[0] == "selftest_db"
        acts = server.activity("selftest")
        assert len(acts) == 1, acts
        assert acts[0][1] == "idle", acts
        assert server.terminate_backends("selftest") == 1
        try:
            conn.cursor().execute("SELECT 1").fetchall()
        except pyodbc.Error as exc:
            print(f"terminated backend -> {type(exc).__name__}: {str(exc)[:80]}")
        else:
            raise AssertionError("terminated connection still works")
        finally:
            with contextlib.suppress(pyodbc.Error):
                conn.close()
        assert server.activity("selftest") == []

        port = server.port
        t0 = time.perf_counter()
        server.restart()
        print(f"restart (fast) took {time.perf_counter() - t0:.2f}s")
        assert server.port == port
        assert server.admin_execute("SELECT 1") == [(1,)]

        t0 = time.perf_counter()
        server.kill()
        assert not server.is_running
        server.start()
        print(f"kill + start (crash recovery) took {time.perf_counter() - t0:.2f}s")
        names = [r[0] for r in server.admin_execute("SELECT datname FROM pg_database")]
        assert "selftest_db" in names, names
        assert server.terminate_backends() == 0
        print("odbc_options:", server.odbc_options())
    finally:
        base = server.base_dir
        server.close()
    assert not base.exists()

    t0 = time.perf_counter()
    with MariaDBServer.launch() as mariadb:
        print(f"started {mariadb!r} in {time.perf_counter() - t0:.2f}s")
        databases = {str(r[0]) for r in mariadb.admin_execute("SHOW DATABASES")}
        assert {"test", "test_schema", "test_schema_2"} <= databases, databases
    assert not mariadb.base_dir.exists()
    with tempfile.TemporaryDirectory() as tmp:
        opts = sqlite_options(Path(tmp) / "t.db")
        conn = pyodbc.connect(f"DRIVER={{{opts['driver']}}};Database={opts['database']}")
        assert conn.cursor().execute("SELECT 1").fetchone()[0] == 1
        conn.close()
    print("sqlite: ok")
    print("self-test passed")


if __name__ == "__main__":
    _self_test()
