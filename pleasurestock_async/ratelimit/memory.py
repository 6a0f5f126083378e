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
keeps one timestamp per counted request (at most ``limit``, 5,000 for the external hour).

The server counts a request when it arrives, somewhere between the moment the client sent it
and the moment the answer came back. So a request holds its slot from when it is sent until a
full window after its answer: the next request that needs the slot cannot arrive inside the
server's window, however the network delays either of them. A request spends every window of
its buckets at one instant: taking windows one after another, each with its own wait, stamps
the earlier ones too early and lets the server's windows overflow.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio

from ._clock import Clock, MonotonicClock
from ._config import (
    BUCKET_NAMES,
    BucketName,
    BucketStatus,
    RateLimitConfig,
    Window,
    WindowStatus,
)
from ._waits import check_wait, log_wait

__all__ = ["MemoryRateLimiter"]

_RANK = {name: rank for rank, name in enumerate(BUCKET_NAMES)}
_PAUSED = "paused by the server's 429"


class _Stamp:
    """One counted request in one window: when its answer came, or, while it is in flight,
    the latest moment it can come (``hold_for`` after sending; infinity without one)."""

    __slots__ = ("in_flight", "t")

    def __init__(self, t: float) -> None:
        self.t = t
        self.in_flight = True


class _SlidingWindow:
    """The requests counted in one window, oldest first.

    Stamps need not be in order (answers arrive out of order); only the oldest is checked for
    expiry, which can make a task wait a little longer than needed, never less.
    """

    __slots__ = ("label", "limit", "seconds", "stamps")

    def __init__(self, window: Window) -> None:
        self.limit = window.limit
        self.seconds = window.seconds
        self.label = str(window)
        self.stamps: deque[_Stamp] = deque()

    def _expire(self, now: float) -> None:
        stamps, seconds = self.stamps, self.seconds
        while stamps and stamps[0].t + seconds <= now:
            stamps.popleft()

    def has_room(self, now: float) -> bool:
        self._expire(now)
        return len(self.stamps) < self.limit

    def wait(self, now: float) -> tuple[float, float]:
        """Seconds until one more request fits: at most, and at least (a request in flight
        can be answered any moment, freeing its slot one window later)."""
        if self.has_room(now):
            return 0.0, 0.0
        head = self.stamps[0]
        most = head.t + self.seconds - now
        return most, (min(most, self.seconds) if head.in_flight else most)

    def status(self, now: float) -> WindowStatus:
        self._expire(now)
        used = len(self.stamps)
        return WindowStatus(self.limit, self.seconds, used, max(0, self.limit - used))


class _Bucket:
    """Several windows that every request of one API spends together, plus a 429 pause."""

    def __init__(self, name: BucketName, windows: Sequence[Window]) -> None:
        self.name: BucketName = name
        self.windows = [_SlidingWindow(w) for w in sorted(windows, key=lambda w: -w.seconds)]
        self.paused_until = -math.inf
        self.lock = anyio.Lock()

    def has_room(self, now: float) -> bool:
        return self.paused_until <= now and all(w.has_room(now) for w in self.windows)

    def blocker(self, now: float) -> tuple[float, float, str]:
        """The longest wait of this bucket (at most, at least) and what causes it."""
        most = least = self.paused_until - now
        what = _PAUSED
        for window in self.windows:
            w_most, w_least = window.wait(now)
            if w_least > least or (w_least == least and w_most > most):
                most, least, what = w_most, w_least, window.label
        return most, least, what


class _MemoryLease:
    __slots__ = ("_limiter", "_stamps")

    def __init__(self, limiter: MemoryRateLimiter, stamps: list[_Stamp]) -> None:
        self._limiter = limiter
        self._stamps = stamps

    async def release(self) -> None:
        now = self._limiter.clock.now()
        for stamp in self._stamps:
            if stamp.in_flight:
                stamp.t = min(stamp.t, now)
                stamp.in_flight = False
        self._limiter._answered()


class _FreeLease:
    __slots__ = ()

    async def release(self) -> None:
        return None


_FREE = _FreeLease()


class MemoryRateLimiter:
    """Exact sliding windows per bucket, shared by every task of one client in one process.

    ``MemoryRateLimiter(None)`` counts nothing but still honours a server 429's pause.
    ``clock`` is where time comes from (a :class:`ManualClock` in tests).
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
        return await self._acquire_queued(chosen, max_wait, hold_for)

    async def _acquire_queued(
        self, chosen: list[_Bucket], max_wait: float | None, hold_for: float | None
    ) -> _MemoryLease:
        start = self.clock.now()
        most, least, bucket, what = self._blocker(chosen, start)
        check_wait(bucket, what, least, max_wait)
        deadline = None if max_wait is None else start + max_wait
        logged = False
        held: list[_Bucket] = []
        try:
            for b in chosen:
                if not await self._within(deadline, b.lock.acquire):
                    waited = self.clock.now() - start
                    check_wait(b.name, "requests queued before this one", waited, max_wait)
                held.append(b)
            while True:
                now = self.clock.now()
                most, least, bucket, what = self._blocker(chosen, now)
                if most <= 0:
                    return self._take(chosen, now, hold_for)
                left = None if deadline is None else deadline - now
                if left is not None and least > left:
                    check_wait(bucket, what, least + (now - start), max_wait)
                if not logged:
                    log_wait(bucket, what, least)
                    logged = True
                if most > least:  # a request in flight: its answer may free the slot sooner
                    until = now + most if left is None else now + min(most, left)
                    await self._within(until, self._answer_event().wait)
                else:
                    await self.clock.sleep(least)
        finally:
            for b in reversed(held):
                b.lock.release()

    @staticmethod
    def _blocker(chosen: list[_Bucket], now: float) -> tuple[float, float, str, str]:
        most = least = 0.0
        bucket = what = ""
        for b in chosen:
            b_most, b_least, b_what = b.blocker(now)
            if b_least > least or (b_least == least and b_most > most):
                most, least, bucket, what = b_most, b_least, b.name, b_what
        return most, least, bucket, what

    def _take(self, chosen: list[_Bucket], now: float, hold_for: float | None) -> _MemoryLease:
        latest = math.inf if hold_for is None else now + hold_for
        stamps = []
        for bucket in chosen:
            for window in bucket.windows:
                stamp = _Stamp(latest)
                window.stamps.append(stamp)
                stamps.append(stamp)
        return _MemoryLease(self, stamps)

    async def _within(self, until: float | None, wait: Callable[[], Awaitable[object]]) -> bool:
        """Run ``wait()``; False when this clock reached ``until`` first (then it was
        cancelled and took nothing)."""
        if until is None or until == math.inf:
            await wait()
            return True
        finished = False
        async with anyio.create_task_group() as tg:

            async def alarm(scope: anyio.CancelScope) -> None:
                await self.clock.sleep(until - self.clock.now())
                scope.cancel()

            tg.start_soon(alarm, tg.cancel_scope)
            await wait()
            finished = True
            tg.cancel_scope.cancel()
        return finished

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
