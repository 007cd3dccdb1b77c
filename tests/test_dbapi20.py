"""The public DB-API 2.0 compliance suite (Stuart Bishop's ``dbapi20.py``, the package
``dbapi-compliance``) against the sync API on PostgreSQL.

Every test of the suite runs for real, on a database of its own on the private PostgreSQL of
the test session, except three the suite itself leaves to the driver; each override below says
why.
"""

from __future__ import annotations

import uuid

import dbapi20
import pytest

import informix_aio
from tests._servers import PostgresServer


@pytest.fixture(scope="module")
def dbapi20_database(pg_server: PostgresServer) -> str:
    """A database of this module's own, so the suite's fixed table names meet nobody."""
    name = f"dbapi20_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    return name


class TestInformixAioDBAPI20(dbapi20.DatabaseAPI20Test):  # type: ignore[misc]
    """``informix_aio`` as the driver module of the suite."""

    driver = informix_aio
    connect_args = ()
    connect_kw_args: dict[str, object] = {}  # set per test from the session's server

    @pytest.fixture(autouse=True)
    def _postgresql(self, pg_server: PostgresServer, dbapi20_database: str) -> None:
        self.connect_kw_args = dict(pg_server.odbc_options(dbapi20_database))

    def setUp(self) -> None:
        super().setUp()
        self._opened: list[informix_aio.Connection] = []

    def _connect(self) -> informix_aio.Connection:
        con: informix_aio.Connection = super()._connect()
        self._opened.append(con)
        return con

    def tearDown(self) -> None:
        """The suite's cleanup, then close every connection the test opened: the suite's
        ``test_rollback`` leaves its connection open, and an unclosed connection warns
        (``ResourceWarning``, an error under this test suite's warning policy)."""
        try:
            super().tearDown()
        finally:
            for con in self._opened:
                con.close()

    def test_nextset(self) -> None:
        """The suite's own ``test_nextset`` raises NotImplementedError: it needs a stored
        procedure that returns several result sets, which the driver author must write. This
        one does the same with a batch of two SELECTs (psqlODBC returns both result sets)."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute("SELECT 1; SELECT 2")
            assert cur.fetchall() == [(1,)]
            assert cur.nextset() is True
            assert cur.fetchall() == [(2,)]
            assert not cur.nextset()
        finally:
            con.close()

    def test_setoutputsize(self) -> None:
        """The suite's own test raises NotImplementedError ("Driver needed to override this
        test"): PEP 249 lets ``setoutputsize`` do nothing, and here it does nothing, since
        pyodbc sizes its buffers for large columns itself. It must accept the calls of PEP 249
        (with and without a column) and leave results whole."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(1000)
            cur.setoutputsize(2000, 0)
            cur.execute("SELECT repeat('x', 5000)")
            assert cur.fetchone() == ("x" * 5000,)
        finally:
            con.close()

    def test_non_idempotent_close(self) -> None:
        """The suite wants a second ``close()`` to raise, and notes that "reasonable persons
        differ about the usefulness of this test and this feature". Closing is idempotent here
        (as in sqlite3 and psycopg): cleanup code may close whatever it holds without first
        asking whether it is closed. What stays an error is using a closed connection."""
        con = self._connect()
        con.close()
        con.close()  # a no-op
        assert con.closed
        with pytest.raises(informix_aio.InterfaceError):
            con.cursor()
