"""Waiting for what an example logs from a server thread: a logging handler that a test waits
on (a condition, not a timer)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["LogWaiter", "watching"]

WAIT = 30.0
"""Seconds a test waits for a line (generous: CI runs under load)."""


class LogWaiter(logging.Handler):
    """Keeps the messages of a logger, and lets a test wait until they say something."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.messages.append(record.getMessage())
            self._changed.notify_all()

    def wait_for(self, done: Callable[[list[str]], bool], what: str) -> list[str]:
        """The messages once ``done(messages)`` holds; fails after :data:`WAIT` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: done(self.messages), WAIT):
                raise AssertionError(f"no log of {what} within {WAIT:.0f} s: {self.messages}")
            return list(self.messages)

    def count(self, text: str) -> int:
        with self._changed:
            return sum(text in message for message in self.messages)


@contextmanager
def watching(name: str) -> Iterator[LogWaiter]:
    """A :class:`LogWaiter` on logger ``name`` (at INFO) for the block."""
    logger = logging.getLogger(name)
    waiter = LogWaiter()
    level = logger.level
    logger.addHandler(waiter)
    logger.setLevel(logging.INFO)
    try:
        yield waiter
    finally:
        logger.removeHandler(waiter)
        logger.setLevel(level)
