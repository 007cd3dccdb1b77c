"""``informix-aio doctor``: the real command, run as a subprocess against real ODBC drivers.

Informix itself is simulated by configuration only: a private ``ODBCSYSINI`` directory that
registers ``IBM INFORMIX ODBC DRIVER`` (with a library that does not exist), a private ``ODBCINI``
with or without ``UNICODE=UCS-2``, and a private sqlhosts file.
"""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from informix_aio._doctor import (
    parse_connection_string,
    parse_odbcinst_j,
    parse_sqlhosts,
    probe_library,
    read_ini,
)
from informix_aio._doctor._templates import TEMPLATES
from informix_aio._doctor._version import server_version
from tests._servers import PG_DRIVER, SQLITE_DRIVER, PostgresServer

REPO = Path(__file__).resolve().parent.parent
INFORMIX_DRIVER = "IBM INFORMIX ODBC DRIVER"
PASSWORD = "Pw-d0ct0r-s3cr3t"
# Never inherited: they would change the target of every run.
_TARGET_ENV = ("INFORMIX_AIO_DSN", "INFORMIX_AIO_PASSWORD")
# Unset by the simulated-Informix runs: the machine's own Informix setup (the test image of
# odbc/informix sets all of them) must not leak into a run that builds its own.
_INFORMIX_ENV = ("INFORMIXDIR", "INFORMIXSQLHOSTS", "INFORMIXSERVER", "ODBCINSTINI")


@dataclass
class Run:
    """One finished ``informix-aio doctor`` process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The ``--json`` document."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def finding(self, check: str) -> dict[str, str]:
        """The (first) finding of ``check`` in the JSON report."""
        for f in self.report["findings"]:
            if f["check"] == check:
                return dict(f)
        raise AssertionError(
            f"no {check!r} finding in {[f['check'] for f in self.report['findings']]}"
        )


def doctor(*args: str, env: Mapping[str, str | None] | None = None) -> Run:
    """Run ``python -m informix_aio doctor ARGS`` in this environment changed by ``env``
    (``None`` values unset a variable)."""
    full = {k: v for k, v in os.environ.items() if k not in _TARGET_ENV}
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "informix_aio", "doctor", *args],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def closed_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def informix_config(tmp_path: Path, *, unicode: str | None) -> dict[str, str | None]:
    """A private unixODBC configuration that registers an Informix driver whose library is
    missing, with ``UNICODE=<unicode>`` in ODBCINI's [ODBC] section (none if ``None``)."""
    sysdir = tmp_path / "odbcsys"
    sysdir.mkdir()
    (sysdir / "odbcinst.ini").write_text(
        f"[{INFORMIX_DRIVER}]\n"
        "Driver = /nonexistent/informix/lib/cli/iclit09b.so\n"
        "APILevel = 1\nConnectFunctions = YYY\nDriverODBCVer = 03.51\n"
    )
    (sysdir / "odbc.ini").write_text("")
    odbcini = tmp_path / "odbc.ini"
    odbc_section = f"[ODBC]\nUNICODE = {unicode}\n\n" if unicode else "[ODBC]\nTrace = No\n\n"
    odbcini.write_text(
        odbc_section + f"[informix_test]\nDriver = {INFORMIX_DRIVER}\nServer = informix\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    return {
        "ODBCSYSINI": str(sysdir),
        "ODBCINI": str(odbcini),
        "HOME": str(home),
        **dict.fromkeys(_INFORMIX_ENV),
    }


def machine_without_informix(tmp_path: Path) -> dict[str, str | None]:
    """A private unixODBC configuration with SQLite3 as the only registered driver (so the run
    does not depend on what this machine registers) and no Informix environment."""
    sysdir = tmp_path / "odbcsys"
    sysdir.mkdir()
    library = sorted(glob.glob("/usr/lib/*/odbc/libsqlite3odbc.so"))
    (sysdir / "odbcinst.ini").write_text(
        f"[{SQLITE_DRIVER}]\nDriver = {library[0] if library else 'libsqlite3odbc.so'}\n"
    )
    (sysdir / "odbc.ini").write_text("")
    home = tmp_path / "home"
    home.mkdir()
    return {"ODBCSYSINI": str(sysdir), "ODBCINI": None, "HOME": str(home),
            **dict.fromkeys(_INFORMIX_ENV)}  # fmt: skip


