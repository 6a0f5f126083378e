"""What every endpoint of one sandbox shares: its state, account settings, webhook sender,
faults and clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pleasurestock_async import webhooks
from pleasurestock_async.ratelimit import Clock, MonotonicClock

from ._delivery import WebhookSender
from ._errors import ApiError
from ._faults import FaultStreams
from ._formula import TspFormula
from ._state import SandboxState

__all__ = ["Context", "Handler", "stamp"]


def stamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as the reference writes times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Context:
    """One sandbox's shared parts, handed to every endpoint."""

    state: SandboxState
    tsp_formula: TspFormula
    tcc_coefficient: Decimal
    faults: FaultStreams
    webhook_secret: str
    sender: WebhookSender | None = None
    received_webhooks: list[webhooks.WebhookEvent] = field(default_factory=list)
    clock: Clock = field(default_factory=MonotonicClock)

    def notify(self, event: str, data: dict[str, Any]) -> None:
        """Queue a webhook, when the sandbox has a webhook URL."""
        if self.sender is not None:
            now = datetime.now(UTC).replace(microsecond=0)
            self.sender.send(event, data, stamp(now) or "")

    def after_store(self) -> None:
        """The ``error_after_store_rate`` fault: a 500 although the change was stored."""
        if self.faults.hit("error_after_store", self.faults.faults.error_after_store_rate):
            raise ApiError(500, "Internal Server Error", "Injected fault after storing")


Handler = Callable[[Context, Request], Awaitable[Response]]
"""An endpoint: the sandbox's context and the request in, the answer out."""
