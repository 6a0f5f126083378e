"""The sandbox's server side of rate limiting: exact sliding windows per key and API, counted
on arrival as a strict server would (the same window arithmetic as the client's)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable

from ..ratelimit import BucketName, RateLimitConfig, Window


class SlidingWindow:
    """Arrival times of the last ``limit`` requests counted in a window."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.stamps and self.stamps[0] + self.window.seconds <= now:
            self.stamps.popleft()
        if len(self.stamps) < self.window.limit:
            return 0.0
        return self.stamps[0] + self.window.seconds - now

    def take(self, now: float) -> None:
        self.stamps.append(now)


__all__ = ["ServerLimits", "retry_after_header"]


class ServerLimits:
    """Admits and counts requests per key and bucket, or says how long to wait."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._windows: dict[tuple[str, BucketName], list[SlidingWindow]] = {}

    def check(self, key: str, buckets: Iterable[BucketName]) -> float:
        """Admit and count a request (returns 0), or return the seconds to wait (a 429)."""
        now = time.monotonic()
        windows = [w for b in buckets for w in self._for(key, b)]
        wait = max((w.wait(now) for w in windows), default=0.0)
        if wait > 0:
            return wait
        for w in windows:
            w.take(now)
        return 0.0

    def _for(self, key: str, bucket: BucketName) -> list[SlidingWindow]:
        found = self._windows.get((key, bucket))
        if found is None:
            found = [SlidingWindow(w) for w in self.config.windows()[bucket]]
            self._windows[(key, bucket)] = found
        return found


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, rounded up (a client waiting that long succeeds)."""
    return str(max(1, math.ceil(wait)))
