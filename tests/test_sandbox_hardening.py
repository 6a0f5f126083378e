"""No request can break the sandbox: each hostile request found from outside gets a documented
JSON error and a 4xx, and nothing it sends changes what later requests get."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from pleasurestock_async import webhooks
from pleasurestock_async.sandbox import (
    DEMO_API_KEY,
    DEMO_VIEWER_KEY,
    DEMO_WEBHOOK_SECRET,
    Sandbox,
)

from .sandbox_server import checked_client, serve

STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}
VIEW_STD = {"X-API-Key": DEMO_VIEWER_KEY}
VIEW_EXT = {"Authorization": f"Bearer {DEMO_VIEWER_KEY}"}
DAY = "2025-11-03"


def strict_json(response: httpx.Response) -> Any:
    """The body, refusing NaN and Infinity (which are not JSON)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a sandbox answer: {response.text[:200]}")

    return json.loads(response.content, parse_constant=refuse)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The documented error body with this status."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    body = strict_json(response)
    assert body["success"] is False
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    assert all(isinstance(d, str) for d in body["details"])
    return body  # type: ignore[no-any-return]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(rate_limits=None, products=50)


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with checked_client(sandbox, base_url="http://sb/api/v1") as client:
        yield client


async def order_number(http: httpx.AsyncClient, sandbox: Sandbox) -> str:
    item = {"ps_id": sandbox.products[0].internal_id, "quantity": 1}
    created = await http.post("/external/orders", json={"items": [item]}, headers=EXT)
    return str(created.json()["data"]["orders"][0]["orderNumber"])


# -- the defects found from outside --------------------------------------------------------------


@pytest.mark.parametrize("route", ["sales", "orders", "status"])
async def test_deeply_nested_body_is_a_json_400(
    sandbox: Sandbox, http: httpx.AsyncClient, route: str
) -> None:
    body = f'{{"sales": {nested(100_000)}}}'
    if route == "sales":
        response = await http.post("/sales", content=body, headers=STD)
    elif route == "orders":
        response = await http.post("/external/orders", content=body, headers=EXT)
    else:
        number = await order_number(http, sandbox)
        path = f"/external/orders/{number}/status"
        response = await http.put(path, content=body, headers=EXT)
    assert "nests deeper" in assert_error(response, 400)["message"]


async def test_deeply_nested_body_over_http_keeps_the_connection() -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    with serve(sandbox) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for depth in (33, 5_000, 100_000):
                body = f'{{"sales": {nested(depth)}}}'
                response = await http.post("/sales", content=body, headers=STD)
                assert_error(response, 400)
            assert (await http.get("/products?limit=1", headers=STD)).status_code == 200


async def test_huge_currency_amount_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/currency/convert-to-try?amount=1e30&currency=EUR", headers=STD)
    assert "between 0 and" in assert_error(response, 400)["message"]


async def test_ancient_smart_reordering_date_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/smart-reordering?date=0001-01-01", headers=STD)
    assert assert_error(response, 400)["message"].startswith("date must be")


