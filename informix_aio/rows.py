"""Row factories: how a fetched row is shaped.

A row factory takes the cursor's ``description`` and returns a function that builds one row
from a sequence of column values, as psycopg's do. ``tuple_row`` (the default) is special-cased
for speed.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Description", "RowFactory", "RowMaker", "dict_row", "namedtuple_row", "tuple_row"]

#: PEP 249 description: one 7-tuple per column (name, type_code, display_size, ...).
Description = Sequence[tuple[Any, ...]]
RowMaker = Callable[[Sequence[Any]], Any]
RowFactory = Callable[[Description], RowMaker]


def tuple_row(description: Description) -> RowMaker:
    """Rows as plain tuples (the default)."""
    return tuple


def dict_row(description: Description) -> RowMaker:
    """Rows as ``dict`` keyed by column name."""
    names = [d[0] for d in description]

    def make(values: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(names, values, strict=True))

    return make


def namedtuple_row(description: Description) -> RowMaker:
    """Rows as named tuples; column names that are not identifiers become ``_0``, ``_1``..."""
    names = [d[0] for d in description]
    cls = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    make: RowMaker = cls._make
    return make
