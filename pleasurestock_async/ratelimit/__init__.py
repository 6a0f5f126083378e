"""Client-side rate limiting: the limiter protocol, its configuration, and its implementations.

:class:`MemoryRateLimiter` (the default) keeps exact sliding windows in this process;
:class:`RedisRateLimiter` (extra ``pleasurestock-async[redis]``) shares them across processes
and hosts through Redis; it is imported on first use, so the SDK never needs redis otherwise.
Any object with the :class:`RateLimiter` methods can be passed to
``AsyncPleasureStock(rate_limiter=...)``; :class:`BaseRateLimiter` is the base to start one
from. Every limiter announces each wait for a slot as a :class:`RateLimitWait` to the
listeners given to ``on_wait`` (for metrics, or a progress display).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._clock import Clock, ManualClock, MonotonicClock
from ._config import (
    BUCKET_NAMES,
    DEFAULT_RATE_LIMITS,
    BucketName,
    BucketStatus,
    RateLimitConfig,
    Window,
    WindowStatus,
)
from ._errors import RateLimiterUnavailableError, RateLimitWaitError
from ._protocol import BaseRateLimiter, Lease, RateLimiter
from ._waits import RateLimitWait, WaitListener, check_wait, wait_error
from .memory import MemoryRateLimiter

if TYPE_CHECKING:
    from .redis import RedisRateLimiter

__all__ = [
    "BUCKET_NAMES",
    "DEFAULT_RATE_LIMITS",
    "BaseRateLimiter",
    "BucketName",
    "BucketStatus",
    "Clock",
    "Lease",
    "ManualClock",
    "MemoryRateLimiter",
    "MonotonicClock",
    "RateLimitConfig",
    "RateLimitWait",
    "RateLimitWaitError",
    "RateLimiter",
    "RateLimiterUnavailableError",
    "RedisRateLimiter",
    "WaitListener",
    "Window",
    "WindowStatus",
    "check_wait",
    "wait_error",
]


def __getattr__(name: str) -> Any:
    if name == "RedisRateLimiter":
        try:
            from .redis import RedisRateLimiter
        except ImportError as exc:
            if exc.name is None or exc.name.split(".")[0] != "redis":
                raise
            raise ImportError(
                "RedisRateLimiter needs the redis package: pip install 'pleasurestock-async[redis]'"
            ) from exc
        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
