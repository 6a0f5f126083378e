"""``pleasurestock webhook``, ``demo`` and ``sandbox``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .. import webhooks
from .._client import API_KEY_ENV
from ._common import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_PARTIAL,
    FiniteFloatRange,
    Settings,
    dump,
    run_async,
    settings_of,
)
from ._progress import Reporter

MAX_SANDBOX_PRODUCTS = 100_000
"""The largest catalogue ``pleasurestock sandbox`` builds (about a second and 100 MB)."""


@click.group()
def webhook() -> None:
    """Webhook tools for debugging receivers.

    \b
    Example:
      pleasurestock webhook verify --secret-env WEBHOOK_SECRET --signature ... --timestamp ...
      pleasurestock webhook trigger order.created --forward-to http://127.0.0.1:8000/hooks
    """


@webhook.command("verify")
@click.option(
    "--secret-env",
    required=True,
    metavar="VAR",
    help="Environment variable holding the webhook secret.",
)
@click.option("--signature", required=True, help="The X-Webhook-Signature header.")
@click.option("--timestamp", required=True, help="The X-Webhook-Timestamp header.")
@click.option(
    "--tolerance",
    type=float,
    default=webhooks.DEFAULT_TOLERANCE,
    show_default=True,
    help="Seconds of clock difference allowed.",
)
@click.pass_context
def webhook_verify(
    ctx: click.Context, secret_env: str, signature: str, timestamp: str, tolerance: float
) -> None:
    """Verify a webhook body read from stdin and print its event.

    \b
    Example:
      pleasurestock webhook verify --secret-env WEBHOOK_SECRET \\
        --signature "sha256=..." --timestamp 1736850600 < body.json
    """
    settings = settings_of(ctx)
    secret = os.environ.get(secret_env)
    if not secret:
        raise click.UsageError(f"the variable {secret_env} is not set")
    body = sys.stdin.buffer.read()
    headers = {webhooks.SIGNATURE_HEADER: signature, webhooks.TIMESTAMP_HEADER: timestamp}
    try:
        event = webhooks.construct_event(body, headers, secret, tolerance=tolerance)
    except webhooks.WebhookVerificationError as exc:
        settings.err.print(f"not verified: {exc}", highlight=False)
        sys.exit(EXIT_INVALID)
    settings.out.print(
        dump(event) if settings.json else f"verified {event.event} ({webhooks.dedupe_key(event)})",
        highlight=False,
    )


def _delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of seconds, e.g. 2,4,8") from None
    if not all(0 <= d <= 3600 for d in delays):
        raise click.BadParameter("each delay must be between 0 and 3600 seconds")
    return delays


@webhook.command("trigger")
@click.argument(
    "event", type=click.Choice(["order.created", "order.status_changed", "order.cancelled"])
)
@click.option("--forward-to", required=True, metavar="URL", help="Where to deliver the event.")
@click.option(
    "--secret-env",
    metavar="VAR",
    help="Environment variable holding the secret to sign with (default: the demo secret).",
)
@click.option(
    "--retry-delays",
    default="2,4,8",
    show_default=True,
    help="Seconds before each retry, comma-separated (the API's own are 2,4,8).",
)
@click.option(
    "--timeout",
    "attempt_timeout",
    type=FiniteFloatRange(0.1, 60),
    default=10.0,
    show_default=True,
    help="Seconds per attempt.",
)
@click.pass_context
@run_async
async def webhook_trigger(
    ctx: click.Context,
    event: str,
    forward_to: str,
    secret_env: str | None,
    retry_delays: str,
    attempt_timeout: float,
) -> int:
    """Make a sandbox produce EVENT and deliver it, signed, to a receiver of yours.

    Prints each attempt's status; exits 0 once the receiver answered 2xx.

    \b
    Example:
      export WEBHOOK_SECRET=whsec_...
      pleasurestock webhook trigger order.status_changed \\
        --forward-to http://127.0.0.1:8000/webhooks --secret-env WEBHOOK_SECRET
    """
    import anyio

    from ..sandbox import DEMO_WEBHOOK_SECRET, Sandbox

    settings = settings_of(ctx)
    delays = _delays(retry_delays)
    if not forward_to.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--forward-to")
    secret = DEMO_WEBHOOK_SECRET
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise click.UsageError(f"the variable {secret_env} is not set")
    async with Sandbox(
        products=10,
        rate_limits=None,
        webhook_url=forward_to,
        webhook_secret=secret,
        webhook_retry_delays=delays,
        webhook_timeout=attempt_timeout,
    ) as sandbox:
        order = await sandbox.trigger(event)
        (delivery,) = sandbox.webhook_deliveries
        settings.out.print(f"{event} for {order.number} -> {forward_to}", highlight=False)
        shown = 0
        while shown < len(delivery.attempts) or not delivery.finished:
            for attempt in delivery.attempts[shown:]:
                shown += 1
                settings.out.print(f"attempt {shown}: {attempt}", highlight=False)
            await anyio.sleep(0.02)
    outcome = "delivered" if delivery.delivered else "not delivered"
    settings.out.print(f"{outcome} after {len(delivery.attempts)} attempt(s)", highlight=False)
    return 0 if delivery.delivered else EXIT_ERROR


@click.command()
@click.option("--days", default=90, show_default=True, type=click.IntRange(7, 365))
@click.option(
    "--top",
    default=12,
    show_default=True,
    type=click.IntRange(1, 100),
    help="How many recommendations to order.",
)
@click.option(
    "--i-understand-this-writes",
    "confirmed",
    is_flag=True,
    help="Needed with --base-url: the demo writes sales and orders to that account.",
)
@click.pass_context
@run_async
async def demo(ctx: click.Context, days: int, top: int, confirmed: bool) -> int:
    """The main job end to end, against the built-in sandbox (no account needed).

    \b
    Syncs an export of DAYS of sales for every product, then a cumulative export 3 hours
    later (only the difference is sent), reads the recommendations, orders the top ones,
    walks an order through its lifecycle and verifies its webhooks.
    Example:
      python -m pleasurestock_async demo
    """
    from .._demo import DEMO_LIMITS, WebhookInbox, run_demo

    settings = settings_of(ctx)

    reporter = Reporter(settings.err, every=1.0, label="demo")
    say = reporter.say
    if settings.base_url and not settings.sandbox:
        if not confirmed:
            raise click.UsageError(
                "the demo writes simulated sales and orders; against "
                "--base-url add --i-understand-this-writes"
            )
        async with settings.client() as ps, reporter.running(ps.rate_limiter):
            report = await run_demo(ps, days=days, top=top, on_progress=reporter, say=say)
        _demo_summary(settings, report)
        return 0

    import httpx

    from ..sandbox import DEMO_WEBHOOK_SECRET, Sandbox

    inbox = WebhookInbox(DEMO_WEBHOOK_SECRET)
    say("Starting the sandbox (in-process; no account, no network)")
    async with (
        Sandbox(
            rate_limits=DEMO_LIMITS,
            webhook_url="http://receiver.localhost/webhooks",
            webhook_transport=httpx.ASGITransport(app=inbox.app()),
            webhook_retry_delays=(0.2, 0.4, 0.8),
        ) as sandbox,
        sandbox.client() as ps,
    ):
        async with reporter.running(ps.rate_limiter):
            report = await run_demo(
                ps,
                days=days,
                top=top,
                inbox=inbox,
                drain_webhooks=sandbox.drain_webhooks,
                on_progress=reporter,
                say=say,
            )
        report.requests = sum(sandbox.request_counts.values())
        budget = await ps.rate_limiter.status()
    _demo_summary(settings, report, budget)
    first, again = report.sync, report.resync
    synced = first is not None and again is not None and first.ok and again.ok
    ok = synced and report.webhooks_verified > 0
    return 0 if ok else EXIT_PARTIAL


def _demo_summary(settings: Settings, report: Any, budget: Any = None) -> None:
    first, again = report.sync, report.resync
    rows = [
        ("products in catalogue", f"{report.products:,}"),
        (
            "first export",
            f"{first.read:,} rows: {first.stored:,} stored in {first.batches} requests, "
            f"{report.sync_seconds:.1f} s",
        ),
        (
            "3 hours later",
            f"{again.read:,} rows: only {again.sent:,} new sent, in {again.batches} requests "
            f"({again.unchanged:,} already there; {again.deferred_stock:,} stocks wait for "
            "the day to close)",
        ),
        (
            "discrepancies / uncertain / failed",
            f"{len(first.discrepancies) + len(again.discrepancies)} / "
            f"{len(first.uncertain) + len(again.uncertain)} / "
            f"{len(first.failed_batches) + len(again.failed_batches)}",
        ),
        ("recommendations", f"{report.recommendations:,}"),
        ("orders created", f"{len(report.orders)} for {report.ordered_products} products"),
        ("lifecycle", " -> ".join(["created", *report.lifecycle])),
        (
            "webhooks verified",
            f"{report.webhooks_verified} of {report.webhooks_received} "
            f"received ({report.webhook_duplicates} duplicates)",
        ),
        ("requests", f"{report.requests:,}" if report.requests else "-"),
        ("total time", f"{report.seconds:.1f} s"),
    ]
    if budget:
        for name, status in budget.items():
            hour = status.windows[0]
            rows.append(
                (f"{name} budget used", f"{hour.used} of {hour.limit} per {hour.seconds:g} s")
            )
    if settings.json:
        settings.out.print(dump(dict(rows)), highlight=False)
        return
    table = Table("PleasureStock demo", "result", title="Summary")
    for key, value in rows:
        table.add_row(key, value)
    settings.out.print(table)


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--products",
    default=2490,
    show_default=True,
    type=click.IntRange(1, MAX_SANDBOX_PRODUCTS),
    help=f"Catalogue size (at most {MAX_SANDBOX_PRODUCTS:,}: each product is built up front).",
)
@click.option(
    "--rate-limits/--no-rate-limits",
    default=True,
    show_default=True,
    help="Enforce the vendor's published windows per key.",
)
@click.option("--webhook-url", help="Where to post signed order events.")
@click.option(
    "--webhook-secret-env",
    metavar="VAR",
    help="Environment variable holding the webhook secret (default: the demo secret).",
)
def sandbox_command(
    host: str,
    port: int,
    products: int,
    rate_limits: bool,
    webhook_url: str | None,
    webhook_secret_env: str | None,
) -> None:
    """Serve a local PleasureStock over HTTP under /api/v1.

    Its manager key is $PLEASURESTOCK_API_KEY, else the public demo key; keys never go on
    the command line. It also accepts a read-only viewer key, holds the reference's example
    products and orders, and serves its OpenAPI contract at /api/v1/openapi.json.

    \b
    Example:
      pleasurestock sandbox --port 8765
      curl -H "X-API-Key: pk_sandbox_demo_key" http://127.0.0.1:8765/api/v1/products?limit=2
    """
    import uvicorn

    from ..ratelimit import DEFAULT_RATE_LIMITS
    from ..sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, DEMO_WEBHOOK_SECRET, Sandbox

    key = os.environ.get(API_KEY_ENV) or DEMO_API_KEY
    secret = DEMO_WEBHOOK_SECRET
    if webhook_secret_env:
        secret = os.environ.get(webhook_secret_env, "")
        if not secret:
            raise click.UsageError(f"the variable {webhook_secret_env} is not set")
    sandbox = Sandbox(
        products=products,
        api_keys=[key],
        rate_limits=DEFAULT_RATE_LIMITS if rate_limits else None,
        webhook_url=webhook_url,
        webhook_secret=secret,
        example_orders=True,
    )
    err = Console(stderr=True)
    base = f"http://{host}:{port}/api/v1"
    err.print(f"PleasureStock sandbox on {base} (contract: {base}/openapi.json)", highlight=False)
    if key == DEMO_API_KEY:
        err.print(f"manager key:    {DEMO_API_KEY}  (the public demo key)", highlight=False)
    else:
        err.print(f"manager key:    from ${API_KEY_ENV}", highlight=False)
    err.print(f"viewer key:     {DEMO_VIEWER_KEY}  (reads only; writes get 403)", highlight=False)
    if webhook_secret_env:
        err.print(f"webhook secret: from ${webhook_secret_env}", highlight=False)
    else:
        err.print(f"webhook secret: {DEMO_WEBHOOK_SECRET}  (the demo secret)", highlight=False)
    if webhook_url:
        err.print(f"webhooks to {webhook_url}", highlight=False)
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
