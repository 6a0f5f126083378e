"""``pleasurestock sales sync``: make the platform hold an export's totals, sending only the
difference from what a state file says the server has."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import anyio
import click

from ..errors import SalesSyncError
from ..sales_files import SalesFiles
from ..types.uploads import SalesSyncResult, SyncDay
from ..uploads import Resolution
from ..uploads.codec import MAX_BATCH
from ..uploads.location import state_label
from ..uploads.options import Accept, SyncOptions
from ._common import (
    EXIT_INVALID,
    EXIT_PARTIAL,
    STATE_ENV,
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

__all__ = ["sync_command", "sync_exit_code"]

SYNC_EXIT_CODES = (
    "\b\nExit codes: 0 everything is stored, acknowledged (--accept) or held in quarantine; "
    "3 invalid lines, or records refused by the server (an id refused for the first time: "
    "later runs hold it in the state's quarantine and exit 0); 4 something new or in doubt: "
    "a discrepancy not acknowledged, uncertain rows, failed batches; 1 error; 2 bad usage; "
    "5 key refused; 6 another run holds the state; 7 the state belongs to another "
    "destination (URL or key: see `sales state rebind`); 130/143 stopped by SIGINT/SIGTERM."
)


def _accept(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Accept | None:
    if not values:
        return None
    if any(v.strip().lower() == "all" for v in values):
        return "all"
    pairs: list[tuple[str, str]] = []
    for text in values:
        product, sep, day = text.strip().rpartition(":")
        try:
            if not sep or not product:
                raise ValueError(text)
            dt.date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(
                f"{text!r}: expected all, or PRODUCT:YYYY-MM-DD", param_hint="--accept"
            ) from None
        pairs.append((product, day))
    return pairs


@click.command("sync", epilog=SYNC_EXIT_CODES)
@click.argument("files", nargs=-1, required=True)
@file_options
@click.option(
    "--state",
    required=True,
    envvar=STATE_ENV,
    metavar="FILE|URL",
    help="What the server acknowledged: an SQLite file (created only where no file exists, "
    "used only if it is a whole sync state) or a postgresql://...?state=NAME URL (the "
    "postgres extra); bound to the API URL and key of its first run. Default "
    f"${STATE_ENV}.",
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
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read and plan everything against the state; send nothing and change nothing (the "
    "state is only read); print what would be sent and exit as the run would.",
)
@click.option(
    "--accept",
    multiple=True,
    callback=_accept,
    metavar="all|PRODUCT:YYYY-MM-DD",
    help="Acknowledge discrepancies you have checked (all that this run finds, or one product "
    "and day; repeat for more): they no longer change the exit code, until they change.",
)
@click.option(
    "--retry-refused",
    is_flag=True,
    help="Send the rows of ids in quarantine now (refused as unknown; otherwise they are "
    "tried again a week after their last refusal).",
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
    dry_run: bool,
    accept: Accept | None,
    retry_refused: bool,
    **params: Any,
) -> int:
    """Sync an export: the files of one run are ONE export (say one per warehouse; rows of a
    product and day are added up, stock the highest), and the platform ends up holding its
    totals. Only differences are sent, so the same export twice sends nothing and a rolling
    7-day export every 3 hours is safe. Quantities that went down cannot be sent (the API only
    adds): they are listed as discrepancies, with file and line, until you --accept them.
    Ids the server refuses as unknown are held in the state's quarantine (not resent).

    \b
    Example (cron, every 3 hours, a rolling 7-day export):
      pleasurestock sales sync /data/export-7d.csv --state /data/sales-state.db
    History sent before the state existed, declared once:
      pleasurestock sales sync history.csv --state /data/sales-state.db --mark-stored
    A return on 3 Nov, checked on the platform and accepted:
      pleasurestock sales sync /data/export-7d.csv --state /data/sales-state.db \\
          --accept ps_vj31ucxsab:2025-11-03
    """
    settings = settings_of(ctx)
    options = FileOptions(params)
    paths = list(files)
    reporter = Reporter(settings.err, label="sync")

    async def work(interrupt: Interrupt) -> int:
        sync = SyncOptions(
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
            dry_run=dry_run,
            accept=accept,
            retry_refused=retry_refused,
        )
        source = open_files(paths, options, on_invalid)
        reporter.total = total = await _count(options, paths, interrupt)
        error: SalesSyncError | None = None
        async with settings.client() as ps:
            status = (await ps.rate_limiter.status()).get("standard")
            if total and not mark_stored and not dry_run:
                needed = time_needed(math.ceil(total / MAX_BATCH), status)
                say(
                    settings.err,
                    f"sync: the export holds about {total:,} rows and only differences are "
                    f"sent, so at most: {needed}",
                )
            async with reporter.running(ps.rate_limiter):
                try:
                    result = await ps.sales.sync(source, settings=sync)
                except SalesSyncError as exc:
                    error, result = exc, exc.result
                reporter.extra_invalid = len(source.skipped)
                reporter.finish(result.read)
            for notice in source.notices:
                say(settings.err, notice)
        plan = time_needed(result.batches, status, result.to_send) if dry_run else None
        _summary(settings, paths, source, result, error, interrupt, state_label(state), plan)
        if error is not None:
            return stopped_exit_code(error.reason, interrupt.exit_code)
        return sync_exit_code(result, len(source.skipped))

    return await interruptible(work, reporter.say)


async def _count(options: FileOptions, paths: list[str], interrupt: Interrupt) -> int | None:
    """About how many rows the files hold (for progress); given up when a signal stops the
    run, so a stop never waits for a count of a large file."""
    found: list[int | None] = [None]
    async with anyio.create_task_group() as tg:

        async def stop_counting() -> None:
            await interrupt.stop.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(stop_counting)
        found[0] = await options.count(paths)
        tg.cancel_scope.cancel()
    return found[0]


def sync_exit_code(result: SalesSyncResult, skipped_lines: int = 0) -> int:
    """0 when everything is stored, acknowledged or held in quarantine; 4 for something in
    doubt or a discrepancy not acknowledged; 3 for invalid lines and records refused by the
    server (an id refused for the first time included, not one already in quarantine)."""
    new_discrepancy = any(not d.acknowledged for d in result.discrepancies)
    if result.failed_batches or result.uncertain or new_discrepancy:
        return EXIT_PARTIAL
    new_ids = any(q.new for q in result.quarantine)
    if result.invalid or result.new_refusals or new_ids or skipped_lines:
        return EXIT_INVALID
    return 0


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
    plan: str | None,
) -> None:

    def at(index: int | None) -> str:
        return where_text(source, index)

    discrepancies = [
        {"kind": d.kind, "acknowledged": d.acknowledged, **_day(d.day, source)}
        for d in result.discrepancies
    ]
    uncertain = [_day(d, source) for d in result.uncertain]
    held = {q.internal_id for q in result.quarantine}
    refused: list[dict[str, Any]] = [
        {
            **_day(day, source),
            "error": e.error,
            "received": e.received,
            "quarantined": day.internal_id in held,
        }
        for day, e in result.server_rejected
    ]
    quarantine: dict[str, Any] = {
        "rows": result.quarantined,
        "ids": [
            {
                "internal_id": q.internal_id,
                "error": q.error,
                "since": q.since.isoformat(),
                "last_refused": q.last_refused.isoformat(),
                "retry_on": q.retry_on.isoformat(),
                "new": q.new,
                "rows": q.rows,
            }
            for q in result.quarantine
        ],
    }
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
    base = settings.command(drop=("--assume-unknown", "--resolve", "--accept", "--dry-run"))
    resolve: dict[str, Any] | None = None
    if uncertain:
        resolve = {
            "batches": result.uncertain_batches,
            "stored": f"{base} --assume-unknown stored",
            "not_stored": f"{base} --assume-unknown not-stored",
            "per_batch": f"{base} --resolve BATCH=stored --resolve BATCH=not-stored ...",
        }
    new = [d for d in discrepancies if not d["acknowledged"]]
    accept = f"{base} --accept all" if new else None
    resume = settings.command() if error is not None and error.reason == "interrupted" else None
    stopped = None
    if error is not None:
        stopped = _stop_text(error, source)
        if error.reason == "interrupted":
            stopped = (
                f"interrupted by {interrupt.name}; answers in flight were waited for and "
                f"recorded in {state}"
                if result.sent
                else f"interrupted by {interrupt.name}; nothing was sent"
            )
    summary: dict[str, Any] = {
        "files": paths,
        "state": state,
        "dry_run": result.dry_run,
        "read": result.read,
        "product_days": result.product_days,
        "to_send": result.to_send,
        "sent": result.sent,
        "stored": result.stored,
        "requests": result.batches,
        "unchanged": result.unchanged,
        "deferred_stock": result.deferred_stock,
        "declared": result.declared,
        "resolved": result.resolved,
        "looked_up": result.looked_up,
        "discrepancies": discrepancies,
        "uncertain": uncertain,
        "server_rejected": refused,
        "quarantine": quarantine,
        "invalid": invalid,
        "failed": failed,
        "stopped": stopped,
        "resolve": resolve,
        "accept": accept,
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
    if result.dry_run:
        say(out, f"  dry run: nothing was sent and {state} was not changed")
        say(out, f"  would send {result.to_send:,} rows: {plan}")
    if result.looked_up:
        say(out, f"  looked up {result.looked_up:,} product UUIDs (kept in the state)")
    if result.declared:
        say(out, f"  declared {result.declared:,} days as already on the platform (nothing sent)")
    if result.resolved:
        say(out, f"  settled {result.resolved:,} uncertain rows of earlier runs")
    if not result.dry_run:
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
    for d in new:
        what = "quantity" if d["kind"] == "quantity" else "stock"
        stored = d["stored_quantity"] if what == "quantity" else d["stored_stock"]
        export = d["export_quantity"] if what == "quantity" else d["export_stock"]
        say(
            out,
            f"  {d['at']}: discrepancy {d['product']} {d['date']}: the server has {what} "
            f"{stored}, the export {export} (the API cannot lower it)",
        )
    known = len(discrepancies) - len(new)
    if known:
        say(out, f"  acknowledged discrepancies (unchanged since accepted): {known:,}")
    if accept:
        say(out, "  once checked on the platform, acknowledge them (or one: --accept ID:DAY):")
        say(out, f"    {accept}")
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
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in refused:
        grouped[(d["product"], d["error"])].append(d)
    for (product, reason), rows in grouped.items():
        then = (
            "held in the state's quarantine from now on"
            if rows[0]["quarantined"]
            else "sent again on the next run"
        )
        say(
            out,
            f"  {rows[0]['at']}: refused by the server {product}: {reason} "
            f"({len(rows):,} rows); {then}",
        )
    if result.quarantine:
        ids = quarantine["ids"]
        fresh = [q["internal_id"] for q in ids if q["new"]]
        retry = min(q["retry_on"] for q in ids)
        news = f" (new: {', '.join(fresh)})" if fresh else ""
        say(
            out,
            f"  quarantine: {len(ids):,} id{'s' if len(ids) != 1 else ''} refused as unknown"
            f"{news}, {result.quarantined:,} rows held back, not sent; tried again from "
            f"{retry}, or now with --retry-refused",
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
