"""``pleasurestock``: the command line for sync jobs and operators.

Every command takes the global options (``--api-key-env``, ``--base-url``, ``--sandbox``,
``--json``, ``-v``). Exit codes: 0 everything accepted; 1 an error; 2 bad usage; 3 invalid
input records; 4 partial failure (batches failed or unresolved); 5 authentication refused.
Needs the ``cli`` extra (Click and Rich).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from . import webhooks
from ._client import API_KEY_ENV, AsyncPleasureStock
from .errors import (
    AuthenticationError,
    InputError,
    PermissionDeniedError,
    PleasureStockError,
    SalesUploadError,
)
from .sales_files import SalesFile, read_sales_csv, read_sales_jsonl
from .types import OrderItem, OrderStatus
from .uploads import SalesUploadResult, UploadProgress

__all__ = ["EXIT_AUTH", "EXIT_ERROR", "EXIT_INVALID", "EXIT_PARTIAL", "cli", "main"]

EXIT_ERROR = 1
EXIT_INVALID = 3
EXIT_PARTIAL = 4
EXIT_AUTH = 5

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Settings:
    """The global options, shared by every command."""

    api_key_env: str
    base_url: str | None
    sandbox: bool
    json: bool
    verbose: int

    @property
    def out(self) -> Console:
        # Piped output is read by programs and people alike: never wrap it at 80 columns.
        console = Console(soft_wrap=True)
        if not console.is_terminal:
            console.width = 200
        return console

    @property
    def err(self) -> Console:
        return Console(stderr=True, soft_wrap=True)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncPleasureStock]:
        """A client for the chosen target: a real API, or an in-process sandbox."""
        if self.sandbox:
            async with sandbox_client() as ps:
                yield ps
            return
        key = os.environ.get(self.api_key_env)
        if not key:
            raise click.UsageError(
                f"no API key: set {self.api_key_env} (or name another variable with "
                "--api-key-env), or try the command with --sandbox"
            )
        async with AsyncPleasureStock(key, base_url=self.base_url) as ps:
            yield ps


@asynccontextmanager
async def sandbox_client() -> AsyncIterator[AsyncPleasureStock]:
    """A client on a fresh in-process sandbox (what ``--sandbox`` uses)."""
    from ._demo import DEMO_LIMITS
    from .sandbox import Sandbox

    async with Sandbox(rate_limits=DEMO_LIMITS) as sandbox, sandbox.client() as ps:
        yield ps


def _run(func: Callable[P, Awaitable[int | None]]) -> Callable[P, None]:
    """Run an async command; map SDK errors to messages and exit codes."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        err = Console(stderr=True, soft_wrap=True)
        try:
            code = anyio.run(lambda: func(*args, **kwargs))
        except (AuthenticationError, PermissionDeniedError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            sys.exit(EXIT_AUTH)
        except InputError as exc:
            err.print(f"[red]invalid input:[/red] {exc}", highlight=False)
            sys.exit(EXIT_INVALID)
        except PleasureStockError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.exit(EXIT_ERROR)
        sys.exit(code or 0)

    return wrapper


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None
    return settings


def _dump(value: Any) -> str:
    def default(obj: object) -> object:
        if isinstance(obj, Decimal):
            return str(obj)
        if isinstance(obj, date):
            return obj.isoformat()
        if hasattr(obj, "model_dump"):
            return obj.model_dump(mode="json")
        raise TypeError(type(obj).__name__)

    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, default=default, ensure_ascii=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--api-key-env",
    default=API_KEY_ENV,
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the API key (keys never go on the command line).",
)
@click.option("--base-url", envvar="PLEASURESTOCK_BASE_URL", help="API base URL.")
@click.option("--sandbox", is_flag=True, help="Run against an in-process sandbox (no account).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="Log requests and retries (keys redacted).")
@click.version_option(package_name="pleasurestock-async")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key_env: str,
    base_url: str | None,
    sandbox: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """PleasureStock from the shell.

    \b
    Example:
      export PLEASURESTOCK_API_KEY=...        # from Settings -> API Keys
      pleasurestock sales push sales.csv --journal sales.journal
    """
    if verbose:
        logging.basicConfig(
            level=logging.INFO if verbose == 1 else logging.DEBUG,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    ctx.obj = Settings(api_key_env, base_url, sandbox, as_json, verbose)


# -- sales --------------------------------------------------------------------------------------


@cli.group()
def sales() -> None:
    """Sales history: push files of daily sales."""


class _Reporter:
    """A live bar on a terminal; plain periodic lines (no control characters) otherwise."""

    def __init__(self, console: Console, every: float = 5.0, total: int | None = None) -> None:
        self.console = console
        self.every = every
        self.total = total
        self._started = time.monotonic()
        self._last = 0.0
        self._progress: Progress | None = None
        self._task: Any = None

    @contextmanager
    def running(self) -> Iterator[_Reporter]:
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]sales"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[rate]} rec/s  accepted {task.fields[accepted]}"
                    "  failed {task.fields[failed]}  invalid {task.fields[invalid]}"
                ),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._task = self._progress.add_task(
                "push", total=self.total, rate="-", accepted=0, failed=0, invalid=0
            )
            with self._progress:
                yield self
        else:
            yield self

    def __call__(self, p: UploadProgress) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{p.read / elapsed:,.0f}"
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=p.read,
                rate=rate,
                accepted=p.accepted,
                failed=p.failed,
                invalid=p.invalid,
            )
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            eta = ""
            if self.total and p.read:
                eta = f" eta={max(0.0, (self.total - p.read) * elapsed / p.read):.0f}s"
            self.console.print(
                f"progress: read={p.read} accepted={p.accepted} failed={p.failed} "
                f"invalid={p.invalid} rate={rate}/s{eta}",
                highlight=False,
                markup=False,
            )


