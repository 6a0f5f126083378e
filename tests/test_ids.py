"""The reference's own ids are sent (issue 21, point 3): any id shape reaches the server, which
decides what exists; only what would break a request is refused before sending."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import BadRequestError, InputError, NotFoundError
from pleasurestock_async.sandbox import DaySales, Sandbox
from pleasurestock_async.types import OrderItem

from .conftest import fixture


async def test_the_reference_example_bodies_are_sent_and_stored() -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    warehouses = fixture("reference/sales_request_warehouses")["sales"]
    out_of_stock = fixture("reference/sales_request_out_of_stock")["sales"]
    async with sandbox.client() as ps:
        assert (await ps.sales.submit(warehouses)).processed == 2
        # "Result: System aggregates to quantity: 15 (total sales) and stock_on_hand: 500"
        assert sandbox.daily_sales("ps_abc123") == {date(2025, 11, 3): DaySales(15, 500)}
        assert (await ps.sales.submit(out_of_stock)).processed == 1
        product = await ps.products.get("ps_abc123")
        created = await ps.orders.create([OrderItem(ps_id="ps_abc123", quantity=1)])
    assert product.internal_id == "ps_abc123" and created.total_orders == 1


async def test_any_id_shape_is_sent_and_the_server_decides() -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    async with sandbox.client() as ps:
        with pytest.raises(NotFoundError):
            await ps.products.get("pl_1234567890")  # the vendor's public page's form
        batch = await ps.products.get_many(["ps_abc123", "pl_1234567890", "ps_x"])
        with pytest.raises(BadRequestError) as refused:
            await ps.sales.submit([{"internal_id": "pl_1", "date": "2025-11-03", "quantity": 1}])
    assert [p.internal_id for p in batch.products] == ["ps_abc123"]
    assert batch.missing == ["pl_1234567890", "ps_x"]
    assert refused.value.errors[0].error == "Invalid internal_id format"
    assert sandbox.request_counts["GET /products/{product_id}"] == 1
    assert sandbox.request_counts["POST /sales"] == 1


HOSTILE_IDS = ["", ".", "..", "a/b", "a\\b", "a?b=1", "a#b", "a b", "a\tb", "a\x00b", "x" * 201]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
async def test_an_id_that_would_break_the_request_is_refused_before_sending(
    ps: AsyncPleasureStock, mock: respx.MockRouter, bad: str
) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: ps.products.get(bad),
        lambda: ps.products.get_many(["ps_abc123", bad]),
        lambda: ps.orders.get(bad),
        lambda: ps.orders.update_status(bad, "paid"),
        lambda: ps.sales.submit([{"internal_id": bad, "date": "2025-11-03", "quantity": 1}]),
        lambda: ps.orders.create([{"ps_id": "ps_" + bad, "quantity": 1}]),
    ]
    for call in calls[: 5 if bad in ("", ".", "..") else 6]:  # "ps_." is a fine ps_ id
        with pytest.raises(InputError):
            await call()
    assert not mock.calls


async def test_a_comma_is_refused_in_a_product_id_only(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    with pytest.raises(InputError) as info:
        await ps.products.get_many(["ps_a", "ps_b,ps_c"])  # it separates the batch's ids
    assert info.value.errors[0].index == 1
    route = mock.get(url__regex=r".*/external/orders/.*").respond(json=fixture("order_get"))
    await ps.orders.get("ORD,1")
    assert route.calls.last.request.url.raw_path.decode() == "/api/v1/external/orders/ORD%2C1"


async def test_a_sync_sends_an_id_of_another_form_as_given(
    ps: AsyncPleasureStock, mock: respx.MockRouter, tmp_path: Path
) -> None:
    """Only a UUID is looked up (and its letter case ignored); a pl_ id, say, is the
    product's own id on its server, sent exactly as given."""
    sales = mock.post("/sales").respond(json={"success": True, "processed": 1})
    lookups = mock.get("/products")
    record = {"internal_id": "pl_AbC123", "date": "2025-11-03", "quantity": 2}
    result = await ps.sales.sync([record], state=tmp_path / "state.db", stock="always")
    assert result.stored == 1 and not lookups.called
    assert json.loads(sales.calls.last.request.content)["sales"][0]["internal_id"] == "pl_AbC123"
