"""What every limiter does about a long wait: refuse it past ``max_wait``, log it past a second."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from ..errors import RateLimitWaitError

__all__ = ["LOG_WAITS_OVER", "check_wait", "log_wait"]

log = logging.getLogger("pleasurestock_async")

LOG_WAITS_OVER = 1.0
"""Waits longer than this many seconds are logged (bucket, window, until when)."""


def _until(wait: float) -> str:
    return datetime.fromtimestamp(time.time() + wait, UTC).strftime("%H:%M:%S UTC")


def check_wait(bucket: str, window: str, wait: float, max_wait: float | None) -> None:
    """Raise :class:`RateLimitWaitError` when ``wait`` exceeds ``max_wait``."""
    if max_wait is not None and wait > max_wait:
        raise RateLimitWaitError(
            bucket=bucket, window=window, wait=wait, free_at=time.time() + wait, max_wait=max_wait
        )


def log_wait(bucket: str, window: str, wait: float) -> None:
    """Log a wait for a slot when it is longer than :data:`LOG_WAITS_OVER`."""
    if wait > LOG_WAITS_OVER:
        log.info(
            "rate limit: waiting %.1f s for the %s bucket (%s) until %s",
            wait,
            bucket,
            window,
            _until(wait),
        )