async def _count_records(path: str) -> int | None:
    """About how many records a file holds (its non-blank lines, less a CSV header), for the
    ETA; None for standard input, which cannot be read twice."""
    if path == "-":
        return None

    def count() -> int:
        with Path(path).open("rb") as f:
            lines = sum(1 for line in f if line.strip())
        return lines - (0 if path.endswith((".jsonl", ".ndjson")) else 1)

    return await anyio.to_thread.run_sync(count)


def _open_sales(path: str, fmt: str | None, on_error: str) -> SalesFile:
    kind = fmt or ("jsonl" if path.endswith((".jsonl", ".ndjson")) else "csv")
    reader = read_sales_jsonl if kind == "jsonl" else read_sales_csv
    return reader(path, on_error="skip" if on_error == "skip" else "raise")


async def _validate_only(source: SalesFile) -> list[dict[str, Any]]:
    from ._sales_codec import validate_rows

    problems: list[dict[str, Any]] = []
    chunk: list[Any] = []
    index = 0

    def check() -> None:
        nonlocal index
        _, _, bad = validate_rows(chunk, index)
        problems.extend(
            {
                "line": source.line_of(e.index or 0),
                "field": e.field,
                "reason": e.message,
                "value": e.value,
            }
            for e in bad
        )
        index += len(chunk)
        chunk.clear()

    async for record in source:
        chunk.append(record)
        if len(chunk) == 1000:
            check()
    check()
    problems.extend(
        {"line": s.line, "field": None, "reason": s.reason, "value": None} for s in source.skipped
    )
    return sorted(problems, key=lambda p: p["line"])


@sales.command("push")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    help="File format (default: by extension; - is CSV unless given).",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    help="SQLite journal for resumable, exactly-once runs (one per input).",
)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--chunk-size", default=1000, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--on-invalid",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Stop at an invalid line, or skip and report it.",
)
@click.option("--dry-run", is_flag=True, help="Validate only; report every bad line.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Resend batches whose fate is unknown (may double-count).",
)
@click.pass_context
@_run
async def sales_push(
    ctx: click.Context,
    files: tuple[str, ...],
    fmt: str | None,
    journal: str | None,
    concurrency: int,
    chunk_size: int,
    on_invalid: str,
    dry_run: bool,
    resend_unknown: bool,
) -> int:
    """Push sales files (CSV or JSON Lines; - for stdin) in concurrent batches.

    \b
    CSV header: internal_id,date,quantity[,stock_on_hand]
    Example (cron):
      pleasurestock sales push /data/sales-$(date +%F).csv --journal /data/sales.journal
    """
    settings = _settings(ctx)
    if journal and len(files) > 1:
        raise click.UsageError("--journal covers one input: push one file per journal")
    code = 0
    for path in files:
        source = _open_sales(path, fmt, on_invalid)
        if dry_run:
            problems = await _validate_only(source)
            if settings.json:
                settings.out.print(_dump({"file": path, "problems": problems}), highlight=False)
            else:
                for p in problems:
                    settings.out.print(
                        f"{path}:{p['line']}: {p['field'] or 'line'}: "
                        f"{p['reason']} (got {p['value']!r})",
                        highlight=False,
                    )
                settings.err.print(f"{path}: {len(problems)} problem(s)", highlight=False)
            code = max(code, EXIT_INVALID if problems else 0)
            continue
        code = max(
            code,
            await _push_one(
                settings, path, source, journal, concurrency, chunk_size, on_invalid, resend_unknown
            ),
        )
    return code


