"""Ctrl-C and SIGTERM during a push or a sync: the first stops cleanly (no new batch, answers
in flight waited for, everything recorded), a second one aborts at once."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from ._common import EXIT_SIGINT, EXIT_SIGTERM

__all__ = ["Interrupt", "interruptible"]

T = TypeVar("T")


@dataclass
class Interrupt:
    """The ``stop`` event handed to the SDK, and which signal set it."""

    stop: anyio.Event = field(default_factory=anyio.Event)
    signum: int | None = None

    @property
    def exit_code(self) -> int:
        """130 after SIGINT, 143 after SIGTERM."""
        return EXIT_SIGTERM if self.signum == signal.SIGTERM else EXIT_SIGINT

    @property
    def name(self) -> str:
        """``Ctrl-C`` or ``SIGTERM``."""
        return "SIGTERM" if self.signum == signal.SIGTERM else "Ctrl-C"


async def interruptible(work: Callable[[Interrupt], Awaitable[T]], say: Callable[[str], None]) -> T:
    """Run ``work`` with SIGINT and SIGTERM setting its stop event (a second signal ends the
    process at once: what was in flight is recorded as possibly stored, as after a crash)."""
    state = Interrupt()

    async def watch() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if state.signum is None:
                    state.signum = signum
                    state.stop.set()
                    say(
                        f"{state.name}: stopping; no new batch is sent and answers in flight "
                        "are waited for (up to 30 s). Press Ctrl-C again to abort at once."
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
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        try:
            outcome.append(await work(state))
        except Exception as exc:  # re-raised below, outside the task group (no group wrapper)
            failure.append(exc)
        finally:
            tg.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]
