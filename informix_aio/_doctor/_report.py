"""The whole run: :func:`run_doctor` runs every check in order and collects the findings
and the test connection's description in a :class:`Report`, which ``--json`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._options import ConnectOptions
from ._config import odbc_ini_files
from ._connect import check_connection
from ._drivers import (
    check_driver_libraries,
    check_informix_driver,
    check_pyodbc,
    check_unixodbc,
    registered_drivers,
)
from ._environment import (
    check_informix_env,
    check_sqlhosts,
    check_sqlhosts_entry,
    check_unicode_setting,
)
from ._findings import INFORMIX_ABSENT, INFORMIX_REGISTERED, INFORMIX_TARGETED, Finding
from ._target import check_target_driver, describe_target
from ._tls import check_tls

__all__ = ["Report", "run_doctor"]


@dataclass
class Report:
    """Everything the doctor found; ``connection`` describes a successful test connection."""

    findings: list[Finding] = field(default_factory=list)
    connection: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when no finding is an error, i.e. nothing blocks a connection."""
        return not any(f.status == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """``{"ok": bool, "findings": [...], "connection": {...} | None}``."""
        return {
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "connection": self.connection,
        }


def run_doctor(
    options: ConnectOptions | None, *, env: Mapping[str, str] | None = None, timeout: float = 10.0
) -> Report:
    """Run every check (and a test connection when ``options`` are given).

    :param options: validated connection options, or ``None`` to check the machine only.
    :param env: the environment the checks read and the children get (default ``os.environ``).
        pyodbc, imported in this process, always sees the real environment.
    :param timeout: the login timeout of the test connection, in seconds.
    """
    env = dict(os.environ if env is None else env)
    report = Report()
    add = report.findings.append
    unixodbc, paths = check_unixodbc(env)
    add(unixodbc)
    drivers = registered_drivers(paths, env)
    add(
        Finding(
            "odbc-drivers",
            "ok" if drivers else "warn",
            f"{len(drivers)} driver(s) registered in {paths.drivers}: "
            f"{', '.join(d.name for d in drivers) or 'none'}",
            ""
            if drivers
            else "install and register an ODBC driver (for Informix: see the "
            "informix-driver finding)",
        )
    )
    library_findings, problems = check_driver_libraries(drivers, env)
    report.findings.extend(library_findings)
    add(check_pyodbc())

    ini_files = odbc_ini_files(paths, env)
    target = None
    if options is not None:
        target, target_findings = describe_target(options, ini_files, drivers)
    if target is not None and target.is_informix:
        relevance = INFORMIX_TARGETED
    elif any(d.is_informix for d in drivers):
        relevance = INFORMIX_REGISTERED
    else:
        relevance = INFORMIX_ABSENT
    # Without a target the doctor answers "can this machine reach Informix?": no driver, no.
    add(check_informix_driver(drivers, options is None or relevance == INFORMIX_TARGETED))
    if target is not None:
        report.findings.extend(target_findings)
        target_driver = check_target_driver(target, drivers, problems, env)
        if target_driver is not None:
            add(target_driver)
    report.findings.extend(check_informix_env(env, relevance))
    add(check_unicode_setting(ini_files, relevance))
    sqlhosts, entries = check_sqlhosts(env, relevance)
    add(sqlhosts)
    if target is not None and target.is_informix:
        add(check_sqlhosts_entry(entries, target.keywords, env))
        report.findings.extend(check_tls(target.keywords, env))
    if options is not None and target is not None:
        findings, report.connection = check_connection(options, target, env, timeout)
        report.findings.extend(findings)
        if report.connection is not None:
            # The standalone load probe failed, yet unixODBC loaded the driver and connected.
            report.findings = [
                replace(f, status="warn", message=f"{f.message} (yet the connection works)")
                if f.check == "target-driver" and f.status == "error"
                else f
                for f in report.findings
            ]
    report.findings = _without_repeated_fixes(report.findings)
    return report


def _without_repeated_fixes(findings: list[Finding]) -> list[Finding]:
    """Each fix printed once: a warning or error whose fix an earlier warning or error already
    gave points at that one instead (the human output shows fixes of those two levels only)."""
    first: dict[str, str] = {}
    result = []
    for f in findings:
        if f.fix and f.status in ("warn", "error"):
            if f.fix in first:
                f = replace(f, fix=f"see the fix of {first[f.fix]} above")
            else:
                first[f.fix] = f.check
        result.append(f)
    return result
