"""Reflection and round trips against a real Informix (``make test-informix``).

Skipped unless ``INFORMIX_AIO_TEST_INFORMIX`` holds an ODBC connection string or DSN: the
catalog queries in ``informix_aio/sqlalchemy/_reflection.py`` are written from IBM's reference
and only a server can prove them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
)

TARGET = os.environ.get("INFORMIX_AIO_TEST_INFORMIX", "")
pytestmark = pytest.mark.skipif(
    not TARGET, reason="needs a real Informix: set INFORMIX_AIO_TEST_INFORMIX (make test-informix)"
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    raw = TARGET if "=" in TARGET else f"DSN={TARGET}"
    eng = create_engine(
        f"informix+informix_aio:///?odbc_connect={quote_plus(raw + ';DELIMIDENT=y')}"
    )
    yield eng
    eng.dispose()


@pytest.fixture
def tables(engine: Engine) -> Iterator[MetaData]:
    meta = MetaData()
    Table(
        "sa_parent",
        meta,
        Column("id", Integer, primary_key=True),
        Column("code", String(10), unique=True),
    )
    child = Table(
        "sa_child",
        meta,
        Column("id", Integer, primary_key=True),
        Column("pid", Integer, ForeignKey("sa_parent.id", ondelete="CASCADE"), nullable=False),
        Column("note", String(40), server_default="none"),
    )
    Index("ix_sa_child_note", child.c.note)
    Sequence("sa_seq", metadata=meta)
    meta.create_all(engine)
    yield meta
    meta.drop_all(engine)


def test_tables_columns_keys_and_indexes_are_reflected(engine: Engine, tables: MetaData) -> None:
    insp = inspect(engine)
    assert {"sa_parent", "sa_child"} <= set(insp.get_table_names())
    cols = {c["name"]: c for c in insp.get_columns("sa_child")}
    assert cols["id"]["autoincrement"] and not cols["pid"]["nullable"]
    assert cols["note"]["default"] == "'none'"
    assert insp.get_pk_constraint("sa_child")["constrained_columns"] == ["id"]
    (fk,) = insp.get_foreign_keys("sa_child")
    assert fk["referred_table"] == "sa_parent" and fk["referred_columns"] == ["id"]
    assert fk["options"] == {"ondelete": "CASCADE"}
    assert [u["column_names"] for u in insp.get_unique_constraints("sa_parent")] == [["code"]]
    assert [i["name"] for i in insp.get_indexes("sa_child")] == ["ix_sa_child_note"]
    assert "sa_seq" in insp.get_sequence_names()


def test_a_serial_comes_back_from_dbinfo_and_pages_use_skip_first(
    engine: Engine, tables: MetaData
) -> None:
    parent = tables.tables["sa_parent"]
    with engine.begin() as conn:
        ids = []
        for n in range(3):
            key = conn.execute(parent.insert().values(code=f"c{n}")).inserted_primary_key
            assert key is not None
            ids.append(key[0])
        assert ids == sorted(ids) and ids[0] is not None
        page = conn.execute(select(parent.c.code).order_by(parent.c.id).limit(1).offset(1)).all()
        assert page == [("c1",)]
        assert (
            engine.dialect.server_version_info
            and conn.execute(text("SELECT 1 FROM systables WHERE tabid = 1")).scalar() == 1
        )
