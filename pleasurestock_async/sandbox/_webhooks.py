"""Webhook events the sandbox sends, and its own receiver ``POST /external/webhook``.

The receiver authenticates a webhook by its signature (``X-Webhook-Signature``,
``X-Webhook-Timestamp``, the sandbox's webhook secret), not by an API key: a sender of
webhooks holds the secret, not a key. So a sandbox can deliver to its own receiver.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pleasurestock_async import webhooks

from ._context import Context, stamp
from ._errors import ApiError, json_response
from ._request import read_body
from ._state import SandboxOrder

__all__ = ["EVENTS", "created_event", "receive_webhook"]

EVENTS = ("order.created", "order.status_changed", "order.cancelled")
"""The events of the reference."""


def created_event(o: SandboxOrder) -> dict[str, Any]:
    """The ``data`` of ``order.created``, as the reference's example shows it."""
    return {
        "orderId": o.order_id,
        "orderNumber": o.number,
        "deliveryId": o.delivery_id,
        "status": o.status.value,
        "supplierId": o.supplier.uuid,
        "totalAmount": o.total,
        "currency": o.supplier.currency,
        "items": [
            {
                "ps_id": line.product.internal_id,
                "quantity": line.quantity,
                "unitPrice": line.unit_price,
                "totalPrice": line.total,
            }
            for line in o.lines
        ],
        "externalOrderId": o.external_order_id,
        "createdAt": stamp(o.created_at),
    }


async def receive_webhook(ctx: Context, request: Request) -> Response:
    """Verify a signed event and keep it in ``Sandbox.received_webhooks``."""
    payload = await read_body(request)
    try:
        event = webhooks.construct_event(payload, request.headers, ctx.webhook_secret)
    except webhooks.WebhookVerificationError as exc:
        raise ApiError(400, "Invalid webhook", str(exc)) from None
    ctx.received_webhooks.append(event)
    return json_response({"success": True, "received": event.event})
