"""``python -m informix_aio doctor ...``: the same as the ``informix-aio`` command."""

from __future__ import annotations

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
