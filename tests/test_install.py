"""A plain install works: the built wheel, in a fresh virtual environment, with no extras.

The wheel is built from this checkout (``pip wheel --no-deps``, hatchling in an isolated build
environment) and installed into a new venv whose dependencies come from the package index, as a
user's ``pip install`` gets them. The checks run with ``python -I`` from a temporary directory,
so nothing of the checkout (or of the test venv) can be imported by accident. One venv serves
the whole module: first the plain install is checked, then the ``trio`` and ``fastapi`` extras
are added to it and checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import informix_aio

REPO = Path(__file__).resolve().parent.parent

# The public modules a plain install must import (the FastAPI integration needs its extra).
PLAIN_MODULES = (
    "informix_aio",
    "informix_aio.aio",
    "informix_aio.errors",
    "informix_aio.retry",
    "informix_aio.rows",
    "informix_aio.cli",
    "informix_aio.dialects",
)

# One async query on SQLite through the "SQLite3" ODBC driver, on the event loop named in argv.
QUERY_SCRIPT = textwrap.dedent(
    """
    import sys
    from informix_aio import aio

    async def main():
        conn = await aio.connect(driver="SQLite3", database=sys.argv[2])
        try:
            cur = await conn.cursor()
            await cur.execute("SELECT ? + 1", (41,))
            row = await cur.fetchone()
        finally:
            await conn.close()
        print(sys.argv[1], row[0])

    if sys.argv[1] == "trio":
        import trio
        trio.run(main)
    else:
        import asyncio
        asyncio.run(main())
    """
)


@dataclass
class InstalledVenv:
    """A fresh venv with the wheel installed; commands run from ``workdir``."""

    root: Path
    wheel: Path
    workdir: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the venv's Python isolated (``-I``: no PYTHONPATH, no cwd on sys.path)."""
        return self.run_program(str(self.python), "-I", *args)

    def run_program(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        return subprocess.run(
            list(argv),
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def pip_install(self, requirement: str) -> None:
        """``pip install`` into the venv, with this environment's pip (the venv has none)."""
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q",
             requirement],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"pip install {requirement} failed:\n{proc.stderr}"


def _check(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledVenv:
    """The wheel built from this checkout, installed with no extras into a fresh venv."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert build.returncode == 0, f"building the wheel failed:\n{build.stderr}"
    (wheel,) = dist.glob("informix_aio-*.whl")
    root = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120
    )
    workdir = base / "work"
    workdir.mkdir()
    venv = InstalledVenv(root, wheel, workdir)
    venv.pip_install(str(wheel))
    return venv


def test_plain_install_pulls_only_the_core_dependencies(installed: InstalledVenv) -> None:
    out = _check(
        installed.run(
            "-c",
            "import importlib.util as u; "
            "print(*(n for n in ('anyio', 'sniffio', 'pyodbc', 'trio', 'fastapi', 'pytest') "
            "if u.find_spec(n)))",
        )
    )

    assert out.split() == ["anyio", "sniffio", "pyodbc"]


def test_plain_install_imports_every_public_module(installed: InstalledVenv) -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {PLAIN_MODULES!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.prefix), (name, module.__file__)\n"
        "print(len(" + repr(PLAIN_MODULES) + "))\n"
    )

    assert _check(installed.run("-c", code)).strip() == str(len(PLAIN_MODULES))


def test_plain_install_fastapi_integration_asks_for_fastapi_only(
    installed: InstalledVenv,
) -> None:
    proc = installed.run("-c", "import informix_aio.fastapi")

    # It names a package of the extra (fastapi, or starlette which comes with it), not anyio.
    assert proc.returncode == 1
    assert re.search(r"No module named '(fastapi|starlette)'", proc.stderr), proc.stderr


def test_plain_install_runs_an_async_query_on_sqlite_with_asyncio(
    installed: InstalledVenv,
) -> None:
    out = _check(installed.run("-c", QUERY_SCRIPT, "asyncio", str(installed.workdir / "a.db")))

    assert out.split() == ["asyncio", "42"]


def test_plain_install_provides_the_doctor_command_and_its_templates(
    installed: InstalledVenv,
) -> None:
    command = str(installed.root / "bin" / "informix-aio")

    out = _check(installed.run_program(command, "--version"))
    assert out.strip() == f"informix-aio {informix_aio.__version__}"
    assert "UNICODE = UCS-2" in _check(
        installed.run_program(command, "doctor", "--template", "odbc")
    )


def test_install_with_trio_and_fastapi_extras_runs_on_trio(installed: InstalledVenv) -> None:
    # Runs after the plain-install tests (file order): it adds the extras to the same venv.
    installed.pip_install(f"{installed.wheel}[trio,fastapi]")

    out = _check(installed.run("-c", QUERY_SCRIPT, "trio", str(installed.workdir / "t.db")))
    assert out.split() == ["trio", "42"]
    _check(installed.run("-c", "import informix_aio.fastapi"))
