"""SQLAlchemy's dialect compliance suite through the async connector, against the sync original.

``tests/sqlalchemy/compliance`` holds the suite (``from sqlalchemy.testing.suite import *``). It
runs twice on the session's private MariaDB, each time in a pytest process of its own (SQLAlchemy's
plugin takes over a session): once with SQLAlchemy's own ``mysql+pyodbc`` and once with
``mysql+informix_aio_async`` (:class:`~informix_aio.sqlalchemy.AsyncConnector` mixed into that same
dialect). Every test the sync driver passes must pass through the connector too. The whole suite
takes about 15 s per run here, so it runs whole: no subset is chosen.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from tests._servers import MariaDBServer
from tests.sqlalchemy._mariadb import ASYNC_NAME, odbc_url

SUITE_DIR = Path(__file__).parent / "compliance"
ROOT = Path(__file__).parents[2]
SYNC_NAME = "mysql+pyodbc"
_DIALECT_SUFFIX = re.compile(r"_(?:mysql|mariadb)\+\S*$")
#: Tests that pass with pyodbc only, and why. The library's MariaDB dialect sends a naive
#: ``datetime`` parameter as ISO text (Connector/ODBC drops the microseconds of SQL_TIMESTAMP
#: parameters), so a bare ``SELECT ?`` of a datetime echoes that text back.
KNOWN_DIFFERENCES = {
    "suite_compliance.DateTimeTest::test_select_direct": "datetime parameters travel as text",
    "suite_compliance.DateTimeCoercedToDateTimeTest::test_select_direct": (
        "datetime parameters travel as text"
    ),
}
#: ``scheme -> SuiteRun``, printed at the end of the session (tests/sqlalchemy/conftest.py).
RESULTS: dict[str, SuiteRun] = {}


@dataclass
class SuiteRun:
    """The outcome of one run of the suite."""

    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """``860 passed, 117 failed, 511 skipped in 14.2 s``."""
        return (
            f"{len(self.passed)} passed, {len(self.failed)} failed or errors, "
            f"{self.skipped} skipped in {self.seconds:.1f} s"
        )


def run_suite(scheme: str, server: MariaDBServer, tmp_path: Path) -> SuiteRun:
    """Run the compliance suite with ``scheme`` on ``server``; read the JUnit report."""
    report = tmp_path / f"{scheme.replace('+', '_')}.xml"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "--rootdir",
        str(SUITE_DIR),
        "-c",
        str(SUITE_DIR / "setup.cfg"),
        str(SUITE_DIR),
        "--dburi",
        odbc_url(scheme, server.connection_string()),
        "-q",
        f"--junitxml={report}",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if not report.exists():
        raise AssertionError(f"{scheme}: the suite did not run\n{done.stdout[-3000:]}")
    run = SuiteRun()
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    run.seconds = float(suite.get("time", "0"))
    for case in suite.iter("testcase"):
        # Test class names carry the dialect ("..._mariadb+pyodbc_10_11_19"): drop it.
        name = f"{_DIALECT_SUFFIX.sub('', case.get('classname', ''))}::{case.get('name')}"
        outcome = {child.tag for child in case}
        if "skipped" in outcome:
            run.skipped += 1
        elif outcome & {"failure", "error"}:
            run.failed.add(name)
        else:
            run.passed.add(name)
    return run


def test_async_connector_passes_everything_sync_pyodbc_passes(
    mariadb_server: MariaDBServer, tmp_path: Path
) -> None:
    sync = RESULTS[SYNC_NAME] = run_suite(SYNC_NAME, mariadb_server, tmp_path)
    connector = RESULTS[ASYNC_NAME] = run_suite(ASYNC_NAME, mariadb_server, tmp_path)
    assert len(sync.passed) > 500, sync.summary()  # the suite really ran
    missing = sorted(sync.passed - connector.passed - KNOWN_DIFFERENCES.keys())
    assert not missing, f"pass with {SYNC_NAME} only:\n" + "\n".join(missing)
    assert len(connector.passed) >= len(sync.passed), (sync.summary(), connector.summary())
