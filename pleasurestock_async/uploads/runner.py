"""Send batches with N workers, and stop cleanly: nothing in flight is abandoned unrecorded.

When the run is stopped (a ``stop`` event, a failing input, or the task is cancelled: Ctrl-C,
a signal, a task group), no new batch is taken; a batch whose request has not left is dropped
at once (it was never sent); a batch in flight gets up to ``grace`` seconds for its answer, so
its fate is known and recorded rather than guessed. Each worker's handling of a batch is
shielded for that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

import anyio
import anyio.abc

from ..errors import InputError

__all__ = ["STOP_GRACE", "Flight", "Runner", "check_stop"]

B = TypeVar("B")

STOP_GRACE = 30.0
"""Seconds a request in flight may take to answer once a run is told to stop."""


def check_stop(stop: object) -> None:
    """Refuse a ``stop`` that is not an :class:`anyio.Event` (or None) before a run starts."""
    if stop is not None and not isinstance(stop, anyio.Event):
        raise InputError.single("stop", "must be an anyio.Event (or None)", stop)


class Flight:
    """One batch being handled; ``sent`` while its request is out (then it gets the grace)."""

    __slots__ = ("scope", "sent")

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.sent = False


class Runner(Generic[B]):
    """Feeds batches from a source to ``concurrency`` workers running ``handle``.

    ``handle`` records every outcome itself; an error it raises (its records could not be
    written) stops the run and is kept in :attr:`handler_error`. An error of the source ends
    the input (the batches taken before it are still sent) and is kept in
    :attr:`source_error`.
    """

    def __init__(
        self,
        handle: Callable[[B, Flight], Awaitable[None]],
        *,
        concurrency: int,
        grace: float | None = None,
    ) -> None:
        self._handle = handle
        self._concurrency = concurrency
        self._grace = STOP_GRACE if grace is None else grace
        self._flights: set[Flight] = set()
        self._producer = anyio.CancelScope()
        self.stopping = False
        self.source_error: Exception | None = None
        self.handler_error: Exception | None = None

    def stop(self) -> None:
        """Take no new batch; drop those not yet sent; give those in flight the grace."""
        if self.stopping:
            return
        self.stopping = True
        now = anyio.current_time()
        for flight in self._flights:
            limit = now + self._grace if flight.sent else now
            flight.scope.deadline = min(flight.scope.deadline, limit)
        self._producer.cancel()

    async def run(self, source: AsyncIterator[B], stop: anyio.Event | None = None) -> None:
        """Handle every batch of ``source`` until it ends or the run is stopped. Cancellation
        stops the run as :meth:`stop` does, then propagates."""
        check_stop(stop)
        send, receive = anyio.create_memory_object_stream[B](0)
        watcher = anyio.CancelScope()
        working = self._concurrency
        finished = False

        async def work(batches: anyio.abc.ObjectReceiveStream[B]) -> None:
            nonlocal working, finished
            try:
                await self._work(batches)
            finally:
                working -= 1
                if not working:
                    finished = True
                    watcher.cancel()

        async def watch() -> None:
            # Told to stop by the event, or cancelled from outside while workers still run
            # (then the workers, shielded, would otherwise carry on): either way, stop.
            with watcher:
                try:
                    if stop is None:
                        await anyio.sleep_forever()
                    else:
                        await stop.wait()
                except anyio.get_cancelled_exc_class():
                    if not finished:
                        self.stop()
                    raise
                self.stop()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            for _ in range(self._concurrency):
                tg.start_soon(work, receive.clone())
            receive.close()
            try:
                with self._producer:
                    async with send:
                        await self._feed(source, send)
            except anyio.get_cancelled_exc_class():
                self.stop()
                raise

    async def _feed(self, source: AsyncIterator[B], send: anyio.abc.ObjectSendStream[B]) -> None:
        try:
            await self._pass_on(source, send)
        finally:
            close = getattr(source, "aclose", None)
            if close is not None:  # an async generator: end it here, not in the GC
                with anyio.CancelScope(shield=True):
                    await close()

    async def _pass_on(self, source: AsyncIterator[B], send: anyio.abc.ObjectSendStream[B]) -> None:
        while not self.stopping:
            try:
                batch = await anext(source)
            except StopAsyncIteration:
                return
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # the input failed: what came before it still goes out
                self.source_error = exc
                return
            await send.send(batch)

    async def _work(self, batches: anyio.abc.ObjectReceiveStream[B]) -> None:
        async with batches:
            async for batch in batches:
                with anyio.CancelScope(shield=True) as scope:
                    flight = Flight(scope)
                    if self.stopping:
                        scope.deadline = anyio.current_time()
                    self._flights.add(flight)
                    try:
                        await self._handle(batch, flight)
                    except Exception as exc:  # recording failed: stop, keep the first cause
                        self.handler_error = self.handler_error or exc
                        self.stop()
                    finally:
                        self._flights.discard(flight)
