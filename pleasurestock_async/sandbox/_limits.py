"""The server side of rate limiting, as the reference states it: per API key, each bucket a
set of windows ("1000/hour" and the like), every request counted when it arrives.

A window admits a request while fewer than ``limit`` requests were admitted in the last
``seconds`` (the span ``(now - seconds, now]``). A request spends every window of every bucket
of its route at once, or none of them: a refused request is not counted.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Literal

from pleasurestock_async import RateLimitConfig
from pleasurestock_async.ratelimit import Clock, MonotonicClock

__all__ = ["Bucket", "ServerLimits", "retry_after_header"]

Bucket = Literal["standard", "external", "smart"]
"""A rate bucket: one API's windows, or the smart-reordering windows both APIs share."""


class _Window:
    """Arrival times of the admitted requests still inside one window."""

    __slots__ = ("arrivals", "limit", "seconds")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.arrivals: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until this window has room (0 if it has room now)."""
        while self.arrivals and self.arrivals[0] <= now - self.seconds:
            self.arrivals.popleft()
        if len(self.arrivals) < self.limit:
            return 0.0
        return self.arrivals[0] + self.seconds - now


class ServerLimits:
    """Admits and counts requests per key and bucket, or says how long to wait (on ``clock``,
    real time by default)."""

    def __init__(self, config: RateLimitConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or MonotonicClock()
        self._windows: dict[tuple[str, Bucket], list[_Window]] = {}

    def check(self, key: str, buckets: Iterable[Bucket]) -> float:
        """Admit and count a request (returns 0), or return the seconds to wait (a 429)."""
        now = self.clock.now()
        windows = [w for bucket in buckets for w in self._for(key, bucket)]
        wait = max((w.wait(now) for w in windows), default=0.0)
        if wait > 0:
            return wait
        for w in windows:
            w.arrivals.append(now)
        return 0.0

    def _for(self, key: str, bucket: Bucket) -> list[_Window]:
        found = self._windows.get((key, bucket))
        if found is None:
            configured = self.config.windows()[bucket]
            found = [_Window(w.limit, w.seconds) for w in configured]
            self._windows[(key, bucket)] = found
        return found


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, rounded up (a client waiting that long succeeds)."""
    return str(max(1, math.ceil(wait)))
