"""Alembic migrations render Informix's ALTER TABLE forms (compile level, no server)."""

from __future__ import annotations

import io

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Integer, String

from informix_aio.sqlalchemy import InformixDialect_informix_aio
from informix_aio.sqlalchemy.alembic_impl import InformixImpl


def offline_ops() -> tuple[Operations, io.StringIO]:
    """Alembic operations in offline (--sql) mode on the Informix dialect."""
    buf = io.StringIO()
    context = MigrationContext.configure(
        dialect=InformixDialect_informix_aio(),
        opts={"as_sql": True, "output_buffer": buf},
    )
    return Operations(context), buf


def sql_of(buf: io.StringIO) -> list[str]:
    """The statements written, whitespace collapsed, terminators dropped."""
    return [" ".join(s.split()) for s in buf.getvalue().split(";") if s.strip()]


def test_the_informix_impl_is_chosen_and_ddl_is_transactional() -> None:
    ops, _ = offline_ops()
    assert isinstance(ops.impl, InformixImpl)
    assert ops.impl.transactional_ddl


def test_add_and_drop_column_use_parentheses() -> None:
    ops, buf = offline_ops()
    ops.add_column("items", Column("qty", Integer, nullable=False, server_default="0"))
    ops.drop_column("items", "qty")
    assert sql_of(buf) == [
        "ALTER TABLE items ADD (qty INTEGER DEFAULT '0' NOT NULL)",
        "ALTER TABLE items DROP (qty)",
    ]


def test_type_and_nullability_changes_modify_the_whole_column() -> None:
    ops, buf = offline_ops()
    ops.alter_column("items", "name", type_=String(400), existing_nullable=False)
    ops.alter_column("items", "name", nullable=True, existing_type=String(40))
    assert sql_of(buf) == [
        "ALTER TABLE items MODIFY (name LVARCHAR(400) NOT NULL)",
        "ALTER TABLE items MODIFY (name VARCHAR(40))",
    ]


def test_a_nullability_change_needs_the_existing_type() -> None:
    ops, _ = offline_ops()
    with pytest.raises(ValueError, match="existing_type"):
        ops.alter_column("items", "name", nullable=False)


def test_renames_use_rename_statements() -> None:
    ops, buf = offline_ops()
    ops.alter_column("items", "name", new_column_name="title")
    ops.rename_table("items", "products")
    assert sql_of(buf) == [
        "RENAME COLUMN items.name TO title",
        "RENAME TABLE items TO products",
    ]
