"""The sandbox behaves as the API reference describes (driven with raw httpx, so the SDK's own
validation does not hide the server's)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import RateLimitConfig, Window, webhooks
from pleasurestock_async.ratelimit import ManualClock
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, Faults, Sandbox
from pleasurestock_async.sandbox._catalog import Catalogue
from pleasurestock_async.sandbox._delivery import WebhookSender

from .sandbox_server import checked_client
from .simulated import on_clock

STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}


def raw(sandbox: Sandbox) -> httpx.AsyncClient:
    """A raw client whose every response is checked against the OpenAPI document."""
    return checked_client(sandbox)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(rate_limits=None, products=300)


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with raw(sandbox) as client:
        yield client


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/products", {}),
        ("/products", {"X-API-Key": "pk_wrong"}),
        ("/products", EXT),  # the external scheme on a standard route
        ("/external/orders", STD),  # and the other way round
        ("/external/orders", {"Authorization": DEMO_API_KEY}),
    ],
)
async def test_auth_scheme_per_api(
    http: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await http.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json()["success"] is False and "API key" in response.json()["message"]


async def test_custom_keys() -> None:
    sb = Sandbox(api_keys=["pk_a", "pk_b"], rate_limits=None, products=5)
    async with raw(sb) as http:
        assert (await http.get("/products", headers={"X-API-Key": "pk_b"})).status_code == 200
        assert (await http.get("/products", headers=STD)).status_code == 401


# -- catalogue --------------------------------------------------------------------------------


def test_catalogue_is_deterministic_and_varied() -> None:
    a, b = Catalogue(2490, seed=1), Catalogue(2490, seed=1)
    assert [p.internal_id for p in a.products] == [p.internal_id for p in b.products]
    assert [p.internal_id for p in a.products] != [
        p.internal_id for p in Catalogue(2490, 2).products
    ]
    assert len({p.internal_id for p in a.products}) == 2490
    generated = [p for p in a.products if p.internal_id != "ps_abc123"]  # the reference's
    assert len(generated) == 2489
    assert all(re.fullmatch(r"ps_[a-z0-9]{10}", p.internal_id) for p in generated)
    assert len({p.supplier.id for p in a.products}) == 8
    assert {p.supplier.currency for p in a.products} >= {"USD", "EUR", "GBP"}
    assert any(re.search("[а-я]", p.category.name) for p in a.products)
    assert a.find(a.products[5].id.upper()) is a.products[5]


def test_every_catalogue_starts_with_the_reference_products() -> None:
    expected = [
        "ps_vj31ucxsab",
        "ps_uypjz2vraa",
        None,  # known by its UUID only
        "ps_w2as53xl1z",
        "ps_j2y58ajsit",
        "ps_1234567890",
        "ps_0987654321",
        "ps_abc123",  # the warehouse and out-of-stock sales examples
    ]
    for seed in (1, 2025):
        products = Catalogue(2490, seed).products
        assert [p.internal_id for p in products[:2]] == expected[:2]
        assert [p.internal_id for p in products[3:8]] == expected[3:]
        assert products[2].id == "b421eb2c-e1ee-4537-9c19-056d63a337c4"
        assert products[0].id == "db57e260-b151-4bf1-ac63-175baef9f96d"
        assert products[0].sku == "SL2505044-XCM"
        assert (products[5].supplier.id, products[6].supplier.id) == (12, 15)
    small = Catalogue(3, 1).products
    assert len(small) == 3 and [p.internal_id for p in small[:2]] == expected[:2]
    assert small[2].id == "b421eb2c-e1ee-4537-9c19-056d63a337c4"
    assert Catalogue(2490, 1).products[100] != Catalogue(2490, 2).products[100]


async def test_example_orders_are_the_references() -> None:
    sb = Sandbox(rate_limits=None, products=300, example_orders=True)
    assert [(o.number, o.delivery_id, o.status) for o in sb.orders] == [
        ("ORD-20251103-LMGYAQ", "PS-2025-1103/1", "cancelled"),
        ("ORD-20251103-78XZ70", "PS-2025-1103/2", "created"),
    ]
    assert all(len(o.lines) == 15 and o.total == Decimal("5669.57") for o in sb.orders)
    assert Sandbox(rate_limits=None, products=300).orders == []


async def test_default_catalogue_size() -> None:
    sb = Sandbox(rate_limits=None)
    async with raw(sb) as http:
        body = (await http.get("/products", headers=STD)).json()
    assert body["pagination"] == {"page": 1, "limit": 100, "total": 2490, "pages": 25}


async def test_page_limit_and_filters(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    assert (await http.get("/products?limit=1001", headers=STD)).status_code == 400
    assert (await http.get("/products?page=0", headers=STD)).status_code == 400
    supplier = sandbox.products[0].supplier.id
    body = (await http.get(f"/products?supplier_id={supplier}&limit=1000", headers=STD)).json()
    assert body["data"] and all(p["supplier_id"] == supplier for p in body["data"])
    assert body["pagination"]["total"] == sum(
        1 for p in sandbox.products if p.supplier.id == supplier
    )
    sku = sandbox.products[7].sku
    found = (await http.get(f"/products?search={sku.lower()}", headers=STD)).json()["data"]
    assert [p["sku"] for p in found] == [sku]


async def test_ids_batch_query_mixes_id_forms(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    a, b = sandbox.products[3], sandbox.products[9]
    body = (
        await http.get(f"/products?ids={a.internal_id},{b.id},ps_0000000000", headers=STD)
    ).json()
    assert sorted(p["internal_id"] for p in body["data"]) == sorted([a.internal_id, b.internal_id])


async def test_include_flags(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    plain = (await http.get("/products?limit=1", headers=STD)).json()["data"][0]
    assert "category_name" not in plain and "tcc_total_cost" not in plain
    assert "images" not in plain
    full = (
        await http.get(
            "/products?limit=1&withImages=true&includeCategory=true&includeTcc=true"
            "&includeTsp=true",
            headers=STD,
        )
    ).json()["data"][0]
    product = sandbox.products[0]
    assert full["images"] and full["category_name_en"] == product.category.name_en
    tcc = (product.price * Decimal("1.7")).quantize(Decimal("0.01"))
    assert Decimal(str(full["tcc_total_cost"])) == tcc
    assert Decimal(str(full["tsp_value"])) == (tcc * Decimal("1.5")).quantize(Decimal("0.01"))
    assert full["tsp_formula"] == "TCC * 1.5"


async def test_product_detail_defaults_to_images_and_404(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    product = sandbox.products[1]
    body = (await http.get(f"/products/{product.id}", headers=STD)).json()["data"]
    assert body["id"] == product.id and body["images"]
    assert (await http.get("/products/ps_zzzzzzzzzz", headers=STD)).status_code == 404


async def test_account_formula() -> None:
    sb = Sandbox(rate_limits=None, products=3, tsp_formula="TCC * 2.5 + 104", tcc_coefficient=2)
    async with raw(sb) as http:
        p = (
            await http.get(f"/products/{sb.products[0].internal_id}?includeTsp=true", headers=STD)
        ).json()["data"]
    tcc = sb.products[0].price * 2
    assert Decimal(str(p["tsp_value"])) == (tcc * Decimal("2.5") + 104).quantize(Decimal("0.01"))


# -- sales --------------------------------------------------------------------------------------


async def test_sales_validation_errors_as_documented(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    good: dict[str, Any] = {
        "internal_id": sandbox.products[0].internal_id,
        "date": "2025-11-03",
        "quantity": 1,
    }
    sales = [
        good,
        {**good, "internal_id": "invalid_id_123"},
        {**good, "date": "03/11/2025"},
        {**good, "quantity": -1},
        {**good, "stock_on_hand": 1.5},
        {**good, "internal_id": "ps_0000000000"},
    ]
    response = await http.post("/sales", json={"sales": sales}, headers=STD)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Validation errors" and body["processed"] == 0
    assert body["errors"][0] == {
        "index": 1,
        "error": "Invalid internal_id format",
        "expected": "UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or ps_id (ps_XXXXXXXXXX)",
        "received": "invalid_id_123",
    }
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4, 5]
    assert sandbox.daily_sales(good["internal_id"]) == {}  # all or nothing


async def test_sales_batch_limit(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    row = {"internal_id": sandbox.products[0].internal_id, "date": "2025-11-03", "quantity": 1}
    response = await http.post("/sales", json={"sales": [row] * 1001}, headers=STD)
    assert response.status_code == 400 and response.json()["processed"] == 0


async def test_sales_aggregate_sum_and_max_across_requests(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    product = sandbox.products[0]
    a = {
        "internal_id": product.internal_id,
        "date": "2025-11-03",
        "quantity": 10,
        "stock_on_hand": 500,
    }
    b = {"internal_id": product.id, "date": "2025-11-03", "quantity": 5, "stock_on_hand": 300}
    assert (await http.post("/sales", json={"sales": [a, b]}, headers=STD)).json()["processed"] == 2
    await http.post(
        "/sales", json={"sales": [{**a, "quantity": 1, "stock_on_hand": 20}]}, headers=STD
    )
    day = sandbox.daily_sales(product.internal_id)[date(2025, 11, 3)]
    assert (day.quantity, day.stock_on_hand) == (16, 500)


async def test_smart_reordering_from_history(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    product = sandbox.products[0]
    rows = [
        {
            "internal_id": product.internal_id,
            "date": f"2025-11-{d:02d}",
            "quantity": q,
            "stock_on_hand": s,
        }
        for d, q, s in [
            (1, 4, 50),
            (2, 6, 44),
            (3, 0, 0),
            (4, 5, 39),
            (5, 5, 34),
            (6, 4, 30),
            (7, 6, 24),
            (8, 5, 19),
            (9, 5, 14),
        ]
    ]
    await http.post("/sales", json={"sales": rows}, headers=STD)
    body = (await http.get("/smart-reordering?date=2025-11-09", headers=STD)).json()
    assert body["date"] == "2025-11-09" and body["total"] == 1
    rec = body["recommendations"][0]
    # 8 in-stock days averaging 5 (the out-of-stock day is left out); 30 days cover 150, 14 held
    assert rec["product_internal_id"] == product.internal_id
    assert rec["average_daily_sales"] == 5 and rec["current_stock"] == 14
    assert rec["recommended_quantity"] == 136
    assert 0 < rec["forecast_accuracy"] <= 1
    assert (await http.get("/smart-reordering?date=nope", headers=STD)).status_code == 400


async def test_currency(http: httpx.AsyncClient) -> None:
    body = (await http.get("/currency/convert-to-try?amount=100&currency=EUR", headers=STD)).json()
    assert body["convertedAmount"] == 3487.5 and body["exchangeRate"] == 34.875
    for query in ("amount=1&currency=JPY", "amount=x&currency=USD", "amount=-1&currency=GBP"):
        assert (await http.get(f"/currency/convert-to-try?{query}", headers=STD)).status_code == 400


async def test_external_smart_reorder_validation(http: httpx.AsyncClient) -> None:
    good = {
        "ps_id": "ps_1234567890",
        "quantity": 15,
        "current_stock": 85,
        "sales_history": [5, 8, 12, 6, 9, 11, 7],
    }
    ok = await http.post("/external/smart-reorder", json={"products": [good]}, headers=EXT)
    assert ok.json()["data"]["smartReorderId"] == 1 and ok.json()["data"]["isActive"]
    bad = {**good, "ps_id": "x", "sales_history": [1, 2]}
    response = await http.post("/external/smart-reorder", json={"products": [bad]}, headers=EXT)
    assert response.status_code == 400
    assert len(response.json()["details"]) == 2


# -- orders -------------------------------------------------------------------------------------


async def test_orders_grouped_by_supplier(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    by_supplier: dict[int, str] = {}
    for p in sandbox.products:
        by_supplier.setdefault(p.supplier.id, p.internal_id)
    (s1, a), (s2, b) = list(by_supplier.items())[:2]
    body = {
        "items": [{"ps_id": a, "quantity": 2}, {"ps_id": b, "quantity": 1, "customPrice": 9.5}],
        "externalOrderId": "ERP-1",
        "comment": "Urgent",
    }
    data = (await http.post("/external/orders", json=body, headers=EXT)).json()["data"]
    assert data["totalOrders"] == 2
    assert {o["supplierId"] for o in data["orders"]} == {s1, s2}
    for o in data["orders"]:
        assert re.fullmatch(r"ORD-\d{8}-[A-Z0-9]{6}", o["orderNumber"])
        assert re.fullmatch(r"PS-\d{4}-\d{4}/\d+", o["deliveryId"])
    custom = next(o for o in data["orders"] if o["supplierId"] == s2)
    assert custom["totalAmount"] == 9.5


async def test_orders_reject_unknown_products(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/external/orders",
        json={"items": [{"ps_id": "ps_0000000000", "quantity": 1}]},
        headers=EXT,
    )
    assert response.status_code == 400 and "unknown product" in response.json()["details"][0]


async def test_lifecycle_enforced(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    item = {"ps_id": sandbox.products[0].internal_id, "quantity": 1}
    number = (await http.post("/external/orders", json={"items": [item]}, headers=EXT)).json()[
        "data"
    ]["orders"][0]["orderNumber"]

    async def move(status: str) -> httpx.Response:
        return await http.put(
            f"/external/orders/{number}/status", json={"status": status}, headers=EXT
        )

    assert (await move("delivered")).status_code == 400  # cannot skip shipping
    assert (await move("created")).status_code == 400  # set by the system only
    for status in ("part_paid", "paid", "on_the_way", "delivered", "accepted"):
        response = await move(status)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == status
    final = await move("cancelled")
    assert final.status_code == 400 and "final" in final.json()["message"]
    detail = (await http.get(f"/external/orders/{number}", headers=EXT)).json()["data"]
    assert detail["status"] == "accepted" and detail["acceptedAt"] and detail["paidAt"]
    assert detail["statusDisplay"]["cssClass"].startswith("bg-")


async def test_cancel_from_any_non_final(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    item = {"ps_id": sandbox.products[0].internal_id, "quantity": 1}
    number = (await http.post("/external/orders", json={"items": [item]}, headers=EXT)).json()[
        "data"
    ]["orders"][0]["orderNumber"]
    path = f"/external/orders/{number}/status"
    assert (await http.put(path, json={"status": "paid"}, headers=EXT)).status_code == 200
    assert (await http.put(path, json={"status": "cancelled"}, headers=EXT)).status_code == 200
    assert (await http.put(path, json={"status": "paid"}, headers=EXT)).status_code == 400


async def test_order_list_filter_and_paging(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    item = {"ps_id": sandbox.products[0].internal_id, "quantity": 1}
    numbers = []
    for _ in range(5):
        data = (await http.post("/external/orders", json={"items": [item]}, headers=EXT)).json()
        numbers.append(data["data"]["orders"][0]["orderNumber"])
    await http.put(f"/external/orders/{numbers[0]}/status", json={"status": "paid"}, headers=EXT)
    body = (await http.get("/external/orders?status=created&limit=2&offset=1", headers=EXT)).json()[
        "data"
    ]
    assert body["pagination"] == {"total": 4, "limit": 2, "offset": 1}
    assert [o["orderNumber"] for o in body["orders"]] == [numbers[3], numbers[2]]
    assert re.fullmatch(r"\d\d/\d\d/\d\d", body["orders"][0]["createdAt"])
    assert (await http.get("/external/orders/ORD-nope", headers=EXT)).status_code == 404


# -- webhooks -----------------------------------------------------------------------------------


def receiver(fail_first: int, seen: list[tuple[bytes, dict[str, str]]]) -> Starlette:
    calls = 0

    async def hook(request: Request) -> Response:
        nonlocal calls
        calls += 1
        seen.append((await request.body(), dict(request.headers)))
        return Response(status_code=500 if calls <= fail_first else 204)

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@pytest.mark.concurrency
async def test_webhooks_signed_and_retried() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sb = Sandbox(
        rate_limits=None,
        products=5,
        webhook_url="http://receiver/hooks",
        webhook_transport=httpx.ASGITransport(app=receiver(2, seen)),
        webhook_retry_delays=(0.01, 0.02, 0.04),
    )
    async with raw(sb) as http:
        item = {"ps_id": sb.products[0].internal_id, "quantity": 1}
        await http.post("/external/orders", json={"items": [item]}, headers=EXT)
        await sb.drain_webhooks()
    (delivery,) = sb.webhook_deliveries
    assert delivery.attempts == [500, 500, 204] and delivery.delivered
    body, headers = seen[-1]
    event = webhooks.construct_event(body, headers, DEMO_WEBHOOK_SECRET)
    assert event.event == "order.created"


@pytest.mark.concurrency
async def test_webhook_gives_up_after_retries() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sb = Sandbox(
        rate_limits=None,
        products=5,
        webhook_url="http://receiver/hooks",
        webhook_transport=httpx.ASGITransport(app=receiver(99, seen)),
        webhook_retry_delays=(0.0, 0.0, 0.0),
    )
    async with raw(sb) as http:
        await http.post(
            "/external/orders",
            json={"items": [{"ps_id": sb.products[0].internal_id, "quantity": 1}]},
            headers=EXT,
        )
        await sb.drain_webhooks()
    assert sb.webhook_deliveries[0].attempts == [500] * 4
    assert not sb.webhook_deliveries[0].delivered


@pytest.mark.concurrency
async def test_a_delivery_tells_each_attempt_and_its_end_without_polling() -> None:
    """What `webhook trigger` waits on to print attempts as they happen (it slept 20 ms at a
    time until the delivery finished)."""
    seen: list[tuple[bytes, dict[str, str]]] = []
    sender = WebhookSender(
        "http://receiver/hooks",
        DEMO_WEBHOOK_SECRET,
        retry_delays=(0.0, 0.0, 0.0),
        transport=httpx.ASGITransport(app=receiver(2, seen)),
    )
    told: list[tuple[list[int | str], bool]] = []
    async with sender.run():
        delivery = sender.send("order.created", {"orderNumber": "O-1"}, "2026-12-05T10:00:00Z")
        for _ in range(10):  # bounded: three attempts and the end
            await delivery.changed()
            told.append((delivery.attempts, delivery.finished))
            if delivery.finished:
                break
    assert told[-1] == ([500, 500, 204], True)
    assert [len(attempts) for attempts, _ in told] == sorted({len(a) for a, _ in told})
    await delivery.changed()  # finished: at once
    assert len(seen) == 3


async def test_webhook_receiver_endpoint(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    body = b'{"event":"order.cancelled","data":{"orderId":"x","orderNumber":"O-1"}}'
    ok = await http.post(
        "/external/webhook",
        content=body,
        headers={**EXT, **webhooks.sign(body, DEMO_WEBHOOK_SECRET)},
    )
    assert ok.status_code == 200 and sandbox.received_webhooks[0].event == "order.cancelled"
    bad = await http.post(
        "/external/webhook", content=body, headers={**EXT, **webhooks.sign(body, "another secret")}
    )
    assert bad.status_code == 400


# -- limits and faults ----------------------------------------------------------------------------


async def test_rate_limits_enforced_per_key_and_api() -> None:
    limits = RateLimitConfig(standard=(Window(3, 60.0),), external=(Window(2, 60.0),))
    sb = Sandbox(rate_limits=limits, products=5, api_keys=["pk_a", "pk_b"])
    async with raw(sb) as http:
        codes = [
            (await http.get("/products", headers={"X-API-Key": "pk_a"})).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = await http.get("/products", headers={"X-API-Key": "pk_a"})
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert (await http.get("/products", headers={"X-API-Key": "pk_b"})).status_code == 200
        assert (
            await http.get("/external/orders", headers={"Authorization": "Bearer pk_a"})
        ).status_code == 200
    assert sb.rate_limited == 2
    assert sb.request_counts["GET /products"] == 6


async def test_fault_error_rate() -> None:
    sb = Sandbox(rate_limits=None, products=5, faults=Faults(error_rate=1.0))
    async with raw(sb) as http:
        assert (await http.get("/products", headers=STD)).status_code == 500


async def test_fault_after_store_keeps_the_data() -> None:
    sb = Sandbox(rate_limits=None, products=5, faults=Faults(error_after_store_rate=1.0))
    row: dict[str, Any] = {
        "internal_id": sb.products[0].internal_id,
        "date": "2025-11-03",
        "quantity": 3,
    }
    async with raw(sb) as http:
        assert (await http.post("/sales", json={"sales": [row]}, headers=STD)).status_code == 500
    assert sb.daily_sales(row["internal_id"])[date(2025, 11, 3)].quantity == 3


async def test_fault_latency() -> None:
    clock = ManualClock()
    sb = Sandbox(rate_limits=None, products=5, faults=Faults(latency=2.5), clock=clock)
    async with raw(sb) as http:
        response = await on_clock(clock, lambda: http.get("/products", headers=STD))
    assert response.status_code == 200 and clock.now() == 2.5


# -- independence from the client ------------------------------------------------------------------


def test_the_sandbox_imports_none_of_the_clients_internals() -> None:
    """Written from the reference, not from the client: only public names of the package."""
    import ast
    from pathlib import Path

    import pleasurestock_async.sandbox as package

    allowed = {
        "pleasurestock_async": {
            "RateLimitConfig",
            "Window",
            "DEFAULT_RATE_LIMITS",
            "AsyncPleasureStock",
            "webhooks",
        },
        # time, and the limiter its own client() uses on that time
        "pleasurestock_async.ratelimit": {"Clock", "MonotonicClock", "MemoryRateLimiter"},
    }
    modules = sorted(Path(package.__file__).parent.glob("*.py"))
    assert len(modules) > 15
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{module.name} imports from outside the sandbox"
                if node.level == 0 and (node.module or "").startswith("pleasurestock_async"):
                    assert node.module in allowed, f"{module.name}: {node.module}"
                    assert {a.name for a in node.names} <= allowed[node.module], module.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("pleasurestock_async") for a in node.names)
