"""Row factories: tuples, dicts and named tuples, including awkward column names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import informix_aio
from informix_aio.rows import Description, dict_row, namedtuple_row, tuple_row


def describe(*names: str) -> Description:
    """A PEP 249 description: one 7-tuple per column."""
    return [(name, str, None, None, None, None, True) for name in names]


def test_tuple_row_makes_plain_tuples() -> None:
    make = tuple_row(describe("a", "b"))
    row = make([1, "x"])
    assert row == (1, "x")
    assert type(row) is tuple


def test_tuple_row_is_the_tuple_constructor_itself() -> None:
    # The connection recognises it and skips the per-row call.
    assert tuple_row(describe("a")) is tuple


def test_dict_row_keys_values_by_column_name_in_order() -> None:
    make = dict_row(describe("id", "email"))
    row = make((7, "a@x"))
    assert row == {"id": 7, "email": "a@x"}
    assert list(row) == ["id", "email"]


def test_dict_row_keeps_non_identifier_column_names_verbatim() -> None:
    names = ("count(*)", "first name", "1st", "class", "Ünïcode", "")
    make = dict_row(describe(*names))
    assert make(range(6)) == {name: i for i, name in enumerate(names)}


def test_namedtuple_row_gives_attribute_and_index_access() -> None:
    make = namedtuple_row(describe("id", "email"))
    row = make((7, "a@x"))
    assert row.id == 7
    assert row.email == "a@x"
    assert row[0] == 7
    assert tuple(row) == (7, "a@x")
    assert isinstance(row, tuple)


@pytest.mark.parametrize(
    ("names", "fields"),
    [
        (("count(*)", "n"), ("_0", "n")),
        (("id", "first name"), ("id", "_1")),
        (("1st", "ok"), ("_0", "ok")),
        (("class", "def"), ("_0", "_1")),  # keywords
        (("a", "a"), ("a", "_1")),  # duplicates
        (("_hidden", "x"), ("_0", "x")),  # leading underscore
        (("", "x"), ("_0", "x")),
    ],
)
def test_namedtuple_row_renames_columns_that_are_not_identifiers_to_their_position(
    names: tuple[str, ...], fields: tuple[str, ...]
) -> None:
    make = namedtuple_row(describe(*names))
    row = make(range(len(names)))
    assert row._fields == fields
    assert tuple(row) == tuple(range(len(names)))


def test_namedtuple_row_keeps_unicode_identifiers() -> None:
    row = namedtuple_row(describe("straße", "ünï"))(("a", "b"))
    assert row._fields == ("straße", "ünï")


def test_namedtuple_row_builds_one_class_per_description() -> None:
    make = namedtuple_row(describe("a", "b"))
    assert type(make((1, 2))) is type(make((3, 4)))


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (tuple_row, [(1, "x")]),
        (dict_row, [{"n": 1, "count(*)": "x"}]),
        (None, [(1, "x")]),
    ],
    ids=["tuple_row", "dict_row", "default"],
)
def test_factories_shape_real_rows(tmp_path: Path, factory: Any, expected: list[Any]) -> None:
    conn = informix_aio.connect(driver="SQLite3", database=str(tmp_path / "r.db"))
    try:
        rows = conn.fetch("SELECT 1 AS n, 'x' AS \"count(*)\"", row_factory=factory)
    finally:
        conn.close()
    assert rows == expected
    assert all(type(r) is type(expected[0]) for r in rows)


def test_namedtuple_row_on_real_rows_with_awkward_names(tmp_path: Path) -> None:
    conn = informix_aio.connect(
        driver="SQLite3", database=str(tmp_path / "r.db"), row_factory=namedtuple_row
    )
    try:
        (row,) = conn.fetch('SELECT 1 AS id, 2 AS "first name", 3 AS "class"')
    finally:
        conn.close()
    assert row._fields == ("id", "_1", "_2")
    assert row.id == 1
    assert tuple(row) == (1, 2, 3)
