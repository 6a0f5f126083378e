"""Where a limiter's time comes from: the monotonic clock, or a manual one for tests."""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["Clock", "ManualClock", "MonotonicClock"]

_TURNS = 8


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
        """``anyio.sleep(seconds)``; a time already past (``seconds`` below 0) is now."""
        await anyio.sleep(max(0.0, seconds))


class ManualClock:
    """Simulated time that moves only when told, for tests of code that waits on limits.

    ``await clock.advance(s)`` moves time forward, wakes every sleeper whose time has come and
    lets all tasks run until they block again; ``await clock.run(until=t)`` jumps from one
    sleeper's wake-up time to the next until ``t``. Code that waits on something other than
    this clock (a call to a server) marks it with :meth:`busy`, so time stands still meanwhile.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()
        self._busy = 0
        self._idle: anyio.Event | None = None

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

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark work under way that is not a sleep on this clock (a network call):
        :meth:`advance` and :meth:`run` wait for it to end before they move time."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy and self._idle is not None:
                self._idle.set()
                self._idle = None

    async def _settle(self) -> None:
        while True:
            # A few turns of the event loop let woken tasks (and the tasks they wake) run, so
            # the final check rarely finds one still runnable (on asyncio it then polls).
            for _ in range(_TURNS):
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            if not self._busy:
                return
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()


async def within(clock: Clock, until: float | None, wait: Callable[[], Awaitable[object]]) -> bool:
    """Run ``wait()``; False when ``clock`` reached ``until`` first (``wait()`` was then
    cancelled). ``None`` or infinity: no bound."""
    if until is None or until == math.inf:
        await wait()
        return True
    finished = False
    async with anyio.create_task_group() as tg:

        async def alarm(scope: anyio.CancelScope) -> None:
            await clock.sleep(until - clock.now())
            scope.cancel()

        tg.start_soon(alarm, tg.cancel_scope)
        await wait()
        finished = True
        tg.cancel_scope.cancel()
    return finished
