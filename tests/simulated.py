"""Running code that waits on time on a simulated clock, so a wait of seconds takes none.

:func:`on_clock` runs a coroutine function while moving a :class:`ManualClock` from one
sleeper's wake-up time to the next until it finishes: the order of events is what real time
would give, and the machine's speed changes nothing. Code that waits on something other than
the clock (a socket, a thread) marks it with ``clock.busy()``, or is given time by
:func:`on_clock`'s bounded real-time patience.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from pleasurestock_async.ratelimit import ManualClock

__all__ = ["on_clock"]

T = TypeVar("T")

MAX_STEPS = 100_000
"""Wake-ups a run may take: a loop on the clock that never ends fails, not hangs."""


async def on_clock(
    clock: ManualClock, work: Callable[[], Awaitable[T]], *, until: float = 10.0**9
) -> T:
    """Run ``work()`` to its end on ``clock``, jumping from wake-up to wake-up (at most until
    ``until`` on the clock); its result, or its exception as raised."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = anyio.Event()

    async def body() -> None:
        try:
            outcome.append(await work())
        except Exception as exc:  # re-raised below as itself, not in an exception group
            failure.append(exc)
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(body)
        for _ in range(MAX_STEPS):
            await clock.run(until=clock.now())  # let every task run until it blocks
            if done.is_set():
                break
            wake = clock.next_wakeup()
            if wake is None or wake > until:
                await _wait_elsewhere(clock, done, until)
                continue
            await clock.run(until=wake)
        else:  # pragma: no cover - only for a clock loop that never ends
            raise AssertionError(f"work did not end within {MAX_STEPS} wake-ups")
    if failure:
        raise failure[0]
    return outcome[0]


async def _wait_elsewhere(clock: ManualClock, done: anyio.Event, until: float) -> None:
    """Work blocked on something other than the clock (a socket, a thread): real time, in
    short steps, until it ends or sleeps on the clock again (at most :data:`PATIENCE` s)."""
    with anyio.move_on_after(PATIENCE) as scope:
        # no event tells of a new sleeper on the clock: poll, in short steps
        while not done.is_set() and ((wake := clock.next_wakeup()) is None or wake > until):  # noqa: ASYNC110
            await anyio.sleep(0.005)
    if scope.cancelled_caught:
        raise AssertionError(f"work blocked at t={clock.now():g} on something else")


PATIENCE = 60.0
"""Real seconds work may block on something other than the clock (generous: a busy machine)."""