async def _push_one(
    settings: Settings,
    path: str,
    source: SalesFile,
    journal: str | None,
    concurrency: int,
    chunk_size: int,
    on_invalid: str,
    resend_unknown: bool,
) -> int:
    reporter = _Reporter(settings.err, total=await _count_records(path))
    async with settings.client() as ps:
        try:
            with reporter.running():
                result = await ps.sales.upload(
                    source,
                    chunk_size=chunk_size,
                    concurrency=concurrency,
                    on_invalid="skip" if on_invalid == "skip" else "raise",
                    progress=reporter,
                    journal=journal,
                    resend_unknown=resend_unknown,
                )
        except SalesUploadError as exc:
            _summary(settings, path, source, exc.result, stopped=str(exc))
            if exc.reason == "authentication":
                return EXIT_AUTH
            if exc.reason in ("invalid_record", "input_error"):
                return EXIT_INVALID
            return EXIT_ERROR
    _summary(settings, path, source, result)
    if result.failed_batches or result.unresolved_batches:
        return EXIT_PARTIAL
    if result.rejected or source.skipped:
        return EXIT_INVALID
    return 0


def _summary(
    settings: Settings,
    path: str,
    source: SalesFile,
    result: SalesUploadResult,
    stopped: str | None = None,
) -> None:
    invalid = [
        {"line": source.line_of(e.index or 0), "field": e.field, "reason": e.message}
        for e in result.rejected
    ] + [{"line": s.line, "field": None, "reason": s.reason} for s in source.skipped]
    failed: list[dict[str, Any]] = [
        {
            "lines": [source.line_of(b.first_index), source.line_of(b.last_index)],
            "outcome": b.outcome,
            "error": str(b.error),
            "record_errors": [
                {"line": source.line_of(e.index), "error": e.error, "received": e.received}
                for e in b.record_errors
            ],
        }
        for b in result.failed_batches
    ]
    unresolved: list[dict[str, Any]] = [
        {
            "lines": [source.line_of(e.first_index), source.line_of(e.last_index)],
            "state": e.state.value,
        }
        for e in result.unresolved_batches
    ]
    summary: dict[str, Any] = {
        "file": path,
        "read": result.read,
        "accepted": result.accepted,
        "processed": result.processed,
        "batches": result.batches,
        "skipped_batches": result.skipped_batches,
        "invalid": invalid,
        "failed_batches": failed,
        "unresolved_batches": unresolved,
        "stopped": stopped,
    }
    if settings.json:
        settings.out.print(_dump(summary), highlight=False)
        return
    out = settings.out
    out.print(
        f"{path}: read {result.read}, accepted {result.accepted} "
        f"(server processed {result.processed}) in {result.batches} batches"
        + (f", {result.skipped_batches} already done (journal)" if result.skipped_batches else ""),
        highlight=False,
    )
    for item in invalid:
        out.print(
            f"  {path}:{item['line']}: {item['field'] or 'line'}: {item['reason']}", highlight=False
        )
    for batch in failed:
        out.print(
            f"  lines {batch['lines'][0]}-{batch['lines'][1]}: {batch['outcome']}: "
            f"{batch['error']}",
            highlight=False,
        )
        for rec in batch["record_errors"]:
            out.print(
                f"    {path}:{rec['line']}: {rec['error']} ({rec['received']!r})", highlight=False
            )
    for batch in unresolved:
        out.print(
            f"  lines {batch['lines'][0]}-{batch['lines'][1]}: may already be stored "
            "(not resent; check, then use --resend-unknown)",
            highlight=False,
        )
    if stopped:
        out.print(f"  stopped: {stopped}", highlight=False)


# -- products ---------------------------------------------------------------------------------

_EXPORT_FIELDS = {
    "base": [
        "internal_id",
        "name",
        "sku",
        "price",
        "currency",
        "supplier_id",
        "created_at",
        "updated_at",
    ],
    "category": ["category_id", "category_name", "category_name_en"],
    "tcc": ["tcc_enabled", "tcc_coefficient", "tcc_total_cost", "tcc_currency"],
    "tsp": ["tsp_enabled", "tsp_value", "tsp_formula", "tsp_currency"],
}


