"""A local PleasureStock: the whole API v1 with in-memory state, written from the API
reference, for trying the SDK, testing an integration in CI and rehearsing a sync job with no
account.

In-process (no sockets)::

    async with Sandbox() as sandbox, sandbox.client() as ps:
        page = await ps.products.list()

Over HTTP: ``pleasurestock sandbox --port 8765`` serves it under ``/api/v1``, with its OpenAPI
3.1 contract at ``/api/v1/openapi.json``. Needs the ``sandbox`` extra (Starlette; uvicorn for
HTTP).

Keys: :data:`DEMO_API_KEY` has the manager role (reads and writes); :data:`DEMO_VIEWER_KEY`
may read, and a write with it gets the reference's 403. The catalogue starts with the
products the reference names (``ps_vj31ucxsab``, ``ps_1234567890`` of supplier 12,
``ps_0987654321`` of supplier 15, ...); ``example_orders=True`` adds its two orders
(``ORD-20251103-78XZ70``, ``ORD-20251103-LMGYAQ``).

It shows what it received: a page at its root (the inspector) and JSON routes under
``/api/v1/_sandbox`` (stored sales, products, orders, webhook deliveries, the request log,
rate-limit windows, a reset), built on the same state its API uses.

Webhooks are delivered while the sandbox is entered (``async with``) or served (the ASGI
lifespan); events sent otherwise wait for :meth:`Sandbox.drain_webhooks`. Everything runs on
anyio, so on asyncio and trio alike. The sandbox shares no code with the client: it has its
own routing table, rate windows and validation.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401 (the sandbox's web framework: its extra may be missing)
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the sandbox needs the 'sandbox' extra (Starlette): "
        "pip install 'pleasurestock-async[sandbox]'",
        name=exc.name,
    ) from None

from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from pleasurestock_async import DEFAULT_RATE_LIMITS, AsyncPleasureStock, RateLimitConfig, webhooks
from pleasurestock_async.ratelimit import Clock, MemoryRateLimiter, MonotonicClock

from ._app import SandboxApp
from ._auth import Keys
from ._catalog import Catalogue, SandboxProduct
from ._context import Context
from ._delivery import Delivery, WebhookSender
from ._faults import Faults, FaultStreams, FaultyTransport
from ._formula import FormulaError, TspFormula
from ._inspection import INSPECT_PREFIX
from ._limits import ServerLimits
from ._page import is_page_path
from ._request_log import LoggedRequest
from ._routes import API_PREFIX, OPENAPI_PATH
from ._state import DaySales, SandboxOrder, SandboxState
from ._trigger import trigger

__all__ = [
    "DEMO_API_KEY",
    "DEMO_VIEWER_KEY",
    "DEMO_WEBHOOK_SECRET",
    "DaySales",
    "Delivery",
    "Faults",
    "FormulaError",
    "LoggedRequest",
    "Sandbox",
    "SandboxOrder",
    "SandboxProduct",
]

DEMO_API_KEY = "pk_sandbox_demo_key"
"""The manager key every sandbox accepts unless given others. Not a secret: it opens only a
sandbox."""

DEMO_VIEWER_KEY = "pk_sandbox_viewer_key"
"""A key with a viewer (non-manager) role: it may read, and writes get a 403."""

DEMO_WEBHOOK_SECRET = "whsec_sandbox_demo_secret"  # noqa: S105 (a documented demo value)
"""The secret the sandbox signs webhooks with unless given another."""

IN_PROCESS_BASE_URL = "http://sandbox.localhost" + API_PREFIX

_MAX_COEFFICIENT = Decimal(1000)
_INSPECTOR = API_PREFIX + INSPECT_PREFIX + "/"


def _exempt_from_faults(path: str) -> bool:
    """The contract, the inspection routes and the inspector's page get no injected fault."""
    return path == API_PREFIX + OPENAPI_PATH or path.startswith(_INSPECTOR) or is_page_path(path)


