"""How long each test sleeps in real time, and a budget for it.

A test that sleeps in real time depends on the machine: on a busy one, the thing it waits for
may not have happened yet, and every second slept is a second of the suite. Tests outside the
``slow`` marker may sleep at most :data:`BUDGET` seconds in all; time-based behaviour runs on a
simulated clock (``ManualClock``) or waits for an event instead.

Counted in the test's body (not in its fixtures): ``time.sleep``, ``asyncio.sleep``,
``trio.sleep`` and ``anyio.sleep`` called from the test's own thread, including by the SDK and
an in-process sandbox (servers in threads of their own, such as uvicorn, are not the test's
sleep; nor is ``subprocess`` polling a child). A sleep inside another counted sleep counts once.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
import sniffio

__all__ = ["BUDGET", "SleepMeter", "meter"]

BUDGET = 0.2
"""Seconds a test outside the ``slow`` marker may sleep in real time, in all."""

PROPERTY = "real_sleep_seconds"

_inside = contextvars.ContextVar("_inside_metered_sleep", default=False)


class SleepMeter:
    """Measures the real time covered by the sleeps of one thread while :meth:`watching`.

    A sleep counts from its start for the time it asked for, once it ran to its end: a sleep
    cut short (cancelled because what it waited for happened) did not set the pace, and neither
    did any sleep of a task that was in the end cancelled in a sleep (a display refreshed on a
    timer while the work runs, stopped when the work is done). Sleeps that overlap (tasks
    sleeping side by side) count once, as the time they cover together.
    """

    def __init__(self) -> None:
        self._spans: list[tuple[float, float, str, object]] = []
        self._cancelled: set[object] = set()
        self._thread: int | None = None

    def _spans_that_count(self) -> list[tuple[float, float, str, object]]:
        return [span for span in self._spans if span[3] not in self._cancelled]

    @property
    def total(self) -> float:
        """Seconds covered by the finished sleeps so far."""
        covered = 0.0
        reach = -math.inf
        for start, end, _, _ in sorted(self._spans_that_count(), key=lambda s: s[:2]):
            if end > reach:
                covered += end - max(start, reach)
                reach = end
        return covered

    def places(self) -> list[tuple[float, str]]:
        """Seconds asked for per place in the code, most first."""
        asked: dict[str, float] = {}
        for start, end, where, _ in self._spans_that_count():
            asked[where] = asked.get(where, 0.0) + end - start
        return sorted(((s, w) for w, s in asked.items()), reverse=True)

    def _counts(self, seconds: object) -> bool:
        return (
            self._thread == threading.get_ident()
            and not _inside.get()
            and isinstance(seconds, int | float)
            and 0 < seconds < math.inf
        )

    def _sync(self, original: Callable[[float], None]) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            start = time.monotonic()
            original(seconds)
            caller = sys._getframe(1).f_globals.get("__name__")
            # subprocess polls a child with short sleeps: waiting for a process is not a sleep
            if self._counts(seconds) and caller != "subprocess":
                self._spans.append((start, start + seconds, _caller(), None))

        return sleep

    def _async(
        self, original: Callable[..., Coroutine[Any, Any, Any]]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
            if not self._counts(seconds):
                return await original(seconds, *args, **kwargs)
            start = time.monotonic()
            task = _current_task()
            token = _inside.set(True)
            try:
                done = await original(seconds, *args, **kwargs)
            except BaseException:  # cancelled: this task's sleeps did not set the pace
                self._cancelled.add(task)
                raise
            finally:
                _inside.reset(token)
            self._spans.append((start, start + seconds, _caller(), task))
            return done

        return sleep

    @contextmanager
    def watching(self) -> Iterator[SleepMeter]:
        """Measure the sleeps of the calling thread until the block ends."""
        import trio

        self._spans = []
        self._cancelled = set()
        self._thread = threading.get_ident()
        modules: list[Any] = [time, asyncio, anyio, trio]
        originals = [(module, module.sleep) for module in modules]
        for module, original in originals:
            wrapped = self._sync(original) if module is time else self._async(original)
            module.sleep = wrapped
        try:
            yield self
        finally:
            for module, original in originals:
                module.sleep = original
            self._thread = None


_LIBRARIES = ("asyncio", "anyio", "trio", "sniffio", "contextlib", __name__)


def _caller() -> str:
    """The first frame outside the event-loop libraries: where the sleep was asked for."""
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] not in _LIBRARIES and module != __name__:
            return f"{module}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def _current_task() -> object:
    """The running task (asyncio's or trio's), to tell one task's sleeps from another's."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_task()
    return asyncio.current_task()


meter = SleepMeter()
"""The suite's one meter (each test process runs one test at a time)."""


def record(item: pytest.Item, seconds: float) -> None:
    """Keep ``seconds`` with the test's report (it reaches the controller under xdist)."""
    item.user_properties.append((PROPERTY, round(seconds, 3)))


def over_budget(item: pytest.Item, measured: SleepMeter) -> str | None:
    """Why ``item`` broke the budget, or None."""
    seconds = measured.total
    if item.get_closest_marker("slow") is not None or seconds <= BUDGET:
        return None
    where = "; ".join(f"{s:.2f} s at {w}" for s, w in measured.places()[:4])
    return (
        f"{item.nodeid} slept {seconds:.2f} s in real time (budget {BUDGET} s outside the slow "
        f"marker): wait on an event or a ManualClock instead, or mark it slow. Asked for: {where}"
    )


def summary(reports: list[tuple[str, float]], write: Callable[[str], None]) -> None:
    """A line on the real sleeps of the run, and the longest sleepers."""
    sleepers = sorted(((s, n) for n, s in reports if s > 0), reverse=True)
    total = sum(s for s, _ in sleepers)
    write(f"real sleep: {total:.2f} s in {len(sleepers)} tests (budget {BUDGET} s per test)")
    for seconds, nodeid in sleepers[:5]:
        write(f"  {seconds:6.2f} s  {nodeid}")