@cli.group()
def products() -> None:
    """The product catalogue."""


@products.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--include",
    default="",
    metavar="LIST",
    help="Extra fields: any of category,tcc,tsp (comma-separated).",
)
@click.option("--supplier-id", type=int, help="Only this supplier's products.")
@click.option("--search", help="Only products matching this text.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Output file (default: stdout).",
)
@click.pass_context
@_run
async def products_export(
    ctx: click.Context,
    fmt: str,
    include: str,
    supplier_id: int | None,
    search: str | None,
    output: str,
) -> int:
    """Stream the catalogue to CSV or JSON Lines, page by page (never all in memory).

    \b
    Example:
      pleasurestock products export --include category,tcc,tsp -o catalogue.csv
    """
    settings = _settings(ctx)
    extras = [x.strip() for x in include.split(",") if x.strip()]
    unknown = sorted(set(extras) - {"category", "tcc", "tsp"})
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}", param_hint="--include")
    fields = _EXPORT_FIELDS["base"] + [f for x in extras for f in _EXPORT_FIELDS[x]]
    # A CLI's own output file: blocking writes are what the user waits for anyway.
    handle: IO[str] = (
        sys.stdout if output == "-" else Path(output).open("w", newline="", encoding="utf-8")  # noqa: SIM115, ASYNC230
    )
    count = 0
    try:
        writer = csv.DictWriter(handle, fields, extrasaction="ignore") if fmt == "csv" else None
        if writer:
            writer.writeheader()
        async with settings.client() as ps:
            listing = ps.products.list(
                supplier_id=supplier_id,
                search=search,
                include_category="category" in extras or None,
                include_tcc="tcc" in extras or None,
                include_tsp="tsp" in extras or None,
            )
            async for page in listing.pages():
                for product in page.data:
                    row = product.model_dump(mode="json", include=set(fields))
                    if writer:
                        writer.writerow(row)
                    else:
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
                settings.err.print(f"exported {count} of {page.pagination.total}", highlight=False)
    finally:
        if handle is not sys.stdout:
            handle.close()
    return 0


# -- orders -----------------------------------------------------------------------------------


@cli.group()
def orders() -> None:
    """Orders placed through the external B2B API."""


@orders.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in OrderStatus]),
    help="Only orders with this status.",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many orders.")
@click.pass_context
@_run
async def orders_list(ctx: click.Context, status: str | None, limit: int | None) -> int:
    """List orders as a table (every page).

    \b
    Example:
      pleasurestock orders list --status created
    """
    settings = _settings(ctx)
    found = []
    async with settings.client() as ps:
        async for order in ps.orders.list(status=status):
            found.append(order)
            if limit and len(found) >= limit:
                break
    if settings.json:
        settings.out.print(_dump([o.model_dump(mode="json") for o in found]), highlight=False)
        return 0
    table = Table("order", "delivery", "status", "supplier", "total", "items", "created")
    for o in found:
        table.add_row(
            o.order_number,
            o.delivery_id or "",
            str(o.status),
            o.supplier_name or "",
            f"{o.total_amount} {o.currency or ''}",
            str(o.items_count or ""),
            str(o.created_at or ""),
        )
    settings.out.print(table)
    return 0


@orders.command("show")
@click.argument("order_number")
@click.pass_context
@_run
async def orders_show(ctx: click.Context, order_number: str) -> int:
    """Show one order in full.

    \b
    Example:
      pleasurestock orders show ORD-20251103-78XZ70
    """
    settings = _settings(ctx)
    async with settings.client() as ps:
        order = await ps.orders.get(order_number)
    if settings.json:
        settings.out.print(_dump(order), highlight=False)
        return 0
    out = settings.out
    out.print(
        f"[bold]{order.order_number}[/bold]  {order.status}  delivery {order.delivery_id}",
        highlight=False,
    )
    if order.supplier:
        out.print(f"supplier: {order.supplier.name}", highlight=False)
    table = Table("ps_id", "name", "qty", "unit", "total")
    for item in order.items:
        table.add_row(
            item.ps_id or "",
            item.name or "",
            str(item.quantity),
            str(item.unit_price or ""),
            str(item.total_price or ""),
        )
    out.print(table)
    out.print(f"total: {order.total_amount} {order.currency or ''}", highlight=False)
    return 0


