"""Models of the external orders API: ``/external/orders``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, PlainSerializer, PrivateAttr, StrictInt

from .shared import STRUCTURE, CamelModel, DayFirstDate, FlexibleId, Money, PsId, RequestModel

__all__ = [
    "SETTABLE_STATUSES",
    "CreatedOrder",
    "OffsetPagination",
    "Order",
    "OrderCreateResult",
    "OrderItem",
    "OrderLineItem",
    "OrderList",
    "OrderStatus",
    "OrderStatusUpdate",
    "OrderSummary",
    "StatusDisplay",
    "StatusValue",
    "Supplier",
]


class OrderStatus(StrEnum):
    """The documented order lifecycle.

    A status the API adds later still reads as an ``OrderStatus`` (with its own value and
    ``is_known`` false) instead of failing, so parsing never breaks on it.
    """

    CREATED = "created"
    PART_PAID = "part_paid"
    PAID = "paid"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"

    @classmethod
    def _missing_(cls, value: object) -> OrderStatus | None:
        if not isinstance(value, str) or not value:
            return None
        unknown = str.__new__(cls, value)
        unknown._name_ = value.upper()
        unknown._value_ = value
        return unknown

    @property
    def is_known(self) -> bool:
        """Whether the reference documents this status."""
        return type(self).__members__.get(self._name_) is self

    @property
    def is_final(self) -> bool:
        """Whether no further change is possible (accepted, cancelled)."""
        return self in (OrderStatus.ACCEPTED, OrderStatus.CANCELLED)


StatusValue = OrderStatus
"""An order status (the 0.1 name; the same as :class:`OrderStatus`)."""

SETTABLE_STATUSES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.PART_PAID,
        OrderStatus.PAID,
        OrderStatus.ON_THE_WAY,
        OrderStatus.DELIVERED,
        OrderStatus.ACCEPTED,
        OrderStatus.CANCELLED,
    }
)
"""Statuses a client may set with ``orders.update_status`` (``created`` is the system's)."""


_WirePrice = Annotated[Money, PlainSerializer(float, return_type=float, when_used="json")]
"""A price sent as a JSON number, as the reference's examples show (finite: a ``Decimal``
field refuses NaN and infinities)."""


class OrderItem(RequestModel):
    """One line of a new order. ``custom_price`` overrides the catalogue price. The server
    decides which quantities and prices it accepts (the reference states no bounds)."""

    ps_id: PsId
    quantity: StrictInt
    custom_price: _WirePrice | None = Field(default=None, alias="customPrice")


class CreatedOrder(CamelModel):
    """One order created by ``POST /external/orders`` (one per supplier)."""

    order_number: str
    delivery_id: str
    supplier_id: FlexibleId
    status: OrderStatus
    total_amount: Money
    currency: str
    items: int
    """How many lines (products) the order has."""
    created_at: datetime


class OrderCreateResult(CamelModel):
    """The orders created from one request, grouped by supplier."""

    orders: list[CreatedOrder]
    total_orders: int
    total_amount: Money


class StatusDisplay(CamelModel):
    """How to show a status in a UI: a label, a colour and Tailwind CSS classes."""

    label: str
    color: str
    css_class: str


class _OrderHeader(CamelModel):
    """What an order shows in the list and in its detail alike."""

    order_id: FlexibleId
    order_number: str
    delivery_id: str
    external_order_id: str | None = None
    status: OrderStatus
    status_display: StatusDisplay
    total_amount: Money
    currency: str
    has_custom_items: bool | None = None


class OrderSummary(_OrderHeader):
    """An order as listed by ``GET /external/orders`` (dates are day precision)."""

    supplier_name: str
    items_count: int
    """How many lines (products) the order has."""
    custom_items_count: int | None = None
    catalog_items_count: int | None = None
    created_at: DayFirstDate
    status_changed_at: DayFirstDate


class OffsetPagination(CamelModel):
    """Limit/offset pagination: ``total`` items, this page starts at ``offset``."""

    total: Annotated[int, STRUCTURE]
    limit: Annotated[int, STRUCTURE]
    offset: Annotated[int, STRUCTURE]


class OrderList(CamelModel):
    """One page of orders: ``orders`` and ``pagination``."""

    orders: list[OrderSummary]
    pagination: Annotated[OffsetPagination, STRUCTURE]


class Supplier(CamelModel):
    """The supplier of an order."""

    id: FlexibleId
    name: str | None = None


class OrderLineItem(CamelModel):
    """One line of an order's detail."""

    product_id: FlexibleId | None = None
    ps_id: str
    name: str | None = None
    sku: str | None = None
    quantity: int
    unit_price: Money
    total_price: Money
    currency: str | None = None
    image_url: str | None = None


class Order(_OrderHeader):
    """An order's full detail, from ``GET /external/orders/{orderNumber}``."""

    supplier: Supplier
    items: list[OrderLineItem]
    estimated_delivery_date: datetime | date | None = None
    actual_delivery_date: datetime | date | None = None
    created_at: datetime
    confirmed_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    accepted_at: datetime | None = None


class OrderStatusUpdate(CamelModel):
    """The answer of ``PUT /external/orders/{orderNumber}/status``."""

    order_id: FlexibleId
    order_number: str
    status: OrderStatus
    status_changed_at: datetime | None = None
    """When the status changed; None only when a lost answer was confirmed by reading the
    order back and its detail does not say when (a cancellation)."""
    _confirmed_by_reading: bool = PrivateAttr(default=False)

    @property
    def confirmed_by_reading(self) -> bool:
        """True when the server's answer to the change was lost and the order was read back
        instead: it has the asked status, but the change's ``comment`` and
        ``external_order_id`` may not have been stored."""
        return self._confirmed_by_reading

    @classmethod
    def read_back(cls, order: Order) -> OrderStatusUpdate:
        """The update an order's detail confirms (``confirmed_by_reading`` is true)."""
        by_status = {
            OrderStatus.PAID: order.paid_at,
            OrderStatus.ON_THE_WAY: order.shipped_at,
            OrderStatus.DELIVERED: order.actual_delivery_date,
            OrderStatus.ACCEPTED: order.accepted_at,
        }
        moment = by_status.get(order.status)
        update = cls(
            order_id=order.order_id,
            order_number=order.order_number,
            status=order.status,
            status_changed_at=moment if isinstance(moment, datetime) else None,
        )
        update._confirmed_by_reading = True
        return update