def fixes(run: Run) -> list[str]:
    """The fixes of the warnings and errors (the ones the human output prints)."""
    return [
        f["fix"] for f in run.report["findings"] if f["status"] in ("warn", "error") and f["fix"]
    ]


def informix_target(port: int | None = None) -> list[str]:
    """Doctor options for an Informix target that has HOST/SERVICE/PROTOCOL."""
    return [
        "--driver", INFORMIX_DRIVER, "--server", "informix", "--host", "127.0.0.1",
        "--service", str(port or closed_port()), "--protocol", "onsoctcp",
        "--database", "informix_aio_test", "--user", "informix",
    ]  # fmt: skip


# -- end to end: real drivers ----------------------------------------------------------------------
def test_doctor_connects_to_sqlite_and_reports_the_sqlite_dialect(tmp_path: Path) -> None:
    run = doctor("--driver", SQLITE_DRIVER, "--database", str(tmp_path / "d.db"), "--json")

    assert run.returncode == 0, run.stdout + run.stderr
    report = run.report
    assert report["ok"] is True
    assert report["connection"]["dialect"] == "sqlite"
    assert report["connection"]["dbms_name"].lower().startswith("sqlite")
    assert run.finding("connect")["status"] == "ok"
    assert run.finding("target-driver")["status"] == "ok"


def test_doctor_reports_postgresql_dialect_version_and_ping_time(
    pg_server: PostgresServer,
) -> None:
    opts = pg_server.odbc_options()
    run = doctor(
        "--driver", str(opts["driver"]), "--host", str(opts["host"]),
        "--port", str(opts["port"]), "--database", str(opts["database"]),
        "--user", str(opts["user"]), "--json",
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    connection = run.report["connection"]
    assert connection["dialect"] == "postgresql"
    assert "postgres" in connection["dbms_name"].lower()
    # As the server reports itself (SHOW server_version: "15.20 (Debian ...)"), not psqlODBC's
    # SQL_DBMS_VER "15.0.20".
    (reported,) = pg_server.admin_execute("SHOW server_version")[0]
    assert connection["dbms_version"] == str(reported).split()[0]
    assert f" {connection['dbms_version']}," in doctor(
        "--driver", str(opts["driver"]), "--host", str(opts["host"]),
        "--port", str(opts["port"]), "--database", str(opts["database"]),
        "--user", str(opts["user"]),
    ).stdout  # fmt: skip
    assert connection["ping_ms"] > 0
    assert len(connection["ping_samples_ms"]) == 5
    assert connection["database_mode"] is None  # an Informix-only query
    assert "median" in run.finding("ping")["message"]


def test_doctor_exits_1_when_nothing_listens_on_the_port() -> None:
    run = doctor(
        "--driver", PG_DRIVER, "--host", "127.0.0.1", "--port", str(closed_port()),
        "--database", "postgres", "--user", "postgres", "--timeout", "5", "--json",
    )  # fmt: skip

    assert run.returncode == 1, run.stdout + run.stderr
    assert run.report["ok"] is False
    assert run.report["connection"] is None
    connect = run.finding("connect")
    assert connect["status"] == "error"
    assert "listening" in connect["fix"]


def test_doctor_reads_the_target_from_informix_aio_dsn(tmp_path: Path) -> None:
    target = f"DRIVER={{{SQLITE_DRIVER}}};DATABASE={tmp_path / 'env.db'}"
    run = doctor("--json", env={"INFORMIX_AIO_DSN": target})

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["connection"]["dialect"] == "sqlite"


def test_doctor_connects_through_a_dsn_defined_in_odbcini(tmp_path: Path) -> None:
    odbcini = tmp_path / "odbc.ini"
    # [ODBC] UNICODE=UCS-2 keeps the run clean on a machine with an Informix driver registered.
    odbcini.write_text(
        "[ODBC]\nUNICODE = UCS-2\n\n"
        f"[lite]\nDriver = {SQLITE_DRIVER}\nDatabase = {tmp_path / 'dsn.db'}\n"
    )
    run = doctor("--dsn", "lite", "--json", env={"ODBCINI": str(odbcini)})

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.finding("dsn")["status"] == "ok"
    assert run.report["connection"]["dialect"] == "sqlite"


def test_doctor_reports_an_undefined_dsn(tmp_path: Path) -> None:
    odbcini = tmp_path / "odbc.ini"
    odbcini.write_text("[ODBC]\n")
    run = doctor("--dsn", "no_such_dsn", "--json", env={"ODBCINI": str(odbcini)})

    assert run.returncode == 1
    assert run.finding("dsn")["status"] == "error"
    assert run.finding("connect")["status"] == "error"


def test_doctor_without_a_target_checks_the_machine_only() -> None:
    run = doctor("--json")

    assert run.report["connection"] is None
    checks = {f["check"] for f in run.report["findings"]}
    assert {"unixodbc", "odbc-drivers", "pyodbc", "informix-driver", "odbc-unicode"} <= checks
    assert "connect" not in checks


# -- Informix configuration ------------------------------------------------------------------------
def test_doctor_without_a_target_reports_the_missing_informix_driver_and_exits_1(
    tmp_path: Path,
) -> None:
    env = machine_without_informix(tmp_path)
    run = doctor("--json", env=env)

    assert run.returncode == 1, run.stdout + run.stderr
    finding = run.finding("informix-driver")
    assert finding["status"] == "error"
    assert "Informix ODBC driver is missing" in finding["message"]
    assert "informix-aio doctor --template odbcinst" in finding["fix"]
    human = doctor(env=env)
    assert human.returncode == 1
    assert "[ERROR] informix-driver" in human.stdout
    assert human.stdout.splitlines()[-1].startswith("result: 1 error(s)")


def test_doctor_with_another_database_as_target_only_warns_about_the_informix_driver(
    tmp_path: Path,
) -> None:
    env = machine_without_informix(tmp_path)
    run = doctor("--driver", SQLITE_DRIVER, "--database", str(tmp_path / "d.db"), "--json", env=env)

    finding = run.finding("informix-driver")
    assert finding["status"] == "warn"  # not targeted: it does not block this connection
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("odbcinst", "[IBM INFORMIX ODBC DRIVER]"),
        ("odbc", "UNICODE = UCS-2"),
        ("sqlhosts", "onsoctcp"),
    ],
)
def test_doctor_template_prints_a_packaged_template(name: str, expected: str) -> None:
    run = doctor("--template", name)

    assert run.returncode == 0, run.stderr
    assert expected in run.stdout
    assert "odbc/" not in run.stdout  # no path of the source repository


