"""The server side of rate limiting, as the reference states it: per API key, each bucket a
set of windows ("1000/hour" and the like), every request counted when it arrives.

A window admits a request while fewer than ``limit`` requests were admitted in the last
``seconds`` (the span ``(now - seconds, now]``). A request spends every window of every bucket
of its route at once, or none of them: a refused request is not counted.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pleasurestock_async import RateLimitConfig
from pleasurestock_async.ratelimit import Clock, MonotonicClock

__all__ = ["BUCKETS", "Bucket", "ServerLimits", "WindowUse", "retry_after_header"]

Bucket = Literal["standard", "external", "smart"]
"""A rate bucket: one API's windows, or the smart-reordering windows both APIs share."""
BUCKETS: tuple[Bucket, ...] = ("standard", "external", "smart")


@dataclass(frozen=True, slots=True)
class WindowUse:
    """One window of one key and bucket, now: how many requests it counts of its limit, and
    in how many seconds its oldest one stops counting (None when it counts none)."""

    limit: int
    seconds: float
    used: int
    frees_in: float | None


class _Window:
    """Arrival times of the admitted requests still inside one window."""

    __slots__ = ("arrivals", "limit", "seconds")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.arrivals: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until this window has room (0 if it has room now)."""
        self._expire(now)
        if len(self.arrivals) < self.limit:
            return 0.0
        return self.arrivals[0] + self.seconds - now

    def use(self, now: float) -> WindowUse:
        """What this window counts at ``now``."""
        self._expire(now)
        oldest = self.arrivals[0] + self.seconds - now if self.arrivals else None
        return WindowUse(self.limit, self.seconds, len(self.arrivals), oldest)

    def _expire(self, now: float) -> None:
        while self.arrivals and self.arrivals[0] <= now - self.seconds:
            self.arrivals.popleft()


class ServerLimits:
    """Admits and counts requests per key and bucket, or says how long to wait (on ``clock``,
    real time by default)."""

    def __init__(self, config: RateLimitConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or MonotonicClock()
        self.refused: Counter[tuple[str, Bucket]] = Counter()
        """Requests refused (429) per key and bucket: each full bucket of a refused request."""
        self._windows: dict[tuple[str, Bucket], list[_Window]] = {}

    def check(self, key: str, buckets: Iterable[Bucket]) -> float:
        """Admit and count a request (returns 0), or return the seconds to wait (a 429)."""
        now = self.clock.now()
        waits = {
            bucket: max((w.wait(now) for w in self._for(key, bucket)), default=0.0)
            for bucket in buckets
        }
        wait = max(waits.values(), default=0.0)
        if wait > 0:
            self.refused.update((key, bucket) for bucket, w in waits.items() if w > 0)
            return wait
        windows = [w for bucket in waits for w in self._for(key, bucket)]
        for w in windows:
            w.arrivals.append(now)
        return 0.0

    def usage(self, key: str, bucket: Bucket) -> list[WindowUse]:
        """What each window of ``key``'s ``bucket`` counts now (nothing is spent)."""
        now = self.clock.now()
        return [w.use(now) for w in self._for(key, bucket)]

    def reset(self) -> None:
        """Forget every request counted so far, and the refusals."""
        self._windows.clear()
        self.refused.clear()

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
