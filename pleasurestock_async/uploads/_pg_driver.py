"""Running asyncpg (an asyncio driver) under whichever event loop the caller runs.

On asyncio the driver's coroutines run on the caller's loop, each shielded from cancellation
(a cancellation takes effect once the statement's answer is in, as a worker thread of the
SQLite store finishes its call). On trio they run on a private asyncio loop in a thread of
their own, the caller waiting for each in a worker thread: the same code, the same semantics,
no second driver.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread
import sniffio

__all__ = ["Driver"]

P = ParamSpec("P")
T = TypeVar("T")


async def _job(func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
    return await func(*args, **kwargs)


class Driver:
    """Runs coroutine functions for one store, one at a time, on an asyncio loop."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        if sniffio.current_async_library() != "asyncio":
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._thread = threading.Thread(
                target=loop.run_forever, name="pleasurestock-postgres", daemon=True
            )
            self._thread.start()

    async def call(
        self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``await func(*args, **kwargs)`` on the driver's loop, to its end."""
        async with self._lock:
            loop = self._loop
            if loop is not None:
                future = asyncio.run_coroutine_threadsafe(_job(func, *args, **kwargs), loop)
                return await anyio.to_thread.run_sync(future.result)
            with anyio.CancelScope(shield=True):
                result = await func(*args, **kwargs)
            return result

    async def aclose(self) -> None:
        """Stop the private loop (trio); nothing to do on asyncio."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        await anyio.to_thread.run_sync(thread.join)
        loop.close()
