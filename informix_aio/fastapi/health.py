"""Health endpoints: liveness (the process serves) apart from readiness (the pool can serve).

A container orchestrator restarts a service whose liveness probe fails and stops sending it
traffic while its readiness probe fails. A pool whose connections are all in use is a busy
service, not a dead one: liveness never touches the database, and readiness answers 503
(briefly not ready) rather than waiting out the pool's whole ``acquire_timeout``.

- :func:`check_readiness`: one bounded check of a pool (borrow a connection, run the
  dialect's ping), as a :class:`Readiness` value, for routes of an application's own;
- :func:`health_router`: an ``APIRouter`` with ``GET``/``HEAD`` ``/health`` and
  ``/health/live`` (liveness, with the pool's statistics) and ``/health/ready`` (readiness).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response

from ..aio import Pool
from ..errors import Error, PoolClosed, PoolTimeout, QueryCanceled, TooManyRequests
from .lifespan import POOL_STATE_ATTR, get_pool

__all__ = ["DEFAULT_READY_TIMEOUT", "Readiness", "check_readiness", "health_router"]

#: Seconds a readiness check may take, borrowing and pinging together.
DEFAULT_READY_TIMEOUT = 1.0


@dataclass(frozen=True)
class Readiness:
    """The outcome of :func:`check_readiness`.

    ``reason`` is ``"ok"``; ``"busy"`` (every connection in use, none free within the
    deadline); ``"unavailable"`` (no connection could be made, or the database answered with
    an error); ``"slow"`` (the ping outlasted the deadline); or ``"closed"`` (shutting down).
    """

    ready: bool
    reason: str
    backend: str | None = None  #: the dialect's name (``"informix"``, ``"sqlite"``, ...)
    latency: float | None = None  #: seconds the ping took
    error: str | None = None  #: the error's class name, when there was one


async def check_readiness(pool: Pool, *, timeout: float = DEFAULT_READY_TIMEOUT) -> Readiness:
    """Whether ``pool`` can serve a query now: borrow a connection and ping, within ``timeout``.

    Never raises a database error: the outcome says what went wrong.

    :param pool: the pool to check.
    :param timeout: seconds for the borrow and the ping together (keep it well under the
        probe's own timeout).
    :raises ValueError: ``timeout`` is not positive.
    """
    if timeout <= 0:
        raise ValueError("timeout must be > 0")
    if pool.closed:
        return Readiness(False, "closed")
    deadline = time.monotonic() + timeout
    backend: str | None = None
    try:
        async with pool.connection(timeout=timeout) as conn:
            backend = conn.dialect.name
            latency = await conn.ping(timeout=max(deadline - time.monotonic(), 0.001))
    except PoolClosed as exc:
        return Readiness(False, "closed", error=type(exc).__name__)
    except (PoolTimeout, TooManyRequests) as exc:
        stats = pool.stats()
        # Connections that could not be opened are not a busy pool.
        busy = stats.in_use + stats.reaping >= stats.max_size
        return Readiness(False, "busy" if busy else "unavailable", error=type(exc).__name__)
    except QueryCanceled as exc:
        return Readiness(False, "slow", backend=backend, error=type(exc).__name__)
    except Error as exc:
        return Readiness(False, "unavailable", error=type(exc).__name__)
    return Readiness(True, "ok", backend=backend, latency=latency)


def health_router(
    *,
    prefix: str = "/health",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
    tags: Sequence[str] = ("health",),
) -> APIRouter:
    """An ``APIRouter`` with the liveness and readiness endpoints; ``app.include_router(...)``.

    - ``GET``/``HEAD`` ``{prefix}`` and ``{prefix}/live``: 200 while the process serves
      requests, whatever the database does; the body has the pool's statistics
      (``pool.stats()``), or ``null`` when no pool is open.
    - ``GET``/``HEAD`` ``{prefix}/ready``: 200 when a connection was borrowed and pinged
      within ``ready_timeout`` seconds, else 503 with the :class:`Readiness` reason
      (``busy``, ``unavailable``, ``slow``, ``closed``) and the error's class name, never its
      text. The statistics are taken before the check borrows its connection.

    :param prefix: where the endpoints live.
    :param ready_timeout: seconds a readiness check may take.
    :param tags: OpenAPI tags of the endpoints.
    :raises ValueError: ``ready_timeout`` is not positive, or ``prefix`` does not start with
        ``/``.
    """
    if ready_timeout <= 0:
        raise ValueError("ready_timeout must be > 0")
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError("prefix must start with '/' and not end with it")
    router = APIRouter(prefix=prefix, tags=list(tags))

    async def live(request: Request) -> dict[str, Any]:
        """Liveness: 200 while the process serves; the pool's statistics for information."""
        pool = getattr(request.app.state, POOL_STATE_ATTR, None)
        stats = dataclasses.asdict(pool.stats()) if isinstance(pool, Pool) else None
        return {"status": "ok", "pool": stats}

    async def ready(request: Request, response: Response) -> dict[str, Any]:
        """Readiness: 200 when the pool serves a query within the deadline, else 503."""
        try:
            pool = get_pool(request)
        except RuntimeError:
            response.status_code = 503
            return {"status": "unavailable", "reason": "closed", "pool": None}
        stats = dataclasses.asdict(pool.stats())
        outcome = await check_readiness(pool, timeout=ready_timeout)
        if not outcome.ready:
            response.status_code = 503
            return {
                "status": "unavailable",
                "reason": outcome.reason,
                "error": outcome.error,
                "pool": stats,
            }
        latency_ms = None if outcome.latency is None else round(outcome.latency * 1000, 3)
        return {
            "status": "ready",
            "backend": outcome.backend,
            "ping_ms": latency_ms,
            "pool": stats,
        }

    not_ready: dict[int | str, dict[str, Any]] = {
        503: {"description": "The pool cannot serve a query now"}
    }
    for path in ("", "/live"):
        router.add_api_route(path, live, methods=["GET"], summary="Liveness")
        # HEAD answers too, outside the schema: one operation per path and method there.
        router.add_api_route(path, live, methods=["HEAD"], include_in_schema=False)
    router.add_api_route("/ready", ready, methods=["GET"], summary="Readiness", responses=not_ready)
    router.add_api_route("/ready", ready, methods=["HEAD"], include_in_schema=False)
    return router
