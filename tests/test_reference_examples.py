"""The API reference's own examples work against the sandbox over HTTP, as written: its
Python client class, its curl command, and its example requests and ids."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, Sandbox

from .sandbox_server import serve

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}


# The reference's "Python - Create Order via External API" class, re-indented (its rendering
# lost the indentation); its logic is unchanged.
class PleasureStockAPI:
    def __init__(self, api_key, webhook_secret=None):  # type: ignore[no-untyped-def]
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.base_url = "https://pleasurestock.com/api/v1"

    def create_order(self, items, external_order_id=None, comment=None):  # type: ignore[no-untyped-def]
        """Create a new order in PleasureStock"""
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        payload = {"items": items, "externalOrderId": external_order_id, "comment": comment}
        response = requests.post(f"{self.base_url}/external/orders", json=payload, headers=headers)  # noqa: S113
        if response.status_code == 200:
            return response.json()
        else:
            raise Exception(f"API Error: {response.text}")

    def update_order_status(self, order_number, status, comment=None):  # type: ignore[no-untyped-def]
        """Update order status"""
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        payload = {"status": status}
        if comment:
            payload["comment"] = comment
        response = requests.put(  # noqa: S113
            f"{self.base_url}/external/orders/{order_number}/status", json=payload, headers=headers
        )
        return response.json()

    def verify_webhook(self, signature, timestamp, body):  # type: ignore[no-untyped-def]
        """Verify webhook signature"""
        if not self.webhook_secret:
            return False
        message = f"{timestamp}.{body}"
        expected = hmac.new(
            self.webhook_secret.encode(), message.encode(), hashlib.sha256
        ).hexdigest()
        return f"sha256={expected}" == signature


class Inbox:
    """Records each webhook's signature, timestamp and raw body, as received over HTTP."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = (await request.body()).decode()
            headers = request.headers
            self.received.append(
                (headers["X-Webhook-Signature"], headers["X-Webhook-Timestamp"], body)
            )
            return Response(status_code=200)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str, Inbox]]:
    inbox = Inbox()
    with serve(inbox.app(), path="/hooks") as hook_url:
        sandbox = Sandbox(
            rate_limits=None,
            products=100,
            webhook_url=hook_url,
            webhook_retry_delays=(0.1, 0.2),
            example_orders=True,
        )
        with serve(sandbox) as base:
            yield sandbox, base, inbox


