"""The pool's release path: a returned connection goes to the next user at once when it is
clean, or through a reset in the background when it needs work first.

Releasing never waits: a clean connection goes straight to the first waiter that can still
accept it (psycopg_pool's rule: a waiter that timed out or was cancelled refuses it), or back
to the idle stack. A connection that needs work (its statement was cancelled and is still being
reaped, it is in a transaction, it ran SQL that may have opened one, it is broken or expired)
is handled by a background task that keeps its slot in ``_reaping`` until the work is done, so
cancellation of the releasing task can never leave a connection half-returned.
"""

from __future__ import annotations

import logging
import time

import anyio

from ..errors import InterfaceError
from ._connection import AsyncConnection
from ._pool_maintain import Maintenance
from ._pool_state import Slot
from ._pooled import PooledConnection

__all__ = ["Releasing"]

logger = logging.getLogger(__name__)


class Releasing(Maintenance):
    """Release and reset."""

    async def release(self, conn: PooledConnection | AsyncConnection) -> None:
        """Give a borrowed connection back. Never waits and cannot be interrupted."""
        self.release_nowait(conn)

    def release_nowait(self, conn: PooledConnection | AsyncConnection) -> None:
        """:meth:`release` without the ``await``.

        :raises InterfaceError: the connection is not on loan from this (open) pool.
        """
        raw = conn.detach() if isinstance(conn, PooledConnection) else conn
        if raw is None:
            return  # already released
        slot = self._in_use.pop(raw, None)
        if slot is None:
            if self._state != "open":
                return  # terminated meanwhile: the pool closed it already
            raise InterfaceError("this connection does not belong to the pool, or was released")
        self._returned(slot)

    def _release_slot(self, slot: Slot) -> None:
        """Release for the shortcuts and leases, which hold the slot itself."""
        if self._in_use.pop(slot.conn, None) is not None:  # else: terminated meanwhile
            self._returned(slot)

    def _returned(self, slot: Slot) -> None:
        """A slot just taken out of ``_in_use``: put it back, or have it reset or replaced."""
        raw = slot.conn
        raw.end_lease()
        slot.last_used = now = time.monotonic()
        used = now - slot.acquired
        self._counters["use_time_total"] += used
        self._record(self._use_hist, used)
        if self._observers:
            self._notify("released", used)
        # The common case first, in plain attribute reads: clean, unexpired, no reset hook.
        if (
            raw.is_clean
            and self._state == "open"
            and self._reset is None
            and slot.generation == self._generation
            and (slot.expires is None or now < slot.expires)
            and (self.max_queries is None or slot.uses < self.max_queries)
        ):
            self._last_connect_error = None  # it just worked: the database is reachable
            self._put_back(slot)
            return
        if self._state != "open" or raw.closed:
            self._close_now(slot)
            return
        if raw.broken:
            self._counters["broken_on_return"] += 1
            self._counters["connections_lost"] += 1
            self._suspect_before = time.monotonic()
            self._discard(slot)
            self._grow()
            return
        if raw.cancel_pending:
            self._counters["reaped_after_cancel"] += 1
            self._reaping.add(slot)
            self._spawn(self._reset_and_return, slot)
            return
        if slot.has_expired(slot.last_used, self._generation, self.max_queries):
            self._discard(slot)
            self._grow()
            return
        # In a transaction, DB-API mode, SQL that may have opened a transaction, a reset hook,
        # or jobs still queued (closes of leaked cursors, work of the borrower's other tasks):
        # reset behind them, then hand it out.
        if not raw.is_clean or self._reset is not None:
            self._reaping.add(slot)
            self._spawn(self._reset_and_return, slot)
            return
        self._put_back(slot)

    async def _reset_and_return(self, slot: Slot) -> None:
        """The one path for a connection that needs work before its next user (a cancelled
        statement still stopping, jobs still queued, a transaction, DB-API mode, a reset hook):
        wait for its worker within ``reap_timeout``, roll back, run the hook, hand it on; or,
        if any of that fails or takes too long, close and replace it. The caller put the slot
        in ``_reaping``; a replaced connection keeps it there until its thread is free."""
        conn = slot.conn
        ok = False
        try:
            with anyio.move_on_after(self.reap_timeout):
                # Unshielded, so the deadline holds even when the worker is stuck.
                await conn.wait_idle()
                await conn.reset()
                if self._reset is not None:
                    proxy = PooledConnection(conn, self)
                    try:
                        await self._reset(proxy)
                    finally:
                        proxy.detach()
                ok = not conn.broken and not conn.closed
        except Exception as exc:
            logger.warning("reset on release failed, replacing the connection: %r", exc)
        finally:
            self._reaping.discard(slot)
        if ok:
            self._put_back(slot)
            return
        if self._state != "open":
            self._close_now(slot)  # closing: pool.close() has or will have closed it too
            return
        logger.warning("connection not clean within reap_timeout: replacing it")
        self._counters["broken_on_return"] += 1
        self._discard(slot)
        self._grow()
