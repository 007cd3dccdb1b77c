"""The few statements that differ between databases, in one place.

Everything else in the example is portable SQL with ``?`` parameters. What differs:

- the id of a new row: ``INSERT ... RETURNING id`` on PostgreSQL; on SQLite the ODBC driver
  does not return the rows of ``INSERT ... RETURNING`` ("not a query"), so
  ``last_insert_rowid()`` on the same connection; MariaDB ``LAST_INSERT_ID()``; Informix the
  SERIAL value of the last insert (``DBINFO('sqlca.sqlerrd1')``, through the sync layer's
  ``last_serial()``);
- streaming a large result (:func:`stream_rows`): Informix's driver fetches rows from the
  server in buffers as they are read, but psqlODBC and the SQLite driver read a whole result
  set into memory first. psqlODBC's ``UseDeclareFetch=1`` would page it, but in autocommit
  mode it leaves the connection idle in a transaction after every query, and in an aborted
  one after an error or a cancel; so on PostgreSQL the rows come from an explicit cursor
  (``DECLARE`` / ``FETCH n``) in a read-only transaction. The SQLite driver's ``StepAPI=1``
  would step rows out one by one, but a result left half read (``fetchrow``) then keeps a read
  transaction open on the pooled connection (writers fail with "database is locked", or in
  WAL mode the connection reads an old snapshot); so on SQLite the rows come in keyset pages
  (``WHERE id > ? ORDER BY id LIMIT n``);
- a statement that just takes time (``GET /slow``): ``pg_sleep``, ``SLEEP``, a recursive CTE
  that counts for about as long on SQLite; Informix has no sleep function, so 501 there.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from informix_aio.aio import PooledConnection
from informix_aio.errors import NotSupportedError

__all__ = ["insert_returning_id", "sleep_statement", "sqlite_count_rate", "stream_rows"]

# Counting rows in a recursive CTE: SQLite's stand-in for a sleep function.
_SQLITE_COUNT = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "SELECT COUNT(*) FROM n"
)


async def insert_returning_id(conn: PooledConnection, sql: str, params: Sequence[Any]) -> int:
    """Run ``INSERT INTO t (...) VALUES (...)`` and return the new row's ``id``.

    :raises NotSupportedError: a database this example does not know.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        value = await conn.fetchval(f"{sql} RETURNING id", params)
    else:
        await conn.execute(sql, params)
        if dialect == "sqlite":
            value = await conn.fetchval("SELECT last_insert_rowid()")
        elif dialect == "mariadb":
            value = await conn.fetchval("SELECT LAST_INSERT_ID()")
        elif dialect == "informix":
            value = await conn.run_sync(conn.raw_connection.sync_connection.last_serial)
        else:
            raise NotSupportedError(f"no way to read a new row's id on {dialect}")
    return int(value)


async def stream_rows(
    conn: PooledConnection, select: str, *, key: str, batch: int = 1000
) -> AsyncIterator[tuple[Any, ...]]:
    """Yield the rows of ``select`` in ``key`` order, about ``batch`` rows in memory at a time.

    :param select: ``SELECT <key>, ... FROM ...`` with no ``WHERE`` or ``ORDER BY``; its first
        column is ``key``, a unique column.
    :param key: the unique column the rows are ordered (and on SQLite, paged) by.

    On PostgreSQL the rows come from a server-side cursor in a read-only transaction, so the
    generator must be closed (``aclose()``) if it is abandoned: that rolls the transaction back.
    """
    dialect = conn.dialect.name
    ordered = f"{select} ORDER BY {key}"
    if dialect == "postgresql":
        # A cursor lives in a transaction; read-only unless the caller's transaction is open.
        async with conn.transaction(readonly=not conn.in_transaction):
            await conn.execute(f"DECLARE example_stream NO SCROLL CURSOR FOR {ordered}")
            while True:
                async with conn.cursor(prefetch=batch) as cur:
                    await cur.execute(f"FETCH {int(batch)} FROM example_stream")
                    count = 0
                    async for row in cur:
                        count += 1
                        yield tuple(row)
                if count < batch:
                    return
    elif dialect == "sqlite":
        # Keyset pages: each is a complete statement of `batch` rows, read to its end.
        last: Any = None
        while True:
            where = "" if last is None else f" WHERE {key} > ?"
            async with conn.cursor(prefetch=batch) as cur:
                await cur.execute(
                    f"{select}{where} ORDER BY {key} LIMIT {int(batch)}",
                    () if last is None else (last,),
                )
                count = 0
                async for row in cur:
                    count += 1
                    last = row[0]
                    yield tuple(row)
            if count < batch:
                return
    else:
        async with conn.cursor(prefetch=batch) as cur:
            await cur.execute(ordered)
            async for row in cur:
                yield tuple(row)


async def sqlite_count_rate(conn: PooledConnection) -> float:
    """How many rows per second the recursive CTE of :func:`sleep_statement` counts here."""
    rows = 200_000
    start = time.perf_counter()
    await conn.fetchval(_SQLITE_COUNT, (rows,))
    return rows / max(time.perf_counter() - start, 1e-3)


def sleep_statement(
    dialect: str, seconds: float, *, sqlite_rate: float | None = None
) -> tuple[str, tuple[float | int]] | None:
    """A statement that runs for about ``seconds`` on the server, or ``None`` if there is none.

    :param sqlite_rate: rows per second of the SQLite stand-in (:func:`sqlite_count_rate`).
    """
    if dialect == "postgresql":
        return "SELECT pg_sleep(?)", (seconds,)
    if dialect == "mariadb":
        return "SELECT SLEEP(?)", (seconds,)
    if dialect == "sqlite" and sqlite_rate is not None:
        return _SQLITE_COUNT, (max(1, round(seconds * sqlite_rate)),)
    return None