def test_doctor_template_rejects_an_unknown_name() -> None:
    run = doctor("--template", "tnsnames")

    assert run.returncode == 2
    assert "odbcinst" in run.stderr


def test_doctor_fixes_point_at_the_package_never_at_repository_files(tmp_path: Path) -> None:
    (tmp_path / "ifx").mkdir()
    env = machine_without_informix(tmp_path)
    runs = [
        doctor("--json", env=env),
        doctor(*informix_target(), "--json", env=env),
        doctor("--driver", INFORMIX_DRIVER, "--server", "ol_x", "--json", env=env),
        doctor("--dsn", "nowhere", "--dialect", "informix", "--json", env=env),
        doctor(*informix_target(), "--json", env=informix_config(tmp_path / "ifx", unicode=None)),
    ]

    every_fix = "\n".join(fix for run in runs for fix in fixes(run))
    assert "informix-aio doctor --template" in every_fix
    assert not re.search(r"odbc/|README|Dockerfile|\.example\b", every_fix), every_fix
    assert set(re.findall(r"--template (\w+)", every_fix)) <= set(TEMPLATES)


def test_doctor_prints_each_fix_once(tmp_path: Path) -> None:
    # An Informix target whose driver is not registered: the informix-driver and target-driver
    # findings have the same remedy.
    run = doctor(*informix_target(), "--json", env=machine_without_informix(tmp_path))

    assert run.finding("informix-driver")["status"] == "error"
    assert run.finding("target-driver")["status"] == "error"
    assert run.finding("target-driver")["fix"] == "see the fix of informix-driver above"
    assert len(fixes(run)) == len(set(fixes(run)))


def test_doctor_reports_missing_ucs2_setting_for_informix(tmp_path: Path) -> None:
    run = doctor(*informix_target(), "--json", env=informix_config(tmp_path, unicode=None))

    assert run.returncode == 1
    unicode = run.finding("odbc-unicode")
    assert unicode["status"] == "error"
    assert "UCS-2" in unicode["message"]
    assert "-11060" in unicode["message"]
    assert "UNICODE=UCS-2" in unicode["fix"]


