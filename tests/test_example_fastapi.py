"""The FastAPI example (``examples/fastapi_backend``) as it runs: the backend and a sandbox each
served by uvicorn on loopback, the backend's client configured from the environment, the
sandbox delivering its signed webhooks to the backend over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from examples.fastapi_backend.app import WEBHOOK_PATH, create_app
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, Sandbox

from .example_logs import watching
from .sandbox_server import serve

LOGGER = "examples.fastapi_backend"


@pytest.fixture
def sandbox() -> Sandbox:
    # the backend's address is known once it is served: the test points the sandbox at it
    return Sandbox(example_orders=True, rate_limits=None, webhook_url="http://127.0.0.1:9/")


def env(monkeypatch: pytest.MonkeyPatch, api: str, key: str = DEMO_API_KEY) -> None:
    monkeypatch.setenv("PLEASURESTOCK_API_KEY", key)
    monkeypatch.setenv("PLEASURESTOCK_BASE_URL", api)
    monkeypatch.setenv("PLEASURESTOCK_WEBHOOK_SECRET", DEMO_WEBHOOK_SECRET)


def test_the_backend_reads_orders_and_handles_each_webhook_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        serve(sandbox) as api,
        watching(LOGGER) as log,
    ):
        env(monkeypatch, api)
        with (
            serve(create_app(), path="") as backend,
            httpx.Client(base_url=backend, timeout=30) as http,
        ):
            assert sandbox.webhooks is not None
            sandbox.webhooks.url = backend + WEBHOOK_PATH

            product = http.get("/products/ps_vj31ucxsab")
            assert product.status_code == 200, product.text
            assert product.json()["sku"] == "SL2505044-XCM"
            assert product.json()["tsp_value"] is not None  # asked with TCC and TSP

            missing = http.get("/products/ps_nosuchproduct")
            assert (missing.status_code, missing.json()) == (404, {"error": "not found"})
            refused = http.get("/products/ps_with space")  # the SDK refuses it, sends nothing
            assert refused.status_code == 422 and "whitespace" in refused.json()["error"]

            order = http.get("/orders/ORD-20251103-78XZ70")
            assert order.status_code == 200 and order.json()["orderNumber"] == "ORD-20251103-78XZ70"

            created = http.post(
                "/orders",
                json={
                    "items": [
                        {"ps_id": "ps_1234567890", "quantity": 2, "customPrice": "25.50"},
                        {"ps_id": "ps_0987654321", "quantity": 1},
                    ],
                    "external_order_id": "ERP-2025-777",
                },
            )
            assert created.status_code == 201, created.text
            numbers = sorted(o["orderNumber"] for o in created.json()["orders"])
            assert len(numbers) == 2  # one order per supplier

            unknown = http.post(
                "/orders",
                json={
                    "items": [{"ps_id": "ps_unknownproduct", "quantity": 1}],
                    "external_order_id": "ERP-2025-778",
                },
            )
            assert unknown.status_code == 422, unknown.text
            assert unknown.json()["error"] == "refused by PleasureStock"

            log.wait_for(
                lambda lines: sum("handled order.created" in m for m in lines) == 2,
                "both order.created events handled",
            )
            handled = http.get("/webhooks/handled").json()
            assert sorted(h.split()[1] for h in handled) == numbers

            # PleasureStock redelivers (here: the sandbox's resend): answered, not handled again
            first = sandbox.webhook_deliveries[0]
            resent = http.post(f"{api}/_sandbox/webhooks/{first.id}/resend")
            assert resent.status_code in (200, 201, 202), resent.text
            log.wait_for(lambda lines: any("redelivered" in m for m in lines), "the redelivery")
            assert http.get("/webhooks/handled").json() == handled
            # the app logs before it answers: the sandbox records the answer a moment later
            deadline = time.monotonic() + 10.0
            while not sandbox.webhook_deliveries[-1].attempts and time.monotonic() < deadline:
                time.sleep(0.005)
            assert sandbox.webhook_deliveries[-1].attempts == [204]

            forged = http.post(
                WEBHOOK_PATH,
                content=first.body,
                headers={"X-Webhook-Signature": "sha256=" + "0" * 64, "X-Webhook-Timestamp": "1"},
            )
            assert forged.status_code == 400
    assert log.count("handled order.created") == 2


def test_a_refused_key_is_a_gateway_error_that_does_not_show_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(sandbox) as api:
        env(monkeypatch, api, key="pk_live_not_a_key_of_this_account")
        with serve(create_app(), path="") as backend:
            answer = httpx.get(backend + "/products/ps_vj31ucxsab", timeout=30)
    assert answer.status_code == 502
    assert answer.json() == {"error": "PleasureStock is unavailable", "outcome_unknown": False}
    assert "pk_live" not in answer.text
