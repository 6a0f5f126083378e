"""``webhook trigger`` against a server: the change an event announces is made through that
server's API, so the order it names exists there (and nowhere else)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .._client import AsyncPleasureStock
from ..errors import NotFoundError, PleasureStockError
from ..types import Order, OrderItem

__all__ = ["TRIGGER_COMMENT", "produce_event"]

TRIGGER_COMMENT = "pleasurestock webhook trigger"
"""The comment of every order and status change a trigger makes, to tell them apart."""

REFERENCE_PRODUCT = "ps_1234567890"
"""The product ordered when the server has it (the reference's own example)."""

_STATUS_FOR = {"order.status_changed": "paid", "order.cancelled": "cancelled"}


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


async def _a_product(ps: AsyncPleasureStock) -> str:
    try:
        return (await ps.products.get(REFERENCE_PRODUCT, with_images=False)).internal_id
    except NotFoundError:
        page = await ps.products.list(limit=1)
    if not page.data:
        raise PleasureStockError("the server has no product to order")
    return page.data[0].internal_id


def _created(order: Order) -> dict[str, Any]:
    """The data of ``order.created``, as the reference shows it."""
    return {
        "orderId": order.order_id,
        "orderNumber": order.order_number,
        "deliveryId": order.delivery_id,
        "status": order.status.value,
        "supplierId": order.supplier.id,
        "totalAmount": order.total_amount,
        "currency": order.currency,
        "items": [
            {
                "ps_id": line.ps_id,
                "quantity": line.quantity,
                "unitPrice": line.unit_price,
                "totalPrice": line.total_price,
            }
            for line in order.items
        ],
        "externalOrderId": order.external_order_id,
        "createdAt": _stamp(order.created_at),
    }


async def produce_event(ps: AsyncPleasureStock, event: str) -> dict[str, Any]:
    """Create an order (``order.created``), then pay (``order.status_changed``) or cancel
    (``order.cancelled``) it through ``ps``'s server; the event's ``data``."""
    product = await _a_product(ps)
    created = await ps.orders.create(
        [OrderItem(ps_id=product, quantity=1)], comment=TRIGGER_COMMENT
    )
    number = created.orders[0].order_number
    if event == "order.created":
        return _created(await ps.orders.get(number))
    update = await ps.orders.update_status(number, _STATUS_FOR[event], comment=TRIGGER_COMMENT)
    changed = _stamp(update.status_changed_at or datetime.now(UTC).replace(microsecond=0))
    data: dict[str, Any] = {
        "orderId": update.order_id,
        "orderNumber": update.order_number,
        "oldStatus": "created",
        "newStatus": update.status.value,
        "changedBy": "external_api",
        "comment": TRIGGER_COMMENT,
        "changedAt": changed,
    }
    if event == "order.cancelled":
        data.update(reason=TRIGGER_COMMENT, cancelledAt=changed)
    return data
