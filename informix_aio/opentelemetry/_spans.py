"""One CLIENT span per statement, from a query hook's record, named and attributed by the
database semantic conventions; and the stable ``db.client.operation.duration`` histogram.

The hook runs after the statement, in the caller's thread or task, so the span is started
with the statement's own start time and ended at start + elapsed, under the caller's current
span (the context the hook sees is the caller's).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import Histogram, Meter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from ..hooks import ConnectionInfo, QueryRecord
from ._sql import parse_sql

__all__ = ["QueryTracer", "base_attributes", "error_type", "system_name"]

#: Bucket boundaries (seconds) the conventions advise for ``db.client.operation.duration``.
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

#: ``db.system.name`` per dialect (the registry's values).
_SYSTEMS = {
    "informix": "ibm.informix",
    "postgresql": "postgresql",
    "sqlite": "sqlite",
    "mariadb": "mariadb",
}
#: For the generic dialect: the DBMS name the driver reports (lower case) -> the registry's.
_DBMS_SYSTEMS = (
    ("informix", "ibm.informix"),
    ("postgresql", "postgresql"),
    ("sqlite", "sqlite"),
    ("mariadb", "mariadb"),
    ("mysql", "mysql"),
    ("microsoft sql server", "microsoft.sql_server"),
    ("oracle", "oracle.db"),
    ("db2", "ibm.db2"),
)
#: Operations that return rows, whose row count is ``db.response.returned_rows``.
_RETURNING = frozenset({"fetch", "fetchrow", "fetchval"})

_base_cache: dict[ConnectionInfo, dict[str, AttributeValue]] = {}
_error_types: dict[type, str] = {}


def system_name(info: ConnectionInfo) -> str:
    """``db.system.name`` for a connection: by dialect, else by the DBMS the driver names."""
    dbms = info.dbms_name.lower()
    if info.dialect == "mariadb" and "mysql" in dbms and "mariadb" not in dbms:
        return "mysql"  # MariaDB's driver on a MySQL server
    known = _SYSTEMS.get(info.dialect)
    if known is not None:
        return known
    for fragment, system in _DBMS_SYSTEMS:
        if fragment in dbms:
            return system
    return "other_sql"


def base_attributes(info: ConnectionInfo) -> dict[str, AttributeValue]:
    """The attributes every statement of a connection shares (cached per connection info)."""
    cached = _base_cache.get(info)
    if cached is not None:
        return cached
    attrs: dict[str, AttributeValue] = {"db.system.name": system_name(info)}
    # Informix: the instance (INFORMIXSERVER) qualifies the database, most general first,
    # with the conventions' "|" separator (as SQL Server's instance|database).
    namespace = info.database
    if info.dialect == "informix" and info.server:
        namespace = f"{info.server}|{info.database}" if info.database else info.server
    if namespace:
        attrs["db.namespace"] = namespace
    if info.host:
        attrs["server.address"] = info.host
    if info.port is not None:
        attrs["server.port"] = info.port
    if len(_base_cache) > 256:  # targets are few; a bound against unbounded growth anyway
        _base_cache.clear()
    _base_cache[info] = attrs
    return attrs


def error_type(exc: BaseException) -> str:
    """The exception class's qualified name, as its package exports it (``asyncio.
    CancelledError`` rather than ``asyncio.exceptions.CancelledError``)."""
    cls = type(exc)
    name = _error_types.get(cls)
    if name is None:
        name = _qualified_name(cls)
        _error_types[cls] = name
    return name


def _qualified_name(cls: type) -> str:
    module, qualname = cls.__module__, cls.__qualname__
    if module == "builtins":
        return qualname
    parts = module.split(".")
    for i in range(1, len(parts)):
        parent = sys.modules.get(".".join(parts[:i]))
        if parent is not None and getattr(parent, qualname, None) is cls:
            return f"{'.'.join(parts[:i])}.{qualname}"
    return f"{module}.{qualname}"


def _status_code(info: ConnectionInfo, exc: BaseException) -> str | None:
    """``db.response.status_code``: PostgreSQL's SQLSTATE (its conventions say so); elsewhere
    the native code (Informix's SQLCODE, MariaDB's error number) when there is one, else the
    SQLSTATE."""
    sqlstate: str | None = getattr(exc, "sqlstate", None)
    native: int | None = getattr(exc, "native_code", None)
    if info.dialect != "postgresql" and native:
        return str(native)
    return sqlstate or None


class QueryTracer:
    """The query logger the instrumentor registers (one object, so that it can be removed).

    :param tracer: where spans go.
    :param meter: where ``db.client.operation.duration`` goes.
    :param capture_parameters: add ``db.query.parameter.<n>`` (the hook is then registered
        with ``params=True``); never on batches.
    :param sanitize_query: replace the literals of statements run without parameters by
        ``?`` in ``db.query.text`` (parameterized text is recorded as written).
    """

    def __init__(
        self, tracer: Tracer, meter: Meter, *, capture_parameters: bool, sanitize_query: bool
    ) -> None:
        self.tracer = tracer
        self.capture_parameters = capture_parameters
        self.sanitize_query = sanitize_query
        self.duration: Histogram = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    def __call__(self, record: QueryRecord) -> None:
        info = record.connection
        parsed = parse_sql(record.sql, info.dialect)
        params = record.params
        attrs: dict[str, AttributeValue] = dict(base_attributes(info))
        operation = parsed.operation
        summary = operation
        if summary is not None and parsed.collection is not None:
            attrs["db.collection.name"] = parsed.collection
            summary = f"{operation} {parsed.collection}"
        # executemany: a batch when it ran 0 or 2+ parameter sets (the conventions model one
        # set as a single operation), named "BATCH <operation>".
        batch = False
        if isinstance(params, int) and params != 1:
            batch = True
            attrs["db.operation.batch.size"] = params
            operation = f"BATCH {operation}" if operation else "BATCH"
            summary = f"BATCH {summary}" if summary else "BATCH"
        if operation is not None:
            attrs["db.operation.name"] = operation
        if summary is not None:
            attrs["db.query.summary"] = summary
        exc = record.exception
        if exc is not None:
            attrs["error.type"] = error_type(exc)
            code = _status_code(info, exc)
            if code is not None:
                attrs["db.response.status_code"] = code
        # The duration metric takes the low-cardinality attributes only (no text).
        self.duration.record(record.elapsed, attrs)
        parameterized = bool(params) or isinstance(params, int)
        attrs["db.query.text"] = (
            parsed.sanitized if self.sanitize_query and not parameterized else record.sql
        )
        if self.capture_parameters and not batch and not record.params_hidden and params:
            for i, value in enumerate(_as_sequence(params)):
                attrs[f"db.query.parameter.{i}"] = str(value)
        if exc is None and record.rowcount >= 0 and record.operation in _RETURNING:
            attrs["db.response.returned_rows"] = record.rowcount
        start = int(record.started * 1e9)
        end = start + int(record.elapsed * 1e9)
        span = self.tracer.start_span(
            summary or str(attrs["db.system.name"]),
            kind=SpanKind.CLIENT,
            attributes=attrs,
            start_time=start,
        )
        if exc is not None:
            span.record_exception(exc, timestamp=end, escaped=True)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end(end_time=end)


def _as_sequence(params: Any) -> list[Any]:
    if isinstance(params, Mapping):
        return list(params.values())
    try:
        return list(params)
    except TypeError:
        return [params]
