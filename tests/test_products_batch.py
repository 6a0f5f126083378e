from __future__ import annotations

import httpx
import pytest
import respx

from pleasurestock_async import AsyncPleasureStock

pytestmark = pytest.mark.concurrency


def server(known: set[str]):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        assert int(request.url.params["limit"]) == len(ids)
        data = [
            {"internal_id": i, "name": i, "sku": i, "price": "1.00", "currency": "EUR"}
            for i in reversed(ids)
            if i in known
        ]
        page = {"page": 1, "limit": len(ids), "total": len(data), "pages": 1}
        return httpx.Response(200, json={"success": True, "data": data, "pagination": page})

    return handler


async def test_get_many_in_order_with_missing(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    uuid = "db57e260-b151-4bf1-ac63-175baef9f96d"
    route = mock.get("/products").mock(side_effect=server({"ps_vj31ucxsab", uuid}))
    batch = await ps.products.get_many(
        ["ps_vj31ucxsab", "ps_w2as53xl1z", uuid, "ps_vj31ucxsab"], include_tcc=True
    )
    assert [p.internal_id for p in batch.products] == ["ps_vj31ucxsab", uuid]
    assert batch.missing == ["ps_w2as53xl1z"]
    assert route.call_count == 1
    params = route.calls.last.request.url.params
    assert params["ids"] == f"ps_vj31ucxsab,ps_w2as53xl1z,{uuid}"
    assert params["includeTcc"] == "true"


async def test_get_many_matches_uuid_to_product_id(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    uuid = "db57e260-b151-4bf1-ac63-175baef9f96d"
    page = {"page": 1, "limit": 1, "total": 1, "pages": 1}
    mock.get("/products").respond(
        json={
            "data": [
                {
                    "id": uuid,
                    "internal_id": "ps_vj31ucxsab",
                    "sku": "S",
                    "price": "8.00",
                    "currency": "USD",
                }
            ],
            "pagination": page,
        }
    )
    batch = await ps.products.get_many([uuid])
    assert batch.missing == [] and batch.products[0].id == uuid


async def test_long_id_lists_split_into_short_urls(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    ids = [f"ps_{n:010d}" for n in range(600)]
    route = mock.get("/products").mock(side_effect=server(set(ids[::2])))
    batch = await ps.products.get_many(ids)
    assert route.call_count > 1
    assert all(len(str(c.request.url)) < 2100 for c in route.calls)
    sent = [i for c in route.calls for i in c.request.url.params["ids"].split(",")]
    assert sorted(sent) == ids
    assert [p.internal_id for p in batch.products] == ids[::2]
    assert batch.missing == ids[1::2]