async def test_one_huge_sale_cannot_break_smart_reordering(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    row = {"internal_id": sandbox.products[0].internal_id, "date": DAY, "quantity": 10**30}
    response = await http.post("/sales", json={"sales": [row]}, headers=STD)
    assert response.status_code == 400 and strict_json(response)["processed"] == 0
    # And a sum that large, however it got stored, is still answered exactly.
    sandbox.state.store_sale(sandbox.products[0], date(2025, 11, 3), 10**30, None)
    for offset in range(30):
        day = date(2025, 11, 3) + timedelta(days=offset)
        answer = await http.get(f"/smart-reordering?date={day}", headers=STD)
        assert answer.status_code == 200, answer.text
        rec = strict_json(answer)["recommendations"][0]
        assert rec["recommended_quantity"] == 30 * 10**30
    assert b'"average_daily_sales":1000000000000000000000000000000.00' in answer.content


@pytest.mark.parametrize("price", ["1e308", "1e400", "10000000000"])
async def test_enormous_custom_price_is_refused(
    sandbox: Sandbox, http: httpx.AsyncClient, price: str
) -> None:
    item = (
        f'{{"ps_id": "{sandbox.products[0].internal_id}", "quantity": 2, "customPrice": {price}}}'
    )
    response = await http.post("/external/orders", content=f'{{"items": [{item}]}}', headers=EXT)
    assert_error(response, 400)
    assert sandbox.orders == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nope", 404),
        ("GET", "/nope", 404),
        ("GET", "/static/nope.js", 404),
        ("POST", "/", 405),
        ("GET", "/api/v1/_sandbox/nope", 404),
        ("GET", "/api/v1/_sandbox/reset", 405),
        ("GET", "/api/v1/products/", 404),
        ("POST", "/api/v1/external/orders/ORD-1", 405),
        ("DELETE", "/api/v1/products", 405),
        ("PATCH", "/api/v1/external/orders", 405),
    ],
)
async def test_unknown_routes_and_methods_get_json_errors(
    http: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await http.request(method, "http://sb" + path, headers=STD)
    assert_error(response, status)
    if status == 405:
        assert response.headers["allow"]


async def test_unknown_query_parameters_are_refused(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """Found by schemathesis (stateful phase): ``GET /products?ids=6&=null`` was a 200. A
    misspelt filter must not silently return the unfiltered catalogue."""
    supplier = sandbox.products[0].supplier.id
    body = assert_error(await http.get(f"/products?supplierId={supplier}", headers=STD), 400)
    assert body["message"] == "Unknown query parameter: 'supplierId'"
    assert_error(await http.get("/products?ids=6&includeCategory=false&=null", headers=STD), 400)
    good = await http.get(f"/products?supplier_id={supplier}", headers=STD)
    assert good.status_code == 200


async def test_method_not_allowed_lists_every_method_of_the_path(http: httpx.AsyncClient) -> None:
    response = await http.delete("/external/orders", headers=EXT)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


async def test_viewer_key_reads_but_cannot_write(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    assert (await http.get("/products?limit=1", headers=VIEW_STD)).status_code == 200
    assert (await http.get("/external/orders", headers=VIEW_EXT)).status_code == 200
    number = await order_number(http, sandbox)
    product = sandbox.products[0].internal_id
    writes = [
        http.post(
            "/sales",
            json={"sales": [{"internal_id": product, "date": DAY, "quantity": 1}]},
            headers=VIEW_STD,
        ),
        http.post(
            "/external/orders",
            json={"items": [{"ps_id": product, "quantity": 1}]},
            headers=VIEW_EXT,
        ),
        http.put(f"/external/orders/{number}/status", json={"status": "paid"}, headers=VIEW_EXT),
        http.post(
            "/external/smart-reorder",
            json={
                "products": [
                    {
                        "ps_id": product,
                        "quantity": 1,
                        "current_stock": 1,
                        "sales_history": [1] * 7,
                    }
                ]
            },
            headers=VIEW_EXT,
        ),
    ]
    for write in writes:
        body = assert_error(await write, 403)
        assert body["message"] == "Insufficient permissions (not a manager role)"
    assert sandbox.stored_sales() == {} and len(sandbox.orders) == 1
    assert sandbox.orders[0].status == "created"


async def test_items_count_counts_lines(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    supplier = sandbox.products[0].supplier.id
    a, b = [p.internal_id for p in sandbox.products if p.supplier.id == supplier][:2]
    items = [{"ps_id": a, "quantity": 5}, {"ps_id": b, "quantity": 7}]
    await http.post("/external/orders", json={"items": items}, headers=EXT)
    (listed,) = strict_json(await http.get("/external/orders", headers=EXT))["data"]["orders"]
    assert listed["itemsCount"] == 2 and listed["catalogItemsCount"] == 2


@pytest.mark.concurrency
async def test_sandbox_delivers_webhooks_to_its_own_receiver() -> None:
    sandbox: Sandbox

    async def itself(scope: Any, receive: Any, send: Any) -> None:
        await sandbox.app(scope, receive, send)

    sandbox = Sandbox(
        rate_limits=None,
        products=10,
        webhook_url="http://sb/api/v1/external/webhook",
        webhook_transport=httpx.ASGITransport(app=itself),
        webhook_retry_delays=(0.0,),
    )
    async with sandbox:
        await sandbox.trigger("order.created")
        await sandbox.trigger("order.status_changed")
        await sandbox.drain_webhooks()
    assert [d.attempts for d in sandbox.webhook_deliveries] == [[200], [200]]
    received = sorted(e.event for e in sandbox.received_webhooks)  # delivered concurrently
    assert received == ["order.created", "order.status_changed"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(http: httpx.AsyncClient, scheme: str) -> None:
    response = await http.get(
        "/external/orders", headers={"Authorization": f"{scheme} {DEMO_API_KEY}"}
    )
    assert response.status_code == 200


async def test_webhook_receiver_needs_a_signature_not_a_key(http: httpx.AsyncClient) -> None:
    body = b'{"event":"order.cancelled","data":{"orderId":"x","orderNumber":"O-1"}}'
    signed = await http.post(
        "/external/webhook", content=body, headers=webhooks.sign(body, DEMO_WEBHOOK_SECRET)
    )
    assert signed.status_code == 200
    assert_error(await http.post("/external/webhook", content=body, headers=EXT), 400)


# -- the general rule: every bad request gets a documented 4xx ----------------------------------

P = "ps_1234567890"  # a reference product every default-seeded catalogue holds
SALE = {"internal_id": P, "date": DAY, "quantity": 1}
ITEM = {"ps_id": P, "quantity": 1}
REORDER = {"ps_id": P, "quantity": 1, "current_stock": 1, "sales_history": [1] * 7}


def sales(**changes: Any) -> dict[str, Any]:
    return {"sales": [{**SALE, **changes}]}


def order(**changes: Any) -> dict[str, Any]:
    return {"items": [{**ITEM, **changes}]}


def reorder(**changes: Any) -> dict[str, Any]:
    return {"products": [{**REORDER, **changes}]}


# (method, path, headers, JSON body or raw text, status)
HOSTILE: list[tuple[str, str, dict[str, str], object, int]] = [
    ("GET", "/products?supplierId=12", STD, None, 400),  # a misspelt filter
    ("GET", "/products?=null", STD, None, 400),
    ("GET", "/external/orders?stat=created", EXT, None, 400),
    ("POST", "/sales?dryRun=1", STD, sales(), 400),
    ("GET", "/products?limit=0", STD, None, 400),
    ("GET", "/products?limit=1001", STD, None, 400),
    ("GET", "/products?limit=1.5", STD, None, 400),
    ("GET", "/products?page=0", STD, None, 400),
    ("GET", "/products?page=1000001", STD, None, 400),
    ("GET", "/products?page=" + "9" * 5000, STD, None, 400),
    ("GET", "/products?page=%D9%A3", STD, None, 400),  # an Arabic-Indic digit
    ("GET", "/products?supplier_id=-1", STD, None, 400),
    ("GET", "/products?supplier_id=99999999999", STD, None, 400),
    ("GET", "/products?withImages=maybe", STD, None, 400),
    ("GET", "/products?search=" + "x" * 201, STD, None, 400),
    ("GET", "/products?ids=" + ",".join(["ps_0000000000"] * 1001), STD, None, 400),
    ("GET", "/products/ps_0000000000", STD, None, 404),
    ("GET", "/products/" + "x" * 5000, STD, None, 404),
    ("GET", "/smart-reordering?date=2025-02-30", STD, None, 400),
    ("GET", "/smart-reordering?date=9999-12-31", STD, None, 400),
    ("GET", "/smart-reordering?date=", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=NaN&currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=Infinity&currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=-1&currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=1_000&currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=1e999999999&currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?currency=EUR", STD, None, 400),
    ("GET", "/currency/convert-to-try?amount=1&currency=eur", STD, None, 400),
    ("GET", "/external/orders?limit=0", EXT, None, 400),
    ("GET", "/external/orders?offset=-1", EXT, None, 400),
    ("GET", "/external/orders?offset=1000000001", EXT, None, 400),
    ("GET", "/external/orders?status=lost", EXT, None, 400),
    ("GET", "/external/orders/ORD-nope", EXT, None, 404),
    ("POST", "/sales", STD, "", 400),
    ("POST", "/sales", STD, "[]", 400),
    ("POST", "/sales", STD, "not json", 400),
    ("POST", "/sales", STD, '{"sales": [NaN]}', 400),
    ("POST", "/sales", STD, '{"sales": [Infinity]}', 400),
    ("POST", "/sales", STD, '{"sales": [1e400]}', 400),
    ("POST", "/sales", STD, '{"sales": [' + "9" * 5000 + "]}", 400),
    ("POST", "/sales", STD, '{"sales": ["\\ud800"]}', 400),
    ("POST", "/sales", STD, b'{"sales": ["\xff"]}', 400),
    ("POST", "/sales", STD, {"sales": []}, 400),
    ("POST", "/sales", STD, {"sales": [SALE] * 1001}, 400),
    ("POST", "/sales", STD, {"sales": [SALE], "extra": 1}, 400),
    ("POST", "/sales", STD, sales(quantity=-1), 400),
    ("POST", "/sales", STD, sales(quantity=1_000_000_001), 400),
    ("POST", "/sales", STD, sales(quantity=1.5), 400),
    ("POST", "/sales", STD, sales(quantity=True), 400),
    ("POST", "/sales", STD, sales(stock_on_hand=10**20), 400),
    ("POST", "/sales", STD, sales(date="1999-12-31"), 400),
    ("POST", "/sales", STD, sales(date="2100-01-01"), 400),
    ("POST", "/sales", STD, sales(date="03/11/2025"), 400),
    ("POST", "/sales", STD, sales(internal_id="ps_abc999"), 400),
    ("POST", "/sales", STD, sales(warehouse="A"), 400),
    ("POST", "/external/orders", EXT, {"items": []}, 400),
    ("POST", "/external/orders", EXT, {"items": [ITEM] * 1001}, 400),
    ("POST", "/external/orders", EXT, order(quantity=0), 400),
    ("POST", "/external/orders", EXT, order(quantity=1_000_001), 400),
    ("POST", "/external/orders", EXT, order(customPrice=-0.01), 400),
    ("POST", "/external/orders", EXT, order(customPrice="25.50"), 400),
    ("POST", "/external/orders", EXT, order(ps_id="ps_0000000000"), 400),
    ("POST", "/external/orders", EXT, {**order(), "externalOrderId": 7}, 400),
    ("POST", "/external/orders", EXT, {**order(), "comment": "x" * 1001}, 400),
    ("POST", "/external/orders", EXT, {**order(), "priority": "high"}, 400),
    ("POST", "/external/smart-reorder", EXT, {"products": []}, 400),
    ("POST", "/external/smart-reorder", EXT, reorder(sales_history=[1] * 6), 400),
    ("POST", "/external/smart-reorder", EXT, reorder(sales_history=[1] * 1001), 400),
    ("POST", "/external/smart-reorder", EXT, reorder(quantity=1e10), 400),
    ("POST", "/external/smart-reorder", EXT, reorder(current_stock=-1), 400),
    ("POST", "/external/smart-reorder", EXT, reorder(ps_id="x_1"), 400),
    ("POST", "/external/webhook", {}, {"event": "order.created"}, 400),
    ("GET", "/products", {}, None, 401),
    ("GET", "/products", {"X-API-Key": "pk_wrong"}, None, 401),
    ("GET", "/products", EXT, None, 401),
    ("GET", "/external/orders", STD, None, 401),
    ("GET", "/external/orders", {"Authorization": DEMO_API_KEY}, None, 401),
    ("GET", "/external/orders", {"Authorization": "Basic " + DEMO_API_KEY}, None, 401),
    ("POST", "/sales", VIEW_STD, sales(), 403),
]


async def send(http: httpx.AsyncClient, method: str, path: str, headers: Any, body: object) -> Any:
    if body is None:
        return await http.request(method, path, headers=headers)
    if isinstance(body, str | bytes):
        return await http.request(method, path, content=body, headers=headers)
    return await http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    HOSTILE,
    ids=[f"{n}-{m} {p[:40]}" for n, (m, p, *_) in enumerate(HOSTILE)],
)
async def test_every_bad_request_gets_a_documented_4xx(
    http: httpx.AsyncClient, method: str, path: str, headers: Any, body: object, status: int
) -> None:
    response = await send(http, method, path, headers, body)
    if response.status_code == 400 and "errors" in strict_json(response):
        found: dict[str, Any] = strict_json(response)  # the sales format
        body = found
        assert found["error"] == "Validation errors" and found["processed"] == 0
        assert all(set(e) == {"index", "error", "expected", "received"} for e in found["errors"])
    else:
        assert_error(response, status)


async def test_status_update_rejects_what_is_not_a_step(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    number = await order_number(http, sandbox)
    path = f"/external/orders/{number}/status"
    for body in (
        {"status": "created"},
        {"status": "delivered"},
        {"status": ["paid"]},
        {"status": "paid", "comment": 5},
        {"status": "paid", "externalOrderId": "x" * 101},
        {"status": "paid", "note": "x"},
        {},
    ):
        assert_error(await http.put(path, json=body, headers=EXT), 400)
    assert sandbox.orders[0].status == "created" and sandbox.orders[0].history == []


@pytest.mark.parametrize("over_http", [False, True])
async def test_oversized_body_is_a_413(over_http: bool) -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    body = json.dumps({"sales": [{**SALE, "internal_id": "ps_" + "x" * 2_000_000}]})
    if over_http:
        with serve(sandbox) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                assert_error(await client.post("/sales", content=body, headers=STD), 413)
                assert (await client.get("/products?limit=1", headers=STD)).status_code == 200
    else:
        async with checked_client(sandbox) as client:
            assert_error(await client.post("/sales", content=body, headers=STD), 413)
    assert sandbox.stored_sales() == {}


async def test_a_hostile_storm_changes_nothing() -> None:
    """After every hostile request above, fresh requests get exactly what they got before."""
    sandbox = Sandbox(rate_limits=None, products=50)
    probes = [
        ("GET", f"/products/{P}?includeCategory=true&includeTcc=true&includeTsp=true", STD),
        ("GET", "/products?limit=50", STD),
        ("GET", "/smart-reordering?date=2025-11-03", STD),
        ("GET", "/currency/convert-to-try?amount=100&currency=EUR", STD),
        ("GET", "/external/orders", EXT),
    ]
    async with checked_client(sandbox) as http:
        before = [(await http.request(m, p, headers=h)).content for m, p, h in probes]
        for method, path, headers, body, status in HOSTILE * 2:
            assert (await send(http, method, path, headers, body)).status_code == status
        after = [(await http.request(m, p, headers=h)).content for m, p, h in probes]
        assert after == before
        assert sandbox.stored_sales() == {} and sandbox.orders == []
        good = await http.post("/sales", json={"sales": [SALE]}, headers=STD)
        assert strict_json(good) == {
            "success": True,
            "message": "Sales data submitted successfully",
            "processed": 1,
        }
    assert sandbox.stored_sales() == {
        (P, date(2025, 11, 3)): sandbox.daily_sales(P)[date(2025, 11, 3)]
    }
    assert sandbox.daily_sales(P)[date(2025, 11, 3)].quantity == 1