def test_doctor_reports_a_ucs4_setting_for_informix_as_an_error(tmp_path: Path) -> None:
    run = doctor(*informix_target(), "--json", env=informix_config(tmp_path, unicode="UCS-4"))

    unicode = run.finding("odbc-unicode")
    assert unicode["status"] == "error"
    assert "UNICODE=UCS-4" in unicode["message"]


def test_doctor_accepts_the_ucs2_setting_in_odbcini(tmp_path: Path) -> None:
    env = informix_config(tmp_path, unicode="UCS-2")
    run = doctor(*informix_target(), "--json", env=env)

    unicode = run.finding("odbc-unicode")
    assert unicode["status"] == "ok"
    assert str(env["ODBCINI"]) in unicode["message"]


def test_doctor_reports_a_registered_informix_driver_whose_library_is_missing(
    tmp_path: Path,
) -> None:
    run = doctor(*informix_target(), "--json", env=informix_config(tmp_path, unicode="UCS-2"))

    assert run.returncode == 1
    assert run.finding("informix-driver")["status"] == "ok"
    library = run.finding(f"driver:{INFORMIX_DRIVER}")
    assert library["status"] == "warn"
    assert "does not exist" in library["message"]
    assert run.finding("target-driver")["status"] == "error"
    assert run.finding("connect")["status"] == "error"


def test_doctor_requires_informixdir_for_an_informix_target(tmp_path: Path) -> None:
    run = doctor(*informix_target(), "--json", env=informix_config(tmp_path, unicode="UCS-2"))

    assert run.finding("informixdir")["status"] == "error"


def test_doctor_checks_informixdir_and_ld_library_path(tmp_path: Path) -> None:
    informixdir = tmp_path / "informix"
    for sub in ("lib/cli", "lib/esql", "etc"):
        (informixdir / sub).mkdir(parents=True)
    (informixdir / "lib" / "cli" / "iclit09b.so").write_bytes(b"")
    env = {
        **informix_config(tmp_path, unicode="UCS-2"),
        "INFORMIXDIR": str(informixdir),
        "LD_LIBRARY_PATH": f"{informixdir}/lib:{informixdir}/lib/cli",
    }
    run = doctor(*informix_target(), "--json", env=env)

    home = run.finding("informixdir")
    assert home["status"] == "ok"
    assert "iclit09b.so" in home["message"]
    ld = run.finding("ld-library-path")
    assert ld["status"] == "warn"
    assert f"{informixdir}/lib/esql" in ld["message"]
    assert f"{informixdir}/lib/cli" not in ld["message"]


def test_doctor_finds_the_server_entry_in_informixsqlhosts(tmp_path: Path) -> None:
    sqlhosts = tmp_path / "sqlhosts"
    sqlhosts.write_text(
        "# name  protocol  host  service\n"
        "ol_test   onsoctcp  dbhost.example  9088\n"
        "g_ha      group     -     -     c=1,e=ha_2\n"
        "ha_1      onsoctcp  h1    9088  g=g_ha\n"
        "ha_2      onsoctcp  h2    9088  g=g_ha\n"
    )
    env = {**informix_config(tmp_path, unicode="UCS-2"), "INFORMIXSQLHOSTS": str(sqlhosts)}

    run = doctor("--driver", INFORMIX_DRIVER, "--server", "ol_test", "--json", env=env)
    assert run.finding("sqlhosts")["status"] == "ok"
    assert "ol_test, g_ha, ha_1, ha_2" in run.finding("sqlhosts")["message"]
    entry = run.finding("sqlhosts-entry")
    assert entry["status"] == "ok"
    assert "onsoctcp dbhost.example 9088" in entry["message"]

    group = doctor("--driver", INFORMIX_DRIVER, "--server", "g_ha", "--json", env=env)
    assert group.finding("sqlhosts-entry")["status"] == "ok"
    assert "ha_1, ha_2" in group.finding("sqlhosts-entry")["message"]


