"""The default limiter: exact sliding windows kept in this process.

Each window is an exact sliding window: a request is admitted only while fewer than ``limit``
requests were counted in the last ``seconds``. That is the bound a server counts, so no window
of the client's ever holds more than the server allows, whatever the mix of tasks; and it admits
a request the moment a slot frees, so bursts go at the server's pace and a long job uses the
whole hourly budget.

Why not token/leaky buckets: a bucket of capacity ``C`` refilling ``C`` per ``T`` lets ``2C``
through in some window ``T``. Sizing it safely (burst + rate * T <= limit) trades the burst
against the long-run rate: with a 2% burst a job gets 98% of its budget, and a short window
sized for big bursts throttles everything after them. A sliding window has neither cost; it
keeps one entry per counted request (at most ``limit``, 5,000 for the external hour).

The server counts a request when it arrives, somewhere between the moment the client sent it
and the moment the answer came back. So a request holds its slot from when it is sent until a
full window after its answer: the next request that needs the slot cannot arrive inside the
server's window, however the network delays either of them. A request spends every window of
its buckets at one instant: taking windows one after another, each with its own wait, stamps
the earlier ones too early and lets the server's windows overflow.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence

import anyio

from ..errors import RateLimitWaitError
from ._clock import Clock, MonotonicClock, within
from ._config import (
    BUCKET_NAMES,
    BucketName,
    BucketStatus,
    RateLimitConfig,
    Window,
    WindowStatus,
)
from ._protocol import BaseRateLimiter
from ._waits import QUEUED, check_wait, wait_error

__all__ = ["MemoryRateLimiter"]

_RANK = {name: rank for rank, name in enumerate(BUCKET_NAMES)}
_PAUSED = "paused by the server's 429"
_ORDER = itertools.count()


class _Stamp:
    """One request counted in one window; ``deadline`` is the latest its answer can come
    (``hold_for`` after sending; infinity without one)."""

    __slots__ = ("deadline", "in_flight")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.in_flight = True


class _SlidingWindow:
    """The requests counted in one window.

    Answered requests are kept as the moments they stop counting (their answer plus a
    window); requests in flight by their deadline. Either kind leaves as soon as it stops
    counting, whatever the order of the others (answers arrive out of order).
    """

    __slots__ = ("_answered", "_flying", "_in_flight", "label", "limit", "seconds")

    def __init__(self, window: Window) -> None:
        self.limit = window.limit
        self.seconds = window.seconds
        self.label = str(window)
        self._answered: list[float] = []  # heap of expiry times
        self._flying: list[tuple[float, int, _Stamp]] = []  # heap by deadline; answered linger
        self._in_flight = 0

    def add(self, deadline: float) -> _Stamp:
        stamp = _Stamp(deadline)
        heapq.heappush(self._flying, (deadline, next(_ORDER), stamp))
        self._in_flight += 1
        return stamp

    def answer(self, stamp: _Stamp, now: float) -> None:
        """The request's answer came at ``now`` (or at its deadline, if that passed first)."""
        if not stamp.in_flight:
            return
        stamp.in_flight = False
        self._in_flight -= 1
        heapq.heappush(self._answered, min(stamp.deadline, now) + self.seconds)
        if len(self._flying) > 2 * self._in_flight + 16:  # drop answered entries now and then
            self._flying = [entry for entry in self._flying if entry[2].in_flight]
            heapq.heapify(self._flying)

    def occupy(self, count: int, until: float) -> None:
        """``count`` answered requests that stop counting at ``until``."""
        for _ in range(count):
            heapq.heappush(self._answered, until)

    def _expire(self, now: float) -> None:
        answered, flying = self._answered, self._flying
        while answered and answered[0] <= now:
            heapq.heappop(answered)
        while flying:
            deadline, _, stamp = flying[0]
            if stamp.in_flight and deadline + self.seconds > now:
                break
            heapq.heappop(flying)
            if stamp.in_flight:  # unanswered past its deadline and a window: counted no more
                stamp.in_flight = False
                self._in_flight -= 1

    def used(self, now: float) -> int:
        self._expire(now)
        return len(self._answered) + self._in_flight

    def wait(self, now: float) -> tuple[float, float]:
        """Seconds until one more request fits: at most, and at least (a request in flight
        can be answered any moment, freeing its slot one window later)."""
        if self.used(now) < self.limit:
            return 0.0, 0.0
        most = least = self._answered[0] if self._answered else math.inf
        if self._flying:  # after _expire, the first is in flight
            deadline = self._flying[0][0]
            most = min(most, deadline + self.seconds)
            least = min(least, min(deadline, now) + self.seconds)
        return most - now, least - now

    def status(self, now: float) -> WindowStatus:
        used = self.used(now)
        return WindowStatus(self.limit, self.seconds, used, max(0, self.limit - used))


