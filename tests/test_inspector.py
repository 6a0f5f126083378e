"""The sandbox inspector over HTTP: what it shows is what the API's handlers stored, it is
paginated on the server, bad input gets the API's error format, and no key ever shows.

Every answer here is also checked against the OpenAPI document (the suite-wide fixture)."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import RateLimitConfig, Window, webhooks
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, DEMO_WEBHOOK_SECRET, Sandbox
from pleasurestock_async.sandbox._inspect_routes import INSPECTION_ROUTES
from pleasurestock_async.sandbox._inspection import MAX_INSPECT_LIMIT
from pleasurestock_async.sandbox._openapi import openapi_document
from pleasurestock_async.sandbox._request_log import REQUEST_ID_HEADER

from .sandbox_server import checked_client

STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}
DAY = date(2025, 11, 3)
SECRET_KEY = "pk_live_manager_key_do_not_show_0123"


def inspect(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    return http.get("/_sandbox" + path, params=params)


async def ok(response: Any) -> Any:
    answer = await response
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


async def error(response: Any, status: int) -> dict[str, Any]:
    """The API's error format with this status."""
    answer = await response
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert body["success"] is False and isinstance(body["message"], str)
    assert isinstance(body["details"], list)
    return body


def sale(product: str, day: date, quantity: int, stock: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"internal_id": product, "date": day.isoformat(), "quantity": quantity}
    if stock is not None:
        row["stock_on_hand"] = stock
    return row


# -- sales ------------------------------------------------------------------------------------


async def test_sales_are_what_the_api_stored_with_totals_over_every_page() -> None:
    sandbox = Sandbox(rate_limits=None, products=12)
    ids = [p.internal_id for p in sandbox.products[:5]]
    rows = [
        sale(i, DAY + timedelta(days=d), n + d, 10 * d) for n, i in enumerate(ids) for d in range(4)
    ]
    rows.append(sale(ids[0], DAY, 3, 99))  # a second warehouse: summed, stock the maximum
    async with sandbox.client() as ps, checked_client(sandbox) as http:
        await ps.sales.submit(rows)
        first = await ok(inspect(http, "/sales", limit=7))
        second = await ok(inspect(http, "/sales", limit=7, page=2))
        every = await ok(inspect(http, "/sales", limit=1000))
    stored = sandbox.stored_sales()
    assert len(every["data"]) == len(stored) == 20
    for row in every["data"]:
        day = stored[(row["internal_id"], date.fromisoformat(row["date"]))]
        assert (row["quantity"], row["stock_on_hand"]) == (day.quantity, day.stock_on_hand)
    assert first["data"] + second["data"] == every["data"][:14]
    assert first["pagination"] == {"page": 1, "limit": 7, "total": 20, "pages": 3}
    assert every["data"][0] == {
        "internal_id": ids[0],
        "product_uuid": sandbox.products[0].id,
        "sku": sandbox.products[0].sku,
        "name": sandbox.products[0].name,
        "date": "2025-11-03",
        "quantity": 3,
        "stock_on_hand": 99,
    }
    totals = {
        "product_days": 20,
        "products": 5,
        "quantity": sum(s.quantity for s in stored.values()),
        "first_day": "2025-11-03",
        "last_day": "2025-11-06",
    }
    assert first["totals"] == second["totals"] == every["totals"] == totals


async def test_sales_filter_by_product_and_days() -> None:
    sandbox = Sandbox(rate_limits=None, products=8)
    a, b = sandbox.products[2], sandbox.products[3]
    rows = [sale(p.internal_id, DAY + timedelta(days=d), d + 1) for p in (a, b) for d in range(7)]
    async with sandbox.client() as ps, checked_client(sandbox) as http:
        await ps.sales.submit(rows)
        by_uuid = await ok(inspect(http, "/sales", product=b.id.upper()))
        week = await ok(
            inspect(
                http, "/sales", product=a.internal_id, **{"from": "2025-11-05", "to": "2025-11-07"}
            )
        )
        none = await ok(inspect(http, "/sales", **{"from": "2026-01-01"}))
    assert {r["internal_id"] for r in by_uuid["data"]} == {b.internal_id}
    assert by_uuid["totals"]["quantity"] == 28
    assert [r["date"] for r in week["data"]] == ["2025-11-05", "2025-11-06", "2025-11-07"]
    assert week["totals"] == {
        "product_days": 3,
        "products": 1,
        "quantity": 3 + 4 + 5,
        "first_day": "2025-11-05",
        "last_day": "2025-11-07",
    }
    assert none["data"] == [] and none["totals"]["first_day"] is None
    assert none["pagination"]["pages"] == 0


