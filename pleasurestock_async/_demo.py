"""The main job, end to end: sync sales, read recommendations, order, follow an order through
its lifecycle, and receive its webhooks. Runs against the sandbox unless told otherwise."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import webhooks
from ._client import AsyncPleasureStock
from .ratelimit import RateLimitConfig, Window
from .types import OrderItem, OrderStatus, Product
from .types.uploads import SalesSyncResult, SyncProgress

__all__ = ["DEMO_LIMITS", "DemoReport", "WebhookInbox", "run_demo", "simulated_sales"]

DEMO_LIMITS = RateLimitConfig(
    standard=(Window(20_000, 3600.0), Window(2_000, 60.0), Window(100, 1.0)),
    external=(Window(20_000, 3600.0), Window(2_000, 60.0), Window(100, 1.0)),
    smart=(Window(1_000, 3600.0), Window(100, 60.0), Window(10, 1.0)),
)
"""The sandbox plan the demo runs on: the vendor's published limits would spread 225 sales
batches over more than two minutes (100 requests a minute), so the demo's sandbox and client
both use these larger windows. Plans differ; the client is configured to match."""

LIFECYCLE = (OrderStatus.PAID, OrderStatus.ON_THE_WAY, OrderStatus.DELIVERED, OrderStatus.ACCEPTED)


@dataclass
class DemoReport:
    """What the demo did, for its summary table."""

    products: int = 0
    sync: SalesSyncResult | None = None
    sync_seconds: float = 0.0
    resync: SalesSyncResult | None = None
    resync_seconds: float = 0.0
    recommendations: int = 0
    ordered_products: int = 0
    orders: list[str] = field(default_factory=list)
    lifecycle: list[str] = field(default_factory=list)
    webhooks_received: int = 0
    webhooks_verified: int = 0
    webhook_duplicates: int = 0
    requests: int = 0
    seconds: float = 0.0


class WebhookInbox:
    """A receiver as a user would write one: raw body, verify, dedupe, answer fast."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[webhooks.WebhookEvent] = []
        self.rejected = 0
        self.duplicates = 0
        self._seen = webhooks.EventDeduplicator()

    def app(self) -> Any:
        """A Starlette app with ``POST /webhooks``."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def receive(request: Request) -> Response:
            body = await request.body()
            try:
                event = webhooks.construct_event(body, request.headers, self.secret)
            except webhooks.WebhookVerificationError:
                self.rejected += 1
                return Response(status_code=400)
            if self._seen.first_time(event):
                self.events.append(event)
            else:
                self.duplicates += 1
            return Response(status_code=204)

        return Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])


async def simulated_sales(
    products: list[Product], start: date, end: date, seed: int = 90
) -> AsyncIterator[dict[str, Any]]:
    """Plausible daily sales of each product from ``start`` to ``end``: a few products sell
    fast, most slowly; stock runs down, is restocked, and sometimes runs out. Each product's
    history depends only on the product and the day, so a later export repeats the earlier
    days exactly and only adds new ones."""
    for product in products:
        rng = random.Random(f"{seed}:{product.internal_id}")
        rate = rng.choice((0.2, 0.5, 1, 1, 2, 3, 5, 8))
        stock = rng.randrange(20, 200)
        day = start
        while day <= end:
            sold = min(stock, int(rng.expovariate(1 / rate))) if stock else 0
            stock -= sold
            if stock == 0 and rng.random() < 0.3:
                stock = rng.randrange(20, 200)
            yield {
                "internal_id": product.internal_id,
                "date": day.isoformat(),
                "quantity": sold,
                "stock_on_hand": stock,
            }
            day += timedelta(days=1)


async def run_demo(
    ps: AsyncPleasureStock,
    *,
    days: int = 90,
    top: int = 12,
    end: date | None = None,
    inbox: WebhookInbox | None = None,
    drain_webhooks: Callable[[], Any] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
    say: Callable[[str], None] = print,
) -> DemoReport:
    """Run the main job with ``ps`` and return what happened."""
    report = DemoReport()
    started = time.perf_counter()
    end = end or date.today() - timedelta(days=1)

    say("1/5 Reading the catalogue")
    products = [p async for p in ps.products.list()]
    report.products = len(products)

    start = end - timedelta(days=days - 1)
    today = end + timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="pleasurestock-demo-") as folder:
        state = Path(folder) / "sales-state.db"
        say(f"2/5 Syncing a {days}-day export of sales for {len(products)} products")
        t0 = time.perf_counter()
        report.sync = await ps.sales.sync(
            simulated_sales(products, start, end), state=state, today=today, progress=on_progress
        )
        report.sync_seconds = time.perf_counter() - t0
        say("    3 hours later the shop exports again, today's sales so far included")
        t0 = time.perf_counter()
        report.resync = await ps.sales.sync(
            simulated_sales(products, start, today),
            state=state,
            today=today,
            progress=on_progress,
        )
        report.resync_seconds = time.perf_counter() - t0

    say("3/5 Reading smart reordering recommendations")
    recommendations = (await ps.smart_reordering.get(end)).recommendations
    report.recommendations = len(recommendations)

    chosen = recommendations[:top]
    say(f"4/5 Ordering the top {len(chosen)} recommendations")
    if chosen:
        created = await ps.orders.create(
            [
                OrderItem(ps_id=r.product_internal_id, quantity=int(r.recommended_quantity))
                for r in chosen
            ],
            external_order_id=f"DEMO-{end:%Y%m%d}",
            comment="Smart reordering, top recommendations",
        )
        report.ordered_products = len(chosen)
        report.orders = [o.order_number for o in created.orders]

        first = created.orders[0].order_number
        say(f"5/5 Walking {first} through its lifecycle")
        for status in LIFECYCLE:
            done = await ps.orders.update_status(first, status, comment=f"demo: {status.value}")
            report.lifecycle.append(str(done.status))

    if drain_webhooks is not None:
        await drain_webhooks()
    if inbox is not None:
        report.webhooks_received = len(inbox.events) + inbox.duplicates + inbox.rejected
        report.webhooks_verified = len(inbox.events)
        report.webhook_duplicates = inbox.duplicates
    report.seconds = time.perf_counter() - started
    return report
