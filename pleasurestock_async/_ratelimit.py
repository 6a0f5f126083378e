"""Client-side rate limiting: per-API buckets, each enforcing several windows at once.

A leaky bucket of capacity ``C`` that drains ``C`` per period ``T`` admits up to ``2C`` within
some window of length ``T`` (``C`` at once, then ``C`` more as it drains), which a server that
counts per window answers with 429s. Every window here is therefore sized so that
``burst + drain_rate * T <= limit``: no window of length ``T`` ever sees more than ``limit``
requests. Bursts are kept small on the window that binds in the long run (2% of its limit), so a
long job uses ~98% of the hourly budget, and as large as possible on the shorter windows.

A request spends every window of its buckets at one instant (see :meth:`RateLimiter.acquire`).
That is why the windows are a few lines of leaky-bucket arithmetic here rather than
``aiolimiter`` limiters: those can only be taken one after another, each with its own wait,
which stamps the earlier windows too early and lets a server's window overflow.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import anyio

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "BucketName",
    "BucketStatus",
    "RateLimitConfig",
    "RateLimiter",
    "Window",
    "WindowStatus",
]

BucketName = Literal["standard", "external", "smart"]

_LONG_RUN_BURST_FRACTION = 0.02


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long window.

    ``burst`` is how many may go at once; ``None`` lets the limiter choose (see module doc).
    """

    limit: int
    seconds: float
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.limit < 2 or self.seconds <= 0:
            raise ConfigurationError(
                f"a rate window needs limit >= 2 and seconds > 0, got {self.limit}/{self.seconds}s"
            )
        if self.burst is not None and not 1 <= self.burst < self.limit:
            raise ConfigurationError(f"burst must be in [1, limit), got {self.burst}")


def _hourly(limit_h: int, limit_m: int, limit_s: int) -> tuple[Window, ...]:
    return (Window(limit_h, 3600.0), Window(limit_m, 60.0), Window(limit_s, 1.0))


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The windows of each bucket. Defaults are the vendor's published limits per API key."""

    standard: tuple[Window, ...] = field(default_factory=lambda: _hourly(1000, 100, 10))
    external: tuple[Window, ...] = field(default_factory=lambda: _hourly(5000, 200, 20))
    smart: tuple[Window, ...] = field(default_factory=lambda: _hourly(100, 10, 2))

    def windows(self) -> Mapping[BucketName, tuple[Window, ...]]:
        """The windows of every bucket, by bucket name."""
        return {"standard": self.standard, "external": self.external, "smart": self.smart}


DEFAULT_RATE_LIMITS = RateLimitConfig()
"""The vendor's published limits: standard 1000/h 100/min 10/s, external 5000/h 200/min 20/s,
smart reordering 100/h 10/min 2/s."""


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """One window's use: requests sent in the last ``seconds``, and how many more fit."""

    limit: int
    seconds: float
    used: int
    remaining: int


@dataclass(frozen=True, slots=True)
class BucketStatus:
    """A bucket's windows, and how long it stays paused by a server 429 (0 when not paused)."""

    name: BucketName
    windows: tuple[WindowStatus, ...]
    paused_for: float

    @property
    def paused(self) -> bool:
        """Whether a server 429 currently holds this bucket."""
        return self.paused_for > 0


def _bursts(windows: Iterable[Window]) -> list[tuple[Window, int]]:
    """Choose each window's burst so that ``burst + rate * T <= limit`` for every window."""
    windows = list(windows)
    binding = min(windows, key=lambda w: w.limit / w.seconds)
    binding_burst = binding.burst or max(1, int(binding.limit * _LONG_RUN_BURST_FRACTION))
    long_run_rate = (binding.limit - binding_burst) / binding.seconds
    chosen = []
    for w in windows:
        if w.burst is not None:
            burst = w.burst
        elif w is binding:
            burst = binding_burst
        else:
            burst = min(w.limit - 1, max(1, math.floor(w.limit - long_run_rate * w.seconds)))
        chosen.append((w, burst))
    return chosen