@pytest.mark.parametrize(
    ("params", "status", "complaint"),
    [
        ({"productId": "ps_x"}, 400, "Unknown query parameter: 'productId'"),
        ({"limit": str(MAX_INSPECT_LIMIT + 1)}, 400, "limit must be an integer"),
        ({"limit": "10" * 40}, 400, "limit must be an integer"),
        ({"page": "0"}, 400, "page must be an integer"),
        ({"from": "2025-13-01"}, 400, "from must be a date"),
        ({"to": "<script>"}, 400, "to must be a date"),
        ({"from": "2025-11-05", "to": "2025-11-04"}, 400, "is after"),
        ({"product": "ps_nope000000"}, 404, "Product ps_nope000000 not found"),
        ({"product": "x" * 101}, 400, "product must be at most 100"),
    ],
)
async def test_bad_sales_filters_get_the_api_error_format(
    params: dict[str, str], status: int, complaint: str
) -> None:
    sandbox = Sandbox(rate_limits=None, products=3)
    async with checked_client(sandbox) as http:
        body = await error(inspect(http, "/sales", **params), status)
    assert complaint in body["message"]


async def test_products_with_their_sales() -> None:
    sandbox = Sandbox(rate_limits=None, products=30)
    sold = sandbox.products[4]
    async with sandbox.client() as ps, checked_client(sandbox) as http:
        await ps.sales.submit(
            [sale(sold.internal_id, DAY, 5, 7), sale(sold.internal_id, DAY + timedelta(1), 2)]
        )
        found = await ok(inspect(http, "/products", sold="true"))
        search = await ok(inspect(http, "/products", search=sold.sku.lower(), limit=1))
        page = await ok(inspect(http, "/products", limit=10, page=3))
        await error(inspect(http, "/products", sold="maybe"), 400)
    (row,) = found["data"]
    assert row["internal_id"] == sold.internal_id and row["uuid"] == sold.id
    assert (row["days"], row["quantity"], row["last_day"], row["last_stock"]) == (
        2,
        7,
        "2025-11-04",
        None,
    )
    assert search["data"][0]["internal_id"] == sold.internal_id
    assert [r["internal_id"] for r in page["data"]] == [
        p.internal_id for p in sandbox.products[20:30]
    ]


# -- orders -----------------------------------------------------------------------------------


async def test_orders_with_their_status_history_newest_first() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, example_orders=True)
    comment = '<script>alert("x")</script>'
    async with sandbox.client() as ps, checked_client(sandbox) as http:
        created = await ps.orders.create(
            [{"ps_id": "ps_1234567890", "quantity": 3}], comment=comment, external_order_id="ERP-7"
        )
        number = created.orders[0].order_number
        await ps.orders.update_status(number, "paid", comment="<b>paid</b>")
        await ps.orders.update_status(number, "on_the_way")
        listed = await ok(inspect(http, "/orders"))
        paid = await ok(inspect(http, "/orders", status="on_the_way"))
        detail = await ok(inspect(http, f"/orders/{number}"))
        await error(inspect(http, "/orders", status="shipped"), 400)
        await error(inspect(http, "/orders/ORD-nope"), 404)
    assert [o["order_number"] for o in listed["data"]] == [
        number,
        *[o.number for o in reversed(sandbox.orders[:2])],
    ]
    (order,) = paid["data"]
    assert order["comment"] == comment and order["external_order_id"] == "ERP-7"
    assert [(h["from"], h["to"], h["comment"]) for h in order["history"]] == [
        ("created", "paid", "<b>paid</b>"),
        ("paid", "on_the_way", None),
    ]
    assert detail["data"]["lines"] == [
        {
            "internal_id": "ps_1234567890",
            "sku": sandbox.state.catalogue.find("ps_1234567890").sku,  # type: ignore[union-attr]
            "name": "Premium Widget",
            "quantity": 3,
            "unit_price": "29.99",
            "total_price": "89.97",
            "custom_price": False,
        }
    ]
    assert detail["data"]["total_amount"] == "89.97"


