"""The sandbox's server side of rate limiting: exact sliding windows per key and API."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable

from .._ratelimit import BucketName, RateLimitConfig, Window

__all__ = ["ServerLimits"]


class _SlidingWindow:
    def __init__(self, window: Window) -> None:
        self.limit = window.limit
        self.seconds = window.seconds
        self.hits: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        while self.hits and self.hits[0] <= now - self.seconds:
            self.hits.popleft()
        if len(self.hits) < self.limit:
            return 0.0
        return self.hits[0] + self.seconds - now


class ServerLimits:
    """Counts every request in each window of its buckets, as a strict server would."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._windows: dict[tuple[str, BucketName], list[_SlidingWindow]] = {}

    def check(self, key: str, buckets: Iterable[BucketName]) -> float:
        """Admit and count a request (returns 0), or return the seconds to wait (a 429)."""
        now = time.monotonic()
        windows = [w for b in buckets for w in self._for(key, b)]
        wait = max((w.wait(now) for w in windows), default=0.0)
        if wait > 0:
            return wait
        for w in windows:
            w.hits.append(now)
        return 0.0

    def _for(self, key: str, bucket: BucketName) -> list[_SlidingWindow]:
        found = self._windows.get((key, bucket))
        if found is None:
            found = [_SlidingWindow(w) for w in self.config.windows()[bucket]]
            self._windows[(key, bucket)] = found
        return found


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, rounded up (a client waiting that long succeeds)."""
    return str(max(1, math.ceil(wait)))
