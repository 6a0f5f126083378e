"""What every limiter does about a long wait: refuse it past ``max_wait``, log it past a second."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from ..errors import RateLimitWaitError

__all__ = ["LOG_WAITS_OVER", "QUEUED", "check_wait", "log_wait", "too_long"]

log = logging.getLogger("pleasurestock_async")

LOG_WAITS_OVER = 1.0
"""Waits longer than this many seconds are logged (bucket, window, until when)."""

QUEUED = "requests queued before this one"
"""What a request waits for when its windows have room but earlier requests go first."""


def _until(wait: float) -> str:
    return datetime.fromtimestamp(time.time() + wait, UTC).strftime("%H:%M:%S UTC")


def too_long(bucket: str, window: str, wait: float, max_wait: float) -> RateLimitWaitError:
    """The error for a wait of ``wait`` seconds that ``max_wait`` does not allow."""
    return RateLimitWaitError(
        bucket=bucket, window=window, wait=wait, free_at=time.time() + wait, max_wait=max_wait
    )


def check_wait(bucket: str, window: str, wait: float, max_wait: float | None) -> None:
    """Raise :class:`RateLimitWaitError` when ``wait`` exceeds ``max_wait``."""
    if max_wait is not None and wait > max_wait:
        raise too_long(bucket, window, wait, max_wait)


def log_wait(bucket: str, window: str, wait: float) -> bool:
    """Log a wait for a slot when it is longer than :data:`LOG_WAITS_OVER`; True if logged."""
    if wait <= LOG_WAITS_OVER:
        return False
    log.info(
        "rate limit: waiting %.1f s for the %s bucket (%s) until %s",
        wait,
        bucket,
        window,
        _until(wait),
    )
    return True
