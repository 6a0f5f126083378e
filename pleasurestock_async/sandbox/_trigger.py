"""Make a sandbox send one webhook event on demand, as ``stripe trigger`` does: the event is
produced through the sandbox's own API, so it is exactly what a real change would send."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._routes import API_PREFIX
from ._state import OrderLine, SandboxOrder
from ._webhooks import EVENTS

if TYPE_CHECKING:
    from . import Sandbox

__all__ = ["trigger"]

_STATUS_FOR = {"order.status_changed": "paid", "order.cancelled": "cancelled"}


async def trigger(sandbox: Sandbox, event: str) -> SandboxOrder:
    """Create (``order.created``), pay (``order.status_changed``) or cancel
    (``order.cancelled``) an order through the API; returns that order.

    For a status event the order is first put in the state directly, so that only the asked
    event is sent.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; one of {', '.join(EVENTS)}")
    if not sandbox.products:
        raise ValueError("a sandbox without products has nothing to order")
    product = sandbox.state.catalogue.find("ps_1234567890") or sandbox.products[0]
    headers = {"Authorization": f"Bearer {sandbox.api_keys[0]}"}
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox" + API_PREFIX
    ) as http:
        if event == "order.created":
            body = {"items": [{"ps_id": product.internal_id, "quantity": 1}], "comment": "trigger"}
            response = await http.post("/external/orders", json=body, headers=headers)
            number = (
                response.json()["data"]["orders"][0]["orderNumber"] if response.is_success else ""
            )
        else:
            line = OrderLine(product, 1, product.price, custom=False)
            (order,) = sandbox.state.create_orders([line], None, "trigger")
            number = order.number
            response = await http.put(
                f"/external/orders/{number}/status",
                json={"status": _STATUS_FOR[event], "comment": "trigger"},
                headers=headers,
            )
    if not response.is_success:
        raise RuntimeError(f"the sandbox refused the trigger: {response.text[:200]}")
    found = sandbox.state.find_order(number)
    assert found is not None
    return found
