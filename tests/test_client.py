from __future__ import annotations

import logging

import httpx
import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import ConfigurationError

from .conftest import BASE, KEY


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEASURESTOCK_API_KEY", "pk_env_key")
    monkeypatch.setenv("PLEASURESTOCK_BASE_URL", "https://example.test/api/v1/")
    ps = AsyncPleasureStock()
    assert ps.base_url == "https://example.test/api/v1"
    assert ps._http.api_key.reveal() == "pk_env_key"


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLEASURESTOCK_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="PLEASURESTOCK_API_KEY"):
        AsyncPleasureStock()


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLEASURESTOCK_BASE_URL", raising=False)
    assert AsyncPleasureStock("k").base_url == "https://pleasurestock.com/api/v1"


@pytest.mark.parametrize(
    "url", ["http://pleasurestock.com/api/v1", "http://10.0.0.5/api", "ftp://x/api", "nonsense"]
)
def test_insecure_or_bad_base_url_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        AsyncPleasureStock("k", base_url=url)


@pytest.mark.parametrize(
    "url", ["http://localhost:8765/api/v1", "http://127.0.0.1/api/v1", "http://[::1]:80/api/v1"]
)
def test_plain_http_allowed_on_loopback(url: str) -> None:
    AsyncPleasureStock("k", base_url=url)


def test_repr_never_shows_the_key() -> None:
    ps = AsyncPleasureStock(KEY, base_url=BASE)
    assert KEY not in repr(ps)
    assert KEY not in repr(ps._http)
    assert KEY not in str(ps._http.api_key)


async def test_injected_http_client_is_not_closed(mock: respx.MockRouter) -> None:
    http = httpx.AsyncClient()
    async with AsyncPleasureStock(KEY, base_url=BASE, http_client=http):
        pass
    assert not http.is_closed
    await http.aclose()


async def test_own_http_client_is_closed() -> None:
    ps = AsyncPleasureStock(KEY, base_url=BASE)
    async with ps:
        pass
    assert ps._http.http.is_closed


async def test_with_options_shares_pool_and_buckets(mock: respx.MockRouter) -> None:
    async with AsyncPleasureStock(KEY, base_url=BASE, max_retries=2) as ps:
        fast = ps.with_options(max_retries=0, timeout=1.0)
        assert fast.max_retries == 0 and ps.max_retries == 2
        assert fast._http.http is ps._http.http
        assert fast.rate_limiter is ps.rate_limiter
        await fast.aclose()
        assert not ps._http.http.is_closed
    with pytest.raises(ConfigurationError):
        ps.with_options(max_retries=-1)


async def test_key_never_logged(mock: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    mock.get("/products").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(
                200,
                json={"data": [], "pagination": {"page": 1, "limit": 1, "total": 0, "pages": 0}},
            ),
        ]
    )
    caplog.set_level(logging.DEBUG)
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        await ps.with_options(max_retries=1).products.list()
    assert "retrying GET /api/v1/products" in caplog.text
    assert KEY not in caplog.text


async def test_timeouts_reach_every_request(mock: respx.MockRouter) -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(
            200, json={"data": [], "pagination": {"page": 1, "limit": 1, "total": 0, "pages": 0}}
        )

    mock.get("/products").mock(side_effect=handler)
    async with AsyncPleasureStock(KEY, base_url=BASE, timeout=12.0, rate_limits=None) as ps:
        await ps.products.list()
        await ps.with_options(timeout=httpx.Timeout(3.0, connect=1.0)).products.list()
    assert seen[0]["read"] == 12.0
    assert seen[1]["read"] == 3.0 and seen[1]["connect"] == 1.0