@orders.command("set-status")
@click.argument("order_number")
@click.argument(
    "status",
    type=click.Choice(sorted(s.value for s in OrderStatus if s is not OrderStatus.CREATED)),
)
@click.option("--comment", help="A note stored with the change.")
@click.option("--external-order-id", help="Your reference for the order.")
@click.pass_context
@_run
async def orders_set_status(
    ctx: click.Context,
    order_number: str,
    status: str,
    comment: str | None,
    external_order_id: str | None,
) -> int:
    """Move an order to its next status.

    \b
    Example:
      pleasurestock orders set-status ORD-20251103-78XZ70 paid --comment "Payment confirmed"
    """
    settings = _settings(ctx)
    async with settings.client() as ps:
        done = await ps.orders.update_status(
            order_number, status, comment=comment, external_order_id=external_order_id
        )
    settings.out.print(
        _dump(done) if settings.json else f"{done.order_number}: {done.status}", highlight=False
    )
    return 0


def _item(text: str) -> OrderItem:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise click.BadParameter(f"{text!r}: expected ps_id:qty[:price]", param_hint="--item")
    try:
        return OrderItem(
            ps_id=parts[0],
            quantity=int(parts[1]),
            custom_price=Decimal(parts[2]) if len(parts) == 3 else None,
        )
    except (ValueError, ArithmeticError) as exc:
        raise click.BadParameter(f"{text!r}: {exc}", param_hint="--item") from None


@orders.command("create")
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    metavar="PS_ID:QTY[:PRICE]",
    help="A product line; repeat for more.",
)
@click.option("--external-order-id", help="Your reference for the order.")
@click.option("--comment", help="An order comment.")
@click.pass_context
@_run
async def orders_create(
    ctx: click.Context,
    items: tuple[str, ...],
    external_order_id: str | None,
    comment: str | None,
) -> int:
    """Create orders (one per supplier).

    \b
    Example:
      pleasurestock orders create --item ps_1234567890:10:25.50 --item ps_0987654321:5
    """
    settings = _settings(ctx)
    lines = [_item(i) for i in items]
    async with settings.client() as ps:
        created = await ps.orders.create(
            lines, external_order_id=external_order_id, comment=comment
        )
    if settings.json:
        settings.out.print(_dump(created), highlight=False)
        return 0
    for o in created.orders:
        settings.out.print(
            f"{o.order_number}  {o.delivery_id}  {o.total_amount} {o.currency}", highlight=False
        )
    return 0


# -- reorder, currency, webhook -----------------------------------------------------------------


@cli.command()
@click.option("--date", "day", help="Target date, YYYY-MM-DD (default: today).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.pass_context
@_run
async def reorder(ctx: click.Context, day: str | None, limit: int) -> int:
    """Smart reordering recommendations as a table.

    \b
    Example:
      pleasurestock reorder --date 2025-11-03
    """
    settings = _settings(ctx)
    async with settings.client() as ps:
        report = await ps.smart_reordering.get(day)
    rows = report.recommendations[:limit]
    if settings.json:
        settings.out.print(_dump([r.model_dump(mode="json") for r in rows]), highlight=False)
        return 0
    table = Table("product", "sku", "recommended", "stock", "avg/day", "accuracy")
    for r in rows:
        table.add_row(
            r.product_internal_id,
            r.product_sku or "",
            str(r.recommended_quantity),
            str(r.current_stock),
            str(r.average_daily_sales),
            str(r.forecast_accuracy),
        )
    settings.out.print(table)
    settings.err.print(
        f"{len(rows)} of {report.total} recommendations for {report.date}", highlight=False
    )
    return 0


@cli.command()
@click.argument("amount")
@click.argument("currency", type=click.Choice(["EUR", "USD", "GBP"], case_sensitive=False))
@click.pass_context
@_run
async def currency(ctx: click.Context, amount: str, currency: str) -> int:
    """Convert an amount to Turkish lira.

    \b
    Example:
      pleasurestock currency 100 EUR
    """
    settings = _settings(ctx)
    async with settings.client() as ps:
        conv = await ps.currency.convert_to_try(amount, currency.upper())
    settings.out.print(
        _dump(conv)
        if settings.json
        else f"{conv.original_amount} {conv.original_currency} = {conv.converted_amount:.2f} TRY "
        f"(rate {conv.exchange_rate})",
        highlight=False,
    )
    return 0


@cli.group()
def webhook() -> None:
    """Webhook tools for debugging receivers."""


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
    settings = _settings(ctx)
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
        _dump(event) if settings.json else f"verified {event.event} ({webhooks.dedupe_key(event)})",
        highlight=False,
    )


