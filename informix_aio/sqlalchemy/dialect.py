"""The Informix dialect for SQLAlchemy 2.x and its two drivers.

``informix+informix_aio://user:pw@host:9088/stores?server=informix`` is the sync dialect over
:mod:`informix_aio`'s DB-API layer; ``informix+informix_aio_async://...`` the async one over
:mod:`informix_aio.aio` (and :func:`~sqlalchemy.ext.asyncio.create_async_engine` picks it for
``informix+informix_aio://`` or ``informix://`` too, as it does for psycopg).

URL: host, port (the SERVICE), database, user and password go where SQLAlchemy puts them; the
query string carries the rest, see :func:`url_to_connect_kwargs`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import types as sqltypes
from sqlalchemy import util
from sqlalchemy.engine import default
from sqlalchemy.schema import Sequence

import informix_aio

from ..dialects import get_dialect, normalize_isolation
from . import types as ifxtypes
from ._async import AsyncConnector
from ._compiler import (
    DUAL,
    InformixCompiler,
    InformixDDLCompiler,
    InformixIdentifierPreparer,
)
from ._connector import SyncConnector
from ._reflection import ReflectionMixin
from ._type_compiler import InformixTypeCompiler

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.interfaces import ConnectArgsType, DBAPIConnection
    from sqlalchemy.engine.url import URL

__all__ = [
    "DEFAULT_DRIVER",
    "InformixDialect",
    "InformixDialectAsync_informix_aio",
    "InformixDialect_informix_aio",
    "InformixExecutionContext",
    "url_to_connect_kwargs",
]

logger = logging.getLogger(__name__)

#: The odbcinst.ini name the CSDK registers, used when the URL names no driver or DSN.
DEFAULT_DRIVER = "IBM INFORMIX ODBC DRIVER"
_LIBRARY = get_dialect("informix")
# SQLAlchemy's level names -> the library's (informix_aio.dialects.normalize_isolation).
_ISOLATION_LEVELS = (
    "READ UNCOMMITTED",
    "READ COMMITTED",
    "LAST COMMITTED",
    "CURSOR STABILITY",
    "REPEATABLE READ",
    "SERIALIZABLE",
)
# sysmaster:sysopendb.odb_isolation codes [unverified against a server].
_ODB_ISOLATION = {
    1: "READ UNCOMMITTED",
    2: "READ COMMITTED",
    3: "CURSOR STABILITY",
    5: "REPEATABLE READ",
}
_FLOAT_OPTIONS = ("login_timeout", "lock_timeout", "command_timeout")
_BOOL_OPTIONS = ("autocommit", "fast_executemany")
_PASSED_AS_IS = ("server", "protocol", "driver", "dsn", "isolation")
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.?([A-Z]+\d*\w*))?")
_LAST_SERIAL = {
    "serial": "DBINFO('sqlca.sqlerrd1')",
    "serial8": "DBINFO('serial8')::INT8",
    "bigserial": "DBINFO('bigserial')::INT8",
}


def url_to_connect_kwargs(url: URL, *, is_async: bool = False) -> dict[str, Any]:
    """``informix_aio.connect`` keywords from an ``informix+informix_aio://`` URL.

    ``user:password@host:port/database`` map to user, password, host, port (SERVICE) and
    database. Query options: ``server`` (INFORMIXSERVER or sqlhosts group), ``protocol``
    (onsoctcp...), ``driver`` (default ``IBM INFORMIX ODBC DRIVER``), ``dsn``,
    ``odbc_connect`` (a raw connection string, taken as is), ``login_timeout``,
    ``lock_timeout``, ``command_timeout`` (async only), ``autocommit``, ``isolation``,
    ``fast_executemany``; any other option is a connection-string keyword
    (``client_locale=en_US.utf8`` becomes ``CLIENT_LOCALE=en_US.utf8``). ``DELIMIDENT=y`` is
    added unless given: SQLAlchemy quotes identifiers with double quotes.

    :param is_async: whether the options are for :func:`informix_aio.aio.connect`.
    :raises ValueError: an option with a malformed value, or ``command_timeout`` for the
        sync driver.
    """
    query: dict[str, Any] = {k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}
    kwargs: dict[str, Any] = {"dialect": "informix"}
    for key, value in (
        ("host", url.host),
        ("port", url.port),
        ("database", url.database),
        ("user", url.username),
        ("password", url.password),
    ):
        if value not in (None, ""):
            kwargs[key] = value
    if "odbc_connect" in query:
        kwargs["connection_string"] = query.pop("odbc_connect")
    for key in _PASSED_AS_IS:
        if key in query:
            kwargs[key] = query.pop(key)
    for key in _FLOAT_OPTIONS:
        if key in query:
            try:
                kwargs[key] = float(query.pop(key))
            except ValueError:
                raise ValueError(f"the URL option {key}= must be a number of seconds") from None
    for key in _BOOL_OPTIONS:
        if key in query:
            kwargs[key] = util.asbool(query.pop(key))
    if "command_timeout" in kwargs and not is_async:
        raise ValueError("the URL option command_timeout= applies to the async driver only")
    if not {"dsn", "driver", "connection_string"} & kwargs.keys():
        kwargs["driver"] = DEFAULT_DRIVER
    given = {k.lower() for k in query}
    raw = kwargs.get("connection_string", "")
    if "delimident" not in given and "delimident" not in raw.lower():
        query["DELIMIDENT"] = "y"
    kwargs.update(query)
    return kwargs


class InformixExecutionContext(default.DefaultExecutionContext):
    """Reads the serial an INSERT generated with DBINFO (Informix has no RETURNING)."""

    _serial_kind: str | None = None

    def pre_exec(self) -> None:
        """Note which DBINFO option applies when an INSERT leaves the serial to the server."""
        if self.isinsert and self.compiled is not None:
            column = getattr(self.compiled.statement, "table", None)
            column = getattr(column, "_autoincrement_column", None)
            if column is not None and column.default is None:
                self._serial_kind = serial_kind(column.type)

    def get_lastrowid(self) -> int:
        """``DBINFO('sqlca.sqlerrd1')``, ``('serial8')`` or ``('bigserial')`` right after the
        INSERT, on the same connection (HCL docs ``sqs/ids_sqs_1492``)."""
        expr = _LAST_SERIAL[self._serial_kind or "serial"]
        cursor = self.create_cursor()
        try:
            cursor.execute(f"SELECT {expr} FROM {DUAL}")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def fire_sequence(self, seq: Sequence, type_: Any) -> Any:
        """``SELECT seq.NEXTVAL FROM sysdual``."""
        name = self.identifier_preparer.format_sequence(seq)
        return self._execute_scalar(f"SELECT {name}.NEXTVAL FROM {DUAL}", type_)


def serial_kind(type_: Any) -> str:
    """Which DBINFO option reads a serial of this column type: ``serial``, ``serial8`` or
    ``bigserial``."""
    if isinstance(type_, (ifxtypes.SERIAL8, ifxtypes.INT8)):
        return "serial8"
    if isinstance(type_, sqltypes.BigInteger):
        return "bigserial"
    return "serial"


class InformixDialect(ReflectionMixin, default.DefaultDialect):
    """IBM Informix: compiler, types, reflection; drivers add the connection."""

    name = "informix"
    supports_statement_cache = True
    supports_native_boolean = True
    supports_native_decimal = True
    supports_unicode_binds = True
    supports_sequences = True
    sequences_optional = True
    postfetch_lastrowid = True
    insert_returning = False
    update_returning = False
    delete_returning = False
    implicit_returning = False
    supports_empty_insert = False
    supports_default_values = False
    supports_multivalues_insert = False
    supports_comments = False
    supports_identity_columns = False
    supports_simple_order_by_label = True
    requires_name_normalize = False
    max_identifier_length = 128
    default_paramstyle = "qmark"

    statement_compiler = InformixCompiler
    ddl_compiler = InformixDDLCompiler
    type_compiler_cls = InformixTypeCompiler
    preparer = InformixIdentifierPreparer
    execution_ctx_cls = InformixExecutionContext
    colspecs = {
        sqltypes.Time: ifxtypes.InformixTime,
        sqltypes.Boolean: ifxtypes.InformixBoolean,
        sqltypes.Interval: ifxtypes.INTERVAL,
    }

    def _get_server_version_info(self, connection: Connection) -> tuple[int | str, ...]:
        """From ``DBINFO('version', 'full')``, e.g. ``IBM Informix Dynamic Server Version
        14.10.FC9`` -> ``(14, 10, 'FC9')``."""
        full = connection.exec_driver_sql(f"SELECT DBINFO('version', 'full') FROM {DUAL}").scalar()
        return parse_version(str(full or ""))

    def _get_default_schema_name(self, connection: Connection) -> str:
        """The login name (``USER``): tables are owned by their creator."""
        user = connection.exec_driver_sql(f"SELECT USER FROM {DUAL}").scalar()
        return str(user or "").strip()

    def get_isolation_level_values(self, dbapi_conn: DBAPIConnection) -> list[Any]:
        """SQL's four levels, Informix's LAST COMMITTED and CURSOR STABILITY, AUTOCOMMIT."""
        return [*_ISOLATION_LEVELS, "AUTOCOMMIT"]

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: Any) -> None:
        """AUTOCOMMIT switches the driver's autocommit; any other level runs the library's
        ``SET ISOLATION`` statement (lasts for the session)."""
        if level == "AUTOCOMMIT":
            dbapi_connection.autocommit = True
            return
        dbapi_connection.autocommit = False
        statements = _LIBRARY.session_isolation(normalize_isolation(str(level)))
        cursor = dbapi_connection.cursor()
        try:
            for sql in statements:
                cursor.execute(sql)
        finally:
            cursor.close()

    def get_isolation_level(self, dbapi_connection: DBAPIConnection) -> Any:
        """From ``sysmaster:sysopendb.odb_isolation`` for this session [unverified codes]."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                "SELECT odb_isolation FROM sysmaster:sysopendb "
                "WHERE odb_sessionid = DBINFO('sessionid') AND odb_iscurrent = 'Y'"
            )
            row = cursor.fetchone()
        finally:
            cursor.close()
        code = int(row[0]) if row is not None and row[0] is not None else 2
        return _ODB_ISOLATION.get(code, "READ COMMITTED")

    def get_default_isolation_level(self, dbapi_conn: DBAPIConnection) -> Any:
        """What the session started with (COMMITTED READ in a logged database)."""
        try:
            return self.get_isolation_level(dbapi_conn)
        except informix_aio.Error as exc:
            logger.debug("isolation level unknown (%s); assuming READ COMMITTED", exc)
            return "READ COMMITTED"

    def detect_autocommit_setting(self, dbapi_conn: DBAPIConnection) -> bool:
        """The driver's autocommit flag."""
        return bool(dbapi_conn.autocommit)

    def do_ping(self, dbapi_connection: DBAPIConnection) -> bool:
        """The library's liveness query (``SELECT 1 FROM systables WHERE tabid = 1``)."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(_LIBRARY.liveness_query)
            cursor.fetchall()
        finally:
            cursor.close()
        return True


def parse_version(text: str) -> tuple[int | str, ...]:
    """``"IBM Informix Dynamic Server Version 14.10.FC9"`` -> ``(14, 10, 'FC9')``; ``()``
    when no version number is in the text."""
    m = _VERSION_RE.search(text)
    if m is None:
        return ()
    out: list[int | str] = [int(m.group(1)), int(m.group(2))]
    if m.group(3):
        out.append(m.group(3))
    return tuple(out)


class InformixDialect_informix_aio(SyncConnector, InformixDialect):
    """``informix+informix_aio``: the sync driver over :func:`informix_aio.connect`."""

    supports_statement_cache = True
    default_paramstyle = "qmark"
    supports_sane_rowcount_returning = False
    supports_sane_multi_rowcount = False

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """See :func:`url_to_connect_kwargs`."""
        return (), url_to_connect_kwargs(url)

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: Any) -> None:
        """The Informix statements, not PyODBC's generic ones."""
        InformixDialect.set_isolation_level(self, dbapi_connection, level)

    def get_isolation_level_values(self, dbapi_conn: DBAPIConnection) -> list[Any]:
        """See :meth:`InformixDialect.get_isolation_level_values`."""
        return InformixDialect.get_isolation_level_values(self, dbapi_conn)

    def _get_server_version_info(self, connection: Connection) -> tuple[int | str, ...]:
        """From DBINFO, not SQLGetInfo."""
        return InformixDialect._get_server_version_info(self, connection)

    @classmethod
    def get_async_dialect_cls(cls, url: URL) -> type[InformixDialectAsync_informix_aio]:
        """``create_async_engine`` with this name uses the async driver."""
        return InformixDialectAsync_informix_aio


class InformixDialectAsync_informix_aio(AsyncConnector, InformixDialect_informix_aio):
    """``informix+informix_aio_async``: the async driver over :func:`informix_aio.aio.connect`."""

    supports_statement_cache = True
    is_async = True

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """See :func:`url_to_connect_kwargs` (``command_timeout`` applies here)."""
        return (), url_to_connect_kwargs(url, is_async=True)
