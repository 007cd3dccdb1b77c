"""SQLAlchemy tests. The compliance suite in ``compliance/`` runs in its own pytest process
(SQLAlchemy's pytest plugin takes over the session), started by ``test_compliance.py``."""

from __future__ import annotations

import pytest

collect_ignore = ["compliance"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print both compliance-suite counts whenever the comparison ran."""
    from tests.sqlalchemy.test_compliance import RESULTS

    for scheme, run in RESULTS.items():
        terminalreporter.write_line(f"SQLAlchemy compliance suite, {scheme}: {run.summary()}")
