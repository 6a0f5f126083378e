from __future__ import annotations

import httpx
import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    PleasureStockError,
    RateLimitError,
)

from .conftest import KEY, fixture

GENERIC = fixture("error_generic")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, APIStatusError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
    ],
)
async def test_status_maps_to_class(
    ps: AsyncPleasureStock, mock: respx.MockRouter, status: int, cls: type[APIStatusError]
) -> None:
    mock.get("/products/ps_abcdefghij").respond(status, json=GENERIC)
    with pytest.raises(cls) as info:
        await ps.products.get("ps_abcdefghij")
    err = info.value
    assert type(err) is cls and isinstance(err, PleasureStockError)
    assert err.status_code == status
    assert err.message == "Invalid request: The request payload is invalid"
    assert err.details == ["Missing required field: internal_id"]
    assert err.body == GENERIC and err.response.status_code == status
    assert "GET /api/v1/products/ps_abcdefghij" in str(err)


async def test_sales_validation_body(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.post("/sales").respond(400, json=fixture("sales_validation_error"))
    with pytest.raises(BadRequestError) as info:
        await ps.sales.submit(
            [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
        )
    err = info.value
    assert err.processed == 0
    assert err.errors[0].index == 0 and err.errors[0].error == "Invalid internal_id format"
    assert err.errors[0].received == "invalid_id_123"
    assert err.errors[0].expected is not None and "UUID" in err.errors[0].expected
    assert "Validation errors" in str(err) and "invalid_id_123" in str(err)


async def test_non_json_error_body(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    mock.get("/products").respond(502, text=html, headers={"Content-Type": "text/html"})
    with pytest.raises(InternalServerError) as info:
        await ps.products.list()
    assert "non-JSON response (text/html)" in str(info.value)
    assert "502 Bad Gateway" in str(info.value)
    assert info.value.body == html


async def test_rate_limit_error_carries_retry_after(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.get("/products").respond(429, json={"error": "Too many"}, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as info:
        await ps.products.list()
    assert info.value.retry_after == 7


async def test_success_with_wrong_shape(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products").respond(200, text="<html>login</html>")
    with pytest.raises(APIResponseValidationError, match="ProductPage"):
        await ps.products.list()


async def test_connection_error(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await ps.products.list()
    assert not isinstance(info.value, APITimeoutError)
    assert not info.value.outcome_unknown


async def test_timeout_error(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.get("/products").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await ps.products.list()


async def test_key_echoed_by_server_is_scrubbed(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.get("/products").respond(
        401, json={"error": f"Invalid API key {KEY}", "details": [f"key={KEY}"]}
    )
    with pytest.raises(AuthenticationError) as info:
        await ps.products.list()
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in info.value.message and KEY not in str(info.value.details)


async def test_malformed_record_errors_do_not_hide_the_error(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.post("/sales").respond(
        400,
        json={
            "error": "Validation errors",
            "errors": [
                {"index": 2, "error": "Invalid quantity"},
                {"oops": 1},
                "text",
                {"index": "x"},
            ],
        },
    )
    with pytest.raises(BadRequestError) as info:
        await ps.sales.submit(
            [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
        )
    assert [(e.index, e.error) for e in info.value.errors] == [(2, "Invalid quantity")]


def test_every_request_error_says_whether_its_outcome_is_unknown() -> None:
    """``except APIError as exc: exc.outcome_unknown`` works (and type-checks) for every kind."""
    assert APIError("x").outcome_unknown is False
    assert PaginationError("the server repeated page 2").outcome_unknown is False
    assert APIConnectionError("x", outcome_unknown=True).outcome_unknown is True
