"""Option validation, in one place: the pool and the connections it opens check an option
with the same function, so a value one accepts the other never rejects later."""

from __future__ import annotations

import math

__all__ = ["check_count", "check_timeout"]


def check_timeout(name: str, value: float | None, *, zero_ok: bool = False) -> None:
    """A duration in seconds: ``None`` (no limit), or a number > 0 (>= 0 with ``zero_ok``).

    :raises ValueError: anything else, naming the option.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number of seconds or None, not {value!r}")
    if value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ValueError(f"{name} must be {bound} seconds or None, not {value!r}")


def check_count(name: str, value: int | None, *, minimum: int, none_ok: bool = False) -> None:
    """A whole number of at least ``minimum`` (or ``None`` with ``none_ok``).

    :raises ValueError: anything else, naming the option.
    """
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
