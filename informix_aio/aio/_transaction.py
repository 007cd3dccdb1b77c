"""``async with conn.transaction():`` as a small state machine (after asyncpg's).

BEGIN runs as one cancellable worker call; COMMIT and ROLLBACK are shielded, so a cancellation
that arrives while they run waits for them: a cancelled block is rolled back completely, and
a commit the server acknowledged is never reported as rolled back.
"""

from __future__ import annotations

import enum
import logging
from types import TracebackType
from typing import TYPE_CHECKING

from .._transactions import TransactionToken
from ..dialects import normalize_isolation
from ..errors import InterfaceError

if TYPE_CHECKING:
    from ._connection import AsyncConnection

__all__ = ["AsyncTransaction", "TransactionState"]

logger = logging.getLogger(__name__)


class TransactionState(enum.Enum):
    """Where a transaction block is in its life."""

    NEW = "new"
    STARTED = "started"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled back"
    FAILED = "failed"


class AsyncTransaction:
    """A transaction (or, nested, a savepoint) on an :class:`AsyncConnection`."""

    def __init__(
        self, conn: AsyncConnection, *, isolation: str | None = None, readonly: bool = False
    ) -> None:
        self._conn = conn
        # Validate now, with no I/O, so a typo fails before anything starts.
        self._isolation = None if isolation is None else normalize_isolation(isolation)
        self._readonly = readonly
        self._token: TransactionToken | None = None
        self._parent: AsyncTransaction | None = None
        self._depth = 0
        self._lease = conn.lease
        #: The task that started the block: statements of other tasks are refused while it is
        #: open (they would run inside it).
        self._owner: object = None
        self.state = TransactionState.NEW

    def __repr__(self) -> str:
        kind = "savepoint" if self._token and self._token.savepoint else "transaction"
        return f"<AsyncTransaction {kind} {self.state.value}>"

    async def start(self) -> None:
        """Begin the transaction (or create the savepoint when one is already open).

        :raises InterfaceError: the block was already started, or the connection is closed.
        :raises NotSupportedError: e.g. an Informix database without logging.
        """
        if self.state is not TransactionState.NEW:
            raise InterfaceError(f"cannot start a transaction that is {self.state.value}")
        conn = self._conn
        if self._lease != conn.lease:
            raise InterfaceError("the transaction's connection was released to the pool")
        sync = conn.sync_connection
        depth = 0 if conn._tx is None else conn._tx._depth + 1
        self._owner = conn._worker.current_task()
        try:
            self._token = await conn._call(
                lambda: sync.begin_transaction(isolation=self._isolation, readonly=self._readonly)
            )
        except BaseException:
            self.state = TransactionState.FAILED
            if not conn.closed:
                # A cancelled BEGIN may still run on the worker: undo it right after.
                conn._worker.submit(sync.rollback_to_depth, depth)
            raise
        self._depth = depth
        self._parent, conn._tx = conn._tx, self
        self.state = TransactionState.STARTED

    async def commit(self) -> None:
        """Commit (or release the savepoint). Shielded from cancellation."""
        await self._end(commit=True)

    async def rollback(self) -> None:
        """Roll back (to the savepoint). Shielded from cancellation."""
        await self._end(commit=False)

    async def _end(self, *, commit: bool) -> None:
        if self.state is not TransactionState.STARTED:
            raise InterfaceError(f"cannot end a transaction that is {self.state.value}")
        conn, token = self._conn, self._token
        assert token is not None
        if self._lease != conn.lease:
            self.state = TransactionState.FAILED
            raise InterfaceError(
                "the transaction's connection was released to the pool, which rolled it back"
            )
        if conn._tx is not self:
            raise InterfaceError("a nested transaction block is still open")
        conn._tx = self._parent
        if conn.closed:
            self.state = TransactionState.FAILED
            raise InterfaceError("the connection closed before the transaction ended")
        ended = TransactionState.COMMITTED if commit else TransactionState.ROLLED_BACK
        finished: list[bool] = []

        def _job() -> None:
            conn.sync_connection.end_transaction(token, commit=commit)
            finished.append(True)  # the server acknowledged it

        try:
            await conn._call_shielded(_job)
        except BaseException:
            # A cancellation re-raised after the (shielded) end completed: it still happened.
            self.state = ended if finished else TransactionState.FAILED
            raise
        self.state = ended

    async def __aenter__(self) -> AsyncTransaction:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.state is not TransactionState.STARTED or self._lease != self._conn.lease:
            return  # ended explicitly inside the block, or rolled back by the pool
        if et is None:
            await self.commit()
            return
        try:
            await self.rollback()
        except Exception as exc:  # keep the block's own exception; the connection is marked
            logger.warning("rollback after %s failed: %r", et.__name__, exc)
