"""Models of the external orders API: ``/external/orders``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

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
    """The product, by its ``ps_`` id."""
    quantity: StrictInt
    """Units to order."""
    custom_price: _WirePrice | None = Field(default=None, alias="customPrice")
    """A unit price that overrides the catalogue's (sent as ``customPrice``)."""

    if TYPE_CHECKING:  # what type checkers see: the Python names, a price as text or number

        def __init__(
            self,
            *,
            ps_id: str,
            quantity: int,
            custom_price: Decimal | float | str | None = None,
        ) -> None: ...


class CreatedOrder(CamelModel):
    """One order created by ``POST /external/orders`` (one per supplier)."""

    order_number: str
    """The order's number, e.g. ``ORD-2025-000123``: its id in every other call."""
    delivery_id: str
    """The delivery's id, e.g. ``PS-2025-0114``."""
    supplier_id: FlexibleId
    """The supplier the order goes to."""
    status: OrderStatus
    """The new order's status (``created``)."""
    total_amount: Money
    """The order's total, in ``currency``."""
    currency: str
    """The currency of ``total_amount``."""
    items: int
    """How many lines (products) the order has."""
    created_at: datetime
    """When the order was created."""


class OrderCreateResult(CamelModel):
    """The orders created from one request, grouped by supplier."""

    orders: list[CreatedOrder]
    """The orders created: one per supplier of the items."""
    total_orders: int
    """How many orders were created."""
    total_amount: Money
    """The sum of the orders' totals."""


class StatusDisplay(CamelModel):
    """How to show a status in a UI: a label, a colour and Tailwind CSS classes."""

    label: str
    """The status as a person reads it, e.g. ``"Created"``."""
    color: str
    """A colour name for the badge, e.g. ``"blue"``."""
    css_class: str
    """Tailwind CSS classes for the badge, e.g. ``"bg-blue-100 text-blue-800"``."""


class _OrderHeader(CamelModel):
    """What an order shows in the list and in its detail alike."""

    order_id: FlexibleId
    """The order's id (a UUID; some answers send an int)."""
    order_number: str
    """The order's number, e.g. ``ORD-20251103-78XZ70``."""
    delivery_id: str
    """The delivery's id; of identical orders, the highest is the latest."""
    external_order_id: str | None = None
    """Your reference, given when the order was created or changed."""
    status: OrderStatus
    """Where the order is in its lifecycle."""
    status_display: StatusDisplay
    """How to show ``status`` in a UI."""
    total_amount: Money
    """The order's total, in ``currency``."""
    currency: str
    """The currency of ``total_amount``."""
    has_custom_items: bool | None = None
    """Whether some lines are not catalogue products."""


class OrderSummary(_OrderHeader):
    """An order as listed by ``GET /external/orders`` (dates are day precision)."""

    supplier_name: str
    """The supplier's name."""
    items_count: int
    """How many lines (products) the order has."""
    custom_items_count: int | None = None
    """How many lines are not catalogue products."""
    catalog_items_count: int | None = None
    """How many lines are catalogue products."""
    created_at: DayFirstDate
    """The day the order was created (the list sends ``"03/11/25"``)."""
    status_changed_at: DayFirstDate
    """The day the status last changed."""


class OffsetPagination(CamelModel):
    """Limit/offset pagination: ``total`` items, this page starts at ``offset``."""

    total: Annotated[int, STRUCTURE]
    """Orders in all pages."""
    limit: Annotated[int, STRUCTURE]
    """Orders per page."""
    offset: Annotated[int, STRUCTURE]
    """How many orders come before this page."""


class OrderList(CamelModel):
    """One page of orders: ``orders`` and ``pagination``."""

    orders: list[OrderSummary]
    """The orders of this page."""
    pagination: Annotated[OffsetPagination, STRUCTURE]
    """Where this page is among all of them."""


class Supplier(CamelModel):
    """The supplier of an order."""

    id: FlexibleId
    """The supplier's id (a UUID here; lists of products send an int)."""
    name: str | None = None
    """The supplier's name."""


class OrderLineItem(CamelModel):
    """One line of an order's detail."""

    product_id: FlexibleId | None = None
    """The product's numeric id, when the API sends one."""
    ps_id: str
    """The product's PleasureStock id (``ps_...``)."""
    name: str | None = None
    """The product's name."""
    sku: str | None = None
    """The product's stock-keeping unit."""
    quantity: int
    """Units ordered."""
    unit_price: Money
    """The price of one unit."""
    total_price: Money
    """The line's total: quantity times unit price."""
    currency: str | None = None
    """The currency of the prices."""
    image_url: str | None = None
    """The product's image."""


class Order(_OrderHeader):
    """An order's full detail, from ``GET /external/orders/{orderNumber}``."""

    supplier: Supplier
    """The supplier the order goes to."""
    items: list[OrderLineItem]
    """The order's lines."""
    estimated_delivery_date: datetime | date | None = None
    """When delivery is expected."""
    actual_delivery_date: datetime | date | None = None
    """When the goods were delivered."""
    created_at: datetime
    """When the order was created."""
    confirmed_at: datetime | None = None
    """When the supplier confirmed it."""
    paid_at: datetime | None = None
    """When it was paid in full."""
    shipped_at: datetime | None = None
    """When it was shipped (``on_the_way``)."""
    accepted_at: datetime | None = None
    """When the buyer accepted the goods (final)."""


class OrderStatusUpdate(CamelModel):
    """The answer of ``PUT /external/orders/{orderNumber}/status``."""

    order_id: FlexibleId
    """The order's id."""
    order_number: str
    """The order's number."""
    status: OrderStatus
    """The order's status after the change."""
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
