"""The library's logger, and ``PLEASURESTOCK_LOG=debug|info`` to see it without code.

Every request is logged at INFO (method, path, status, elapsed, retry number, rate-limit
wait), retries and 429 pauses at WARNING, waits for a rate-limit slot longer than a second at
INFO. The key is never logged.
"""

from __future__ import annotations

import logging
import os

__all__ = ["LOG_ENV", "logger", "setup_logging"]

LOG_ENV = "PLEASURESTOCK_LOG"

logger = logging.getLogger("pleasurestock_async")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_logging() -> None:
    """Log to stderr at the level ``$PLEASURESTOCK_LOG`` names (``debug`` or ``info``); with
    ``debug``, httpx's and httpcore's own logs too."""
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None or any(getattr(h, "_pleasurestock", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler._pleasurestock = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    for name in ("pleasurestock_async", *(("httpx", "httpcore") if level == logging.DEBUG else ())):
        target = logging.getLogger(name)
        target.addHandler(handler)
        target.setLevel(level)
