"""Every endpoint over respx: method, path, auth header, query names, body, and parsing of
the API reference's own examples (tests/fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.types import (
    OrderItem,
    OrderStatus,
    Product,
    SaleRecord,
    SmartReorderProduct,
)

from .conftest import KEY, fixture


def assert_standard_auth(request: httpx.Request) -> None:
    assert request.headers["X-API-Key"] == KEY
    assert "Authorization" not in request.headers


def assert_external_auth(request: httpx.Request) -> None:
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "X-API-Key" not in request.headers


async def test_products_list_one_page(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products").respond(json=fixture("products_list_basic"))
    page = await ps.products.list(
        page=2,
        limit=100,
        supplier_id=12,
        search="rabbit",
        with_images=False,
        include_category=True,
        include_tcc=True,
        include_tsp=True,
    )
    request = route.calls.last.request
    assert_standard_auth(request)
    assert dict(request.url.params) == {
        "page": "2",
        "limit": "100",
        "supplier_id": "12",
        "search": "rabbit",
        "withImages": "false",
        "includeCategory": "true",
        "includeTcc": "true",
        "includeTsp": "true",
    }
    assert page.pagination.total == 1250 and page.pagination.pages == 13
    product = page.data[0]
    assert product.internal_id == "ps_1234567890"
    assert product.price == Decimal("29.99")
    assert product.supplier_id == 12
    assert product.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


async def test_products_list_with_category_tcc_tsp(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.get("/products").respond(json=fixture("products_list_full"))
    page = await ps.products.list()
    p = page.data[0]
    assert p.category_name == "Вибраторы" and p.category_name_en == "Vibrators"
    assert p.tcc_enabled is True and p.tcc_coefficient == Decimal("1.7")
    assert p.tcc_total_cost == Decimal("50.98") and p.tcc_currency == "EUR"
    assert p.tsp_value == Decimal("76.47") and p.tsp_formula == "TCC * 1.5"


async def test_products_get(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products/ps_vj31ucxsab").respond(json=fixture("product_get"))
    p = await ps.products.get("ps_vj31ucxsab", include_tcc=True, include_category=True)
    request = route.calls.last.request
    assert_standard_auth(request)
    assert dict(request.url.params) == {"includeCategory": "true", "includeTcc": "true"}
    assert isinstance(p, Product)
    assert p.id == "db57e260-b151-4bf1-ac63-175baef9f96d"
    assert p.price == Decimal("8.00") and p.tcc_total_cost == 16 and p.tsp_value == 144


async def test_products_get_by_uuid(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    uuid = "db57e260-b151-4bf1-ac63-175baef9f96d"
    mock.get(f"/products/{uuid}").respond(json=fixture("product_get"))
    assert (await ps.products.get(uuid)).internal_id == "ps_vj31ucxsab"


async def test_sales_submit(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.post("/sales").respond(json=fixture("sales_success"))
    request_example = fixture("sales_request")["sales"]
    result = await ps.sales.submit(
        [SaleRecord.model_validate(request_example[0]), request_example[1]]
    )
    request = route.calls.last.request
    assert_standard_auth(request)
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"sales": request_example}
    assert result.processed == 2 and result.message == "Sales data submitted successfully"


async def test_sales_submit_accepts_date_objects_and_omits_missing_stock(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.post("/sales").respond(json={"success": True, "processed": 1})
    await ps.sales.submit(
        [{"internal_id": "ps_abcdefghij", "date": date(2025, 11, 3), "quantity": 0}]
    )
    assert json.loads(route.calls.last.request.content) == {
        "sales": [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 0}]
    }


async def test_smart_reordering_get(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/smart-reordering").respond(json=fixture("smart_reordering_get"))
    report = await ps.smart_reordering.get(date(2024, 3, 20))
    request = route.calls.last.request
    assert_standard_auth(request)
    assert dict(request.url.params) == {"date": "2024-03-20"}
    assert report.date == date(2024, 3, 20) and report.total == 15
    rec = report.recommendations[0]
    assert rec.product_internal_id == "pl_1234567890"
    assert rec.recommended_quantity == 25 and rec.average_daily_sales == Decimal("3.5")
    assert rec.forecast_accuracy == Decimal("0.87")


async def test_smart_reordering_get_default_date(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/smart-reordering").respond(json=fixture("smart_reordering_get"))
    await ps.smart_reordering.get()
    assert dict(route.calls.last.request.url.params) == {}


async def test_smart_reorder_submit(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.post("/external/smart-reorder").respond(json=fixture("smart_reorder_response"))
    products = fixture("smart_reorder_request")["products"]
    ack = await ps.smart_reordering.submit([SmartReorderProduct.model_validate(products[0])])
    request = route.calls.last.request
    assert_external_auth(request)
    assert json.loads(request.content) == {"products": products}
    assert ack.smart_reorder_id == 123 and ack.is_active is True
    assert ack.last_updated == datetime(2024, 3, 20, 15, 30, tzinfo=UTC)


async def test_currency_convert(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/currency/convert-to-try").respond(json=fixture("currency_convert"))
    conv = await ps.currency.convert_to_try(100, "EUR")
    request = route.calls.last.request
    assert_standard_auth(request)
    assert dict(request.url.params) == {"amount": "100", "currency": "EUR"}
    assert conv.converted_amount == Decimal("3487.50")
    assert conv.exchange_rate == Decimal("34.875")
    assert conv.original_currency == "EUR" and conv.target_currency == "TRY"


async def test_orders_create(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.post("/external/orders").respond(json=fixture("orders_create_response"))
    example = fixture("orders_create_request")
    created = await ps.orders.create(
        [
            OrderItem(ps_id="ps_1234567890", quantity=10, custom_price=Decimal("25.50")),
            {"ps_id": "ps_0987654321", "quantity": 5},
        ],
        external_order_id="ERP-2025-001",
        comment="Urgent order",
    )
    request = route.calls.last.request
    assert_external_auth(request)
    assert json.loads(request.content) == example
    assert created.total_orders == 2 and created.total_amount == Decimal("380.00")
    first = created.orders[0]
    assert first.order_number == "ORD-2025-000123" and first.supplier_id == 12
    assert first.status == OrderStatus.CREATED and first.total_amount == Decimal("255.00")


async def test_orders_create_minimal_body(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.post("/external/orders").respond(json=fixture("orders_create_response"))
    await ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
    assert json.loads(route.calls.last.request.content) == {
        "items": [{"ps_id": "ps_1234567890", "quantity": 1}]
    }


async def test_orders_list_page(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/external/orders").respond(json=fixture("orders_list"))
    page = await ps.orders.list(status="created", limit=20, offset=0)
    request = route.calls.last.request
    assert_external_auth(request)
    assert dict(request.url.params) == {"status": "created", "limit": "20", "offset": "0"}
    first, second = page.data
    assert first.order_id == "a9e312b9-d5bb-4961-8db6-7ea1007e672b"
    assert first.created_at == date(2025, 11, 3)  # "03/11/25" is day/month/year
    assert first.status_display.css_class.startswith("bg-")
    assert first.total_amount == Decimal("5669.57") and first.external_order_id is None
    assert second.status is OrderStatus.CANCELLED
    assert page.pagination.total == 8 and page.has_next_page()  # 2 of 8 so far


async def test_orders_get(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/external/orders/ORD-20251103-78XZ70").respond(json=fixture("order_get"))
    order = await ps.orders.get("ORD-20251103-78XZ70")
    assert_external_auth(route.calls.last.request)
    assert order.supplier is not None and order.supplier.name == "Yiqing"
    item = order.items[0]
    assert item.product_id == 567 and item.ps_id == "ps_1234567890"
    assert item.unit_price == Decimal("29.99") and item.total_price == Decimal("149.95")
    assert order.total_amount == Decimal("1549.99")
    assert order.paid_at == datetime(2024, 3, 16, 14, 30, tzinfo=UTC)
    assert order.shipped_at is None and order.actual_delivery_date is None


async def test_orders_update_status(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.put("/external/orders/ORD-2024-001234/status").respond(
        json=fixture("order_status_response")
    )
    done = await ps.orders.update_status(
        "ORD-2024-001234", "paid", external_order_id="EXT-123456", comment="Payment confirmed"
    )
    request = route.calls.last.request
    assert_external_auth(request)
    assert json.loads(request.content) == fixture("order_status_request")
    assert done.order_id == 1234 and done.status is OrderStatus.PAID


async def test_order_number_is_path_escaped(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get(url__regex=r".*/external/orders/.*").respond(json=fixture("order_get"))
    await ps.orders.get("ORD-ä%20&x=1")
    assert route.calls.last.request.url.raw_path.endswith(
        b"/external/orders/ORD-%C3%A4%2520%26x%3D1"
    )