# -- webhooks ---------------------------------------------------------------------------------


def receiver(seen: list[tuple[bytes, dict[str, str]]], fail_first: int = 0) -> Starlette:
    async def hook(request: Request) -> Response:
        seen.append((await request.body(), dict(request.headers)))
        return Response(status_code=503 if len(seen) <= fail_first else 204)

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


def hooked(seen: list[tuple[bytes, dict[str, str]]], fail_first: int = 0) -> Sandbox:
    return Sandbox(
        rate_limits=None,
        products=10,
        webhook_url="http://receiver/hooks",
        webhook_transport=httpx.ASGITransport(app=receiver(seen, fail_first)),
        webhook_retry_delays=(0.0, 0.0),
    )


async def test_webhook_deliveries_show_attempts_signatures_and_payload() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sandbox = hooked(seen, fail_first=1)
    async with sandbox, sandbox.client() as ps, checked_client(sandbox) as http:
        created = await ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
        await sandbox.drain_webhooks()
        await ps.orders.update_status(created.orders[0].order_number, "paid", comment="<i>x</i>")
        await sandbox.drain_webhooks()
        listed = await ok(inspect(http, "/webhooks"))
        only = await ok(inspect(http, "/webhooks", event="order.status_changed"))
        await error(inspect(http, "/webhooks", event="order.refunded"), 400)
    newest, oldest = listed["data"]
    assert (newest["event"], oldest["event"]) == ("order.status_changed", "order.created")
    assert only["data"] == [newest]
    assert oldest["url"] == "http://receiver/hooks" and oldest["state"] == "delivered"
    assert [(a["status"], a["error"]) for a in oldest["attempts"]] == [(503, None), (204, None)]
    assert [a["status"] for a in newest["attempts"]] == [204]
    assert newest["payload"]["data"]["comment"] == "<i>x</i>"
    # What the inspector shows is what was sent: each attempt's headers and the payload, which
    # the signature verifies.
    shown = [
        (a["signature"], a["timestamp"], json.dumps(d["payload"], sort_keys=True))
        for d in (oldest, newest)
        for a in d["attempts"]
    ]
    sent = [
        (
            h["x-webhook-signature"],
            h["x-webhook-timestamp"],
            json.dumps(json.loads(b), sort_keys=True),
        )
        for b, h in seen
    ]
    assert shown == sent
    for body, headers in seen:
        webhooks.construct_event(body, headers, DEMO_WEBHOOK_SECRET)


async def test_a_delivery_is_resent_byte_for_byte_as_a_new_one() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sandbox = hooked(seen)
    async with sandbox, sandbox.client() as ps, checked_client(sandbox) as http:
        await ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
        await sandbox.drain_webhooks()
        answer = await http.post("/_sandbox/webhooks/1/resend")
        assert answer.status_code == 202, answer.text
        await sandbox.drain_webhooks()
        await error(http.post("/_sandbox/webhooks/99/resend"), 404)
        await error(http.post("/_sandbox/webhooks/1x/resend"), 404)
        await error(http.get("/_sandbox/webhooks/1/resend"), 405)
    again = answer.json()["data"]
    assert (again["id"], again["resent_from"], again["event"]) == (2, 1, "order.created")
    assert [d.attempts for d in sandbox.webhook_deliveries] == [[204], [204]]
    assert seen[0][0] == seen[1][0]
    webhooks.construct_event(seen[1][0], seen[1][1], DEMO_WEBHOOK_SECRET)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
)
async def test_writes_from_other_sites_are_refused(headers: dict[str, str]) -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sandbox = hooked(seen)
    async with sandbox, sandbox.client() as ps, checked_client(sandbox) as http:
        await ps.sales.submit([sale(sandbox.products[0].internal_id, DAY, 1)])
        await ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
        await sandbox.drain_webhooks()
        await error(http.post("/_sandbox/reset", headers=headers), 403)
        await error(http.post("/_sandbox/webhooks/1/resend", headers=headers), 403)
        same_site = {"Origin": "http://sandbox", "Sec-Fetch-Site": "same-origin"}
        assert (
            await http.post("/_sandbox/reset", params={"only": "requests"}, headers=same_site)
        ).status_code == 200
    assert len(sandbox.stored_sales()) == 1 and len(sandbox.webhook_deliveries) == 1


