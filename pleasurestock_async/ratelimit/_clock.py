"""Where a limiter's time comes from: the monotonic clock, or a manual one for tests."""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["Clock", "ManualClock", "MonotonicClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of time in seconds and a way to sleep on it."""

    def now(self) -> float:
        """The current time in seconds (any fixed origin)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class MonotonicClock:
    """Real time: :func:`time.monotonic` and :func:`anyio.sleep`."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``anyio.sleep(seconds)``."""
        await anyio.sleep(seconds)


class ManualClock:
    """Simulated time that moves only when told, for tests of code that waits on limits.

    ``await clock.advance(s)`` moves time forward, wakes every sleeper whose time has come and
    lets all tasks run until they block again; ``await clock.run(until=t)`` jumps from one
    sleeper's wake-up time to the next until ``t``.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The simulated time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Block until the clock has been advanced by ``seconds``."""
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), event))
        await event.wait()

    def next_wakeup(self) -> float | None:
        """When the earliest sleeper wakes, if any sleeps."""
        while self._sleepers and self._sleepers[0][2].is_set():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and let every task run until it blocks."""
        await self._settle()
        self._now += seconds
        await self._wake_due()

    async def run(self, *, until: float) -> None:
        """Jump from wake-up to wake-up (letting tasks run in between) until ``until``."""
        await self._settle()
        while (wake := self.next_wakeup()) is not None and wake <= until:
            self._now = max(self._now, wake)
            await self._wake_due()
        self._now = max(self._now, until)
        await self._wake_due()

    async def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            heapq.heappop(self._sleepers)[2].set()
        await self._settle()

    @staticmethod
    async def _settle() -> None:
        await anyio.wait_all_tasks_blocked()
