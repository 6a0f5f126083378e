"""Client-side rate limiting: the limiter protocol, its configuration, and its implementations.

:class:`MemoryRateLimiter` (the default) keeps exact sliding windows in this process;
:class:`RedisRateLimiter` (extra ``pleasurestock-async[redis]``) shares them across processes
and hosts through Redis; it is imported on first use, so the SDK never needs redis otherwise.
Any object with the :class:`RateLimiter` methods can be passed to
``AsyncPleasureStock(rate_limiter=...)``.
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
from ._errors import RateLimiterUnavailableError
from ._protocol import Lease, RateLimiter
from .memory import MemoryRateLimiter

if TYPE_CHECKING:
    from .redis import RedisRateLimiter

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
    "RateLimiterUnavailableError",
    "RedisRateLimiter",
    "Window",
    "WindowStatus",
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
