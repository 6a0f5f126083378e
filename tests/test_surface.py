"""The surface users of first-class SDKs expect (issue 13), and SDK defects found by reading
the reference against the sandbox (issue 12)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest
import respx

import pleasurestock_async
from pleasurestock_async import (
    APIError,
    APIResponse,
    AsyncPleasureStock,
    OffsetPage,
    PageNumberPage,
    errors,
)
from pleasurestock_async.errors import (
    APIResponseValidationError,
    BadRequestError,
    ClientClosedError,
    EventLoopMismatchError,
)
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.types import OrderStatus

from .conftest import BASE, KEY, fixture

ORDER = fixture("order_get")["data"]
PAGE: dict[str, Any] = {
    "success": True,
    "data": [{"internal_id": "ps_abcdefghij", "sku": "S", "price": "1.50", "currency": "EUR"}],
    "pagination": {"page": 1, "limit": 1, "total": 2, "pages": 2},
}

# Every one-request method, called with per-call options.
CALLS: list[tuple[str, str, str, Any]] = [
    ("products.list", "GET", "/products", lambda ps, o: ps.products.list(options=o)),
    ("products.get", "GET", "/products/ps_abcdefghij",
     lambda ps, o: ps.products.get("ps_abcdefghij", options=o)),
    ("sales.submit", "POST", "/sales", lambda ps, o: ps.sales.submit(
        [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}], options=o)),
    ("smart_reordering.get", "GET", "/smart-reordering",
     lambda ps, o: ps.smart_reordering.get(options=o)),
    ("smart_reordering.submit", "POST", "/external/smart-reorder",
     lambda ps, o: ps.smart_reordering.submit([{"ps_id": "ps_1", "quantity": 1, "current_stock": 1,
                                               "sales_history": [1] * 7}], options=o)),
    ("currency.convert_to_try", "GET", "/currency/convert-to-try",
     lambda ps, o: ps.currency.convert_to_try(1, "EUR", options=o)),
    ("orders.create", "POST", "/external/orders",
     lambda ps, o: ps.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}], options=o)),
    ("orders.list", "GET", "/external/orders", lambda ps, o: ps.orders.list(options=o)),
    ("orders.get", "GET", "/external/orders/ORD-1",
     lambda ps, o: ps.orders.get("ORD-1", options=o)),
    ("orders.update_status", "PUT", "/external/orders/ORD-1/status",
     lambda ps, o: ps.orders.update_status("ORD-1", "paid", options=o)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "method", "path", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_every_method_takes_per_call_options(
    ps: AsyncPleasureStock, mock: respx.MockRouter, name: str, method: str, path: str, call: Any
) -> None:
    route = mock.route(method=method, path=path).respond(503, json={"error": "busy"})
    options = {
        "timeout": 2.5,
        "max_retries": 1,
        "extra_headers": {"X-Request-Id": "abc"},
        "extra_query": {"trace": "1"},
    }
    with pytest.raises(APIError):
        await call(ps, options)
    request = route.calls.last.request
    assert request.headers["X-Request-Id"] == "abc" and request.url.params["trace"] == "1"
    assert request.extensions["timeout"]["read"] == 2.5
    # the client says max_retries=0; this call allowed one retry (a POST is never retried on 503)
    assert route.call_count == (1 if method == "POST" else 2)


async def test_copy_is_built_through_the_constructor(mock: respx.MockRouter) -> None:
    async with AsyncPleasureStock(KEY, base_url=BASE, timeout=10.0, max_retries=3) as ps:
        fast = ps.copy(max_retries=0)
        untimed = ps.with_options(timeout=None)
        assert set(vars(fast)) == set(vars(ps))  # nothing left out of a copy
        assert fast.max_retries == 0 and ps.max_retries == 3 and fast.timeout.read == 10.0
        assert untimed.timeout.read is None and untimed.max_retries == 3
        assert fast.rate_limiter is ps.rate_limiter and fast._http.http is ps._http.http
        other = ps.copy(api_key="pk_other_key_0123456789")
        assert other.rate_limiter is not ps.rate_limiter  # another key: its own windows
        await fast.aclose()
        assert not fast.is_closed and not ps.is_closed
    assert fast.is_closed  # closing the original closes its copies
    with pytest.raises(ClientClosedError):
        await fast.products.get("ps_abcdefghij")


async def test_pages_have_one_shape_and_know_their_way(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    second = {
        "success": True,
        "data": [{**PAGE["data"][0], "internal_id": "ps_klmnopqrst"}],
        "pagination": {**PAGE["pagination"], "page": 2},
    }
    route = mock.get("/products").mock(
        side_effect=[httpx.Response(200, json=PAGE), httpx.Response(200, json=second)]
    )
    page = await ps.products.list(limit=1)
    assert isinstance(page, PageNumberPage) and page.has_next_page()
    following = await page.get_next_page()
    assert following.pagination.page == 2 and not following.has_next_page()
    assert route.calls.last.request.url.params["page"] == "2"
    product = page.data[0]
    assert product.price * 2 == Decimal("3.00")  # required, typed: no Optional in the way
    mock.get("/external/orders").respond(json=fixture("orders_list"))
    orders = await ps.orders.list()
    assert isinstance(orders, OffsetPage) and orders.data[0].status is OrderStatus.CREATED
    assert orders.pagination.total == 8 and orders.has_next_page()


async def test_raw_responses(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products/ps_abcdefghij").respond(
        json={"success": True, "data": PAGE["data"][0]}, headers={"X-RateLimit-Remaining": "9"}
    )
    raw = await ps.with_raw_response.products.get("ps_abcdefghij")
    assert isinstance(raw, APIResponse) and raw.status_code == 200
    assert raw.headers["X-RateLimit-Remaining"] == "9" and raw.elapsed.total_seconds() >= 0
    assert raw.parse().internal_id == "ps_abcdefghij" and raw.retries_taken == 0
    assert raw.http_response.request.headers["X-API-Key"] == "[redacted]"
    mock.get("/products").respond(json=PAGE)
    listed = await ps.with_raw_response.products.list(limit=1)
    assert listed.parse().pagination.total == 2


def test_every_api_error_shares_a_base_and_everything_is_exported() -> None:
    for cls in (
        errors.APIConnectionError,
        errors.APIStatusError,
        errors.APIResponseValidationError,
        errors.PaginationError,
    ):
        assert issubclass(cls, APIError)
    exported = ["SalesUploadResult", "UploadProgress", "FailedBatch", "BucketStatus"]
    exported += ["RateLimitWaitError", "InputError", "ClientClosedError", "RequestOptions"]
    for name in exported:
        assert name in pleasurestock_async.__all__


async def test_a_client_used_after_close_says_so(mock: respx.MockRouter) -> None:
    ps = AsyncPleasureStock(KEY, base_url=BASE)
    await ps.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await ps.products.get("ps_abcdefghij")
    assert isinstance(ClientClosedError("x"), RuntimeError)


def test_a_client_used_from_a_second_event_loop_says_so() -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.get("/products/ps_abcdefghij").respond(json={"success": True, "data": PAGE["data"][0]})
        ps = AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None)
        anyio.run(lambda: ps.products.get("ps_abcdefghij"))
        found: list[BaseException] = []

        def other_thread() -> None:
            try:
                anyio.run(lambda: ps.products.get("ps_abcdefghij"))
            except BaseException as exc:  # the error is the point of this test
                found.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
    assert len(found) == 1 and isinstance(found[0], EventLoopMismatchError)
    assert "one AsyncPleasureStock per event loop" in str(found[0])


def test_pleasurestock_log_shows_each_request_without_the_key(tmp_path: Any) -> None:
    script = (
        "import anyio, httpx\n"
        "from pleasurestock_async import AsyncPleasureStock\n"
        "def handler(r): return httpx.Response(200, json={'success': True, 'data': "
        f"{PAGE['data'][0]!r}}})\n"
        "async def main():\n"
        "    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))\n"
        f"    async with AsyncPleasureStock({KEY!r}, base_url={BASE!r}, http_client=http) as ps:\n"
        "        await ps.products.get('ps_abcdefghij')\n"
        "anyio.run(main)\n"
    )
    env = {**os.environ, "PLEASURESTOCK_LOG": "info"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "GET /api/v1/products/ps_abcdefghij -> 200 in" in done.stderr
    assert KEY not in done.stderr + done.stdout


async def test_tolerant_reading_leaves_out_an_unreadable_optional_field_and_warns(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get("/external/orders/ORD-1").respond(
        json={"success": True, "data": {**ORDER, "paidAt": "not a date"}}
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        caplog.set_level(logging.WARNING, logger="pleasurestock_async")
        order = await ps.orders.get("ORD-1")
        assert order.paid_at is None and order.order_number == ORDER["orderNumber"]
        assert "paidAt" in caplog.text
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, strict_response_validation=True
    ) as ps:
        with pytest.raises(APIResponseValidationError, match="paidAt"):
            await ps.orders.get("ORD-1")


async def test_tolerant_reading_refuses_an_order_without_its_amount(
    mock: respx.MockRouter,
) -> None:
    # an amount is the order's identity: a None in a Decimal field would be garbage
    mock.get("/external/orders/ORD-1").respond(
        json={"success": True, "data": {**ORDER, "totalAmount": None}}
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        with pytest.raises(APIResponseValidationError, match="totalAmount"):
            await ps.orders.get("ORD-1")


async def test_a_retried_status_change_ends_in_the_truth(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    answers: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.ReadTimeout("lost"),  # the change was applied, the answer lost
            httpx.Response(
                400,
                json={"error": "Invalid status transition", "message": "paid -> paid"},
            ),
        ]
    )

    def put(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    mock.put("/external/orders/ORD-1/status").mock(side_effect=put)
    mock.get("/external/orders/ORD-1").respond(
        json={"success": True, "data": {**ORDER, "status": "paid"}}
    )
    done = await ps.with_options(max_retries=1).orders.update_status("ORD-1", "paid")
    assert done.status is OrderStatus.PAID and done.order_number == ORDER["orderNumber"]


async def test_a_refused_status_change_still_raises(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.put("/external/orders/ORD-1/status").respond(400, json={"error": "no"})
    mock.get("/external/orders/ORD-1").respond(
        json={"success": True, "data": {**ORDER, "status": "created"}}
    )
    with pytest.raises(BadRequestError):
        await ps.orders.update_status("ORD-1", "accepted")


async def test_get_many_takes_one_product_by_both_of_its_ids() -> None:
    sandbox = Sandbox(rate_limits=None, products=30)
    product = sandbox.products[3]
    async with sandbox.client() as ps:
        batch = await ps.products.get_many(
            [product.internal_id, product.id, product.id.upper(), "ps_0000000000"]
        )
    assert [p.internal_id for p in batch.products] == [product.internal_id]
    assert batch.missing == ["ps_0000000000"]


async def test_smart_reorder_takes_any_ps_prefixed_id(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.post("/external/smart-reorder").respond(json=fixture("smart_reorder_response"))
    await ps.smart_reordering.submit(
        [
            {
                "ps_id": "ps_abc123",
                "quantity": 15,
                "current_stock": 85,
                "sales_history": [5, 8, 12, 6, 9, 11, 7],
            }
        ]
    )
    assert json.loads(route.calls.last.request.content)["products"][0]["ps_id"] == "ps_abc123"


@pytest.mark.parametrize(
    "module",
    ["pleasurestock_async", "pleasurestock_async.types", "pleasurestock_async.uploads"],
)
def test_every_exported_name_resolves_and_is_listed(module: str) -> None:
    # A fresh process: the lazily loaded names must resolve from a cold start too.
    code = (
        f"import importlib; m = importlib.import_module({module!r}); "
        "missing = [n for n in m.__all__ if n not in dir(m)]; "
        "assert not missing, missing; "
        "[getattr(m, n) for n in m.__all__]; "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr


def test_the_lazy_names_are_the_real_ones() -> None:
    from pleasurestock_async import types
    from pleasurestock_async.types import orders, uploads

    assert pleasurestock_async.SalesUploadResult is uploads.SalesUploadResult
    assert types.OrderStatus is orders.OrderStatus and types.orders is orders
    assert sorted(types.__all__) == sorted(types._LAZY)
    with pytest.raises(AttributeError):
        _ = types.NoSuchModel


def test_import_loads_only_what_a_client_needs() -> None:
    code = (
        "import sys, pleasurestock_async; "
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'pleasurestock_async.uploads', 'pleasurestock_async.types.uploads', "
        "'pleasurestock_async.types.orders', 'pleasurestock_async.types.smart_reordering'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_sales_batch_size_is_the_references() -> None:
    import inspect

    from pleasurestock_async.resources import sales
    from pleasurestock_async.types.sales import MAX_BATCH
    from pleasurestock_async.uploads import codec

    assert MAX_BATCH == codec.MAX_BATCH == 1000  # "max 1000 records per request"
    default = inspect.signature(sales.Sales.upload).parameters["chunk_size"].default
    assert default == MAX_BATCH
