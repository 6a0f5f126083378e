"""``AsyncPleasureStock``: configuration, lifecycle, and the resources as attributes."""

from __future__ import annotations

import ipaddress
import os
from types import TracebackType

import httpx

from ._http import ApiKey, HTTPPipeline
from ._ratelimit import DEFAULT_RATE_LIMITS, RateLimitConfig, RateLimiter
from ._retry import RetryPolicy
from .errors import ConfigurationError
from .resources import Currency, Orders, Products, Sales, SmartReordering

__all__ = ["DEFAULT_BASE_URL", "AsyncPleasureStock"]

DEFAULT_BASE_URL = "https://pleasurestock.com/api/v1"
API_KEY_ENV = "PLEASURESTOCK_API_KEY"
BASE_URL_ENV = "PLEASURESTOCK_BASE_URL"

_POOL = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
"""Enough connections for the fastest rate the limits allow; thousands of tasks share them."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _checked_base_url(base_url: str) -> str:
    url = httpx.URL(base_url)
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            f"base_url {base_url!r} uses plain http: the API key would travel in clear text. "
            "Use https (plain http is allowed only for localhost and loopback addresses)."
        )
    return base_url.rstrip("/")


def _as_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class AsyncPleasureStock:
    """The async PleasureStock client. Create one and share it among all tasks.

    ``api_key`` defaults to ``$PLEASURESTOCK_API_KEY``; ``base_url`` to
    ``$PLEASURESTOCK_BASE_URL`` or the production API. ``rate_limits`` holds the client-side
    windows per API (``None`` switches them off). An injected ``http_client`` is used as is and
    never closed by this client.
    """

    products: Products
    sales: Sales
    smart_reordering: SmartReordering
    currency: Currency
    orders: Orders

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        rate_limits: RateLimitConfig | None = DEFAULT_RATE_LIMITS,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key:
            raise ConfigurationError(
                f"no API key: pass api_key=... or set the {API_KEY_ENV} environment variable"
            )
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        url = _checked_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        self._owns_http = http_client is None
        timeouts = _as_timeout(timeout)
        http = http_client or httpx.AsyncClient(limits=_POOL, timeout=timeouts)
        self._setup(
            HTTPPipeline(
                http=http,
                base_url=url,
                api_key=ApiKey(key),
                limiter=RateLimiter(rate_limits),
                retry=RetryPolicy(max_retries=max_retries),
                timeout=timeouts,
            )
        )

    def _setup(self, pipeline: HTTPPipeline) -> None:
        self._http = pipeline
        self.products = Products(pipeline)
        self.sales = Sales(pipeline)
        self.smart_reordering = SmartReordering(pipeline)
        self.currency = Currency(pipeline)
        self.orders = Orders(pipeline)

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> AsyncPleasureStock:
        """A client for some calls with another retry budget or timeout. It shares this
        client's connections and rate-limit buckets, and closing it closes nothing."""
        if max_retries is not None and max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        clone = object.__new__(AsyncPleasureStock)
        clone._owns_http = False
        clone._setup(
            self._http.with_options(
                max_retries=max_retries,
                timeout=None if timeout is None else _as_timeout(timeout),
            )
        )
        return clone

    @property
    def base_url(self) -> str:
        """The API's base URL, e.g. ``https://pleasurestock.com/api/v1``."""
        return self._http.base_url

    @property
    def max_retries(self) -> int:
        """Retries allowed per request."""
        return self._http.retry.max_retries

    @property
    def rate_limits(self) -> RateLimiter:
        """The client-side buckets: ``ps.rate_limits.status()`` tells each window's use."""
        return self._http.limiter

    async def aclose(self) -> None:
        """Close the connection pool (unless it was injected)."""
        if self._owns_http:
            await self._http.http.aclose()

    async def __aenter__(self) -> AsyncPleasureStock:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncPleasureStock(base_url={self.base_url!r}, api_key=[redacted])"