class Sandbox:
    """An in-memory PleasureStock.

    ``products`` sets the catalogue size (deterministic for a ``seed``); ``api_keys`` the
    manager keys it accepts and ``viewer_keys`` the read-only ones; ``rate_limits`` the windows
    it enforces per key (``None``: none), which its :meth:`client` also uses by default;
    ``webhook_url`` where it posts order events, signed with ``webhook_secret`` and retried
    after ``webhook_retry_delays``; ``faults`` failures to inject; ``example_orders`` adds the
    reference's two orders. ``tsp_formula`` and ``tcc_coefficient`` are the account's pricing
    settings. ``clock`` is the time of its rate windows and its latency and drip faults (real
    time by default; a :class:`~pleasurestock_async.ratelimit.ManualClock` shared with a
    client's limiter runs a test of waits on simulated time).
    """

    def __init__(
        self,
        *,
        products: int = 2490,
        seed: int = 2025,
        api_keys: Sequence[str] = (DEMO_API_KEY,),
        viewer_keys: Sequence[str] = (DEMO_VIEWER_KEY,),
        rate_limits: RateLimitConfig | None = DEFAULT_RATE_LIMITS,
        webhook_url: str | None = None,
        webhook_secret: str = DEMO_WEBHOOK_SECRET,
        webhook_retry_delays: Sequence[float] = (2.0, 4.0, 8.0),
        webhook_timeout: float = 10.0,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        faults: Faults | None = None,
        tsp_formula: str = "TCC * 1.5",
        tcc_coefficient: Decimal | str | float = Decimal("1.7"),
        example_orders: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if not api_keys or not all(api_keys):
            raise ValueError("a sandbox needs at least one API key, and no empty one")
        coefficient = Decimal(str(tcc_coefficient))
        if not (coefficient.is_finite() and 0 < coefficient <= _MAX_COEFFICIENT):
            raise ValueError(f"tcc_coefficient must be above 0 and at most {_MAX_COEFFICIENT}")
        formula = TspFormula(tsp_formula)
        self.api_keys = tuple(api_keys)
        self.viewer_keys = tuple(k for k in viewer_keys if k not in self.api_keys)
        self.rate_limits = rate_limits
        self.faults = faults or Faults()
        self.clock: Clock = clock or MonotonicClock()
        self.webhook_secret = webhook_secret
        self.state = SandboxState(Catalogue(products, seed), seed)
        for product in self.state.catalogue.products:
            formula((product.price * coefficient).quantize(Decimal("0.01")))
        if example_orders:
            self.state.add_example_orders()
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
        self._streams = FaultStreams(self.faults)
        self._ctx = Context(
            state=self.state,
            tsp_formula=formula,
            tcc_coefficient=coefficient,
            faults=self._streams,
            webhook_secret=webhook_secret,
            sender=self.webhooks,
            clock=self.clock,
        )
        self._api = SandboxApp(
            self._ctx,
            Keys(self.api_keys, self.viewer_keys),
            ServerLimits(rate_limits, self._ctx.clock) if rate_limits else None,
            example_orders=example_orders,
        )
        self._clients: list[httpx.AsyncClient] = []
        self._exit: AsyncExitStack | None = None

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
        rate limits the sandbox enforces, counted on the sandbox's clock. Its transport injects
        the ``drop_rate`` and ``drop_after_store_rate`` faults.
        """
        http = options.pop("http_client", None)
        if http is None:  # an http_client of the caller's own must reach this sandbox itself
            http = httpx.AsyncClient(transport=self.transport())
            self._clients.append(http)
        options.setdefault("api_key", self.api_keys[0])
        options.setdefault("base_url", IN_PROCESS_BASE_URL)
        if "rate_limiter" not in options:
            limits = options.pop("rate_limits", self.rate_limits)
            options["rate_limiter"] = MemoryRateLimiter(limits, clock=self.clock)
        return AsyncPleasureStock(http_client=http, **options)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport into this sandbox, in-process, that injects the ``drop_rate``
        and ``drop_after_store_rate`` faults (for raw httpx clients)."""
        inner = httpx.ASGITransport(app=self.app)
        return FaultyTransport(inner, self._streams, _exempt_from_faults)

    async def trigger(self, event: str) -> SandboxOrder:
        """Produce one webhook event (``order.created``, ``order.status_changed`` or
        ``order.cancelled``) through the API, as ``stripe trigger`` does; returns its order."""
        return await trigger(self, event)

    # -- introspection -------------------------------------------------------------------------

    def daily_sales(self, product_id: str) -> dict[date, DaySales]:
        """The stored days of one product (by ``ps_`` id or UUID), as aggregated by the API."""
        product = self.state.catalogue.find(product_id)
        if product is None:
            raise KeyError(product_id)
        days = self.state.sales.get(product.id, {})
        return {day: DaySales(s.quantity, s.stock_on_hand) for day, s in sorted(days.items())}

    def stored_sales(self) -> dict[tuple[str, date], DaySales]:
        """Every stored product and day, keyed by the product's ``ps_`` id (copies)."""
        return {
            (product.internal_id, day): DaySales(s.quantity, s.stock_on_hand)
            for product in self.products
            for day, s in sorted(self.state.sales.get(product.id, {}).items())
        }

    @property
    def request_counts(self) -> Counter[str]:
        """Requests received per route, e.g. ``counts["POST /sales"]``."""
        return self._api.request_counts

    @property
    def request_log(self) -> list[LoggedRequest]:
        """The requests it answered, oldest first (the newest 10,000; its inspector's routes and
        page aside): what the inspector's requests tab shows."""
        return list(self._api.log)

    @property
    def rate_limited(self) -> int:
        """How many 429 answers the sandbox has sent (injected ones included)."""
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
    def received_webhooks(self) -> list[webhooks.WebhookEvent]:
        """Events verified by its own ``POST /external/webhook`` receiver."""
        return self._ctx.received_webhooks

    async def drain_webhooks(self) -> None:
        """Wait until every queued webhook has been delivered or has used up its retries."""
        if self.webhooks is not None:
            await self.webhooks.drain()

    async def aclose(self) -> None:
        """Finish webhook deliveries and close the in-process clients' transports."""
        await self.drain_webhooks()
        for http in self._clients:
            await http.aclose()
        self._clients.clear()

    async def __aenter__(self) -> Sandbox:
        stack = AsyncExitStack()
        if self.webhooks is not None:
            await stack.enter_async_context(self.webhooks.run())
        self._exit = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.aclose()
        finally:
            stack, self._exit = self._exit, None
            if stack is not None:
                await stack.aclose()
