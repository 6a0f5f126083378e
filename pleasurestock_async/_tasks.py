"""Concurrency inside a public method without exception groups leaking out of it.

anyio wraps whatever fails in a task group (even in its own body) in an
:class:`ExceptionGroup`, which ``except AuthenticationError`` does not catch. Every public
method that runs tasks uses :func:`task_group` instead: what failed is raised as itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc

__all__ = ["first_failure", "task_group"]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found.extend(_leaves(exc))
        else:
            found.append(exc)
    return found


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception to raise for ``group``: the first one that is not a cancellation, an
    interrupt (``KeyboardInterrupt``, ``SystemExit``) before any error. The others are named
    in a note on it (their types only: messages are the first one's business)."""
    cancelled = anyio.get_cancelled_exc_class()
    leaves = [exc for exc in _leaves(group) if not isinstance(exc, cancelled)]
    if not leaves:
        return group
    leaves.sort(key=lambda exc: isinstance(exc, Exception))  # stable: interrupts first
    first, others = leaves[0], leaves[1:]
    if others:
        names = ", ".join(type(exc).__name__ for exc in others)
        first.add_note(f"{len(others)} concurrent task(s) failed too: {names}")
    return first


@asynccontextmanager
async def task_group() -> AsyncIterator[anyio.abc.TaskGroup]:
    """:func:`anyio.create_task_group`, raising what failed rather than a group of it."""
    failure: BaseException | None = None
    try:
        async with anyio.create_task_group() as tg:
            yield tg
    except BaseExceptionGroup as group:
        failure = first_failure(group)
        if failure is group:
            raise
    if failure is not None:
        try:
            raise failure  # outside the except block: no context chained to the group
        finally:
            failure = None  # its traceback holds this frame: no cycle through the local
