"""The ids the API reference uses in its examples, so that its requests work as written:
suppliers 12 and 15, eight products (``ps_vj31ucxsab`` ... ``ps_0987654321``, and the
``ps_abc123`` of its multi-warehouse and out-of-stock sales examples) and the two
orders of its order list (``ORD-20251103-78XZ70``, ``ORD-20251103-LMGYAQ``).

Where the reference leaves a field out, the catalogue's seeded generator fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

__all__ = [
    "EXAMPLE_ORDERS",
    "EXAMPLE_ORDER_TOTAL",
    "RABBIT_CATEGORY_ID",
    "REFERENCE_PRODUCTS",
    "SUPPLIERS",
    "YIQING_UUID",
    "ExampleOrder",
    "ReferenceProduct",
]

SUPPLIERS: tuple[tuple[int, str, str], ...] = (
    (11, "Yiqing", "USD"),
    (12, "Berlin Lust GmbH", "EUR"),
    (13, "Shenzhen Joy Co.", "USD"),
    (14, "Amsterdam Pleasure BV", "EUR"),
    (15, "Guangzhou Silk Toys", "USD"),
    (16, "Istanbul Keyif A.S.", "TRY"),
    (17, "London Intimates Ltd", "GBP"),
    (18, "Milano Eros Srl", "EUR"),
)
"""(id, name, currency). 12 sells ``ps_1234567890`` in EUR, as its product and order detail
examples say; 15 sells ``ps_0987654321`` in USD, as the order creation example says."""

YIQING_UUID = "550e8400-e29b-41d4-a716-446655440001"
"""The supplier UUID of the reference's order detail (Yiqing)."""
RABBIT_CATEGORY_ID = "3b4f0280-6396-44e0-a9b3-53931d4b5b92"
"""The category of ``ps_vj31ucxsab`` in the product detail example."""


@dataclass(frozen=True, slots=True)
class ReferenceProduct:
    """A product the reference names; ``None`` fields come from the seeded generator."""

    internal_id: str | None = None
    id: str | None = None
    name: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    supplier_id: int | None = None
    category_en: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


REFERENCE_PRODUCTS: tuple[ReferenceProduct, ...] = (
    ReferenceProduct(
        internal_id="ps_vj31ucxsab",
        id="db57e260-b151-4bf1-ac63-175baef9f96d",
        name="Silicone Rabbit Vibrator",
        sku="SL2505044-XCM",
        price=Decimal("8.00"),
        supplier_id=11,
        category_en="Rabbit",
    ),
    ReferenceProduct(internal_id="ps_uypjz2vraa"),
    ReferenceProduct(id="b421eb2c-e1ee-4537-9c19-056d63a337c4"),
    ReferenceProduct(internal_id="ps_w2as53xl1z"),
    ReferenceProduct(internal_id="ps_j2y58ajsit"),
    ReferenceProduct(
        internal_id="ps_1234567890",
        name="Premium Widget",
        sku="WDG-001",
        price=Decimal("29.99"),
        supplier_id=12,
        category_en="Vibrators",
        created_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        updated_at=datetime(2024, 3, 20, 14, 45, tzinfo=UTC),
    ),
    ReferenceProduct(internal_id="ps_0987654321", price=Decimal("25.00"), supplier_id=15),
    ReferenceProduct(internal_id="ps_abc123"),
)
"""The first products of every catalogue, in this order (a catalogue smaller than eight holds
the first ones only)."""


@dataclass(frozen=True, slots=True)
class ExampleOrder:
    """One order of the reference's order list."""

    order_id: str
    number: str
    delivery_id: str
    cancelled: bool
    created_at: datetime
    status_changed_at: datetime


EXAMPLE_ORDER_TOTAL = Decimal("5669.57")
"""Both example orders: 15 catalogue lines of Yiqing's, 5669.57 USD."""

EXAMPLE_ORDERS: tuple[ExampleOrder, ...] = (
    ExampleOrder(
        "1c29979b-1a2a-4667-a84c-dfcf819dd044",
        "ORD-20251103-LMGYAQ",
        "PS-2025-1103/1",
        cancelled=True,
        created_at=datetime(2025, 11, 3, 9, 12, tzinfo=UTC),
        status_changed_at=datetime(2025, 11, 3, 9, 40, tzinfo=UTC),
    ),
    ExampleOrder(
        "a9e312b9-d5bb-4961-8db6-7ea1007e672b",
        "ORD-20251103-78XZ70",
        "PS-2025-1103/2",
        cancelled=False,
        created_at=datetime(2025, 11, 3, 9, 45, tzinfo=UTC),
        status_changed_at=datetime(2025, 11, 3, 9, 45, tzinfo=UTC),
    ),
)
"""Oldest first: the cancelled duplicate (``/1``), then the active order (``/2``)."""
