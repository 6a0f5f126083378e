"""Models of webhook events: ``order.created``, ``order.status_changed``, ``order.cancelled``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, TypeAdapter

from .orders import OrderStatus
from .shared import CamelModel, FiniteJson, FlexibleId, Money

__all__ = [
    "GenericEvent",
    "OrderCancelledData",
    "OrderCancelledEvent",
    "OrderCreatedData",
    "OrderCreatedEvent",
    "OrderStatusChangedData",
    "OrderStatusChangedEvent",
    "WebhookEvent",
    "WebhookEventItem",
    "parse_event",
]


class WebhookEventItem(CamelModel):
    """One line of an order in an ``order.created`` event."""

    ps_id: str | None = None
    """The product's PleasureStock id (``ps_...``)."""
    quantity: int
    """Units ordered."""
    unit_price: Money | None = None
    """The price of one unit."""
    total_price: Money | None = None
    """The line's total."""


class OrderCreatedData(CamelModel):
    """The new order's details."""

    order_id: FlexibleId
    """The order's id."""
    order_number: str
    """The order's number, e.g. ``ORD-2025-000123``."""
    delivery_id: str | None = None
    """The delivery's id."""
    status: OrderStatus
    """The new order's status (``created``)."""
    supplier_id: FlexibleId | None = None
    """The supplier the order goes to."""
    total_amount: Money | None = None
    """The order's total, in ``currency``."""
    currency: str | None = None
    """The currency of the amounts."""
    items: list[WebhookEventItem] = Field(default_factory=list)
    """The order's lines."""
    external_order_id: str | None = None
    """Your reference, given when the order was created."""
    created_at: datetime | None = None
    """When the order was created."""


class OrderStatusChangedData(CamelModel):
    """An order's old and new status."""

    order_id: FlexibleId
    """The order's id."""
    order_number: str
    """The order's number."""
    old_status: OrderStatus | None = None
    """The status before the change."""
    new_status: OrderStatus
    """The status after the change."""
    changed_by: str | None = None
    """Who changed it, e.g. ``"external_api"``."""
    comment: str | None = None
    """The comment given with the change."""
    changed_at: datetime | None = None
    """When the status changed."""


class OrderCancelledData(CamelModel):
    """A cancelled order and why (the reference does not document every field)."""

    order_id: FlexibleId
    """The order's id."""
    order_number: str
    """The order's number."""
    old_status: OrderStatus | None = None
    """The status before the cancellation."""
    reason: str | None = None
    """Why the order was cancelled."""
    comment: str | None = None
    """The comment given with the cancellation."""
    cancelled_at: datetime | None = None
    """When the order was cancelled."""


class _EventBase(CamelModel):
    id: str | None = None
    """The event's id, when the sender gives one."""
    timestamp: datetime | None = None
    """When the event happened (the same on every redelivery)."""


class OrderCreatedEvent(_EventBase):
    """``order.created``: an order was created through the API."""

    event: Literal["order.created"]
    """``"order.created"``."""
    data: OrderCreatedData
    """The new order."""


class OrderStatusChangedEvent(_EventBase):
    """``order.status_changed``: an order moved to another status."""

    event: Literal["order.status_changed"]
    """``"order.status_changed"``."""
    data: OrderStatusChangedData
    """The order and its old and new status."""


class OrderCancelledEvent(_EventBase):
    """``order.cancelled``: an order was cancelled."""

    event: Literal["order.cancelled"]
    """``"order.cancelled"``."""
    data: OrderCancelledData
    """The cancelled order and why."""


class GenericEvent(_EventBase):
    """An event type this SDK does not know yet; ``data`` is left as plain JSON."""

    event: str
    """The event's type, one this SDK does not know yet."""
    data: FiniteJson = None
    """The event's data, as plain JSON."""


_KNOWN = {"order.created", "order.status_changed", "order.cancelled"}


def _event_tag(value: Any) -> str:
    name = value.get("event") if isinstance(value, dict) else getattr(value, "event", None)
    return name if name in _KNOWN else "generic"


WebhookEvent = Annotated[
    Annotated[OrderCreatedEvent, Tag("order.created")]
    | Annotated[OrderStatusChangedEvent, Tag("order.status_changed")]
    | Annotated[OrderCancelledEvent, Tag("order.cancelled")]
    | Annotated[GenericEvent, Tag("generic")],
    Discriminator(_event_tag),
]
"""Any webhook event, discriminated by its ``event`` field."""

_EVENT_ADAPTER: TypeAdapter[WebhookEvent] = TypeAdapter(
    WebhookEvent, config=ConfigDict(defer_build=True)
)


def parse_event(payload: bytes | str) -> WebhookEvent:
    """Parse a raw webhook body into its typed event (no signature check: see ``webhooks``)."""
    return _EVENT_ADAPTER.validate_json(payload)
