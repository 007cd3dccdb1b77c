"""OpenTelemetry for informix-aio: a CLIENT span per statement and the pool's metrics, named by
the database semantic conventions.

Install with the ``opentelemetry`` extra (``pip install 'informix-aio[opentelemetry]'``; the
application brings the SDK and an exporter)::

    from informix_aio.opentelemetry import InformixAioInstrumentor

    InformixAioInstrumentor().instrument()     # global providers, or tracer_provider=...
    ...
    InformixAioInstrumentor().uninstrument()

or with no code at all, through ``opentelemetry-instrument`` (the package registers the
instrumentor under the ``opentelemetry_instrumentor`` entry point).

**Spans.** One query logger (:func:`informix_aio.hooks.add_global_query_logger`) sees every
statement of every connection, sync and async, shortcuts (``fetch``, ``pool.fetchval``, ...)
and cursors alike. It runs after the statement in the caller's thread or task, so each span is
backdated to the statement's start, ends at start + elapsed, and is the child of the caller's
current span. Name: ``db.query.summary`` (``SELECT orders``), else the operation, else
``db.system.name``. Attributes:

- ``db.system.name``: ``ibm.informix``, ``postgresql``, ``sqlite``, ``mariadb`` (``mysql``
  for a MySQL server; from the driver's DBMS name on the generic dialect, else ``other_sql``);
- ``db.namespace``: the database (Informix: ``<INFORMIXSERVER>|<database>``);
  ``server.address``, ``server.port``;
- ``db.operation.name``: the first keyword; ``db.collection.name`` and ``db.query.summary``
  only for a single statement over a single table (``SELECT ... FROM t``, ``INSERT INTO t``,
  ``UPDATE t``, ``DELETE FROM t``); ``executemany`` of 2+ sets: ``BATCH <operation>`` and
  ``db.operation.batch.size``;
- ``db.query.text``: the SQL as written when it has parameters; without parameters, with its
  literals replaced by ``?`` (``sanitize_query=False`` keeps them). Parameters themselves only
  with ``capture_parameters=True``, as ``db.query.parameter.<n>``;
- on failure: status ERROR, the exception recorded, ``error.type`` (the class as its package
  exports it: ``informix_aio.IntegrityError``, ``informix_aio.CommandTimeout``,
  ``asyncio.CancelledError``, ``trio.Cancelled``) and ``db.response.status_code`` (Informix:
  the SQLCODE, MariaDB: its error number, PostgreSQL: the SQLSTATE; else the native code, or
  the SQLSTATE);
- ``db.response.returned_rows`` for the fetch shortcuts.

The stable ``db.client.operation.duration`` histogram is recorded with the same attributes
(without the text and parameters).

**Pool metrics** (every pool, present and future): ``db.client.connection.count`` by
``db.client.connection.state`` (``idle``, ``used``), ``.max``, ``.idle.min``,
``.pending_requests``, ``.timeouts``, and the histograms ``.create_time``, ``.wait_time``,
``.use_time``, each labelled ``db.client.connection.pool.name`` (``create_pool(name=...)``).

Nothing is paid when not instrumented: no hook, no observer is registered.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

try:
    from opentelemetry import metrics, trace

    # The module is marked "type: ignore" as a whole: mypy sees no BaseInstrumentor in it.
    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(
        "informix_aio.opentelemetry needs the opentelemetry extra: "
        "pip install 'informix-aio[opentelemetry]'",
        name=exc.name,
    ) from exc

from .. import __version__
from ..aio._pool import live_pools
from ..aio._pool_state import GLOBAL_OBSERVERS
from ..hooks import add_global_query_logger, remove_global_query_logger
from ._metrics import PoolMetrics, activate, pool_name
from ._spans import QueryTracer

__all__ = ["InformixAioInstrumentor", "pool_name"]

#: What the instrumentation needs of the instrumented library: nothing to check, since it
#: ships inside that library (a requirement on ``informix-aio`` itself would only fail when
#: the package runs from a source tree without its metadata, and instrument() would then
#: silently do nothing).
_instruments: tuple[str, ...] = ()


class InformixAioInstrumentor(BaseInstrumentor):  # type: ignore[misc]  # the base is untyped
    """Spans for every statement and metrics for every pool (see the module's docstring).

    A singleton, as every ``BaseInstrumentor``: ``InformixAioInstrumentor()`` is always the
    same object, and instrumenting twice logs a warning and changes nothing.
    """

    _query_tracer: QueryTracer | None = None
    _pool_metrics: PoolMetrics | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """Requirements on the instrumented library: none (see ``_instruments``)."""
        return _instruments

    def instrument(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_parameters: bool = False,
        sanitize_query: bool = True,
        **kwargs: Any,
    ) -> None:
        """Start tracing every statement and measuring every pool.

        :param tracer_provider: where spans go (default: the global provider).
        :param meter_provider: where metrics go (default: the global provider).
        :param capture_parameters: record each statement's parameters as
            ``db.query.parameter.<n>`` (off by default: they may hold personal data).
        :param sanitize_query: replace the literals of statements run without parameters by
            ``?`` in ``db.query.text``, as the conventions advise (default on).
        :param kwargs: what ``BaseInstrumentor.instrument`` takes (``skip_dep_check``, ...).
        :raises TypeError: ``capture_parameters`` or ``sanitize_query`` is not a bool.
        """
        for option, value in (
            ("capture_parameters", capture_parameters),
            ("sanitize_query", sanitize_query),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"{option} must be True or False, not {value!r}")
        super().instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_parameters=capture_parameters,
            sanitize_query=sanitize_query,
            **kwargs,
        )

    def uninstrument(self, **kwargs: Any) -> None:
        """Stop: the query logger and every pool observer are removed; the observable pool
        instruments report nothing from now on."""
        super().uninstrument(**kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))
        meter = metrics.get_meter(__name__, __version__, kwargs.get("meter_provider"))
        capture = bool(kwargs.get("capture_parameters", False))
        self._query_tracer = QueryTracer(
            tracer,
            meter,
            capture_parameters=capture,
            sanitize_query=bool(kwargs.get("sanitize_query", True)),
        )
        add_global_query_logger(self._query_tracer, params=capture)
        observer = self._pool_metrics = PoolMetrics(meter)
        activate(observer)
        # Pools opened from now on start with the global observers; the live ones are told.
        GLOBAL_OBSERVERS.append(observer)
        for pool in live_pools():
            pool.add_observer(observer)

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._query_tracer is not None:
            remove_global_query_logger(self._query_tracer)
            self._query_tracer = None
        observer = self._pool_metrics
        if observer is not None:
            activate(None)
            if observer in GLOBAL_OBSERVERS:
                GLOBAL_OBSERVERS.remove(observer)
            for pool in live_pools():
                pool.remove_observer(observer)
            self._pool_metrics = None
