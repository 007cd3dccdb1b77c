"""The ``informix_aio.fastapi`` logger, and a handler that makes it visible under uvicorn.

uvicorn's default logging configuration sets up its own loggers only and leaves the root
logger without a handler, so a library's records would reach nothing but Python's "last
resort" handler (bare messages, no level). :class:`FallbackHandler` sits on this package's
logger and writes a record, in uvicorn's layout (``ERROR:    message``), only when no other
handler on the record's way to the root would: once the application configures logging
(``logging.basicConfig``, ``dictConfig``, pytest's capture), it stays silent. It sets no level:
which records pass is still the loggers' decision (WARNING and above by default).
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "FallbackHandler", "logger"]

#: The logger of the FastAPI integration (its modules log to children of it).
LOGGER_NAME = "informix_aio.fastapi"


class _UvicornLikeFormatter(logging.Formatter):
    """``LEVEL:    message``, as uvicorn's default formatter lays its own lines out."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"{record.levelname + ':':<9} {text}"


class FallbackHandler(logging.Handler):
    """Writes a record to ``sys.stderr`` only when no other handler would handle it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_UvicornLikeFormatter("%(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        """Emit ``record`` unless another handler on its way to the root takes it."""
        if self._another_handler_takes(record):
            return False
        return super().handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record (the current ``sys.stderr``, looked up at each write)."""
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)

    def _another_handler_takes(self, record: logging.LogRecord) -> bool:
        # The walk Logger.callHandlers makes, minus this handler.
        current: logging.Logger | None = logging.getLogger(record.name)
        while current is not None:
            for handler in current.handlers:
                if handler is not self and record.levelno >= handler.level:
                    return True
            if not current.propagate:
                return False
            current = current.parent
        return False


logger = logging.getLogger(LOGGER_NAME)
if not any(isinstance(h, FallbackHandler) for h in logger.handlers):
    logger.addHandler(FallbackHandler())
