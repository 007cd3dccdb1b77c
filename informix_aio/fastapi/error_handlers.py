"""``install_error_handlers``: database errors that escape a route become HTTP responses.

=============================================  ======  ===============  =========
Error                                          Status  Header           Logged as
=============================================  ======  ===============  =========
``PoolTimeout``, ``TooManyRequests``           503     ``Retry-After``  ERROR
``PoolClosed`` (shutting down)                 503     ``Retry-After``  ERROR
``IntegrityError`` (unique, foreign key, ...)  409                      WARNING
``DataError`` (out of range, NUL, ...)         422                      WARNING
any other ``informix_aio.errors.Error``        500                      ERROR, traceback
=============================================  ======  ===============  =========

The body is ``{"detail": "..."}`` like FastAPI's own errors, and generic: no SQL, no driver
message, no SQLSTATE reaches the client. The log line (logger ``informix_aio.fastapi``, shown
by uvicorn's default logging configuration) has the method, the route and the error.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import DataError, Error, IntegrityError, PoolClosed, PoolTimeout, TooManyRequests
from ._logging import LOGGER_NAME

__all__ = ["DATA_ERROR_DETAIL", "install_error_handlers"]

logger = logging.getLogger(LOGGER_NAME)

#: The ``detail`` of a 422 answered for a :class:`~informix_aio.errors.DataError`.
DATA_ERROR_DETAIL = "a value in the request cannot be stored or compared by the database"


def _route(request: Request) -> str:
    """The route's path template (``/users/{user_id}``), else the request's path."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path


def install_error_handlers(app: Starlette, *, retry_after: int = 1) -> None:
    """Map database errors that escape a route to HTTP responses that leak no SQL or secrets.

    - :class:`~informix_aio.errors.PoolTimeout`, :class:`~informix_aio.errors.TooManyRequests`
      and :class:`~informix_aio.errors.PoolClosed`: 503 with ``Retry-After``;
    - :class:`~informix_aio.errors.IntegrityError`: 409;
    - :class:`~informix_aio.errors.DataError` (a value out of range for its column or for the
      driver, a NUL in a string: the client's input): 422;
    - any other :class:`~informix_aio.errors.Error`: 500.

    Each is logged on the ``informix_aio.fastapi`` logger: 5xx as ``ERROR`` (with the
    traceback for a 500), 4xx as ``WARNING``.

    :param app: the application.
    :param retry_after: seconds for the ``Retry-After`` header of 503 responses.
    :raises ValueError: ``retry_after`` is negative.
    """
    if retry_after < 0:
        raise ValueError("retry_after must be >= 0")
    headers = {"Retry-After": str(retry_after)}

    async def busy(request: Request, exc: Exception) -> Response:
        logger.error(
            "%s %s -> 503: %s: %s", request.method, _route(request), type(exc).__name__, exc
        )
        detail = (
            "the service is shutting down"
            if isinstance(exc, PoolClosed)
            else "the database is busy; retry later"
        )
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)

    async def conflict(request: Request, exc: Exception) -> Response:
        logger.warning(
            "%s %s -> 409: %s: %s", request.method, _route(request), type(exc).__name__, exc
        )
        return JSONResponse({"detail": "the request conflicts with existing data"}, status_code=409)

    async def bad_value(request: Request, exc: Exception) -> Response:
        logger.warning(
            "%s %s -> 422: %s: %s", request.method, _route(request), type(exc).__name__, exc
        )
        return JSONResponse({"detail": DATA_ERROR_DETAIL}, status_code=422)

    async def internal(request: Request, exc: Exception) -> Response:
        logger.error(
            "%s %s -> 500: %s", request.method, _route(request), type(exc).__name__, exc_info=exc
        )
        return JSONResponse({"detail": "internal database error"}, status_code=500)

    for cls in (PoolTimeout, TooManyRequests, PoolClosed):
        app.add_exception_handler(cls, busy)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(DataError, bad_value)
    app.add_exception_handler(Error, internal)
