"""Client-side rate limiting: the limiter protocol, its configuration, and its implementations.

:class:`MemoryRateLimiter` (the default) keeps exact sliding windows in this process;
:class:`RedisRateLimiter` (extra ``pleasurestock-async[redis]``) shares them across processes
and hosts through Redis. Any object with the :class:`RateLimiter` methods can be passed to
``AsyncPleasureStock(rate_limiter=...)``.
"""

from __future__ import annotations

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
from ._protocol import Lease, RateLimiter
from .memory import MemoryRateLimiter

__all__ = [
    "BUCKET_NAMES",
    "DEFAULT_RATE_LIMITS",
    "BucketName",
    "BucketStatus",
    "Clock",
    "Lease",
    "ManualClock",
    "MemoryRateLimiter",
    "MonotonicClock",
    "RateLimitConfig",
    "RateLimiter",
    "Window",
    "WindowStatus",
]