def wait_for(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


def test_the_python_example_runs_as_written(
    served: tuple[Sandbox, str, Inbox], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox, base, inbox = served
    api = PleasureStockAPI(DEMO_API_KEY, webhook_secret=DEMO_WEBHOOK_SECRET)
    api.base_url = base  # the one difference: where the API lives

    # The reference's "Example usage", as written:
    order = api.create_order(
        items=[
            {"ps_id": "ps_1234567890", "quantity": 10, "customPrice": 25.50},
            {"ps_id": "ps_0987654321", "quantity": 5},
        ],
        external_order_id="ERP-2025-001",
        comment="Urgent order",
    )
    print(f"Created {order['data']['totalOrders']} orders")
    for o in order["data"]["orders"]:
        print(f" - {o['orderNumber']}: ${o['totalAmount']}")
    paid = api.update_order_status(
        order["data"]["orders"][0]["orderNumber"], "paid", "Payment confirmed"
    )

    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Created 2 orders" and len(printed) == 3
    assert [(o["supplierId"], o["totalAmount"]) for o in order["data"]["orders"]] == [
        (12, 255.0),
        (15, 125.0),
    ]
    assert order["data"]["totalAmount"] == 380.0  # the reference's own total
    assert paid["success"] and paid["data"]["status"] == "paid"
    first = sandbox.state.find_order(order["data"]["orders"][0]["orderNumber"])
    assert first is not None and first.external_order_id == "ERP-2025-001"

    # Its verify_webhook accepts what the sandbox signed: 2 x order.created, 1 status change.
    wait_for(lambda: len(inbox.received) == 3)
    events = [json.loads(body)["event"] for _, _, body in inbox.received]
    assert sorted(events) == ["order.created", "order.created", "order.status_changed"]
    for signature, timestamp, body in inbox.received:
        assert api.verify_webhook(signature, timestamp, body) is True
        assert api.verify_webhook(signature, timestamp, body + " ") is False
    assert (
        PleasureStockAPI(DEMO_API_KEY, "another secret").verify_webhook(*inbox.received[0]) is False
    )


def test_the_python_example_without_the_optional_fields(served: tuple[Sandbox, str, Inbox]) -> None:
    _, base, _ = served
    api = PleasureStockAPI(DEMO_API_KEY)
    api.base_url = base
    order = api.create_order(items=[{"ps_id": "ps_1234567890", "quantity": 1}])  # nulls sent
    assert order["data"]["totalOrders"] == 1
    with pytest.raises(Exception, match=r"^API Error") as refused:  # its class raises Exception
        api.create_order(items=[{"ps_id": "ps_0000000000", "quantity": 1}])
    assert type(refused.value) is Exception


def test_the_curl_example(served: tuple[Sandbox, str, Inbox]) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    _, base, _ = served
    done = subprocess.run(
        [curl, "-sS", "-X", "GET", f"{base}/products?limit=10", "-H", f"X-API-Key: {DEMO_API_KEY}"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    body = json.loads(done.stdout)
    assert body["success"] and len(body["data"]) == 10
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 100, "pages": 10}


def test_the_reference_ids_and_requests_work(served: tuple[Sandbox, str, Inbox]) -> None:
    _, base, _ = served
    include = "includeCategory=true&includeTcc=true&includeTsp=true"
    with httpx.Client(base_url=base, timeout=10) as http:
        batch = http.get(
            f"/products?ids=ps_vj31ucxsab,ps_w2as53xl1z,ps_j2y58ajsit&{include}", headers=STD
        )
        assert [p["internal_id"] for p in batch.json()["data"]] == [
            "ps_vj31ucxsab",
            "ps_w2as53xl1z",
            "ps_j2y58ajsit",
        ]
        by_ps = http.get(f"/products/ps_vj31ucxsab?{include}", headers=STD).json()["data"]
        by_uuid = http.get(f"/products/db57e260-b151-4bf1-ac63-175baef9f96d?{include}", headers=STD)
        assert by_uuid.json()["data"] == by_ps
        assert (by_ps["sku"], by_ps["price"], by_ps["currency"]) == ("SL2505044-XCM", "8.00", "USD")
        assert by_ps["category_id"] == "3b4f0280-6396-44e0-a9b3-53931d4b5b92"
        widget = http.get("/products/ps_1234567890", headers=STD).json()["data"]
        assert (widget["name"], widget["sku"], widget["supplier_id"]) == (
            "Premium Widget",
            "WDG-001",
            12,
        )

        sales = json.loads((REFERENCE / "sales_request.json").read_text())
        assert http.post("/sales", json=sales, headers=STD).json()["processed"] == 2
        reorder = json.loads((REFERENCE / "smart_reorder_request.json").read_text())
        assert http.post("/external/smart-reorder", json=reorder, headers=EXT).json()["success"]

        listed = http.get("/external/orders?status=created", headers=EXT).json()["data"]["orders"]
        assert [o["orderNumber"] for o in listed] == ["ORD-20251103-78XZ70"]
        expected = json.loads((REFERENCE / "orders_list.json").read_text())["data"]["orders"]
        everything = http.get("/external/orders", headers=EXT).json()["data"]["orders"]
        fields = "orderId orderNumber deliveryId status statusDisplay supplierName totalAmount"
        for ours, theirs in zip(everything, expected, strict=True):
            for field in [*fields.split(), "currency", "itemsCount", "createdAt"]:
                assert ours[field] == theirs[field], field
        detail = http.get("/external/orders/ORD-20251103-78XZ70", headers=EXT).json()["data"]
        assert detail["supplier"] == {
            "id": "550e8400-e29b-41d4-a716-446655440001",
            "name": "Yiqing",
        }
        assert len(detail["items"]) == 15 and detail["totalAmount"] == 5669.57
        example = json.loads((REFERENCE / "order_status_request.json").read_text())
        moved = http.put("/external/orders/ORD-20251103-78XZ70/status", json=example, headers=EXT)
        assert moved.json()["data"]["status"] == "paid"
        cancelled = http.put(
            "/external/orders/ORD-20251103-LMGYAQ/status", json={"status": "paid"}, headers=EXT
        )
        assert cancelled.status_code == 400 and "final" in cancelled.json()["message"]


def test_every_sales_example_of_the_reference_is_stored_as_written(
    served: tuple[Sandbox, str, Inbox],
) -> None:
    """Its warehouse and out-of-stock examples send ``ps_abc123``: the sandbox has it."""
    sandbox, base, _ = served
    with httpx.Client(base_url=base, timeout=10) as http:
        for name, processed in [
            ("sales_request", 2),
            ("sales_request_warehouses", 2),
            ("sales_request_out_of_stock", 1),
        ]:
            body = json.loads((REFERENCE / f"{name}.json").read_text())
            answer = http.post("/sales", json=body, headers=STD)
            assert answer.status_code == 200, (name, answer.text)
            assert answer.json()["processed"] == processed
    # "Result: System aggregates to quantity: 15 (total sales) and stock_on_hand: 500", and
    # the out-of-stock day's 0 adds nothing to either
    day = sandbox.daily_sales("ps_abc123")[date(2025, 11, 3)]
    assert (day.quantity, day.stock_on_hand) == (15, 500)