class _Bucket:
    """Several windows that every request of one API spends together, plus a 429 pause."""

    def __init__(self, name: BucketName, windows: Sequence[Window]) -> None:
        self.name: BucketName = name
        self.windows = [_SlidingWindow(w) for w in sorted(windows, key=lambda w: -w.seconds)]
        self.paused_until = -math.inf
        self.lock = anyio.Lock()

    def has_room(self, now: float) -> bool:
        return self.paused_until <= now and all(w.used(now) < w.limit for w in self.windows)

    def blocker(self, now: float) -> tuple[float, float, str]:
        """The longest wait of this bucket (at most, at least) and what causes it."""
        most = least = self.paused_until - now
        what = _PAUSED
        for window in self.windows:
            w_most, w_least = window.wait(now)
            if w_least > least or (w_least == least and w_most > most):
                most, least, what = w_most, w_least, window.label
        return most, least, what


def _blocker(buckets: Sequence[_Bucket], now: float) -> tuple[float, float, str, str]:
    """The longest wait among ``buckets`` (at most, at least), its bucket and its cause."""
    most = least = 0.0
    bucket = what = ""
    for b in buckets:
        b_most, b_least, b_what = b.blocker(now)
        if b_least > least or (b_least == least and b_most > most):
            most, least, bucket, what = b_most, b_least, b.name, b_what
    return most, least, bucket, what


class _MemoryLease:
    __slots__ = ("_limiter", "_stamps")

    def __init__(self, limiter: MemoryRateLimiter, stamps: list[tuple[_SlidingWindow, _Stamp]]):
        self._limiter = limiter
        self._stamps = stamps

    async def release(self) -> None:
        now = self._limiter.clock.now()
        for window, stamp in self._stamps:
            window.answer(stamp, now)
        self._limiter._answered()


class _FreeLease:
    __slots__ = ()

    async def release(self) -> None:
        return None


_FREE = _FreeLease()


