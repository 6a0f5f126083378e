"""Client-side rate limiting: per-API buckets, each enforcing several windows at once.

Each window is an exact sliding window: a request is admitted only while fewer than ``limit``
requests were admitted in the last ``seconds``. That is the bound a server counts, so no window
of the client's ever holds more than the server allows, whatever the mix of tasks; and it admits
a request the moment a slot frees, so bursts go at the server's pace and a long job uses the
whole hourly budget.

Why not token/leaky buckets: a bucket of capacity ``C`` refilling ``C`` per ``T`` lets ``2C``
through in some window ``T``. Sizing it safely (burst + rate * T <= limit) trades the burst
against the long-run rate: with a 2% burst a job gets 98% of its budget, and a short window
sized for big bursts throttles everything after them (the demo ran at 6 requests/s after 94).
A sliding window has neither cost; it keeps one timestamp per admitted request (at most
``limit``, 5,000 for the external hour).

The server counts a request when it arrives, somewhere between the moment the client sent it
and the moment the answer came back. So a request holds its slot from when it is sent until a
full window after its answer: the next request that needs the slot cannot arrive inside the
server's window, however the network delays either of them. (Stamping only the send time let
loopback jitter through: 23 of 1,077 requests got 429s in ``benchmarks/bench_ratelimit.py``; and
freeing the slot of a request still in flight a window after sending cost 2 of 1,100.)

A request spends every window of its buckets at one instant (see :meth:`RateLimiter.acquire`):
taking windows one after another, each with its own wait, stamps the earlier ones too early and
lets the server's windows overflow (what ``aiolimiter``'s limiters would do, so it is not used).
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
    "Lease",
    "RateLimitConfig",
    "RateLimiter",
    "Window",
    "WindowStatus",
]

BucketName = Literal["standard", "external", "smart"]


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long window."""

    limit: int
    seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ConfigurationError(
                f"a rate window needs limit >= 1 and seconds > 0, got {self.limit}/{self.seconds}s"
            )


def _vendor(per_hour: int, per_minute: int, per_second: int) -> tuple[Window, ...]:
    return (Window(per_hour, 3600.0), Window(per_minute, 60.0), Window(per_second, 1.0))


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The windows of each bucket. Defaults are the vendor's published limits per API key."""

    standard: tuple[Window, ...] = field(default_factory=lambda: _vendor(1000, 100, 10))
    external: tuple[Window, ...] = field(default_factory=lambda: _vendor(5000, 200, 20))
    smart: tuple[Window, ...] = field(default_factory=lambda: _vendor(100, 10, 2))

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


_IN_FLIGHT = math.inf


