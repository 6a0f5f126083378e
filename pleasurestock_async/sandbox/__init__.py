"""A local PleasureStock: the whole API with in-memory state, for trying the SDK, testing an
integration in CI and rehearsing a sync job, with no account.

In-process (no sockets)::

    sandbox = Sandbox()
    async with sandbox.client() as ps:
        page = await ps.products.list()

Over HTTP: ``python -m pleasurestock_async sandbox --port 8765`` serves it under ``/api/v1``.
Needs the ``sandbox`` extra (Starlette; uvicorn for HTTP).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from .._client import AsyncPleasureStock
from ..ratelimit import DEFAULT_RATE_LIMITS, RateLimitConfig
from ..types.webhooks import WebhookEvent
from ._app import API_PREFIX, Faults, SandboxApp
from ._catalog import Catalogue, SandboxProduct
from ._formula import FormulaError, TspFormula
from ._state import DaySales, SandboxOrder, SandboxState
from ._webhooks import Delivery, WebhookSender

__all__ = [
    "DEMO_API_KEY",
    "DEMO_WEBHOOK_SECRET",
    "DaySales",
    "Delivery",
    "Faults",
    "FormulaError",
    "Sandbox",
    "SandboxOrder",
    "SandboxProduct",
]

DEMO_API_KEY = "pk_sandbox_demo_key"
"""The key every sandbox accepts unless given others. Not a secret: it opens only a sandbox."""

DEMO_WEBHOOK_SECRET = "whsec_sandbox_demo_secret"  # noqa: S105 (a documented demo value)
"""The secret the sandbox signs webhooks with unless given another."""

IN_PROCESS_BASE_URL = "http://sandbox.localhost" + API_PREFIX


class _FaultyTransport(httpx.AsyncBaseTransport):
    """Drops a share of connections before they reach the app (never processed)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, drop_rate: float, seed: int) -> None:
        self._inner = inner
        self._drop_rate = drop_rate
        self._rng = random.Random(seed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._drop_rate and self._rng.random() < self._drop_rate:
            raise httpx.ConnectError("sandbox: injected dropped connection", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Sandbox:
    """An in-memory PleasureStock.

    ``products`` sets the catalogue size (deterministic for a ``seed``); ``api_keys`` the keys
    it accepts; ``rate_limits`` the windows it enforces per key (``None``: none), which its
    :meth:`client` also uses by default; ``webhook_url`` where it posts order events, signed
    with ``webhook_secret`` and retried after ``webhook_retry_delays``; ``faults`` failures to
    inject. ``tsp_formula`` and ``tcc_coefficient`` are the account's pricing settings.
    """

    def __init__(
        self,
        *,
        products: int = 2490,
        seed: int = 2025,
        api_keys: Sequence[str] = (DEMO_API_KEY,),
        rate_limits: RateLimitConfig | None = DEFAULT_RATE_LIMITS,
        webhook_url: str | None = None,
        webhook_secret: str = DEMO_WEBHOOK_SECRET,
        webhook_retry_delays: Sequence[float] = (2.0, 4.0, 8.0),
        webhook_timeout: float = 10.0,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        faults: Faults | None = None,
        tsp_formula: str = "TCC * 1.5",
        tcc_coefficient: Decimal | str | float = Decimal("1.7"),
    ) -> None:
        if not api_keys:
            raise ValueError("a sandbox needs at least one API key")
        self.api_keys = tuple(api_keys)
        self.rate_limits = rate_limits
        self.faults = faults or Faults()
        self.webhook_secret = webhook_secret
        self.state = SandboxState(Catalogue(products, seed), seed)
        self.webhooks = (
            WebhookSender(
                webhook_url,
                webhook_secret,
                retry_delays=webhook_retry_delays,
                timeout=webhook_timeout,
                transport=webhook_transport,
            )
            if webhook_url
            else None
        )
        self._api = SandboxApp(
            self.state,
            api_keys=frozenset(self.api_keys),
            rate_limits=rate_limits,
            faults=self.faults,
            tsp_formula=TspFormula(tsp_formula),
            tcc_coefficient=Decimal(str(tcc_coefficient)),
            webhook=self.webhooks,
            webhook_secret=webhook_secret,
        )
        self._clients: list[httpx.AsyncClient] = []

    @property
    def app(self) -> Any:
        """The ASGI application (serve it with uvicorn, or mount it in tests)."""
        return self._api.app

    @property
    def products(self) -> list[SandboxProduct]:
        """The catalogue, in its fixed order."""
        return self.state.catalogue.products

    def client(self, **options: Any) -> AsyncPleasureStock:
        """An :class:`AsyncPleasureStock` talking to this sandbox in-process (no sockets).

        Options are passed to the client; by default it uses the first API key and the same
        rate limits the sandbox enforces.
        """
        transport = _FaultyTransport(
            httpx.ASGITransport(app=self.app), self.faults.drop_rate, self.faults.seed
        )
        http = httpx.AsyncClient(transport=transport)
        self._clients.append(http)
        options.setdefault("api_key", self.api_keys[0])
        options.setdefault("base_url", IN_PROCESS_BASE_URL)
        options.setdefault("rate_limits", self.rate_limits)
        return AsyncPleasureStock(http_client=http, **options)

    # -- introspection -------------------------------------------------------------------------

    def daily_sales(self, product_id: str) -> dict[date, DaySales]:
        """The stored days of one product (by ``ps_`` id or UUID), as aggregated by the API."""
        product = self.state.catalogue.find(product_id)
        if product is None:
            raise KeyError(product_id)
        return dict(sorted(self.state.sales.get(product.id, {}).items()))

    @property
    def request_counts(self) -> Counter[str]:
        """Requests received per route, e.g. ``counts["POST /sales"]``."""
        return self._api.request_counts

    @property
    def rate_limited(self) -> int:
        """How many 429 answers the sandbox has sent."""
        return self._api.rate_limited

    @property
    def orders(self) -> list[SandboxOrder]:
        """Every order, oldest first."""
        return self.state.orders

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every webhook the sandbox has queued, with its attempts."""
        return self.webhooks.deliveries if self.webhooks else []

    @property
    def received_webhooks(self) -> list[WebhookEvent]:
        """Events verified by its own ``POST /external/webhook`` receiver."""
        return self._api.received_webhooks

    async def drain_webhooks(self) -> None:
        """Wait until every queued webhook has been delivered or has used up its retries."""
        if self.webhooks is not None:
            await self.webhooks.drain()

    async def aclose(self) -> None:
        """Close the in-process clients' transports and finish webhook deliveries."""
        await self.drain_webhooks()
        for http in self._clients:
            await http.aclose()
        self._clients.clear()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
