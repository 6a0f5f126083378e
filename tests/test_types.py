from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pleasurestock_async.types import (
    CreatedOrder,
    Order,
    OrderStatus,
    OrderSummary,
    Product,
)

PRODUCT = {"internal_id": "ps_1", "sku": "S", "price": "1.00", "currency": "EUR"}
SUMMARY = {
    "orderId": 1,
    "orderNumber": "O",
    "deliveryId": "PS-1",
    "status": "created",
    "statusDisplay": {"label": "Created", "color": "blue", "cssClass": "bg-blue-100"},
    "supplierName": "Yiqing",
    "totalAmount": 1,
    "currency": "USD",
    "itemsCount": 1,
    "createdAt": "03/11/25",
    "statusChangedAt": "03/11/25",
}
DETAIL = {
    **{k: v for k, v in SUMMARY.items() if k not in ("supplierName", "itemsCount")},
    "supplier": {"id": 1, "name": "Yiqing"},
    "items": [],
    "createdAt": "2025-11-03T10:00:00Z",
}


def test_unknown_fields_are_kept() -> None:
    p = Product.model_validate({**PRODUCT, "brand_new_field": [1, 2]})
    assert p.model_extra == {"brand_new_field": [1, 2]}


def test_unknown_status_is_an_unknown_member() -> None:
    o = OrderSummary.model_validate({**SUMMARY, "status": "on_hold"})
    assert o.status == "on_hold" and isinstance(o.status, OrderStatus)
    assert not o.status.is_known and not o.status.is_final
    assert OrderStatus("paid").is_known


def test_known_status_is_enum() -> None:
    o = CreatedOrder.model_validate(
        {
            "orderNumber": "O",
            "deliveryId": "PS-1",
            "supplierId": 12,
            "status": "part_paid",
            "totalAmount": "2.50",
            "currency": "USD",
            "items": 1,
            "createdAt": "2025-01-14T10:00:00Z",
        }
    )
    assert o.status is OrderStatus.PART_PAID and o.total_amount == Decimal("2.50")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("03/11/25", date(2025, 11, 3)),
        ("3/1/2026", date(2026, 1, 3)),
        ("2025-11-03", date(2025, 11, 3)),
        ("2025-11-03T10:00:00Z", date(2025, 11, 3)),
    ],
)
def test_list_dates_day_first(wire: str, expected: date) -> None:
    o = OrderSummary.model_validate({**SUMMARY, "createdAt": wire})
    assert o.created_at == expected


def test_ids_int_or_uuid() -> None:
    a = Order.model_validate({**DETAIL, "orderId": 1234})
    b = Order.model_validate({**DETAIL, "orderId": "a9e312b9-d5bb-4961-8db6-7ea1007e672b"})
    assert a.order_id == 1234 and isinstance(b.order_id, str)


def test_money_from_number_keeps_decimal_digits() -> None:
    p = Product.model_validate_json(
        b'{"internal_id": "ps_1", "sku": "S", "price": 29.99, "currency": "EUR", '
        b'"tcc_total_cost": 50.98}'
    )
    assert p.tcc_total_cost == Decimal("50.98")


def test_status_finality() -> None:
    assert OrderStatus.ACCEPTED.is_final and OrderStatus.CANCELLED.is_final
    assert not OrderStatus.PAID.is_final