class SlidingWindow:
    """The last ``limit`` requests, each until ``seconds`` after its stamp.

    A stamp is a one-item list so that :class:`Lease` can set it when the answer arrives; a
    request still in flight is stamped infinitely late, so it holds its slot however long it
    takes. Stamps then need not be in order; only the oldest is checked for expiry, which can
    make a task wait a little longer than needed (answers come back nearly in order), never
    less.
    """

    __slots__ = ("seconds", "stamps", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self.seconds = window.seconds
        self.stamps: deque[list[float]] = deque()

    def _expire(self, now: float) -> None:
        while self.stamps and self.stamps[0][0] + self.seconds <= now:
            self.stamps.popleft()

    def wait(self, now: float) -> float:
        """Seconds until one more request fits."""
        self._expire(now)
        if len(self.stamps) < self.window.limit:
            return 0.0
        return self.stamps[0][0] + self.seconds - now

    def take(self, now: float, *, in_flight: bool = False) -> list[float]:
        """Count one request at ``now`` (or, ``in_flight``, until its lease is released)."""
        stamp = [_IN_FLIGHT if in_flight else now]
        self.stamps.append(stamp)
        return stamp

    def status(self, now: float) -> WindowStatus:
        self._expire(now)
        used = len(self.stamps)
        limit = self.window.limit
        return WindowStatus(limit, self.window.seconds, used, max(0, limit - used))


class _Bucket:
    """Several windows that every request of one API spends together, plus a 429 pause."""

    def __init__(self, name: BucketName, windows: Iterable[Window]) -> None:
        self.name: BucketName = name
        self.windows = [SlidingWindow(w) for w in sorted(windows, key=lambda w: -w.seconds)]
        self.paused_until = 0.0
        self.lock = anyio.Lock()

    def wait(self, now: float) -> float:
        """Seconds until this bucket admits one more request (a pause counts too)."""
        return max(self.paused_until - now, *(w.wait(now) for w in self.windows))

    def take(self) -> list[list[float]]:
        return [window.take(0.0, in_flight=True) for window in self.windows]

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def status(self) -> BucketStatus:
        now = time.monotonic()
        return BucketStatus(
            self.name,
            tuple(w.status(now) for w in self.windows),
            max(0.0, self.paused_until - now),
        )


class Lease:
    """One request's slots, held while it is in flight. :meth:`release` stamps them with the
    moment its answer arrived, so they stay taken for a full window after the last moment the
    server can have counted the request."""

    __slots__ = ("_limiter", "_stamps")

    def __init__(self, stamps: list[list[float]], limiter: RateLimiter) -> None:
        self._stamps = stamps
        self._limiter = limiter

    def release(self) -> None:
        """Call when the answer (or the failure) has arrived."""
        now = time.monotonic()
        for stamp in self._stamps:
            stamp[0] = now
        self._limiter._answered()


class RateLimiter:
    """The buckets of one client, shared by every task that uses it.

    ``RateLimiter(None)`` limits nothing (a server 429 is still honoured by the retry logic).
    """

    def __init__(self, config: RateLimitConfig | None) -> None:
        self.config = config
        self._buckets: dict[BucketName, _Bucket] = (
            {name: _Bucket(name, windows) for name, windows in config.windows().items()}
            if config
            else {}
        )
        self._answer: anyio.Event | None = None

    @property
    def enabled(self) -> bool:
        """Whether client-side limits are on."""
        return bool(self._buckets)

    async def acquire(self, names: Iterable[BucketName]) -> Lease:
        """Wait until every window of every named bucket admits one more request at the same
        instant, then spend it in all of them at that instant. Release the returned lease when
        the answer (or the failure) arrives.

        Capacity only grows while a task waits (old stamps expire), and each bucket's lock
        (FIFO) keeps other tasks from taking it meanwhile, so once the last bucket admits the
        request, all of them do. A cancelled wait takes nothing.
        """
        buckets = [b for n in names if (b := self._buckets.get(n)) is not None]
        async with contextlib.AsyncExitStack() as held:
            for bucket in buckets:
                await held.enter_async_context(bucket.lock)
                while (wait := bucket.wait(time.monotonic())) > 0:
                    await self._sleep(wait)
            while (wait := max((b.wait(time.monotonic()) for b in buckets), default=0.0)) > 0:
                await self._sleep(wait)  # only if a 429 paused an earlier bucket meanwhile
            return Lease([stamp for bucket in buckets for stamp in bucket.take()], self)

    async def _sleep(self, wait: float) -> None:
        """Sleep ``wait`` seconds; an infinite wait (a slot held by a request in flight) ends
        when some request's answer arrives."""
        if wait != _IN_FLIGHT:
            await anyio.sleep(wait)
            return
        if self._answer is None:
            self._answer = anyio.Event()
        await self._answer.wait()

    def _answered(self) -> None:
        if self._answer is not None:
            self._answer.set()
            self._answer = None

    def pause(self, names: Iterable[BucketName], seconds: float) -> None:
        """Hold the named buckets for ``seconds`` (after a server 429), for every task."""
        for name in names:
            bucket = self._buckets.get(name)
            if bucket is not None:
                bucket.pause(seconds)

    def status(self) -> dict[BucketName, BucketStatus]:
        """Each bucket's use per window (longest first) and its pause, by bucket name."""
        return {name: bucket.status() for name, bucket in self._buckets.items()}
