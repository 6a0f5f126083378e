"""``pleasurestock webhook`` and ``demo``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click
import httpx
from rich.table import Table

from .. import webhooks
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

if TYPE_CHECKING:
    from ..sandbox._delivery import Delivery


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
@click.option(
    "--i-understand-this-writes",
    "confirmed",
    is_flag=True,
    help="Needed with a --base-url that is not this machine: the trigger creates an order "
    "there (and pays or cancels it).",
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
    confirmed: bool,
) -> int:
    """Produce EVENT and deliver it, signed, to a receiver of yours.

    The change the event announces is made for real: on the server of --base-url (or
    $PLEASURESTOCK_BASE_URL, e.g. a `pleasurestock sandbox` on this machine) through its
    API, with the API key, so the order the event names exists there; without one, on an
    in-process sandbox. Prints each attempt's status; exits 0 once the receiver answered 2xx.

    \b
    Example:
      export WEBHOOK_SECRET=whsec_...
      pleasurestock webhook trigger order.status_changed \\
        --forward-to http://127.0.0.1:8000/webhooks --secret-env WEBHOOK_SECRET
    """
    from ..sandbox import DEMO_WEBHOOK_SECRET

    settings = settings_of(ctx)
    delays = _delays(retry_delays)
    if not forward_to.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--forward-to")
    secret = DEMO_WEBHOOK_SECRET
    if secret_env:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise click.UsageError(f"the variable {secret_env} is not set")
    if settings.base_url and not settings.sandbox:
        if not confirmed and not _is_local(settings.base_url):
            raise click.UsageError(
                f"the trigger creates an order on {settings.base_url}; "
                "add --i-understand-this-writes"
            )
        return await _trigger_on_server(
            settings, event, forward_to, secret, delays, attempt_timeout
        )
    return await _trigger_in_process(settings, event, forward_to, secret, delays, attempt_timeout)


def _is_local(base_url: str) -> bool:
    from .._client import _is_loopback

    try:
        return _is_loopback(httpx.URL(base_url).host)
    except httpx.InvalidURL:
        return False


async def _trigger_on_server(
    settings: Settings,
    event: str,
    forward_to: str,
    secret: str,
    delays: tuple[float, ...],
    attempt_timeout: float,
) -> int:
    from datetime import UTC, datetime

    from ..sandbox._context import stamp
    from ..sandbox._delivery import WebhookSender
    from ._trigger import produce_event

    async with settings.client() as ps:
        data = await produce_event(ps, event)
        made_on = ps.base_url
    sender = WebhookSender(forward_to, secret, retry_delays=delays, timeout=attempt_timeout)
    async with sender.run():
        now = datetime.now(UTC).replace(microsecond=0)
        delivery = sender.send(event, data, stamp(now) or "")
        settings.out.print(
            f"{event} for {data['orderNumber']} (made on {made_on}) -> {forward_to}",
            highlight=False,
        )
        await _show_attempts(settings, delivery)
    return _outcome(settings, delivery)


async def _trigger_in_process(
    settings: Settings,
    event: str,
    forward_to: str,
    secret: str,
    delays: tuple[float, ...],
    attempt_timeout: float,
) -> int:
    from ..sandbox import Sandbox

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
        settings.out.print(
            f"{event} for {order.number} (an in-process sandbox's order) -> {forward_to}",
            highlight=False,
        )
        await _show_attempts(settings, delivery)
    return _outcome(settings, delivery)


async def _show_attempts(settings: Settings, delivery: Delivery) -> None:
    shown = 0
    while True:
        for attempt in delivery.attempts[shown:]:
            shown += 1
            settings.out.print(f"attempt {shown}: {attempt}", highlight=False)
        if delivery.finished and shown == len(delivery.attempts):
            return
        await delivery.changed()


def _outcome(settings: Settings, delivery: Delivery) -> int:
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