class MemoryRateLimiter(BaseRateLimiter):
    """Exact sliding windows per bucket, shared by every task of one client in one process.

    Requests that cannot go at once queue first come, first served per bucket; a request that
    needs two buckets (smart reordering and its API's) queues for the scarcer one first and
    joins the other's queue only once the scarcer one has room, so it never holds up requests
    that need only the other. ``MemoryRateLimiter(None)`` counts nothing but still honours a
    server 429's pause. ``clock`` is where time comes from (a :class:`ManualClock` in tests).
    """

    def __init__(
        self, config: RateLimitConfig | None = None, *, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.clock: Clock = clock or MonotonicClock()
        windows = config.windows() if config is not None else {}
        self._buckets = {name: _Bucket(name, windows.get(name, ())) for name in BUCKET_NAMES}
        self._answer: anyio.Event | None = None

    def _for(self, names: Sequence[BucketName]) -> list[_Bucket]:
        found = {name for name in names if name in self._buckets}
        return [self._buckets[name] for name in sorted(found, key=_RANK.__getitem__)]

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> _MemoryLease | _FreeLease:
        """See :meth:`RateLimiter.acquire`. With room everywhere and nobody queued, it takes
        the slots at once; otherwise it queues (first come, first served per bucket)."""
        chosen = self._for(buckets)
        if not chosen:
            return _FREE
        now = self.clock.now()
        if all(not b.lock.locked() and b.has_room(now) for b in chosen):
            return self._take(chosen, now, hold_for)
        return await self._acquire_queued(chosen, now, max_wait, hold_for)

    async def _acquire_queued(
        self, chosen: list[_Bucket], start: float, max_wait: float | None, hold_for: float | None
    ) -> _MemoryLease:
        most, least, bucket, what = _blocker(chosen, start)
        check_wait(bucket, what, least, max_wait)
        announced = self.waiting(bucket, what, least)
        deadline = None if max_wait is None else start + max_wait
        held: list[_Bucket] = []
        try:
            for b in chosen:
                if not await within(self.clock, deadline, b.lock.acquire):
                    raise self._queued_wait_error(chosen, b, start, max_wait)
                held.append(b)
                while True:  # the buckets queued for so far (the scarcest first) need room
                    now = self.clock.now()
                    most, least, bucket, what = _blocker(held, now)
                    if most <= 0:
                        break
                    left = None if deadline is None else deadline - now
                    if left is not None and least > left:
                        assert max_wait is not None
                        raise wait_error(bucket, what, least + (now - start), max_wait)
                    announced = announced or self.waiting(bucket, what, least)
                    if most > least:  # a request in flight: its answer may free the slot sooner
                        until = now + (most if left is None else min(most, left))
                        await within(self.clock, until, self._answer_event().wait)
                    else:
                        await self.clock.sleep(least)
            return self._take(chosen, self.clock.now(), hold_for)
        finally:
            for b in reversed(held):
                b.lock.release()

    def _queued_wait_error(
        self, chosen: list[_Bucket], at: _Bucket, start: float, max_wait: float | None
    ) -> RateLimitWaitError:
        assert max_wait is not None
        now = self.clock.now()
        _, least, bucket, what = _blocker(chosen, now)
        if least <= 0:
            bucket, what = at.name, QUEUED
        return wait_error(bucket, what, (now - start) + max(least, 0.0), max_wait)

    def record(self, buckets: Sequence[BucketName], hold_for: float | None) -> _MemoryLease:
        """Count a request sent now without waiting, even past a limit (a shared limiter
        records its own requests here, for the windows it falls back to)."""
        return self._take(self._for(buckets), self.clock.now(), hold_for)

    def used(self, bucket: BucketName) -> dict[float, int]:
        """How many requests each window of ``bucket`` counts now, by its length."""
        now = self.clock.now()
        return {w.seconds: w.used(now) for w in self._buckets[bucket].windows}

    def occupy(self, bucket: BucketName, seconds: float, count: int, until: float) -> None:
        """Count ``count`` requests sent elsewhere in ``bucket``'s window of ``seconds``
        until ``until`` (a shared limiter falling back to these windows: what the others
        had used of the shared window when it was last seen)."""
        for window in self._buckets[bucket].windows:
            if window.seconds == seconds:
                window.occupy(count, until)

    def _take(self, chosen: list[_Bucket], now: float, hold_for: float | None) -> _MemoryLease:
        deadline = math.inf if hold_for is None else now + hold_for
        stamps = [(window, window.add(deadline)) for b in chosen for window in b.windows]
        return _MemoryLease(self, stamps)

    def _answer_event(self) -> anyio.Event:
        if self._answer is None:
            self._answer = anyio.Event()
        return self._answer

    def _answered(self) -> None:
        if self._answer is not None:
            self._answer.set()
            self._answer = None

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        """Hold the named buckets for ``seconds`` (after a server 429), for every task."""
        until = self.clock.now() + seconds
        for bucket in self._for(buckets):
            bucket.paused_until = max(bucket.paused_until, until)

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        """Each bucket's use per window (longest first) and its pause, by bucket name."""
        now = self.clock.now()
        return {
            b.name: BucketStatus(
                b.name, tuple(w.status(now) for w in b.windows), max(0.0, b.paused_until - now)
            )
            for b in self._buckets.values()
            if b.windows or self.config is None
        }

    async def aclose(self) -> None:
        """Nothing to release."""
