"""The races and corners of "nothing lost": a cancellation that lands as the statement
finishes, a cancellation next to another cursor's server-side result, the autocommit mode a
user chose, a failing commit under cancellation, DB-API work before a transaction() block, and
a second task inside another task's transaction. Against the private PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any, cast

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import Error, InterfaceError, InternalError
from tests.aio.test_cancellation import assert_clean
from tests.conftest import Backend

pytestmark = pytest.mark.anyio

DECLARE_FETCH = {"usedeclarefetch": 1, "fetch": 100}


@pytest.fixture
def table(pg: Backend) -> Iterator[str]:
    assert pg.pg is not None
    name = pg.table("race")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
    yield name
    pg.pg.admin_execute(f"DROP TABLE IF EXISTS {name}")


def committed(pg: Backend, table: str) -> list[int]:
    assert pg.pg is not None
    return [cast(int, r[0]) for r in pg.pg.admin_execute(f"SELECT id FROM {table} ORDER BY id")]


async def test_a_cancellation_as_the_statement_finishes_still_aborts_the_transaction(
    pg: Backend, table: str
) -> None:
    rng = random.Random(2)
    async with await aio.connect(**pg.connect_kwargs(autocommit=False)) as conn:
        cancelled = 0
        for i in range(120):
            with anyio.fail_after(10):
                with anyio.move_on_after(rng.uniform(0.003, 0.008)) as scope:
                    await conn.execute(f"INSERT INTO {table} SELECT ? FROM pg_sleep(0.005)", (i,))
                if not scope.cancelled_caught:
                    await conn.commit()
                    continue
                cancelled += 1
                with pytest.raises(InternalError, match="aborted by a cancellation"):
                    await conn.commit()  # never commits the cancelled statement's row
                await conn.rollback()
                assert i not in committed(pg, table)
        assert cancelled > 10
    assert_clean(pg)


async def test_a_cancel_on_a_declare_fetch_connection_never_ends_another_cursor_short(
    pg: Backend,
) -> None:
    rows = 20000
    async with await aio.connect(**pg.connect_kwargs(autocommit=True, **DECLARE_FETCH)) as c:
        for attempt in range(10):
            cur = await c.cursor()
            await cur.execute(f"SELECT g FROM generate_series(1, {rows}) g")
            got = [int(r[0]) for r in await cur.fetchmany(50)]
            with anyio.move_on_after(0.002 + attempt * 0.001):
                got.extend(int(r[0]) for r in await cur.fetchmany(5000))
            try:
                got.extend(int(r[0]) for r in await cur.fetchall())
                ended = "complete"
            except InterfaceError:
                ended = "error"
            assert got == list(range(1, len(got) + 1))  # gapless
            assert ended == "error" or len(got) == rows  # never a quiet short end
            await cur.close()


@pytest.mark.parametrize("opened_with", [False, True])
async def test_a_cancellation_keeps_the_autocommit_mode_its_user_chose(
    pg: Backend, table: str, opened_with: bool
) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=opened_with)) as conn:
        await conn.set_autocommit(not opened_with)
        with anyio.move_on_after(0.1):
            await conn.execute("SELECT pg_sleep(5)")
        if not opened_with:  # now in autocommit mode: nothing to abort
            assert conn.autocommit
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            assert committed(pg, table) == [1]  # autocommitted, as its caller believes
        else:  # now in DB-API mode: aborted until rolled back, and still in DB-API mode
            with pytest.raises(InternalError):
                await conn.execute(f"INSERT INTO {table} VALUES (1)")
            await conn.rollback()
            assert not conn.autocommit
            await conn.execute(f"INSERT INTO {table} VALUES (2)")
            await conn.rollback()
            assert committed(pg, table) == []


async def test_a_cancellation_during_a_failing_batch_commit_is_not_lost(
    pg: Backend, table: str, anyio_backend: Any
) -> None:
    assert pg.pg is not None
    pg.pg.admin_execute(
        f"CREATE OR REPLACE FUNCTION reject_{table}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.3); RAISE EXCEPTION 'rejected at commit'; END $$"
    )
    pg.pg.admin_execute(
        f"CREATE CONSTRAINT TRIGGER reject AFTER INSERT ON {table} DEFERRABLE INITIALLY "
        f"DEFERRED FOR EACH ROW EXECUTE FUNCTION reject_{table}()"
    )
    async with await aio.connect(**pg.connect_kwargs(autocommit=True)) as conn:
        with anyio.move_on_after(0.15) as scope:
            await conn.executemany(f"INSERT INTO {table} VALUES (?)", [(1,), (2,)])
        assert scope.cancelled_caught  # the cancellation, not the commit's error
        if anyio_backend[0] == "asyncio":
            task = asyncio.get_running_loop().create_task(
                conn.executemany(f"INSERT INTO {table} VALUES (?)", [(3,)])
            )
            await asyncio.sleep(0.15)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
    assert committed(pg, table) == []


async def test_a_transaction_block_in_dbapi_mode_never_commits_earlier_work(
    pg: Backend, table: str
) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=False)) as conn:
        await conn.execute(f"INSERT INTO {table} VALUES (1)")
        async with conn.transaction():  # a savepoint within the implicit transaction
            await conn.execute(f"INSERT INTO {table} VALUES (2)")
        assert committed(pg, table) == []
        await conn.rollback()
        assert committed(pg, table) == []
        async with conn.transaction():  # nothing pending: a transaction of its own
            await conn.execute(f"INSERT INTO {table} VALUES (3)")
        assert committed(pg, table) == [3]
        await conn.execute(f"INSERT INTO {table} VALUES (4)")
        with pytest.raises(Error, match="isolation and readonly"):
            async with conn.transaction(isolation="serializable"):
                pass
        await conn.commit()
    assert committed(pg, table) == [3, 4]


async def test_another_task_cannot_run_statements_inside_a_tasks_transaction(
    pg: Backend, table: str
) -> None:
    async with await aio.connect(**pg.connect_kwargs(autocommit=True)) as conn:
        errors: list[BaseException] = []
        inside = anyio.Event()
        leave = anyio.Event()

        async def owner() -> None:
            try:
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {table} VALUES (1)")
                    inside.set()
                    await leave.wait()
                    raise LookupError("the owner's block fails")
            except LookupError:
                pass

        async def other() -> None:
            await inside.wait()
            try:
                await conn.execute(f"INSERT INTO {table} VALUES (42)")
            except InterfaceError as exc:
                errors.append(exc)
            leave.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(owner)
            tg.start_soon(other)
        assert len(errors) == 1 and "another task" in str(errors[0])
        await conn.execute(f"INSERT INTO {table} VALUES (42)")  # after the block: fine
    assert committed(pg, table) == [42]