# -- requests ---------------------------------------------------------------------------------


async def test_the_request_log_names_the_key_never_shows_it() -> None:
    sandbox = Sandbox(rate_limits=None, products=5, api_keys=[SECRET_KEY, "pk_second_manager"])
    async with checked_client(sandbox) as http:
        listed = await http.get("/products", params={"limit": 1}, headers={"X-API-Key": SECRET_KEY})
        await http.get("/products", headers={"X-API-Key": DEMO_VIEWER_KEY})
        await http.get("/external/orders", headers={"Authorization": "Bearer pk_second_manager"})
        await http.get("/products", headers={"X-API-Key": "pk_unknown"})
        await http.get(
            f"/products?api_key={SECRET_KEY}&token=t0ps3cret&search={SECRET_KEY}",
            headers={"X-API-Key": SECRET_KEY},
        )
        await http.get("/nope")
        await http.get("/openapi.json")
        await ok(inspect(http, "/sales"))  # the inspector's own routes are not logged
        answer = await inspect(http, "/requests")
        body = answer.json()
    assert SECRET_KEY not in answer.text and "t0ps3cret" not in answer.text
    rows = body["data"]
    assert [(r["method"], r["path"].split("?")[0], r["status"], r["key"]) for r in rows] == [
        ("GET", "/api/v1/openapi.json", 200, None),
        ("GET", "/api/v1/nope", 404, None),
        ("GET", "/api/v1/products", 400, "manager"),
        ("GET", "/api/v1/products", 401, None),
        ("GET", "/api/v1/external/orders", 200, "manager 2"),
        ("GET", "/api/v1/products", 200, "viewer"),
        ("GET", "/api/v1/products", 200, "manager"),
    ]
    assert (
        rows[2]["path"] == "/api/v1/products?api_key=[redacted]&token=[redacted]&search=[redacted]"
    )
    assert rows[2]["error"] == "Unknown query parameter: 'api_key', 'token'"
    assert rows[3]["error"].startswith("Missing or invalid API key")
    assert (rows[4]["api"], rows[4]["buckets"]) == ("external", ["external"])
    assert (rows[1]["api"], rows[1]["buckets"]) == (None, [])
    assert rows[-1]["id"] == listed.headers[REQUEST_ID_HEADER]
    assert [r["seq"] for r in rows] == list(range(7, 0, -1))
    assert all(r["ms"] >= 0 and re.fullmatch(r"[0-9a-f]{16}", r["id"]) for r in rows)
    assert [e.id for e in sandbox.request_log] == [r["id"] for r in reversed(rows)]


async def test_the_log_shows_what_was_sent_readably_and_nothing_that_breaks_a_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=5, api_keys=[SECRET_KEY])
    caplog.set_level(logging.INFO, logger="pleasurestock_async.sandbox.requests")
    encoded = SECRET_KEY.replace("_", "%5F")
    async with checked_client(sandbox) as http:
        await http.get(f"/products?search={encoded}&ids=ps_a%2Cps_b", headers=STD)
        await http.get("/nope%0Aforged%20line%0D", headers=STD)
        body = await ok(inspect(http, "/requests"))
    forged, searched = body["data"]
    assert searched["path"] == "/api/v1/products?search=[redacted]&ids=ps_a,ps_b"
    assert forged["path"] == "/api/v1/nope\\x0aforged line\\x0d"
    assert SECRET_KEY not in caplog.text and encoded not in caplog.text
    assert len(caplog.text.strip().splitlines()) == 2


