"""Query hooks: a callable told about every statement after it ran (asyncpg's
``add_query_logger``), the mechanism logging, tracing and metrics build on.

>>> def log(record: QueryRecord) -> None:
...     print(record.operation, record.sql, f"{record.elapsed * 1000:.1f} ms", record.exception)
>>> conn.add_query_logger(log)          # or pool.add_query_logger(log): every connection

A hook runs after each statement, on the caller's side (in the async API: on the event loop, in
the caller's task, so ``contextvars`` such as the current span or a request id are the
caller's). A hook that raises is logged and never breaks the query. Parameters reach a hook
only when it was registered with ``params=True``; otherwise it sees their types. With no hook
registered, a statement pays one attribute check.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConnectionInfo",
    "QueryHooks",
    "QueryLogger",
    "QueryRecord",
    "SlowQueryLog",
    "add_global_query_logger",
    "connection_info",
    "count_int",
    "count_list",
    "count_row",
    "count_unknown",
    "remove_global_query_logger",
    "run_logged",
    "run_logged_async",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A connection's non-secret parameters (never the password)."""

    dialect: str
    dbms_name: str = ""
    server: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class QueryRecord:
    """What a hook is told about one statement."""

    #: ``"execute"``, ``"executemany"``, ``"fetch"``, ``"fetchrow"``, ``"fetchval"``,
    #: ``"cursor.execute"`` or ``"cursor.executemany"``.
    operation: str
    sql: str
    #: The parameters, or with the hook registered without ``params=True`` their types
    #: (``("<int>", "<str>")``, and ``params_hidden`` is True); for ``executemany``, the
    #: number of parameter sets.
    params: Sequence[Any] | int | None
    timeout: float | None
    #: Wall-clock start (``time.time()``) and duration in seconds, as the caller saw them.
    started: float
    elapsed: float
    #: Rows affected or returned, -1 when unknown.
    rowcount: int
    #: The error the caller got (a cancellation included), or ``None``.
    exception: BaseException | None
    connection: ConnectionInfo
    params_hidden: bool = False

    @property
    def sqlstate(self) -> str | None:
        """The error's SQLSTATE, when the driver gave one."""
        return getattr(self.exception, "sqlstate", None)

    @property
    def native_code(self) -> int | None:
        """The error's native code (Informix: the SQLCODE)."""
        return getattr(self.exception, "native_code", None)


QueryLogger = Callable[[QueryRecord], object]


_Entry = tuple[QueryLogger, bool]
#: Hooks every connection has, sync and async (an instrumentor registers here).
_global: tuple[_Entry, ...] = ()
_instances: weakref.WeakSet[QueryHooks] = weakref.WeakSet()


def add_global_query_logger(fn: QueryLogger, *, params: bool = False) -> None:
    """Call ``fn(record)`` after every statement of every connection, present and future
    (what an instrumentor such as :mod:`informix_aio.opentelemetry` uses)."""
    global _global
    _check_callable(fn)
    _global = (*((f, p) for f, p in _global if f is not fn), (fn, params))
    for hooks in list(_instances):
        hooks._refresh()


def remove_global_query_logger(fn: QueryLogger) -> None:
    """Stop calling a logger added with :func:`add_global_query_logger`."""
    global _global
    _global = tuple((f, p) for f, p in _global if f is not fn)
    for hooks in list(_instances):
        hooks._refresh()


def _check_callable(fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"a query logger must be callable, not {type(fn).__name__}")


class QueryHooks:
    """The hooks of one connection: registration, and the call after a statement.

    ``active`` (its own hooks and the global ones) is falsy when nothing is registered: the
    hot path's one check.
    """

    __slots__ = ("__weakref__", "_global", "_own", "active", "info")

    def __init__(self, info: ConnectionInfo, *, include_global: bool = True) -> None:
        #: ``(fn, wants_params)`` pairs; tuples, replaced on change, so a statement running
        #: meanwhile iterates over a stable snapshot.
        self._own: tuple[_Entry, ...] = ()
        self._global = include_global
        self.active: tuple[_Entry, ...] = _global if include_global else ()
        self.info = info
        _instances.add(self)

    def exclude_global(self) -> None:
        """Stop telling the global loggers: an async connection's sync connection, whose
        statements its async layer already reports (in the caller's task)."""
        self._global = False
        self._refresh()

    def _refresh(self) -> None:
        self.active = (_global if self._global else ()) + self._own

    def add(self, fn: QueryLogger, *, params: bool = False) -> None:
        """Register ``fn`` (again: its ``params`` choice is replaced)."""
        _check_callable(fn)
        self._own = (*((f, p) for f, p in self._own if f is not fn), (fn, params))
        self._refresh()

    def remove(self, fn: QueryLogger) -> None:
        """Unregister ``fn``; unknown ones are ignored."""
        self._own = tuple((f, p) for f, p in self._own if f is not fn)
        self._refresh()

    def emit(
        self,
        operation: str,
        sql: str,
        params: Any,
        timeout: float | None,
        started: float,
        elapsed: float,
        rowcount: int,
        exception: BaseException | None,
    ) -> None:
        """Tell every hook; a hook's own error is logged, never raised."""
        hidden: Any = None
        for fn, wants_params in self.active:
            if wants_params or params is None or isinstance(params, int):
                shown, is_hidden = params, False
            else:
                if hidden is None:
                    hidden = _types_of(params)
                shown, is_hidden = hidden, True
            record = QueryRecord(
                operation,
                sql,
                shown,
                timeout,
                started,
                elapsed,
                rowcount,
                exception,
                self.info,
                is_hidden,
            )
            try:
                fn(record)
            except Exception:
                logger.exception("query logger %r failed (the query itself was not affected)", fn)


