"""The SDK end to end against the sandbox: every endpoint, in-process and over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta

import anyio
import pytest

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async._http import MAX_CONNECTIONS
from pleasurestock_async.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
)
from pleasurestock_async.ratelimit import ManualClock
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox
from pleasurestock_async.types import OrderItem, OrderStatus, SaleRecord

from .sandbox_server import serve
from .simulated import on_clock

pytestmark = pytest.mark.concurrency


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(rate_limits=None, products=1200)


@pytest.fixture
async def ps(sandbox: Sandbox) -> AsyncIterator[AsyncPleasureStock]:
    async with sandbox.client() as client:
        yield client
    await sandbox.aclose()


async def test_products_every_form(sandbox: Sandbox, ps: AsyncPleasureStock) -> None:
    walked = [
        p async for p in ps.products.list(include_category=True, include_tcc=True, include_tsp=True)
    ]
    assert [p.internal_id for p in walked] == [p.internal_id for p in sandbox.products]
    assert sandbox.request_counts["GET /products"] == 2  # 1200 products, pages of 1000
    assert all(p.tsp_value is not None and p.category_name_en for p in walked)
    supplier = walked[0].supplier_id
    assert isinstance(supplier, int)
    page = await ps.products.list(page=3, limit=7, supplier_id=supplier)
    assert page.pagination.page == 3 and len(page.data) == 7
    product = await ps.products.get(sandbox.products[10].id, include_tcc=True)
    assert product.internal_id == sandbox.products[10].internal_id and product.images
    batch = await ps.products.get_many(
        [sandbox.products[5].internal_id, "ps_0000000000", sandbox.products[6].id]
    )
    assert [p.internal_id for p in batch.products] == [
        sandbox.products[5].internal_id,
        sandbox.products[6].internal_id,
    ]
    assert batch.missing == ["ps_0000000000"]
    with pytest.raises(NotFoundError):
        await ps.products.get("ps_0000000000")


async def test_sales_then_recommendations_then_orders(
    sandbox: Sandbox, ps: AsyncPleasureStock
) -> None:
    target = date(2025, 11, 3)
    products = sandbox.products[:20]
    records = [
        SaleRecord(
            internal_id=p.internal_id,
            date=target - timedelta(days=d),
            quantity=(i % 5) + 1,
            stock_on_hand=3,
        )
        for i, p in enumerate(products)
        for d in range(10)
    ]
    result = await ps.sales.upload(records, chunk_size=50, concurrency=3)
    assert result.ok and result.processed == 200 and result.batches == 4
    day = sandbox.daily_sales(products[0].internal_id)[target]
    assert (day.quantity, day.stock_on_hand) == (1, 3)
    one = await ps.sales.submit([{"internal_id": products[0].id, "date": target, "quantity": 2}])
    assert one.processed == 1
    assert sandbox.daily_sales(products[0].internal_id)[target].quantity == 3

    report = await ps.smart_reordering.get(target)
    assert report.total == len(report.recommendations) == 20
    top = report.recommendations[0]
    assert top.recommended_quantity >= report.recommendations[-1].recommended_quantity

    created = await ps.orders.create(
        [
            OrderItem(ps_id=r.product_internal_id, quantity=int(r.recommended_quantity))
            for r in report.recommendations[:5]
        ],
        external_order_id="ERP-42",
        comment="from smart reordering",
    )
    assert created.total_orders == len(
        {
            p.supplier.id
            for p in products
            if p.internal_id in {r.product_internal_id for r in report.recommendations[:5]}
        }
    )
    order = created.orders[0]
    detail = await ps.orders.get(order.order_number)
    assert detail.external_order_id == "ERP-42" and detail.items
    assert detail.total_amount == order.total_amount
    for status in ("paid", "on_the_way", "delivered", "accepted"):
        done = await ps.orders.update_status(order.order_number, status, comment=status)
        assert done.status == status
    with pytest.raises(BadRequestError, match="final"):
        await ps.orders.update_status(order.order_number, "cancelled")
    listed = [o async for o in ps.orders.list(status=OrderStatus.ACCEPTED)]
    assert [o.order_number for o in listed] == [order.order_number]
    assert listed[0].created_at == date.today() or listed[0].created_at is not None
    everything = [o async for o in ps.orders.list()]
    assert len(everything) == created.total_orders


async def test_currency_and_smart_reorder(ps: AsyncPleasureStock) -> None:
    conv = await ps.currency.convert_to_try("19.99", "GBP")
    assert conv.target_currency == "TRY" and conv.converted_amount > conv.original_amount
    ack = await ps.smart_reordering.submit(
        [
            {
                "ps_id": "ps_1234567890",
                "quantity": 15,
                "current_stock": 85,
                "sales_history": [5, 8, 12, 6, 9, 11, 7],
            }
        ]
    )
    assert ack.smart_reorder_id == 1 and ack.is_active


async def test_wrong_key(sandbox: Sandbox) -> None:
    async with sandbox.client(api_key="pk_wrong") as ps:
        with pytest.raises(AuthenticationError):
            await ps.products.list()
        with pytest.raises(AuthenticationError):
            await ps.orders.list()


async def test_dropped_connections_are_retried_even_for_post() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drop_rate=0.5, seed=3))
    async with sandbox.client(max_retries=10) as ps:
        for _ in range(10):
            await ps.sales.submit(
                [
                    {
                        "internal_id": sandbox.products[0].internal_id,
                        "date": "2025-11-03",
                        "quantity": 1,
                    }
                ]
            )
    assert sandbox.daily_sales(sandbox.products[0].internal_id)[date(2025, 11, 3)].quantity == 10


async def test_always_dropped_connection_surfaces() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drop_rate=1.0))
    async with sandbox.client(max_retries=1) as ps:
        with pytest.raises(APIConnectionError) as info:
            await ps.products.list()
    assert not info.value.outcome_unknown


async def test_5xx_after_store_is_not_resent() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0))
    async with sandbox.client(max_retries=5) as ps:
        with pytest.raises(InternalServerError) as info:
            await ps.sales.submit(
                [
                    {
                        "internal_id": sandbox.products[0].internal_id,
                        "date": "2025-11-03",
                        "quantity": 4,
                    }
                ]
            )
    assert info.value.outcome_unknown
    assert sandbox.request_counts["POST /sales"] == 1
    assert sandbox.daily_sales(sandbox.products[0].internal_id)[date(2025, 11, 3)].quantity == 4


async def test_client_limits_matching_the_server_earn_no_429() -> None:
    limits = RateLimitConfig(
        standard=(Window(8, 0.4), Window(3, 0.1)),
        external=(Window(8, 0.4),),
        smart=(Window(4, 0.4),),
    )
    clock = ManualClock()  # the sandbox's windows and the client's on one simulated time
    sandbox = Sandbox(rate_limits=limits, products=10, clock=clock)

    async def call(ps: AsyncPleasureStock, n: int) -> None:
        if n % 3 == 0:
            await ps.orders.list()
        elif n % 3 == 1:
            await ps.products.list()
        else:
            await ps.smart_reordering.get()

    async with sandbox.client(max_retries=0) as ps:

        async def all_calls() -> None:
            async with anyio.create_task_group() as tg:
                for n in range(24):
                    tg.start_soon(call, ps, n)

        await on_clock(clock, all_calls)
    assert clock.now() > 0.4  # the windows did hold calls back
    assert sandbox.rate_limited == 0
    assert sum(sandbox.request_counts.values()) == 24


# -- over real HTTP ---------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(rate_limits=None, products=50)
    with serve(sandbox) as url:
        yield sandbox, url


async def test_one_client_shared_by_many_tasks_over_http(
    served: tuple[Sandbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    """1,000 concurrent tasks share one client (a pool of 20 connections behind its queue);
    with debug logging of httpx and httpcore on, the key appears in no log line."""
    sandbox, base_url = served
    caplog.set_level(logging.DEBUG)
    async with AsyncPleasureStock(DEMO_API_KEY, base_url=base_url, rate_limits=None) as ps:
        results: list[object] = []

        async def call(n: int) -> None:
            results.append(await ps.currency.convert_to_try(n, "USD"))

        async with anyio.create_task_group() as tg:
            for n in range(1000):
                tg.start_soon(call, n)
        pool = ps._http.http._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) <= MAX_CONNECTIONS == 20
    assert len(results) == 1000
    assert sandbox.request_counts["GET /currency/convert-to-try"] == 1000
    assert caplog.records and DEMO_API_KEY not in caplog.text


async def test_over_real_http(served: tuple[Sandbox, str]) -> None:
    sandbox, base_url = served
    async with AsyncPleasureStock(DEMO_API_KEY, base_url=base_url, rate_limits=None) as ps:
        assert len([p async for p in ps.products.list()]) == 50
        result = await ps.sales.upload(
            (
                {"internal_id": p.internal_id, "date": "2025-11-03", "quantity": 1}
                for p in sandbox.products
            ),
            chunk_size=20,
        )
        assert result.ok and result.processed == 50 and result.batches == 3
        created = await ps.orders.create(
            [{"ps_id": sandbox.products[0].internal_id, "quantity": 2}]
        )
        number = created.orders[0].order_number
        assert (await ps.orders.update_status(number, "paid")).status == "paid"
        assert (await ps.orders.get(number)).status is OrderStatus.PAID
    assert sandbox.request_counts["POST /sales"] == 3
