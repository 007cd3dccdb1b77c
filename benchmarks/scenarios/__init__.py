"""One module per scenario; each has ``NUMBER``, ``KEY``, ``TITLE`` and ``run(ctx)``.

The modules are imported by :func:`load_all` (not here), so that a scenario's child process
(``python -m benchmarks.scenarios.s4_streaming``) imports only what it needs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MODULES", "load_all"]

#: The scenarios in the order they run.
MODULES: tuple[str, ...] = (
    "s1_latency",
    "s2_pool",
    "s3_fastapi",
    "s4_streaming",
    "s5_executemany",
    "s6_cancel",
    "s7_idle",
)


def load_all() -> list[ModuleType]:
    """Import every scenario module, in order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in MODULES]