def test_doctor_reports_a_server_missing_from_sqlhosts(tmp_path: Path) -> None:
    sqlhosts = tmp_path / "sqlhosts"
    sqlhosts.write_text("ol_other onsoctcp dbhost 9088\nbroken line\n")
    env = {**informix_config(tmp_path, unicode="UCS-2"), "INFORMIXSQLHOSTS": str(sqlhosts)}

    run = doctor("--driver", INFORMIX_DRIVER, "--server", "ol_test", "--json", env=env)

    assert run.returncode == 1
    entry = run.finding("sqlhosts-entry")
    assert entry["status"] == "error"
    assert "ol_test" in entry["message"]
    assert "--host, --service and --protocol" in entry["fix"]
    assert run.finding("sqlhosts")["status"] == "warn"  # "broken line" is not an entry
    assert "[2]" in run.finding("sqlhosts")["message"]


def test_doctor_needs_no_sqlhosts_entry_when_host_service_and_protocol_are_given(
    tmp_path: Path,
) -> None:
    sqlhosts = tmp_path / "sqlhosts"
    sqlhosts.write_text("ol_other onsoctcp dbhost 9088\n")
    env = {**informix_config(tmp_path, unicode="UCS-2"), "INFORMIXSQLHOSTS": str(sqlhosts)}

    run = doctor(*informix_target(), "--json", env=env)

    entry = run.finding("sqlhosts-entry")
    assert entry["status"] == "ok"
    assert "not needed" in entry["message"]


# -- output ----------------------------------------------------------------------------------------
# ids without "-": conftest counts parametrized ids that look like backend names.
@pytest.mark.parametrize("output", ["human", "json"])
@pytest.mark.parametrize("source", ["argument", "environment"])
@pytest.mark.parametrize(
    "target",
    [pytest.param("postgresql", id="pg_target"), pytest.param("informix", id="ifx_target")],
)
def test_doctor_never_prints_the_password(
    tmp_path: Path, output: str, source: str, target: str
) -> None:
    if target == "postgresql":
        args = ["--driver", PG_DRIVER, "--host", "127.0.0.1", "--port", str(closed_port()),
                "--database", "postgres", "--user", "postgres"]  # fmt: skip
        env: dict[str, str | None] = {}
    else:
        args = informix_target()
        env = informix_config(tmp_path, unicode=None)
    if source == "argument":
        args += ["--password", PASSWORD]
    else:
        env["INFORMIX_AIO_PASSWORD"] = PASSWORD
    if output == "json":
        args.append("--json")

    run = doctor(*args, env=env)

    assert run.returncode == 1
    assert PASSWORD not in run.stdout
    assert PASSWORD not in run.stderr
    assert "PWD=***" in run.stdout  # the target is shown, redacted


def test_doctor_json_output_has_ok_findings_and_connection(tmp_path: Path) -> None:
    run = doctor("--driver", SQLITE_DRIVER, "--database", str(tmp_path / "d.db"), "--json")

    report = run.report
    assert set(report) == {"ok", "findings", "connection"}
    assert isinstance(report["ok"], bool)
    for finding in report["findings"]:
        assert set(finding) == {"check", "status", "message", "fix"}
        assert finding["status"] in {"ok", "info", "warn", "error"}
        assert all(isinstance(v, str) for v in finding.values())
    connection = report["connection"]
    for key in ("dialect", "dbms_name", "dbms_version", "driver_name", "connect_ms", "ping_ms",
                "liveness_query", "database_mode", "target"):  # fmt: skip
        assert key in connection
    assert run.stderr == ""


def test_doctor_human_output_tags_findings_and_indents_the_fix(tmp_path: Path) -> None:
    run = doctor(*informix_target(), env=informix_config(tmp_path, unicode=None))

    assert run.returncode == 1
    lines = run.stdout.splitlines()
    unicode = next(i for i, line in enumerate(lines) if "odbc-unicode" in line)
    assert lines[unicode].startswith("[ERROR]")
    assert lines[unicode + 1].startswith("        fix: ")
    assert any(line.startswith("[ ok  ] unixodbc") for line in lines)
    assert lines[-1].startswith("result: ")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--dialect", "oracle"], id="unknown_dialect"),
        pytest.param(["--driver", SQLITE_DRIVER, "--timeout", "0"], id="zero_timeout"),
        pytest.param(
            ["--driver", INFORMIX_DRIVER, "--host", "h"], id="informix_host_without_server"
        ),
        pytest.param(["--no-such-option"], id="unknown_option"),
    ],
)
def test_doctor_exits_2_on_usage_errors(args: list[str]) -> None:
    run = doctor(*args)

    assert run.returncode == 2
    assert run.stdout == ""
    assert "error" in run.stderr


