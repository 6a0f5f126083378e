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
    quantity: int
    unit_price: Money | None = None
    total_price: Money | None = None


class OrderCreatedData(CamelModel):
    """The new order's details."""

    order_id: FlexibleId
    order_number: str
    delivery_id: str | None = None
    status: OrderStatus
    supplier_id: FlexibleId | None = None
    total_amount: Money | None = None
    currency: str | None = None
    items: list[WebhookEventItem] = Field(default_factory=list)
    external_order_id: str | None = None
    created_at: datetime | None = None


class OrderStatusChangedData(CamelModel):
    """An order's old and new status."""

    order_id: FlexibleId
    order_number: str
    old_status: OrderStatus | None = None
    new_status: OrderStatus
    changed_by: str | None = None
    comment: str | None = None
    changed_at: datetime | None = None


class OrderCancelledData(CamelModel):
    """A cancelled order and why (the reference does not document every field)."""

    order_id: FlexibleId
    order_number: str
    old_status: OrderStatus | None = None
    reason: str | None = None
    comment: str | None = None
    cancelled_at: datetime | None = None


class _EventBase(CamelModel):
    id: str | None = None
    timestamp: datetime | None = None


class OrderCreatedEvent(_EventBase):
    """``order.created``: an order was created through the API."""

    event: Literal["order.created"]
    data: OrderCreatedData


class OrderStatusChangedEvent(_EventBase):
    """``order.status_changed``: an order moved to another status."""

    event: Literal["order.status_changed"]
    data: OrderStatusChangedData


class OrderCancelledEvent(_EventBase):
    """``order.cancelled``: an order was cancelled."""

    event: Literal["order.cancelled"]
    data: OrderCancelledData


class GenericEvent(_EventBase):
    """An event type this SDK does not know yet; ``data`` is left as plain JSON."""

    event: str
    data: FiniteJson = None


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
