"""``AsyncPleasureStock``: configuration, lifecycle, copies, and the resources as attributes."""

from __future__ import annotations

import ipaddress
import os
import platform
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from ._apikey import ApiKey, guard_logs
from ._http import MAX_CONNECTIONS, HTTPPipeline, Lifecycle
from ._options import NOT_GIVEN, NotGiven, check_headers
from ._retry import DEFAULT_MAX_RETRY_AFTER
from ._settings import (
    MAX_RESPONSE_BYTES,
    ClientSettings,
    as_timeout,
    call_timeout,
    check_retries,
    check_seconds,
)
from ._version import __version__
from .errors import ConfigurationError, shorten
from .ratelimit import DEFAULT_RATE_LIMITS, MemoryRateLimiter, RateLimitConfig, RateLimiter
from .ratelimit._protocol import checked_limiter
from .resources import (
    Currency,
    CurrencyWithRawResponse,
    Orders,
    OrdersWithRawResponse,
    Products,
    ProductsWithRawResponse,
    Sales,
    SalesWithRawResponse,
    SmartReordering,
    SmartReorderingWithRawResponse,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_RATE_LIMIT_WAIT", "USER_AGENT", "AsyncPleasureStock"]

DEFAULT_BASE_URL = "https://pleasurestock.com/api/v1"
API_KEY_ENV = "PLEASURESTOCK_API_KEY"
BASE_URL_ENV = "PLEASURESTOCK_BASE_URL"

DEFAULT_MAX_RATE_LIMIT_WAIT = 3600.0
"""The longest a call waits for a rate-limit slot by default: the longest window. Give a web
handler a short one (``options={"max_rate_limit_wait": 1}``) so it fails fast instead."""

_POOL = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS, keepalive_expiry=30
)
"""Enough connections for the fastest rate the limits allow; thousands of tasks share them."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _checked_base_url(base_url: object) -> str:
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a str, got {type(base_url).__name__}")
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ConfigurationError(f"base_url is not a URL: {shorten(base_url)} ({exc})") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {shorten(base_url)}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            f"base_url {shorten(base_url)} uses plain http: the API key would travel in clear "
            "text. "
            "Use https (plain http is allowed only for localhost and loopback addresses)."
        )
    return base_url.rstrip("/")


USER_AGENT = (
    f"pleasurestock-async/{__version__} python/{platform.python_version()} "
    f"httpx/{httpx.__version__}"
)
"""What the SDK calls itself in ``User-Agent``, so the vendor can tell its traffic apart
(``default_headers`` or a call's ``extra_headers`` may name another)."""


def _checked_headers(headers: object) -> dict[str, str]:
    checked = check_headers(headers, "default_headers")
    if any(k.lower() == "user-agent" for k in checked):
        return checked
    return {"User-Agent": USER_AGENT, **checked}


class AsyncPleasureStock:
    """The async PleasureStock client. Create one per event loop and share it among its tasks:
    its connection pool and rate-limit windows are shared too.

    Args:
        api_key: Defaults to ``$PLEASURESTOCK_API_KEY``. Sent as ``X-API-Key`` to the standard
            API and as ``Authorization: Bearer`` to ``/external/...``; never shown anywhere.
        base_url: Defaults to ``$PLEASURESTOCK_BASE_URL``, else the production API. Plain
            ``http://`` only for loopback addresses.
        timeout: Seconds for each phase of an attempt (connect, write, read, the wait for a
            connection). Given as a number it also bounds each call as a whole: a call is
            over ``timeout + max_rate_limit_wait`` seconds after it began, whatever it waited
            for (a rate-limit slot, a connection, retries, backoff, a server's pause). An
            :class:`httpx.Timeout` bounds the phases only; ``None``: no bound.
        attempt_timeout: Seconds one attempt may take in all, connecting to the last byte,
            however slowly a server drips it. Default: ``timeout`` when that is one number
            (300 s for an :class:`httpx.Timeout`); ``None`` for no bound.
        max_retries: Retries per request (only where a retry cannot double-count).
        max_rate_limit_wait: The longest a call waits for a rate-limit slot before it raises
            :class:`~pleasurestock_async.errors.RateLimitWaitError` (``None``: no bound, and
            no bound on the call as a whole either).
        max_retry_after: The longest pause a server's ``Retry-After`` can impose.
        max_response_bytes: The largest answer read (decoded); larger ones fail the attempt.
        strict_response_validation: Fail on a response field that does not have its
            documented type (default: leave it out or keep it as sent, with a warning).
        rate_limits: The windows to keep (the vendor's published limits by default; ``None``
            to keep none). Ignored when ``rate_limiter`` is given.
        rate_limiter: A limiter of yours (for example a
            :class:`~pleasurestock_async.ratelimit.RedisRateLimiter` shared by many workers).
        default_headers: Headers sent with every request (a ``User-Agent`` here replaces
            the SDK's own, ``pleasurestock-async/<version> python/<version> httpx/<version>``).
        http_client: An :class:`httpx.AsyncClient` of yours, used as is and never closed here.
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
        timeout: float | httpx.Timeout | None = 30.0,
        attempt_timeout: float | NotGiven | None = NOT_GIVEN,
        max_retries: int = 2,
        max_rate_limit_wait: float | None = DEFAULT_MAX_RATE_LIMIT_WAIT,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        strict_response_validation: bool = False,
        rate_limits: RateLimitConfig | None = DEFAULT_RATE_LIMITS,
        rate_limiter: RateLimiter | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        _lifecycle: Lifecycle | None = None,
    ) -> None:
        raw_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if raw_key is None or raw_key == "":
            raise ConfigurationError(
                f"no API key: pass api_key=... or set the {API_KEY_ENV} environment variable"
            )
        key = ApiKey(raw_key)
        if rate_limiter is not None:
            rate_limiter = checked_limiter(rate_limiter)
            if not rate_limiter.uses_key(key.reveal()):
                raise ConfigurationError("rate_limiter keeps another API key's windows")
        url = _checked_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        timeouts = as_timeout(timeout)
        if not isinstance(attempt_timeout, NotGiven):
            attempt_timeout = check_seconds(attempt_timeout, "attempt_timeout")
        max_retry_after_s = check_seconds(max_retry_after, "max_retry_after", allow_none=False)
        assert max_retry_after_s is not None
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ConfigurationError(
                f"max_response_bytes must be an int >= 1, got {shorten(max_response_bytes)}"
            )
        if not isinstance(strict_response_validation, bool):
            raise ConfigurationError("strict_response_validation must be True or False")
        if rate_limits is not None and not isinstance(rate_limits, RateLimitConfig):
            raise ConfigurationError(
                f"rate_limits must be a RateLimitConfig or None, got {type(rate_limits).__name__}"
            )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client must be an httpx.AsyncClient")
        settings = ClientSettings(
            timeout=timeouts,
            attempt_timeout=attempt_timeout,
            max_retries=check_retries(max_retries),
            max_rate_limit_wait=check_seconds(max_rate_limit_wait, "max_rate_limit_wait"),
            max_retry_after=max_retry_after_s,
            max_response_bytes=max_response_bytes,
            strict_response_validation=strict_response_validation,
            call_timeout=call_timeout(timeout),
        )
        self._owns_http = http_client is None
        self._owns_limiter = rate_limiter is None
        self._is_copy = _lifecycle is not None
        self._rate_limits = rate_limits
        pipeline = HTTPPipeline(
            http=http_client or httpx.AsyncClient(limits=_POOL, timeout=timeouts),
            base_url=url,
            api_key=key,
            limiter=rate_limiter or MemoryRateLimiter(rate_limits),
            settings=settings,
            lifecycle=_lifecycle or Lifecycle(),
            default_headers=_checked_headers(default_headers),
        )
        guard_logs(key)
        self._http = pipeline
        self.products = Products(pipeline)
        self.sales = Sales(pipeline)
        self.smart_reordering = SmartReordering(pipeline)
        self.currency = Currency(pipeline)
        self.orders = Orders(pipeline)

    def copy(
        self,
        *,
        api_key: str | NotGiven = NOT_GIVEN,
        base_url: str | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        attempt_timeout: float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        max_rate_limit_wait: float | NotGiven | None = NOT_GIVEN,
        max_retry_after: float | NotGiven = NOT_GIVEN,
        max_response_bytes: int | NotGiven = NOT_GIVEN,
        strict_response_validation: bool | NotGiven = NOT_GIVEN,
        rate_limiter: RateLimiter | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
    ) -> AsyncPleasureStock:
        """A client with some settings changed, built through the constructor.

        It shares this client's connection pool and (for the same key) its rate-limit state;
        closing it closes nothing, and it is closed when this client is. ``timeout=None``
        turns the timeout off; an argument left out keeps this client's value.

        Example::

            fast = ps.copy(timeout=2.0, max_retries=0, max_rate_limit_wait=0)
        """
        s = self._http.settings
        same_key = isinstance(api_key, NotGiven) or ApiKey(api_key).same_as(self._http.api_key)
        limiter: RateLimiter | None
        if not isinstance(rate_limiter, NotGiven):
            limiter = rate_limiter
        elif same_key:
            limiter = self._http.limiter
        else:
            limiter = None  # another key: its own windows
        options: dict[str, Any] = {
            "api_key": self._http.api_key.reveal() if isinstance(api_key, NotGiven) else api_key,
            "base_url": self.base_url if isinstance(base_url, NotGiven) else base_url,
            # a timeout given as a number is kept as one (it also bounds each call as a whole)
            "timeout": (
                (s.timeout if s.call_timeout is None else s.call_timeout)
                if isinstance(timeout, NotGiven)
                else timeout
            ),
            "attempt_timeout": (
                (NOT_GIVEN if not isinstance(timeout, NotGiven) else s.attempt_timeout)
                if isinstance(attempt_timeout, NotGiven)
                else attempt_timeout
            ),
            "max_retries": s.max_retries if isinstance(max_retries, NotGiven) else max_retries,
            "max_rate_limit_wait": (
                s.max_rate_limit_wait
                if isinstance(max_rate_limit_wait, NotGiven)
                else max_rate_limit_wait
            ),
            "max_retry_after": (
                s.max_retry_after if isinstance(max_retry_after, NotGiven) else max_retry_after
            ),
            "max_response_bytes": (
                s.max_response_bytes
                if isinstance(max_response_bytes, NotGiven)
                else max_response_bytes
            ),
            "strict_response_validation": (
                s.strict_response_validation
                if isinstance(strict_response_validation, NotGiven)
                else strict_response_validation
            ),
            "rate_limits": self._rate_limits,
            "rate_limiter": limiter,
            "default_headers": (
                self._http.default_headers
                if isinstance(default_headers, NotGiven)
                else default_headers
            ),
        }
        clone = AsyncPleasureStock(
            http_client=self._http.http, _lifecycle=self._http.lifecycle, **options
        )
        clone._owns_limiter = limiter is None
        return clone

    with_options = copy
    """The same as :meth:`copy` (the name other SDKs use)."""

    @property
    def with_raw_response(self) -> AsyncPleasureStockWithRawResponse:
        """The same methods, each returning an :class:`APIResponse` (status, headers, elapsed,
        ``.parse()``).

        Example::

            raw = await ps.with_raw_response.products.get("ps_vj31ucxsab")
            raw.headers, raw.status_code, raw.parse().price
        """
        return AsyncPleasureStockWithRawResponse(self)

    @property
    def base_url(self) -> str:
        """The API's base URL, e.g. ``https://pleasurestock.com/api/v1``."""
        return self._http.base_url

    @property
    def max_retries(self) -> int:
        """Retries allowed per request."""
        return self._http.settings.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        """The per-phase timeouts of each attempt."""
        return self._http.settings.timeout

    @property
    def rate_limiter(self) -> RateLimiter:
        """The rate limiter: ``await ps.rate_limiter.status()`` tells each window's use."""
        return self._http.limiter

    @property
    def is_closed(self) -> bool:
        """Whether the client (or the client it was copied from) is closed."""
        return self._http.lifecycle.closed

    async def aclose(self) -> None:
        """Close the connection pool and the rate limiter (unless they were given, or this is
        a copy); using the client afterwards raises :class:`ClientClosedError`."""
        if self._is_copy:  # the pool and the lifecycle belong to the original
            if self._owns_limiter:
                await self._http.limiter.aclose()
            return
        self._http.lifecycle.closed = True
        if self._owns_http:
            await self._http.http.aclose()
        if self._owns_limiter:
            await self._http.limiter.aclose()

    async def __aenter__(self) -> AsyncPleasureStock:
        self._http.lifecycle.check()
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


class AsyncPleasureStockWithRawResponse:
    """``ps.with_raw_response``: every one-request method returns an :class:`APIResponse`."""

    def __init__(self, client: AsyncPleasureStock) -> None:
        self.products: ProductsWithRawResponse = ProductsWithRawResponse(client.products)
        self.sales: SalesWithRawResponse = SalesWithRawResponse(client.sales)
        self.smart_reordering: SmartReorderingWithRawResponse = SmartReorderingWithRawResponse(
            client.smart_reordering
        )
        self.currency: CurrencyWithRawResponse = CurrencyWithRawResponse(client.currency)
        self.orders: OrdersWithRawResponse = OrdersWithRawResponse(client.orders)
