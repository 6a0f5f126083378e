"""``pleasurestock sandbox inspect sales|orders|webhooks|requests|limits``: read a running
sandbox's inspection routes (``/api/v1/_sandbox/...``) as tables, or as JSON with ``--json``
(the routes' own answer: ``data``, ``pagination`` and, for sales, ``totals``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click
import httpx
from rich.table import Table
from rich.text import Text

from ._common import EXIT_ERROR, Settings, dump, global_params, report_error, say, settings_of

__all__ = ["DEFAULT_SANDBOX_URL", "inspect_group"]

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765/api/v1"
"""Where ``pleasurestock sandbox`` serves by default."""
INSPECT_PATH = "/_sandbox"
MAX_WALK = 10_000
"""Most pages ``--all`` reads (10 million rows)."""
TIMEOUT = 30.0

EPILOG = (
    "\b\nExit codes: 0 done; 1 the sandbox could not be read (none answers at the URL, it is "
    "not a sandbox, or it refused the request); 2 bad usage."
)

F = TypeVar("F", bound=Callable[..., Any])


class _UnreadableError(Exception):
    """The sandbox could not be read; the message says why."""


def _base(settings: Settings) -> str:
    return (settings.base_url or DEFAULT_SANDBOX_URL).rstrip("/")


def _get(http: httpx.Client, settings: Settings, path: str, params: dict[str, Any]) -> Any:
    base = _base(settings)
    query = {k: v for k, v in params.items() if v is not None}
    try:
        response = http.get(base + INSPECT_PATH + path, params=query)
    except httpx.HTTPError as exc:
        raise _UnreadableError(
            f"no sandbox answers at {base} ({type(exc).__name__}); start one with "
            "`pleasurestock sandbox`, or give its address with --base-url"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or (response.status_code == 404 and "No route" in str(body)):
        raise _UnreadableError(
            f"{base} is not a pleasurestock sandbox with an inspector (HTTP "
            f"{response.status_code} for {INSPECT_PATH}{path})"
        )
    if not response.is_success:
        details = "; ".join(str(d) for d in body.get("details") or [])
        message = str(body.get("message") or body.get("error") or response.status_code)
        raise _UnreadableError(
            f"the sandbox refused: {message}" + (f" ({details})" if details else "")
        )
    return body


def _read(
    settings: Settings, path: str, params: dict[str, Any], *, every: bool = False
) -> dict[str, Any]:
    """The route's answer without ``success``; with ``every``, all pages' ``data`` in one."""
    with httpx.Client(timeout=TIMEOUT) as http:
        if not every:
            body = _get(http, settings, path, params)
            body.pop("success", None)
            return dict(body)
        first = _get(http, settings, path, {**params, "page": 1, "limit": 1000})
        data = list(first["data"])
        pages = min(int(first["pagination"]["pages"]), MAX_WALK)
        for page in range(2, pages + 1):
            data.extend(_get(http, settings, path, {**params, "page": page, "limit": 1000})["data"])
    found = {k: v for k, v in first.items() if k not in ("success", "pagination", "data")}
    return {"data": data, **found}


def _run(ctx: click.Context, path: str, params: dict[str, Any], every: bool) -> dict[str, Any]:
    settings = settings_of(ctx)
    if settings.sandbox:
        raise click.UsageError(
            "--sandbox runs one command against a fresh in-process sandbox; inspect reads a "
            "running one (pleasurestock sandbox) at --base-url"
        )
    try:
        return _read(settings, path, params, every=every)
    except _UnreadableError as exc:
        report_error(settings, "SandboxUnreadable", str(exc), EXIT_ERROR)
        sys.exit(EXIT_ERROR)


def _table(settings: Settings, title: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
    """Rows as a table; every cell is shown as text, never as markup."""
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    settings.out.print(table)


def _footer(settings: Settings, body: dict[str, Any], noun: str) -> None:
    page = body.get("pagination")
    if page is None:
        text = f"{len(body['data']):,} {noun}"
    else:
        text = (
            f"page {page['page']:,} of {max(1, page['pages']):,} "
            f"({page['total']:,} {noun} in all; --page, --limit or --all for more)"
        )
    settings.out.print(Text(text))


def _clock(moment: str | None) -> str:
    if not moment:
        return ""
    try:
        return datetime.fromisoformat(moment).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return moment


def _paged(default_limit: int) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--page",
                    type=click.IntRange(1, 1_000_000),
                    default=1,
                    help="Which page (1: the first, or the newest).",
                ),
                click.option(
                    "--limit",
                    type=click.IntRange(1, 1000),
                    default=default_limit,
                    show_default=True,
                    help="Rows per page.",
                ),
                click.option("--all", "every", is_flag=True, help="Every page, not just one."),
            ]
        ):
            func = option(func)
        return func

    return apply


@click.group("inspect")
def inspect_group() -> None:
    """Read what a running sandbox received and stored (its inspection routes).

    The sandbox is the one at --base-url or $PLEASURESTOCK_BASE_URL (default
    http://127.0.0.1:8765/api/v1). --json prints the route's answer as is.

    \b
    Example:
      pleasurestock sandbox inspect sales --from 2025-11-03 --to 2025-11-09
      pleasurestock sandbox inspect requests --limit 5
    """


@inspect_group.command("sales")
@click.option("--product", metavar="ID", help="Only this product (ps_ id or UUID).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@_paged(50)
@click.pass_context
def inspect_sales(
    ctx: click.Context,
    product: str | None,
    start: datetime | None,
    end: datetime | None,
    page: int,
    limit: int,
    every: bool,
) -> None:
    """Stored sales per product and day, with totals over every day the filter keeps.

    The totals (`totals`: quantity, product_days, products, first_day, last_day) are what a
    week of cron runs can be checked against; --all --json lists every product-day.

    \b
    Example:
      pleasurestock sandbox inspect sales --json --from 2025-11-03 --to 2025-11-09
      pleasurestock sandbox inspect sales --product ps_vj31ucxsab --all
    """
    params = {
        "product": product,
        "from": start.date().isoformat() if start else None,
        "to": end.date().isoformat() if end else None,
        "page": page,
        "limit": limit,
    }
    body = _run(ctx, "/sales", params, every)
    settings = settings_of(ctx)
    if settings.json:
        say(settings.out, dump(body))
        return
    rows = [
        [r["internal_id"], r["sku"], r["date"], f"{r['quantity']:,}", r["stock_on_hand"]]
        for r in body["data"]
    ]
    _table(settings, "Stored sales", ["product", "SKU", "date", "quantity", "stock"], rows)
    t = body["totals"]
    span = f", {t['first_day']} to {t['last_day']}" if t["first_day"] else ""
    settings.out.print(
        Text(
            f"totals: {t['quantity']:,} units in {t['product_days']:,} product-days of "
            f"{t['products']:,} products{span}"
        )
    )
    _footer(settings, body, "product-days")


@inspect_group.command("orders")
@click.option(
    "--status",
    type=click.Choice(
        ["created", "part_paid", "paid", "on_the_way", "delivered", "accepted", "cancelled"]
    ),
)
@_paged(20)
@click.pass_context
def inspect_orders(
    ctx: click.Context, status: str | None, page: int, limit: int, every: bool
) -> None:
    """Orders, newest first, each with its status history.

    \b
    Example:
      pleasurestock sandbox inspect orders --status paid
    """
    body = _run(ctx, "/orders", {"status": status, "page": page, "limit": limit}, every)
    settings = settings_of(ctx)
    if settings.json:
        say(settings.out, dump(body))
        return
    rows = [
        [
            o["order_number"],
            o["status"],
            o["supplier_name"],
            f"{o['total_amount']} {o['currency']}",
            o["items"],
            " -> ".join(["created", *(h["to"] for h in o["history"])]),
            o["comment"],
        ]
        for o in body["data"]
    ]
    columns = ["order", "status", "supplier", "total", "items", "history", "comment"]
    _table(settings, "Orders", columns, rows)
    _footer(settings, body, "orders")


@inspect_group.command("webhooks")
@click.option(
    "--event", type=click.Choice(["order.created", "order.status_changed", "order.cancelled"])
)
@_paged(20)
@click.pass_context
def inspect_webhooks(
    ctx: click.Context, event: str | None, page: int, limit: int, every: bool
) -> None:
    """Webhook deliveries, newest first: target, state and each attempt's status (--json adds
    the signature headers and the payload).

    \b
    Example:
      pleasurestock sandbox inspect webhooks --event order.created --json
    """
    body = _run(ctx, "/webhooks", {"event": event, "page": page, "limit": limit}, every)
    settings = settings_of(ctx)
    if settings.json:
        say(settings.out, dump(body))
        return
    rows = [
        [
            d["id"],
            d["event"],
            d["url"],
            d["state"],
            ", ".join(str(a["status"] or a["error"]) for a in d["attempts"]),
            _clock(d["queued_at"]),
        ]
        for d in body["data"]
    ]
    columns = ["#", "event", "target", "state", "attempts", "queued"]
    _table(settings, "Webhook deliveries", columns, rows)
    _footer(settings, body, "deliveries")


@inspect_group.command("requests")
@_paged(20)
@click.pass_context
def inspect_requests(ctx: click.Context, page: int, limit: int, every: bool) -> None:
    """The requests the sandbox answered, newest first (which key sent each, never the key).

    \b
    Example:
      pleasurestock sandbox inspect requests --limit 5
    """
    body = _run(ctx, "/requests", {"page": page, "limit": limit}, every)
    settings = settings_of(ctx)
    if settings.json:
        say(settings.out, dump(body))
        return
    rows = [
        [
            _clock(r["at"]),
            r["method"],
            r["path"],
            r["status"] if r["status"] is not None else "-",
            r["api"] or "-",
            r["key"] or "-",
            f"{r['ms']:.1f}",
            r["id"],
            r["error"],
        ]
        for r in body["data"]
    ]
    columns = ["time", "method", "path", "status", "API", "key", "ms", "request id", "error"]
    _table(settings, "Requests", columns, rows)
    _footer(settings, body, "requests")


def _span(seconds: float) -> str:
    for size, name in ((3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {name}"
    return f"{seconds:g} s"


@inspect_group.command("limits")
@click.pass_context
def inspect_limits(ctx: click.Context) -> None:
    """Each key's rate-limit windows per bucket, now.

    \b
    Example:
      pleasurestock sandbox inspect limits
    """
    body = _run(ctx, "/limits", {}, False)
    settings = settings_of(ctx)
    if settings.json:
        say(settings.out, dump(body))
        return
    if not body["enforced"]:
        settings.out.print(Text("this sandbox enforces no rate limits"))
        return
    rows = [
        [
            row["key"],
            row["bucket"],
            f"{w['limit']:,} / {_span(w['seconds'])}",
            f"{w['used']:,}",
            "" if w["frees_in"] is None else f"{w['frees_in']:.1f} s",
            row["refused"],
        ]
        for row in body["data"]
        for w in row["windows"]
    ]
    columns = ["key", "bucket", "window", "used", "oldest leaves in", "refused (429)"]
    _table(settings, "Rate-limit windows", columns, rows)


for _command in inspect_group.commands.values():
    _globals = global_params(only={"base_url", "json", "verbose"})
    for _option in _globals:
        if _option.name == "base_url":
            _option.help = f"The sandbox's API base URL (default {DEFAULT_SANDBOX_URL})."
    _command.params.extend(_globals)
    _command.epilog = EPILOG
inspect_group.epilog = EPILOG