class _LeakyWindow:
    """A leaky bucket of ``capacity`` draining ``rate`` per second, for one window."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, capacity: int, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.level = 0.0
        self.updated = 0.0

    def _drain(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one more request fits."""
        self._drain(now)
        return max(0.0, (self.level + 1 - self.capacity) / self.rate)

    def take(self, now: float) -> None:
        self._drain(now)
        self.level += 1


class _Bucket:
    """Several windows that every request of one API spends together, plus a 429 pause."""

    def __init__(self, name: BucketName, windows: Iterable[Window]) -> None:
        self.name: BucketName = name
        self._windows = _bursts(windows)
        self._leaky = [
            _LeakyWindow(burst, (w.limit - burst) / w.seconds) for w, burst in self._windows
        ]
        self._longest = max(w.seconds for w, _ in self._windows)
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self.lock = anyio.Lock()

    def wait(self, now: float) -> float:
        """Seconds until this bucket admits one more request (a pause counts too)."""
        return max(self._paused_until - now, *(w.wait(now) for w in self._leaky))

    def take(self, now: float) -> None:
        for window in self._leaky:
            window.take(now)
        self._sent.append(now)
        self._forget_before(now - self._longest)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _forget_before(self, cutoff: float) -> None:
        while self._sent and self._sent[0] <= cutoff:
            self._sent.popleft()

    def status(self) -> BucketStatus:
        now = time.monotonic()
        self._forget_before(now - self._longest)
        windows = []
        for w, _ in sorted(self._windows, key=lambda wb: -wb[0].seconds):
            used = sum(1 for t in reversed(self._sent) if t > now - w.seconds)
            windows.append(WindowStatus(w.limit, w.seconds, used, max(0, w.limit - used)))
        return BucketStatus(self.name, tuple(windows), max(0.0, self._paused_until - now))


class RateLimiter:
    """The buckets of one client, shared by every task that uses it.

    ``RateLimiter(None)`` limits nothing (a server 429 is still honoured by the retry logic).
    """

    def __init__(self, config: RateLimitConfig | None) -> None:
        self.config = config
        self._buckets: dict[BucketName, _Bucket] = (
            {name: _Bucket(name, ws) for name, ws in config.windows().items()} if config else {}
        )

    @property
    def enabled(self) -> bool:
        """Whether client-side limits are on."""
        return bool(self._buckets)

    async def acquire(self, names: Iterable[BucketName]) -> None:
        """Wait until every window of every named bucket admits one more request at the same
        instant, then spend it in all of them at that instant.

        Taking capacity window by window, waiting in between, would stamp earlier windows
        with times before the request actually leaves; such stale stamps let sends bunch up
        and break a window the server counts. Capacity only grows while a task waits, and
        each bucket's lock (FIFO) keeps others from taking it, so once the last bucket admits
        the request, all of them do. A cancelled wait takes nothing.
        """
        buckets = [b for n in names if (b := self._buckets.get(n)) is not None]
        async with contextlib.AsyncExitStack() as held:
            for bucket in buckets:
                await held.enter_async_context(bucket.lock)
                # A loop, not an event: a 429 may push a pause later while we sleep.
                while (wait := bucket.wait(time.monotonic())) > 0:  # noqa: ASYNC110
                    await anyio.sleep(wait)
            now = time.monotonic()
            while (wait := max((b.wait(now) for b in buckets), default=0.0)) > 0:
                await anyio.sleep(wait)  # only if a 429 paused an earlier bucket meanwhile
                now = time.monotonic()
            for bucket in buckets:
                bucket.take(now)

    def pause(self, names: Iterable[BucketName], seconds: float) -> None:
        """Hold the named buckets for ``seconds`` (after a server 429), for every task."""
        for name in names:
            bucket = self._buckets.get(name)
            if bucket is not None:
                bucket.pause(seconds)

    def status(self) -> dict[BucketName, BucketStatus]:
        """Each bucket's use per window and its pause, by bucket name."""
        return {name: bucket.status() for name, bucket in self._buckets.items()}
