"""Webhook delivery from the sandbox: signed as documented, retried after 2, 4 and 8 seconds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import webhooks

__all__ = ["Delivery", "WebhookSender"]


@dataclass(slots=True)
class Delivery:
    """One event's delivery: each attempt's HTTP status (or error name), and whether it landed."""

    event: str
    body: bytes
    attempts: list[int | str] = field(default_factory=list)
    delivered: bool = False


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
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.transport = transport
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, event: str, data: dict[str, Any], timestamp: str) -> None:
        """Queue one event for delivery in the background."""
        body = json.dumps({"event": event, "timestamp": timestamp, "data": data}).encode()
        delivery = Delivery(event, body)
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
            for wait in (0.0, *self.retry_delays):
                await asyncio.sleep(wait)
                headers = webhooks.sign(delivery.body, self.secret, int(time.time()))
                headers["Content-Type"] = "application/json"
                try:
                    response = await http.post(self.url, content=delivery.body, headers=headers)
                except httpx.HTTPError as exc:
                    delivery.attempts.append(type(exc).__name__)
                    continue
                delivery.attempts.append(response.status_code)
                if response.is_success:
                    delivery.delivered = True
                    return

    async def drain(self) -> None:
        """Wait until every queued delivery has landed or used up its retries."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
