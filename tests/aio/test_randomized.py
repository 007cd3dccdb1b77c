"""A randomized mix of everything a service does, under random cancellations and timeouts:
writes, transactions with savepoints, batches, reads in every fetch form, DB-API mode, pool
leases. Seeded and bounded (a few seconds in ``make test``; ``make soak`` runs it longer).

What must hold afterwards: every cursor delivered a gapless prefix of its result or raised;
every write the caller was told committed is in the database, and none it was told did not
happen (failed, rolled back, never started) is; no session is left in a transaction; threads
and server sessions are back to their baseline.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import anyio
import pytest

from informix_aio import aio
from informix_aio.errors import (
    CommandTimeout,
    Error,
    InterfaceError,
    InternalError,
    Outcome,
    QueryCanceled,
)
from tests.aio.test_cancellation import wait_until_gone
from tests.aio.test_pool_contract import sessions_left
from tests.conftest import Backend, thread_baseline, wait_for_threads

pytestmark = pytest.mark.anyio

SEED = int(os.environ.get("INFORMIX_AIO_TEST_SEED", "20261202"))
SERIES = 3000


@dataclass
class Ledger:
    """What callers were told about each id they tried to write."""

    committed: set[int] = field(default_factory=set)
    not_written: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    reads: int = 0
    broken_reads: int = 0
    next_id: int = 0
    #: Which operation wrote each id (for the failure message).
    op: dict[int, str] = field(default_factory=dict)

    def ids(self, n: int, op: str) -> list[int]:
        out = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        self.op.update(dict.fromkeys(out, op))
        return out

    def explain(self, ids: set[int]) -> list[tuple[int, str]]:
        return [(i, self.op[i]) for i in sorted(ids)[:10]]

    def told(self, ids: list[int], outcome: str) -> None:
        {"committed": self.committed, "not": self.not_written, "unknown": self.unknown}[
            outcome
        ].update(ids)


def outcome_of(exc: BaseException) -> str:
    """What an error tells the caller about a write."""
    if isinstance(exc, CommandTimeout):
        return "not" if exc.outcome in (Outcome.NOT_STARTED, Outcome.ROLLED_BACK) else "unknown"
    if isinstance(exc, QueryCanceled):
        return "unknown"
    if isinstance(exc, Error):
        return "not" if not exc.is_disconnect else "unknown"
    return "unknown"  # a cancellation


@pytest.fixture
def ledger_table(pg: Backend) -> Iterator[str]:
    assert pg.pg is not None
    name = pg.table("rnd")
    pg.pg.admin_execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
    yield name
    pg.pg.admin_execute(f"DROP TABLE IF EXISTS {name}")


class Mix:
    """The random operations; each records what its caller was told."""

    def __init__(self, rng: random.Random, pool: aio.Pool, table: str, ledger: Ledger) -> None:
        self.rng, self.pool, self.table, self.ledger = rng, pool, table, ledger

    def deadline(self) -> float:
        return self.rng.choice([0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 5.0])

    def timeout(self) -> float | None:
        return self.rng.choice([None, None, 0.002, 0.01, 0.05])

    async def write(self) -> None:
        ids = self.ledger.ids(1, "write")
        told = "unknown"
        with anyio.CancelScope() as scope:
            scope.deadline = anyio.current_time() + self.deadline()
            try:
                await self.pool.execute(
                    f"INSERT INTO {self.table} SELECT ? FROM pg_sleep(0.002)",
                    ids,
                    timeout=self.timeout(),
                )
                told = "committed"
            except Error as exc:
                told = outcome_of(exc)
        self.ledger.told(ids, told)

    async def batch(self) -> None:
        ids = self.ledger.ids(self.rng.randint(1, 20), "batch")
        told = "unknown"
        with anyio.CancelScope() as scope:
            scope.deadline = anyio.current_time() + self.deadline()
            try:
                await self.pool.executemany(
                    f"INSERT INTO {self.table} VALUES (?)",
                    [(i,) for i in ids],
                    timeout=self.timeout(),
                )
                told = "committed"
            except Error as exc:
                told = outcome_of(exc)
        self.ledger.told(ids, told)

    async def transaction(self) -> None:
        outer, inner = self.ledger.ids(1, "tx outer"), self.ledger.ids(1, "tx inner")
        fail_inner = self.rng.random() < 0.3
        told_outer = told_inner = "unknown"
        tx: aio.AsyncTransaction | None = None
        sp_state: aio.TransactionState | None = None
        with anyio.CancelScope() as scope:
            scope.deadline = anyio.current_time() + self.deadline()
            try:
                async with self.pool.connection() as conn:
                    tx = conn.transaction()
                    async with tx:
                        await conn.execute(f"INSERT INTO {self.table} VALUES (?)", outer)
                        sp = conn.transaction()
                        try:
                            async with sp:
                                await conn.execute(
                                    f"INSERT INTO {self.table} VALUES (?)",
                                    inner,
                                    timeout=self.timeout(),
                                )
                                if fail_inner:
                                    raise LookupError("the handler gives up on this part")
                        except LookupError:
                            pass
                        sp_state = sp.state
                        await conn.execute("SELECT pg_sleep(0.001)")
            except Error:
                pass
        if tx is not None:
            if tx.state is aio.TransactionState.COMMITTED:
                told_outer = "committed"
                told_inner = "committed" if sp_state is aio.TransactionState.COMMITTED else "not"
            elif tx.state in (aio.TransactionState.ROLLED_BACK, aio.TransactionState.NEW) or (
                tx.state is aio.TransactionState.FAILED and not scope.cancelled_caught
            ):
                told_outer = told_inner = "not"
        self.ledger.told(outer, told_outer)
        self.ledger.told(inner, told_inner)

    async def read(self) -> None:
        how = self.rng.choice(["fetchone", "fetchmany", "fetchall", "async for"])
        got: list[int] = []
        self.ledger.reads += 1
        try:
            async with self.pool.connection() as conn:
                cur = await conn.cursor(prefetch=self.rng.choice([1, 10, 100]))
                await cur.execute(f"SELECT g FROM generate_series(1, {SERIES}) g")
                while True:
                    with anyio.move_on_after(self.deadline()):
                        if how == "fetchone":
                            row = await cur.fetchone(timeout=self.timeout())
                            if row is None:
                                break
                            got.append(int(row[0]))
                        elif how == "fetchmany":
                            rows = await cur.fetchmany(
                                self.rng.randint(1, 700), timeout=self.timeout()
                            )
                            if not rows:
                                break
                            got.extend(int(r[0]) for r in rows)
                        elif how == "fetchall":
                            got.extend(int(r[0]) for r in await cur.fetchall())
                            break
                        else:
                            async for r in cur:
                                got.append(int(r[0]))
                            break
                    if self.rng.random() < 0.05:
                        break  # the handler stops reading early
        except InterfaceError:
            self.ledger.broken_reads += 1
        except CommandTimeout:
            pass
        assert got == list(range(1, len(got) + 1)), f"a gap after {how}"

    async def dbapi(self, conn: aio.AsyncConnection) -> None:
        ids = self.ledger.ids(2, "dbapi")
        told = "unknown"
        with anyio.CancelScope() as scope:
            scope.deadline = anyio.current_time() + self.deadline()
            try:
                await conn.execute(f"INSERT INTO {self.table} VALUES (?)", ids[:1])
                await conn.execute(
                    f"INSERT INTO {self.table} SELECT ? FROM pg_sleep(0.002)",
                    ids[1:],
                    timeout=self.timeout(),
                )
            except Error:
                pass
            try:
                await conn.commit()
                told = "committed"
            except InternalError:  # aborted by a cancellation: commit() commits nothing
                told = "not"
            except Error:
                pass
        with anyio.CancelScope(shield=True):
            if told != "committed":
                try:
                    await conn.rollback()
                    if told == "unknown" and not scope.cancelled_caught:
                        told = "not"
                except Error:
                    pass
        self.ledger.told(ids, told)


async def test_random_operations_under_random_cancellation_lose_nothing(
    pg: Backend, ledger_table: str, request: pytest.FixtureRequest
) -> None:
    seconds = 2.0
    if request.config.getoption("--soak"):
        seconds = float(request.config.getoption("--soak-seconds"))
    rng = random.Random(SEED)
    ledger = Ledger()
    baseline = thread_baseline()
    pool = await aio.create_pool(
        **pg.connect_kwargs(), min_size=2, max_size=4, acquire_timeout=5, reap_timeout=2
    )
    dbapi_conn = await aio.connect(**pg.connect_kwargs(autocommit=False))
    dbapi_lock = anyio.Lock()
    mix = Mix(rng, pool, ledger_table, ledger)
    end = time.monotonic() + seconds

    async def client(n: int) -> None:
        crng = random.Random(SEED * 100 + n)
        while time.monotonic() < end:
            op = crng.choice(["write", "batch", "transaction", "read", "read", "dbapi"])
            if op == "dbapi":
                async with dbapi_lock:
                    await mix.dbapi(dbapi_conn)
            else:
                await getattr(mix, op)()

    try:
        with anyio.fail_after(seconds + 60):  # a hang is a failure
            async with anyio.create_task_group() as tg:
                for n in range(8):
                    tg.start_soon(client, n)
        await dbapi_conn.rollback()
    finally:
        await dbapi_conn.close()
        await pool.close()
    assert pg.pg is not None
    stored = {cast(int, r[0]) for r in pg.pg.admin_execute(f"SELECT id FROM {ledger_table}")}
    assert ledger.committed <= stored, ledger.explain(ledger.committed - stored)
    assert not (ledger.not_written & stored), ledger.explain(ledger.not_written & stored)
    assert ledger.reads > 10 and len(ledger.committed) > 10
    assert wait_until_gone(pg, "pg_sleep") == []
    # Every session closed, none left in a transaction.
    assert await sessions_left(pg, timeout=3.0) == []
    assert wait_for_threads(baseline, timeout=5.0) <= baseline
