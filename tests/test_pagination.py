from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import APIResponseValidationError, InputError


def product(n: int) -> dict[str, Any]:
    return {"internal_id": f"ps_{n:010d}", "sku": f"S-{n}", "price": "1.00", "currency": "EUR"}


def products_page(page: int, limit: int, total: int, items: list[int]) -> dict[str, Any]:
    pages = -(-total // limit)
    return {
        "success": True,
        "data": [product(n) for n in items],
        "pagination": {"page": page, "limit": limit, "total": total, "pages": pages},
    }


def catalogue_handler(total: int):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 1))
        limit = int(request.url.params.get("limit", 100))
        start = (page - 1) * limit
        items = list(range(start, min(start + limit, total)))
        return httpx.Response(200, json=products_page(page, limit, total, items))

    return handler


async def test_walk_uses_max_page_size(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products").mock(side_effect=catalogue_handler(2490))
    ids = [p.internal_id async for p in ps.products.list(include_tcc=True)]
    assert len(ids) == 2490 and len(set(ids)) == 2490
    assert route.call_count == 3
    assert [c.request.url.params["limit"] for c in route.calls] == ["1000"] * 3
    assert [c.request.url.params.get("page") for c in route.calls] == [None, "2", "3"]
    assert all(c.request.url.params["includeTcc"] == "true" for c in route.calls)


async def test_walk_respects_caller_limit_and_start_page(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/products").mock(side_effect=catalogue_handler(250))
    ids = [p.internal_id async for p in ps.products.list(limit=100, page=2)]
    assert len(ids) == 150
    assert [c.request.url.params["page"] for c in route.calls] == ["2", "3"]


async def test_await_fetches_one_page_with_server_default(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/products").mock(side_effect=catalogue_handler(250))
    page = await ps.products.list()
    assert len(page.data) == 100 and route.call_count == 1
    assert "limit" not in route.calls.last.request.url.params


async def test_walk_stops_on_empty_page(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products").mock(
        side_effect=[
            httpx.Response(200, json=products_page(1, 2, 10, [1, 2])),
            httpx.Response(200, json=products_page(2, 2, 10, [])),
        ]
    )
    assert len([p async for p in ps.products.list(limit=2)]) == 2


async def test_walk_follows_total_that_shrinks(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/products").mock(
        side_effect=[
            httpx.Response(200, json=products_page(1, 2, 6, [1, 2])),
            httpx.Response(200, json=products_page(2, 2, 4, [3, 4])),  # now only 2 pages
        ]
    )
    assert len([p async for p in ps.products.list(limit=2)]) == 4
    assert route.call_count == 2


async def test_walk_follows_total_that_grows(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/products").mock(
        side_effect=[
            httpx.Response(200, json=products_page(1, 2, 3, [1, 2])),
            httpx.Response(200, json=products_page(2, 2, 6, [3, 4])),
            httpx.Response(200, json=products_page(3, 2, 6, [5, 6])),
        ]
    )
    assert len([p async for p in ps.products.list(limit=2)]) == 6
    assert route.call_count == 3


async def test_pages_iterator(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products").mock(side_effect=catalogue_handler(2100))
    sizes = [len(page.data) async for page in ps.products.list().pages()]
    assert sizes == [1000, 1000, 100]


def orders_handler(total: int):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", 20))
        offset = int(request.url.params.get("offset", 0))
        orders = [
            {
                "orderId": n,
                "orderNumber": f"ORD-{n}",
                "deliveryId": f"PS-{n}",
                "status": "created",
                "statusDisplay": {"label": "Created", "color": "blue", "cssClass": "bg-blue"},
                "supplierName": "Yiqing",
                "totalAmount": "1",
                "currency": "USD",
                "itemsCount": 1,
                "createdAt": "03/11/25",
                "statusChangedAt": "03/11/25",
            }
            for n in range(offset, min(offset + limit, total))
        ]
        body = {"orders": orders, "pagination": {"total": total, "limit": limit, "offset": offset}}
        return httpx.Response(200, json={"success": True, "data": body})

    return handler


async def test_orders_walk_limit_offset(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/external/orders").mock(side_effect=orders_handler(250))
    numbers = [o.order_number async for o in ps.orders.list(status="created")]
    assert numbers == [f"ORD-{n}" for n in range(250)]
    assert [c.request.url.params.get("offset") for c in route.calls] == [None, "100", "200"]
    assert all(c.request.url.params["status"] == "created" for c in route.calls)


async def test_orders_walk_empty(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/external/orders").mock(side_effect=orders_handler(0))
    assert [o async for o in ps.orders.list()] == []
    assert route.call_count == 1


async def test_orders_walk_stops_on_short_server_page(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    # The server caps the page below what was asked: offsets advance by what came back.
    def capped(request: httpx.Request) -> httpx.Response:
        params = request.url.copy_merge_params({"limit": "30"})
        answer: httpx.Response = orders_handler(70)(httpx.Request("GET", params))
        return answer

    route = mock.get("/external/orders").mock(side_effect=capped)
    assert len([o async for o in ps.orders.list()]) == 70
    assert [c.request.url.params.get("offset") for c in route.calls] == [None, "30", "60"]


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 1001}, {"page": 0}])
async def test_bad_paging_arguments(ps: AsyncPleasureStock, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError) as info:
        ps.products.list(**kwargs)
    assert info.value.errors[0].field in ("limit", "page")


async def test_a_page_whose_numbers_are_unreadable_is_an_error_not_a_crash(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    page = {
        "success": True,
        "data": [{"internal_id": "ps_abcdefghij", "sku": "S", "price": "1", "currency": "EUR"}],
        "pagination": {"page": None, "limit": 1, "total": "many", "pages": 3},
    }
    mock.get("/products").respond(json=page)
    with pytest.raises(APIResponseValidationError):
        await ps.products.list()
