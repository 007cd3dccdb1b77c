"""Running other programs: command-line tools such as ``odbcinst``, and naming the signal
that killed a child (a crashing ODBC driver takes its process with it).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["run_tool", "signal_name"]


def run_tool(argv: Sequence[str], env: Mapping[str, str], timeout: float = 15.0) -> tuple[int, str]:
    """Run a tool; return (exit status, stdout + stderr); (127, "") when it is missing."""
    if shutil.which(argv[0], path=env.get("PATH")) is None:
        return 127, ""
    try:
        proc = subprocess.run(
            list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 126, str(exc)
    return proc.returncode, proc.stdout + proc.stderr


def signal_name(number: int) -> str:
    """``SIGSEGV`` for 11, ``signal 99`` for a number with no name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
