"""A status change the server refused is not reported as done (issue 21, point 2): the order
is read back only after an attempt whose answer was lost, and the result says it was."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import BadRequestError
from pleasurestock_async.sandbox import Faults, Sandbox
from pleasurestock_async.types import OrderStatus

from .conftest import BASE, KEY, fixture

ORDER = "ORD-20251103-78XZ70"
STATUS_ROUTE = "PUT /external/orders/{order_number}/status"
DETAIL_ROUTE = "GET /external/orders/{order_number}"


async def test_a_refused_first_attempt_is_raised_even_when_the_status_matches() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, example_orders=True)
    async with sandbox.client() as ps:
        first = await ps.orders.update_status(ORDER, "paid", comment="paid by bank")
        assert first.status is OrderStatus.PAID and not first.confirmed_by_reading
        with pytest.raises(BadRequestError, match="transition"):
            await ps.orders.update_status(ORDER, "paid", external_order_id="ERP-9")
    assert sandbox.request_counts[STATUS_ROUTE] == 2
    assert sandbox.request_counts[DETAIL_ROUTE] == 0  # nothing was read back
    order = sandbox.state.find_order(ORDER)
    assert order is not None and order.external_order_id is None  # never stored


async def test_a_lost_answer_is_confirmed_by_reading_and_says_so() -> None:
    # every stored change answers 500: the first attempt paid the order, the retry is refused
    sandbox = Sandbox(
        rate_limits=None, products=10, example_orders=True, faults=Faults(error_after_store_rate=1)
    )
    async with sandbox.client(max_retries=1) as ps:
        done = await ps.orders.update_status(ORDER, "paid", comment="paid by bank")
    assert done.status is OrderStatus.PAID and done.confirmed_by_reading
    assert done.order_number == ORDER and "confirmed_by_reading" not in done.model_dump()
    assert sandbox.request_counts[STATUS_ROUTE] == 2
    assert sandbox.request_counts[DETAIL_ROUTE] == 1


def _answers(*answers: httpx.Response | Exception) -> Any:
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        found = queue.pop(0)
        if isinstance(found, Exception):
            raise found
        return found

    return answer


REFUSED = httpx.Response(400, json={"error": "Invalid status transition", "message": "paid"})


async def test_an_attempt_refused_429_leaves_nothing_in_doubt(mock: respx.MockRouter) -> None:
    mock.put(f"/external/orders/{ORDER}/status").mock(
        side_effect=_answers(httpx.Response(429, headers={"Retry-After": "0"}), REFUSED)
    )
    detail = mock.get(f"/external/orders/{ORDER}").respond(
        json={"success": True, "data": {**fixture("order_get")["data"], "status": "paid"}}
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, max_retries=1) as ps:
        with pytest.raises(BadRequestError):
            await ps.orders.update_status(ORDER, "paid")
    assert not detail.called


async def test_a_lost_answer_refused_for_another_status_is_raised(mock: respx.MockRouter) -> None:
    mock.put(f"/external/orders/{ORDER}/status").mock(
        side_effect=_answers(httpx.ReadTimeout("lost"), REFUSED)
    )
    detail = mock.get(f"/external/orders/{ORDER}").respond(
        json={"success": True, "data": {**fixture("order_get")["data"], "status": "cancelled"}}
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, max_retries=1) as ps:
        with pytest.raises(BadRequestError):
            await ps.orders.update_status(ORDER, "paid")
    assert detail.call_count == 1
