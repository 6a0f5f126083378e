"""Webhook delivery: each event signed as the reference documents (HMAC-SHA256 of
``"{timestamp}.{body}"``), posted, and retried after 2, 4 and 8 seconds.

Deliveries run in a task group that a *runner* owns: ``async with Sandbox()`` in-process, the
ASGI lifespan when served over HTTP. An event sent while no runner is active waits in a queue
until :meth:`WebhookSender.drain` delivers it, so no task ever outlives its owner. Works on
asyncio and trio alike (anyio only).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from pleasurestock_async import webhooks

from ._json import encode

__all__ = ["Delivery", "DeliveryAttempt", "WebhookSender"]

_POLL = 0.01


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One post of a webhook: when, the HTTP status (or the error's name), the signature
    headers it carried and how long it took."""

    at: datetime
    status: int | str
    signature: str
    timestamp: str
    seconds: float


@dataclass(slots=True)
class Delivery:
    """One event's delivery: where it goes, each attempt, whether it landed, and whether it
    is finished (landed, or out of retries). ``resent_from`` names the delivery it repeats."""

    event: str
    body: bytes
    url: str = ""
    id: int = 0
    queued_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tries: list[DeliveryAttempt] = field(default_factory=list)
    delivered: bool = False
    finished: bool = False
    resent_from: int | None = None

    _news: anyio.Event | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def attempts(self) -> list[int | str]:
        """Each attempt's HTTP status, or its error's name."""
        return [attempt.status for attempt in self.tries]

    async def changed(self) -> None:
        """Return once another attempt is recorded or the delivery finishes (at once if it
        is finished). Await it on the event loop that delivers."""
        if self.finished:
            return
        if self._news is None:
            self._news = anyio.Event()
        await self._news.wait()

    def _announce(self) -> None:
        news, self._news = self._news, None
        if news is not None:
            news.set()


class WebhookSender:
    """Posts events to ``url``; ``transport`` lets tests deliver into an app in-process."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        retry_delays: Sequence[float] = (2.0, 4.0, 8.0),
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays: tuple[float, ...] = tuple(retry_delays)
        self.timeout = timeout
        self.transport = transport
        self.deliveries: list[Delivery] = []
        self._pending: list[Delivery] = []
        self._runners: list[tuple[int, TaskGroup]] = []
        self._ids = itertools.count(1)

    def send(self, event: str, data: dict[str, Any], timestamp: str) -> Delivery:
        """Queue one event; a runner of this thread starts delivering it at once."""
        body = encode({"event": event, "timestamp": timestamp, "data": data})
        return self._queue(Delivery(event, body, self.url, next(self._ids)))

    def resend(self, delivery: Delivery) -> Delivery:
        """Queue ``delivery``'s event again, byte for byte, as a new delivery (freshly signed)."""
        again = Delivery(
            delivery.event, delivery.body, self.url, next(self._ids), resent_from=delivery.id
        )
        return self._queue(again)

    def find(self, delivery_id: int) -> Delivery | None:
        """A delivery by its id."""
        return next((d for d in self.deliveries if d.id == delivery_id), None)

    def forget(self) -> None:
        """Forget every delivery (those under way still finish)."""
        self.deliveries.clear()
        self._pending.clear()

    def _queue(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        me = threading.get_ident()
        group = next((tg for thread, tg in reversed(self._runners) if thread == me), None)
        if group is None:
            self._pending.append(delivery)
        else:
            group.start_soon(self._deliver, delivery)
        return delivery

    @asynccontextmanager
    async def run(self, *, grace: float | None = None) -> AsyncIterator[None]:
        """Deliver events while the block runs; at its end wait for the deliveries under way
        (at most ``grace`` seconds, then cancel the rest, when given)."""
        async with anyio.create_task_group() as tg:
            runner = (threading.get_ident(), tg)
            self._runners.append(runner)
            pending, self._pending = self._pending, []
            for delivery in pending:
                tg.start_soon(self._deliver, delivery)
            try:
                yield
            finally:
                self._runners.remove(runner)
                if grace is not None:
                    tg.cancel_scope.deadline = anyio.current_time() + grace

    async def drain(self) -> None:
        """Wait until every queued delivery has landed or used up its retries."""
        while any(not d.finished for d in self.deliveries):
            if self._pending:
                pending, self._pending = self._pending, []
                async with anyio.create_task_group() as tg:
                    for delivery in pending:
                        tg.start_soon(self._deliver, delivery)
            else:
                await anyio.sleep(_POLL)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                for wait in (0.0, *self.retry_delays):
                    await anyio.sleep(wait)
                    headers = webhooks.sign(delivery.body, self.secret, int(time.time()))
                    headers["Content-Type"] = "application/json"
                    at, started = datetime.now(UTC), time.perf_counter()
                    status: int | str
                    try:
                        response = await http.post(self.url, content=delivery.body, headers=headers)
                        status = response.status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    delivery.tries.append(
                        DeliveryAttempt(
                            at,
                            status,
                            headers[webhooks.SIGNATURE_HEADER],
                            headers[webhooks.TIMESTAMP_HEADER],
                            time.perf_counter() - started,
                        )
                    )
                    delivery._announce()
                    if isinstance(status, int) and 200 <= status < 300:
                        delivery.delivered = True
                        return
        finally:
            delivery.finished = True
            delivery._announce()
