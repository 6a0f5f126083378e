"""``pleasurestock sales sync``: make the platform hold an export's totals, sending only the
difference from what a state file says the server has."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import click

from ..errors import SalesSyncError
from ..sales_files import SalesFiles
from ..types.uploads import SalesSyncResult, SyncDay
from ..uploads import Resolution
from ..uploads.codec import MAX_BATCH
from ._common import (
    EXIT_INVALID,
    EXIT_PARTIAL,
    Settings,
    dump,
    run_async,
    say,
    sending_options,
    settings_of,
    stopped_exit_code,
)
from ._files import FileOptions, file_options, open_files, where_text
from ._progress import Reporter, time_needed
from ._resolve import resolutions
from ._signals import Interrupt, interruptible

__all__ = ["sync_command"]


@click.command("sync")
@click.argument("files", nargs=-1, required=True)
@file_options
@click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False),
    help="SQLite file of what the server acknowledged (created if missing).",
)
@click.option("--timezone", metavar="ZONE", help="Where days close, e.g. Europe/Istanbul.")
@click.option(
    "--stock",
    type=click.Choice(["closed", "always"]),
    default="closed",
    show_default=True,
    help="Send a day's stock once the day is over, or whenever it rises.",
)
@click.option(
    "--assume-unknown",
    type=click.Choice(["stored", "not-stored"]),
    help="Settle every row whose answer was lost (check the platform first); not-stored resends.",
)
@click.option(
    "--resolve",
    multiple=True,
    callback=lambda _ctx, _param, values: resolutions(values, lambda name: name or None),
    metavar="BATCH=stored|not-stored",
    help="How one uncertain batch ended (the names a run prints); not-stored resends. Wins "
    "over --assume-unknown for that batch.",
)
@click.option(
    "--mark-stored",
    is_flag=True,
    help="Declare the files as already on the platform (history sent before); send nothing.",
)
@click.option(
    "--on-invalid",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Send nothing if a line is invalid, or skip and report it.",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The current day, YYYY-MM-DD (for backfills and tests; default: today in --timezone).",
)
@sending_options("state")
@click.pass_context
@run_async
async def sync_command(
    ctx: click.Context,
    /,
    files: tuple[str, ...],
    state: str,
    timezone: str | None,
    stock: str,
    assume_unknown: str | None,
    resolve: dict[str, Resolution],
    mark_stored: bool,
    on_invalid: str,
    concurrency: int,
    heal: bool,
    wait_lock: float,
    today: dt.datetime | None,
    **params: Any,
) -> int:
    """Sync an export: the files of one run are ONE export (say one per warehouse; rows of a
    product and day are added up, stock the highest), and the platform ends up holding its
    totals. Only differences are sent, so the same export twice sends nothing and a rolling
    7-day export every 3 hours is safe. Quantities that went down cannot be sent (the API only
    adds): they are listed as discrepancies, with file and line.

    \b
    Example (cron, every 3 hours, a rolling 7-day export):
      pleasurestock sales sync /data/export-7d.csv --state /data/sales-state.db
    History sent before the state existed, declared once:
      pleasurestock sales sync history.csv --state /data/sales-state.db --mark-stored
    """
    settings = settings_of(ctx)
    options = FileOptions(params)
    paths = list(files)
    source = open_files(paths, options, on_invalid)
    total = await options.count(paths)

    async def work(interrupt: Interrupt) -> int:
        reporter = Reporter(settings.err, total=total, label="sync")
        error: SalesSyncError | None = None
        async with settings.client() as ps:
            if total and not mark_stored:
                status = (await ps.rate_limiter.status()).get("standard")
                needed = time_needed(math.ceil(total / MAX_BATCH), status)
                say(
                    settings.err,
                    f"sync: the export holds about {total:,} rows and only differences are "
                    f"sent, so at most: {needed}",
                )
            async with reporter.running(ps.rate_limiter):
                try:
                    result = await ps.sales.sync(
                        source,
                        state=state,
                        today=today.date() if today else None,
                        timezone=timezone,
                        stock="always" if stock == "always" else "closed",
                        assume_unknown=(
                            None
                            if assume_unknown is None
                            else "stored"
                            if assume_unknown == "stored"
                            else "not_stored"
                        ),
                        resolve=resolve or None,
                        mark_stored=mark_stored,
                        on_invalid="skip" if on_invalid == "skip" else "raise",
                        concurrency=concurrency,
                        heal_rejections=heal,
                        progress=reporter,
                        lock_wait=wait_lock,
                        stop=interrupt.stop,
                    )
                except SalesSyncError as exc:
                    error, result = exc, exc.result
                reporter.extra_invalid = len(source.skipped)
                reporter.finish(result.read)
            for notice in source.notices:
                say(settings.err, notice)
        _summary(settings, paths, source, result, error, interrupt, state)
        if error is not None:
            return stopped_exit_code(error.reason, interrupt.exit_code)
        if result.failed_batches or result.uncertain or result.discrepancies:
            return EXIT_PARTIAL
        if result.invalid or result.server_rejected or source.skipped:
            return EXIT_INVALID
        return 0

    return await interruptible(work, lambda text: say(settings.err, text))


def _day(day: SyncDay, source: SalesFiles) -> dict[str, Any]:
    return {
        "product": day.internal_id,
        "date": day.date.isoformat(),
        "export_quantity": day.export_quantity,
        "export_stock": day.export_stock,
        "stored_quantity": day.stored_quantity,
        "stored_stock": day.stored_stock,
        "at": where_text(source, day.index),
        "batch": day.batch,
    }


def _summary(
    settings: Settings,
    paths: list[str],
    source: SalesFiles,
    result: SalesSyncResult,
    error: SalesSyncError | None,
    interrupt: Interrupt,
    state: str,
) -> None:

    def at(index: int | None) -> str:
        return where_text(source, index)

    discrepancies = [{"kind": d.kind, **_day(d.day, source)} for d in result.discrepancies]
    uncertain = [_day(d, source) for d in result.uncertain]
    refused: list[dict[str, Any]] = [
        {**_day(day, source), "error": e.error, "received": e.received}
        for day, e in result.server_rejected
    ]
    invalid: list[dict[str, Any]] = [
        {"at": at(e.index), "field": e.field, "reason": e.message, "value": e.value}
        for e in result.invalid
    ] + [
        {"at": f"{p}:{s.line}", "field": None, "reason": s.reason, "value": None}
        for p, s in source.skipped
    ]
    failed: list[dict[str, Any]] = [
        {"rows": b.records, "first_at": at(b.first_index), "outcome": b.outcome, "error": b.error}
        for b in result.failed_batches
        if b.outcome != "unknown"  # those rows are listed one by one as uncertain
    ]
    resolve: dict[str, Any] | None = None
    if uncertain:
        base = settings.command(drop=("--assume-unknown", "--resolve"))
        resolve = {
            "batches": result.uncertain_batches,
            "stored": f"{base} --assume-unknown stored",
            "not_stored": f"{base} --assume-unknown not-stored",
            "per_batch": f"{base} --resolve BATCH=stored --resolve BATCH=not-stored ...",
        }
    resume = settings.command() if error is not None and error.reason == "interrupted" else None
    stopped = None
    if error is not None:
        stopped = (
            f"interrupted by {interrupt.name}; answers in flight were waited for and recorded "
            f"in {state}"
            if error.reason == "interrupted"
            else _stop_text(error, source)
        )
    summary: dict[str, Any] = {
        "files": paths,
        "state": state,
        "read": result.read,
        "product_days": result.product_days,
        "sent": result.sent,
        "stored": result.stored,
        "requests": result.batches,
        "unchanged": result.unchanged,
        "deferred_stock": result.deferred_stock,
        "declared": result.declared,
        "resolved": result.resolved,
        "discrepancies": discrepancies,
        "uncertain": uncertain,
        "server_rejected": refused,
        "invalid": invalid,
        "failed": failed,
        "stopped": stopped,
        "resolve": resolve,
        "resume": resume,
    }
    if settings.json:
        say(settings.out, dump(summary))
        return
    out = settings.out
    say(
        out,
        f"sync of {', '.join(paths)}: read {result.read:,} records, "
        f"{result.product_days:,} products x days",
    )
    if result.declared:
        say(out, f"  declared {result.declared:,} days as already on the platform (nothing sent)")
    if result.resolved:
        say(out, f"  settled {result.resolved:,} uncertain rows of earlier runs")
    say(
        out,
        f"  this run sent {result.sent:,} rows in {result.batches:,} requests; "
        f"the server stored {result.stored:,}",
    )
    say(out, f"  unchanged (stored by earlier runs): {result.unchanged:,} days")
    if result.deferred_stock:
        say(
            out,
            f"  stock deferred: {result.deferred_stock:,} days are still open; their stock is "
            "sent once they close",
        )
    for d in discrepancies:
        what = "quantity" if d["kind"] == "quantity" else "stock"
        stored = d["stored_quantity"] if what == "quantity" else d["stored_stock"]
        export = d["export_quantity"] if what == "quantity" else d["export_stock"]
        say(
            out,
            f"  {d['at']}: discrepancy {d['product']} {d['date']}: the server has {what} "
            f"{stored}, the export {export} (the API cannot lower it)",
        )
    for d in uncertain:
        say(
            out,
            f"  {d['at']}: uncertain {d['product']} {d['date']} (batch {d['batch']}): sent, "
            f"the answer was lost (export quantity {d['export_quantity']}, stored before "
            f"{d['stored_quantity']})",
        )
    if resolve:
        batches = ", ".join(f"{b} ({n:,} rows)" for b, n in resolve["batches"].items())
        say(out, f"  uncertain batches: {batches}")
        say(out, "  check the platform for those rows, then settle them with one of:")
        say(out, f"    {resolve['stored']}")
        say(out, f"    {resolve['not_stored']}")
        if len(resolve["batches"]) > 1:
            say(out, f"    {resolve['per_batch']}")
    for d in refused:
        say(
            out,
            f"  {d['at']}: refused by the server {d['product']} {d['date']}: {d['error']} "
            f"(got {d['received']!r})",
        )
    for item in invalid:
        got = "" if item["value"] is None else f" (got {item['value']!r})"
        say(out, f"  {item['at']}: {item['field'] or 'line'}: {item['reason']}{got}")
    for batch in failed:
        say(
            out,
            f"  {batch['rows']:,} rows not stored (first at {batch['first_at']}): "
            f"{batch['error']}; they go again on the next run",
        )
    if stopped:
        say(out, f"  stopped: {stopped}")
    if resume:
        say(out, f"  to resume: {resume}")


def _stop_text(error: SalesSyncError, source: SalesFiles) -> str:
    if error.reason == "invalid_record":
        return (
            f"{len(error.result.invalid)} invalid records (listed above); nothing was sent. "
            "Fix them, or pass --on-invalid skip to sync the valid records"
        )
    return str(error)