async def test_sales_validation_errors_are_summed_up_in_the_log() -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    async with checked_client(sandbox) as http:
        bad = {"sales": [sale("ps_nope000000", DAY, 1), sale("bad id", DAY, 1)]}
        await http.post("/sales", json=bad, headers=STD)
        body = await ok(inspect(http, "/requests", limit=1))
    assert body["data"][0]["error"] == "Validation errors: 2 record(s); #0: Product not found"


async def test_every_request_is_logged_one_line_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=5, api_keys=[SECRET_KEY])
    caplog.set_level(logging.INFO, logger="pleasurestock_async.sandbox.requests")
    async with checked_client(sandbox) as http:
        answer = await http.get("/products?limit=2", headers={"X-API-Key": SECRET_KEY})
        await http.get("/products", headers={"X-API-Key": "pk_nobody"})
        await inspect(http, "/requests")
        await http.get("http://sandbox/")
    lines = [r.getMessage() for r in caplog.records if r.name.endswith(".requests")]
    assert len(lines) == 2
    request_id = answer.headers[REQUEST_ID_HEADER]
    line = rf"GET /api/v1/products\?limit=2 200 standard key=manager [0-9.]+ ms id={request_id}"
    assert re.fullmatch(line, lines[0])
    assert (
        lines[1].startswith("GET /api/v1/products 401 standard ") and "error='Missing" in lines[1]
    )
    assert SECRET_KEY not in caplog.text


# -- limits -----------------------------------------------------------------------------------


TIGHT = RateLimitConfig(
    standard=(Window(5, 3600.0), Window(3, 60.0)),
    external=(Window(50, 3600.0),),
    smart=(Window(2, 3600.0),),
)


async def test_limits_show_each_window_filling_and_the_refusals() -> None:
    sandbox = Sandbox(rate_limits=TIGHT, products=5)
    async with checked_client(sandbox) as http:
        statuses = [(await http.get("/products", headers=STD)).status_code for _ in range(4)]
        await http.get("/smart-reordering", headers=STD)
        body = await ok(inspect(http, "/limits"))
        info = await ok(inspect(http, "/info"))
    assert statuses == [200, 200, 200, 429]
    assert body["enforced"] is True
    rows = {(r["key"], r["bucket"]): r for r in body["data"]}
    assert set(rows) == {
        (k, b) for k in ("manager", "viewer") for b in ("standard", "external", "smart")
    }
    standard = rows[("manager", "standard")]
    assert [(w["limit"], w["seconds"], w["used"]) for w in standard["windows"]] == [
        (5, 3600.0, 3),
        (3, 60.0, 3),
    ]
    assert standard["refused"] == 2  # the 4th request and the smart-reordering one
    assert 0 < standard["windows"][1]["frees_in"] <= 60
    assert rows[("manager", "smart")]["windows"][0]["used"] == 0  # refused: nothing spent
    assert rows[("viewer", "standard")]["windows"][0] == {
        "limit": 5,
        "seconds": 3600.0,
        "used": 0,
        "frees_in": None,
    }
    assert info["data"]["rate_limits"]["standard"] == [
        {"limit": 5, "seconds": 3600.0},
        {"limit": 3, "seconds": 60.0},
    ]
    assert sandbox.rate_limited == 2


async def test_limits_without_rate_limits() -> None:
    async with checked_client(Sandbox(rate_limits=None, products=3)) as http:
        assert await ok(inspect(http, "/limits")) == {
            "success": True,
            "enforced": False,
            "data": [],
        }


# -- reset ------------------------------------------------------------------------------------


