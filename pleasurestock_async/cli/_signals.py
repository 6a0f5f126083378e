"""Ctrl-C and SIGTERM.

:func:`install` runs first thing in the command line: a signal that lands before a push or a
sync has started (while Python loads, while options are read) ends the process with 130/143
and a line, never a traceback or a silent kill. While a push or a sync runs,
:func:`interruptible` takes over: the first signal stops it cleanly (no new batch, answers in
flight waited for, everything recorded), a second one aborts at once.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TypeVar

import anyio

from ._common import EXIT_SIGINT, EXIT_SIGTERM

__all__ = ["Interrupt", "exit_code_of", "install", "interruptible", "name_of"]

T = TypeVar("T")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []
_installed: list[bool] = []  # whether install() ran (in the command line, not in a library)


def name_of(signum: int | None) -> str:
    """``Ctrl-C`` or ``SIGTERM``."""
    return "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"


def exit_code_of(signum: int | None) -> int:
    """130 after SIGINT, 143 after SIGTERM."""
    return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT


def _early(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise KeyboardInterrupt  # unwinds whatever runs; the command line's main() reports it


def install() -> None:
    """Handle SIGINT and SIGTERM from now on (the command line's first step)."""
    for signum in _SIGNALS:
        signal.signal(signum, _early)
    _installed[:] = [True]


def early_signal() -> int:
    """The signal that interrupted the process outside a push or a sync (SIGINT if none was
    recorded: a plain KeyboardInterrupt)."""
    return _received[-1] if _received else signal.SIGINT


@dataclass
class Interrupt:
    """The ``stop`` event handed to the SDK, and which signal set it."""

    stop: anyio.Event = field(default_factory=anyio.Event)
    signum: int | None = None

    @property
    def exit_code(self) -> int:
        """130 after SIGINT, 143 after SIGTERM."""
        return exit_code_of(self.signum)

    @property
    def name(self) -> str:
        """``Ctrl-C`` or ``SIGTERM``."""
        return name_of(self.signum)


async def interruptible(work: Callable[[Interrupt], Awaitable[T]], say: Callable[[str], None]) -> T:
    """Run ``work`` with SIGINT and SIGTERM setting its stop event (a second signal ends the
    process at once: what was in flight is recorded as possibly stored, as after a crash).
    ``say`` prints a line on its own (above a progress bar)."""
    state = Interrupt()

    async def watch(ready: anyio.Event) -> None:
        with anyio.open_signal_receiver(*_SIGNALS) as signals:
            ready.set()
            async for signum in signals:
                if state.signum is None:
                    state.signum = signum
                    state.stop.set()
                    again = (
                        "Press Ctrl-C again"
                        if signum == signal.SIGINT
                        else "A second SIGINT or SIGTERM"
                    )
                    say(
                        f"{state.name}: stopping; no new batch is sent and answers in flight "
                        f"are waited for (up to 30 s). {again} aborts at once."
                    )
                    continue
                say(
                    "aborted: batches that were in flight are recorded as possibly stored; "
                    "rerun the same command to see them"
                )
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(state.exit_code)

    outcome: list[T] = []
    failure: list[Exception] = []
    try:
        async with anyio.create_task_group() as tg:
            ready = anyio.Event()
            tg.start_soon(watch, ready)
            await ready.wait()
            try:
                outcome.append(await work(state))
            except Exception as exc:  # re-raised below, outside the task group (no group wrapper)
                failure.append(exc)
            finally:
                tg.cancel_scope.cancel()
    finally:
        if _installed:  # the event loop gave the signals back to their defaults: take them
            install()
    if failure:
        raise failure[0]
    return outcome[0]
