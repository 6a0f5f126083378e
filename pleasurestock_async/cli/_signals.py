"""Ctrl-C and SIGTERM.

:func:`install` runs first thing in the command line, so no signal ever gets Python's default
handling (a traceback, or a silent exit -15): before a command runs (while options are read)
it ends the process; while a command runs (:func:`run_command`), it cancels the command at the
event loop's next turn; either way the process exits 130/143 with one line. While a push or a
sync runs, :func:`interruptible` takes over: the first signal stops it cleanly (no new batch,
answers in flight waited for, everything recorded), a second one aborts at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TypeVar

import anyio
import sniffio

from ._common import EXIT_SIGINT, EXIT_SIGTERM

__all__ = [
    "Interrupt",
    "StoppedBySignalError",
    "exit_code_of",
    "install",
    "interruptible",
    "name_of",
    "run_command",
]

T = TypeVar("T")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []
_installed: list[bool] = []  # whether install() ran (in the command line, not in a library)
_commands: list[tuple[asyncio.AbstractEventLoop, anyio.CancelScope, list[int]]] = []
"""The command running now: its event loop, its cancel scope, the signals it got."""


class StoppedBySignalError(Exception):
    """A command was cancelled by SIGINT or SIGTERM (``signum``)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {name_of(signum)}")


def name_of(signum: int | None) -> str:
    """``Ctrl-C`` or ``SIGTERM``."""
    return "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"


def exit_code_of(signum: int | None) -> int:
    """130 after SIGINT, 143 after SIGTERM."""
    return EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT


def _early(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if _commands:  # a command runs: cancel it between two steps of its event loop
        loop, scope, got = _commands[-1]
        got.append(signum)
        if len(got) > 1:
            os._exit(exit_code_of(got[0]))
        loop.call_soon_threadsafe(scope.cancel)
        return
    raise KeyboardInterrupt  # nothing runs yet: main() reports it


async def run_command(command: Callable[[], Awaitable[T]]) -> T:
    """Run a command so that a signal cancels it (:class:`StoppedBySignalError`)."""
    if sniffio.current_async_library() != "asyncio":  # pragma: no cover - the CLI is asyncio
        return await command()
    got: list[int] = []
    with anyio.CancelScope() as scope:
        _commands.append((asyncio.get_running_loop(), scope, got))
        try:
            return await command()
        finally:
            _commands.pop()
    raise StoppedBySignalError(got[0] if got else signal.SIGINT)


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