def test_informix_aio_without_a_command_prints_help_and_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "informix_aio"], cwd=REPO, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip

    assert proc.returncode == 2
    assert "doctor" in proc.stderr


# -- parsing (no subprocess) -----------------------------------------------------------------------
def test_read_ini_upper_cases_keys_skips_comments_and_keeps_the_first_value(
    tmp_path: Path,
) -> None:
    ini = tmp_path / "odbc.ini"
    ini.write_text(
        "; comment\n# another\n[ODBC]\nunicode = UCS-2\nUNICODE = UCS-4\n\n"
        "[My DSN]\nDriver=IBM INFORMIX ODBC DRIVER\nnot a pair\n"
    )

    sections = read_ini(ini)

    assert sections == {"ODBC": {"UNICODE": "UCS-2"}, "My DSN": {"DRIVER": INFORMIX_DRIVER}}


def test_parse_odbcinst_j_reads_the_version_and_files() -> None:
    text = (
        "unixODBC 2.3.11\nDRIVERS............: /etc/odbcinst.ini\n"
        "SYSTEM DATA SOURCES: /etc/odbc.ini\nFILE DATA SOURCES..: /etc/ODBCDataSources\n"
        "USER DATA SOURCES..: /root/.odbc.ini\nSQLULEN Size.......: 8\n"
    )

    paths = parse_odbcinst_j(text)

    assert paths.version == "2.3.11"
    assert paths.drivers == Path("/etc/odbcinst.ini")
    assert paths.system_dsn == Path("/etc/odbc.ini")
    assert paths.user_dsn == Path("/root/.odbc.ini")


def test_parse_sqlhosts_splits_fields_and_reports_bad_lines() -> None:
    entries, bad = parse_sqlhosts(
        "# comment\ninformix onsoctcp informix 9088\n\n"
        "g_ha group - - c=1,e=ha_2  # trailing comment\nhalf line\n"
    )

    assert [(e.name, e.protocol, e.host, e.service, e.options) for e in entries] == [
        ("informix", "onsoctcp", "informix", "9088", ""),
        ("g_ha", "group", "-", "-", "c=1,e=ha_2"),
    ]
    assert bad == [5]


def test_parse_connection_string_unquotes_braces_and_maps_informix_short_keys() -> None:
    keywords = parse_connection_string(
        "DRIVER={IBM INFORMIX ODBC DRIVER};SRVR=ol_test;Serv=9088;pwd={a;b}}c};DB=stores;"
        "DATABASE=ignored"
    )

    assert keywords == {
        "DRIVER": INFORMIX_DRIVER,
        "SERVER": "ol_test",
        "SERVICE": "9088",
        "PWD": "a;b}c",
        "DATABASE": "stores",
    }


@pytest.mark.parametrize(
    ("dbms", "raw", "shown"),
    [
        pytest.param("PostgreSQL", "15.0.20", "15.20", id="psqlodbc_pg15"),
        pytest.param("PostgreSQL", "15.0020", "15.20", id="pg_two_field_padded"),
        pytest.param("PostgreSQL", "16.0.4", "16.4", id="psqlodbc_pg16"),
        pytest.param("PostgreSQL", "9.06.0024", "9.6.24", id="pg_three_part_era"),
        pytest.param("MariaDB", "10.11.000019", "10.11.19", id="mariadb_padded"),
        pytest.param("SQLite", "3.39.3", "3.39.3", id="sqlite"),
        pytest.param("Informix", "14.10.FC9W1DE", "14.10.FC9W1DE", id="informix_fixpack"),
        pytest.param("Informix", "14.10.0000 FC9", "14.10.0000 FC9", id="informix_suffix"),
    ],
)
def test_server_version_shows_the_version_as_the_server_reports_it(
    dbms: str, raw: str, shown: str
) -> None:
    assert server_version(dbms, raw) == shown


def test_probe_library_reports_a_file_that_is_not_a_shared_library(tmp_path: Path) -> None:
    fake = tmp_path / "iclit09b.so"
    fake.write_text("not an ELF file")

    assert probe_library(str(fake), os.environ) is not None
    assert probe_library(str(tmp_path / "missing.so"), os.environ) is not None