def _types_of(params: Any) -> tuple[str, ...]:
    try:
        return tuple(f"<{type(v).__name__}>" for v in params)
    except TypeError:
        return (f"<{type(params).__name__}>",)


class SlowQueryLog:
    """A query logger that logs statements slower than ``threshold`` seconds at WARNING, with
    their SQL and duration (their parameters only when registered with ``params=True``).

    :param threshold: seconds; must be >= 0.
    :param log: the logger to write to (default ``informix_aio.slow_query``).
    """

    def __init__(self, threshold: float, *, log: logging.Logger | None = None) -> None:
        if threshold < 0:
            raise ValueError("the slow-query threshold must be >= 0 seconds")
        self.threshold = threshold
        self.log = log or logging.getLogger("informix_aio.slow_query")

    def __call__(self, record: QueryRecord) -> None:
        if record.elapsed < self.threshold:
            return
        outcome = "ok" if record.exception is None else type(record.exception).__name__
        if record.params_hidden or record.params is None:
            self.log.warning(
                "slow query (%.3f s, %s, %s): %s",
                record.elapsed,
                record.operation,
                outcome,
                record.sql,
            )
        else:
            self.log.warning(
                "slow query (%.3f s, %s, %s): %s params=%r",
                record.elapsed,
                record.operation,
                outcome,
                record.sql,
                record.params,
            )


_PAIR = re.compile(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)")


def connection_info(connection_string: str, dialect: str, dbms_name: str = "") -> ConnectionInfo:
    """The non-secret parameters of a connection string (PWD is never read)."""
    found: dict[str, str] = {}
    for m in _PAIR.finditer(connection_string):
        key, value = m.group(1).upper(), m.group(2)
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1].replace("}}", "}")
        found[key] = value
    port_text = found.get("SERVICE") or found.get("PORT")
    port = int(port_text) if port_text and port_text.isdigit() else None
    server = found.get("SERVER")
    host = found.get("HOST") or (server if dialect != "informix" else None)
    return ConnectionInfo(
        dialect=dialect,
        dbms_name=dbms_name,
        server=server if dialect == "informix" else None,
        host=host,
        port=port,
        database=found.get("DATABASE") or found.get("DSN"),
        user=found.get("UID") or found.get("USER"),
    )


def run_logged(
    hooks: QueryHooks,
    operation: str,
    sql: str,
    params: Any,
    timeout: float | None,
    call: Callable[[], Any],
    count: Callable[[Any], int],
) -> Any:
    """Sync: ``call()``, then tell the hooks (with its error, if it raised)."""
    started, t0 = time.time(), time.perf_counter()
    try:
        result = call()
    except BaseException as exc:
        hooks.emit(operation, sql, params, timeout, started, time.perf_counter() - t0, -1, exc)
        raise
    hooks.emit(
        operation, sql, params, timeout, started, time.perf_counter() - t0, count(result), None
    )
    return result


async def run_logged_async(
    hooks: QueryHooks,
    operation: str,
    sql: str,
    params: Any,
    timeout: float | None,
    call: Awaitable[Any],
    count: Callable[[Any], int],
) -> Any:
    """Async: await ``call``, then tell the hooks, in the caller's task."""
    started, t0 = time.time(), time.perf_counter()
    try:
        result = await call
    except BaseException as exc:
        hooks.emit(operation, sql, params, timeout, started, time.perf_counter() - t0, -1, exc)
        raise
    hooks.emit(
        operation, sql, params, timeout, started, time.perf_counter() - t0, count(result), None
    )
    return result


def count_int(result: Any) -> int:
    """The row count a statement returned (``execute``)."""
    return int(result) if isinstance(result, int) else -1


def count_list(result: Any) -> int:
    """The rows a query returned (``fetch``)."""
    return len(result) if isinstance(result, list) else -1


def count_row(result: Any) -> int:
    """One row or none (``fetchrow``)."""
    return 0 if result is None else 1


def count_unknown(result: Any) -> int:
    """Not known (``fetchval``: a NULL value and no row look alike; ``executemany``)."""
    return -1