# -- demo and sandbox ---------------------------------------------------------------------------


@cli.command()
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
@_run
async def demo(ctx: click.Context, days: int, top: int, confirmed: bool) -> int:
    """The main job end to end, against the built-in sandbox (no account needed).

    \b
    Syncs DAYS of sales for every product, reads the recommendations, orders the top
    ones, walks an order through its lifecycle and verifies its webhooks.
    Example:
      python -m pleasurestock_async demo
    """
    from ._demo import DEMO_LIMITS, WebhookInbox, run_demo

    settings = _settings(ctx)

    def say(text: str) -> None:
        settings.err.print(text, highlight=False)

    reporter = _Reporter(settings.err, every=1.0)
    if settings.base_url and not settings.sandbox:
        if not confirmed:
            raise click.UsageError(
                "the demo writes simulated sales and orders; against "
                "--base-url add --i-understand-this-writes"
            )
        async with settings.client() as ps:
            with reporter.running():
                report = await run_demo(ps, days=days, top=top, on_progress=reporter, say=say)
        _demo_summary(settings, report)
        return 0

    import httpx

    from .sandbox import DEMO_WEBHOOK_SECRET, Sandbox

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
        with reporter.running():
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
        budget = ps.rate_limits.status()
    _demo_summary(settings, report, budget)
    ok = report.upload is not None and report.upload.ok and report.webhooks_verified > 0
    return 0 if ok else EXIT_PARTIAL


def _demo_summary(settings: Settings, report: Any, budget: Any = None) -> None:
    upload = report.upload
    rows = [
        ("products in catalogue", f"{report.products:,}"),
        ("sales rows sent", f"{upload.accepted:,} in {upload.batches} batches"),
        ("rows the server processed", f"{upload.processed:,}"),
        (
            "upload time",
            f"{report.upload_seconds:.1f} s "
            f"({upload.accepted / max(report.upload_seconds, 1e-9):,.0f} rows/s)",
        ),
        (
            "invalid / failed / unresolved",
            f"{len(upload.rejected)} / {len(upload.failed_batches)} / "
            f"{len(upload.unresolved_batches)}",
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
        settings.out.print(_dump(dict(rows)), highlight=False)
        return
    table = Table("PleasureStock demo", "result", title="Summary")
    for key, value in rows:
        table.add_row(key, value)
    settings.out.print(table)


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--api-key",
    "api_key",
    envvar=API_KEY_ENV,
    help=f"Key the sandbox accepts (default: ${API_KEY_ENV}, else the demo key).",
)
@click.option("--products", default=2490, show_default=True, type=click.IntRange(1))
@click.option(
    "--rate-limits/--no-rate-limits",
    default=True,
    show_default=True,
    help="Enforce the vendor's published windows per key.",
)
@click.option("--webhook-url", help="Where to post signed order events.")
def sandbox_command(
    host: str,
    port: int,
    api_key: str | None,
    products: int,
    rate_limits: bool,
    webhook_url: str | None,
) -> None:
    """Serve a local PleasureStock over HTTP under /api/v1.

    \b
    Example:
      pleasurestock sandbox --port 8765
      curl -H "X-API-Key: pk_sandbox_demo_key" http://127.0.0.1:8765/api/v1/products?limit=2
    """
    import uvicorn

    from ._ratelimit import DEFAULT_RATE_LIMITS
    from .sandbox import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, Sandbox

    key = api_key or DEMO_API_KEY
    app = Sandbox(
        products=products,
        api_keys=[key],
        rate_limits=DEFAULT_RATE_LIMITS if rate_limits else None,
        webhook_url=webhook_url,
    ).app
    err = Console(stderr=True)
    err.print(f"PleasureStock sandbox on http://{host}:{port}/api/v1", highlight=False)
    if key == DEMO_API_KEY:
        err.print(f"API key: {DEMO_API_KEY}  (the public demo key)", highlight=False)
    else:
        err.print(f"API key: from ${API_KEY_ENV}", highlight=False)
    if webhook_url:
        err.print(f"webhooks to {webhook_url}, secret {DEMO_WEBHOOK_SECRET}", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main() -> None:
    """Console entry point."""
    cli(prog_name="pleasurestock")