async def test_reset_forgets_what_was_received_and_keeps_the_examples() -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []
    sandbox = Sandbox(
        rate_limits=TIGHT,
        products=10,
        example_orders=True,
        webhook_url="http://receiver/hooks",
        webhook_transport=httpx.ASGITransport(app=receiver(seen)),
    )
    examples = [o.number for o in sandbox.orders]
    async with sandbox, sandbox.client(rate_limits=None) as ps, checked_client(sandbox) as http:
        await ps.sales.submit([sale(sandbox.products[1].internal_id, DAY, 4)])
        await ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
        await sandbox.drain_webhooks()
        limits_only = await http.post("/_sandbox/reset", params={"only": "limits"})
        after_limits = await ok(inspect(http, "/limits"))
        kept = await ok(inspect(http, "/sales"))
        await error(http.post("/_sandbox/reset", params={"only": "everything"}), 400)
        await error(http.post("/_sandbox/reset?only=sales&only=sales"), 400)
        everything = await http.post("/_sandbox/reset")
        requests = await ok(inspect(http, "/requests"))
    assert limits_only.json() == {"success": True, "reset": ["limits"]}
    assert all(w["used"] == 0 for r in after_limits["data"] for w in r["windows"])
    assert kept["totals"]["quantity"] == 4
    assert everything.json()["reset"] == ["sales", "orders", "webhooks", "requests", "limits"]
    assert sandbox.stored_sales() == {} and sandbox.webhook_deliveries == []
    assert [o.number for o in sandbox.orders] == examples
    assert requests["data"] == []


# -- the routing table and the document -------------------------------------------------------


def test_inspection_routes_are_documented_as_sandbox_only() -> None:
    document = openapi_document()
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path)): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if op.get("x-sandbox-only")
    }
    table = {
        (r.method, re.sub(r"\{[^}]+\}", "{}", "/_sandbox" + r.path)): r for r in INSPECTION_ROUTES
    }
    assert set(documented) == set(table)
    for name, op in documented.items():
        assert op["security"] == [] and op["tags"] == ["sandbox-inspector"]
        assert op["description"].startswith("Sandbox only")
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert query == table[name].query, name
    paging = document["paths"]["/_sandbox/sales"]["get"]["parameters"]
    limit = next(p for p in paging if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_INSPECT_LIMIT


async def test_the_inspector_gets_no_fault_limit_or_count() -> None:
    from pleasurestock_async.sandbox import Faults

    sandbox = Sandbox(
        rate_limits=TIGHT, products=3, faults=Faults(error_rate=1.0, drop_rate=1.0, latency=0.0)
    )
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox/api/v1"
    ) as http:
        for _ in range(10):
            assert (await http.get("/_sandbox/requests")).status_code == 200
        assert (await http.get("http://sandbox/")).status_code == 200
    assert sandbox.request_counts == {} and sandbox.rate_limited == 0 and sandbox.request_log == []


# -- the page ---------------------------------------------------------------------------------


async def test_the_page_is_plain_shipped_files_that_never_render_data_as_html() -> None:
    from pleasurestock_async.sandbox._page import STATIC_PREFIX

    sandbox = Sandbox(rate_limits=None, products=3)
    async with checked_client(sandbox, base_url="http://sandbox") as http:
        page = await http.get("/")
        script = await http.get(STATIC_PREFIX + "inspector.js")
        style = await http.get(STATIC_PREFIX + "inspector.css")
        missing = await http.get(STATIC_PREFIX + "nope.js")
        data = await http.get("/api/v1/_sandbox/orders")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy and "unsafe" not in policy
    assert missing.status_code == 404 and missing.json()["success"] is False
    assert data.headers["x-content-type-options"] == "nosniff"
    # Every script is a file of the package (no inline script the policy would have to allow),
    # nothing is fetched from elsewhere, and no data is ever parsed as HTML.
    html = page.text
    assert re.findall(r"<script[^>]*>", html) == ['<script src="static/inspector.js" defer>']
    assert not re.search(r"<[^>]*\s(style|on[a-z]+)\s*=", html)  # no inline style or handler
    for text in (html, script.text, style.text):
        assert re.findall(r"https?://[^\s\"']+", text) in ([], ["http://www.w3.org/2000/svg"])
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
    ):
        assert sink not in script.text
