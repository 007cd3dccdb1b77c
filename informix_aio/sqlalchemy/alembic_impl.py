"""Alembic support: migrations against Informix with the ``informix`` dialect.

Importing :mod:`informix_aio.sqlalchemy` registers :class:`InformixImpl` (Alembic finds an
implementation by dialect name). Informix's ALTER TABLE differs from the ANSI forms Alembic
emits by default, so these are compiled as IBM's SQL reference gives them:

- ``ALTER TABLE t ADD (col type)`` and ``ALTER TABLE t DROP (col)``;
- ``ALTER TABLE t MODIFY (col type [NOT NULL])`` for a type or nullability change (MODIFY
  restates the whole column, so Alembic must know the existing type: pass ``existing_type=``);
- ``RENAME COLUMN t.old TO new`` and ``RENAME TABLE old TO new``.

DDL runs inside the migration's transaction in a logged database (``transactional_ddl``).
"""

from __future__ import annotations

from typing import Any

from alembic.ddl.base import (
    AddColumn,
    ColumnName,
    ColumnNullable,
    ColumnType,
    DropColumn,
    RenameTable,
    alter_table,
    format_column_name,
    format_table_name,
    format_type,
)
from alembic.ddl.impl import DefaultImpl
from sqlalchemy.ext.compiler import compiles

__all__ = ["InformixImpl"]


class InformixImpl(DefaultImpl):
    """Alembic's operations for Informix."""

    __dialect__ = "informix"
    transactional_ddl = True


def _modify(
    compiler: Any, table: Any, schema: Any, column: Any, type_sql: str, nullable: Any
) -> str:
    text = f"{alter_table(compiler, table, schema)} MODIFY ({format_column_name(compiler, column)} {type_sql}"
    if nullable is False:
        text += " NOT NULL"
    return text + ")"


@compiles(AddColumn, "informix")
def _add_column(element: AddColumn, compiler: Any, **kw: Any) -> str:
    column = compiler.get_column_specification(element.column, **kw)
    return f"{alter_table(compiler, element.table_name, element.schema)} ADD ({column})"


@compiles(DropColumn, "informix")
def _drop_column(element: DropColumn, compiler: Any, **kw: Any) -> str:
    name = format_column_name(compiler, element.column.name)
    return f"{alter_table(compiler, element.table_name, element.schema)} DROP ({name})"


@compiles(ColumnType, "informix")
def _column_type(element: ColumnType, compiler: Any, **kw: Any) -> str:
    return _modify(
        compiler,
        element.table_name,
        element.schema,
        element.column_name,
        format_type(compiler, element.type_),
        element.existing_nullable,
    )


@compiles(ColumnNullable, "informix")
def _column_nullable(element: ColumnNullable, compiler: Any, **kw: Any) -> str:
    if element.existing_type is None:
        raise ValueError(
            "Informix restates the whole column to change NULL / NOT NULL: "
            "give alter_column(..., existing_type=...)"
        )
    return _modify(
        compiler,
        element.table_name,
        element.schema,
        element.column_name,
        format_type(compiler, element.existing_type),
        element.nullable,
    )


@compiles(ColumnName, "informix")
def _column_name(element: ColumnName, compiler: Any, **kw: Any) -> str:
    table = format_table_name(compiler, element.table_name, element.schema)
    old = format_column_name(compiler, element.column_name)
    return f"RENAME COLUMN {table}.{old} TO {format_column_name(compiler, element.newname)}"


@compiles(RenameTable, "informix")
def _rename_table(element: RenameTable, compiler: Any, **kw: Any) -> str:
    old = format_table_name(compiler, element.table_name, element.schema)
    return f"RENAME TABLE {old} TO {format_table_name(compiler, element.new_table_name, None)}"
