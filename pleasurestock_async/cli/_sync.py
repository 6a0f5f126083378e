"""``pleasurestock sales sync``: make the platform hold an export's totals, sending only the
difference from what a state file says the server has."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import anyio
import click

from ..errors import SalesJobError, SalesSyncError
from ..ratelimit import BucketStatus
from ..sales_files import SalesFiles
from ..types.uploads import QuarantinedId, SalesSyncResult, SyncDay
from ..uploads import Resolution
from ..uploads.codec import MAX_BATCH
from ..uploads.location import state_label
from ..uploads.options import Accept, SyncOptions
from ._common import (
    STATE_ENV,
    Settings,
    on_invalid_option,
    run_async,
    sending_options,
    settings_of,
)
from ._files import FileOptions, file_options, open_files, where_text
from ._job import exit_code, run_job
from ._progress import Reporter, time_needed
from ._resolve import resolutions
from ._signals import Interrupt, interruptible
from ._summary import Summary, invalid_items, invalid_line, quarantined_item, show

__all__ = ["SYNC_SUMMARY_SCHEMA", "SyncSummary", "sync_command", "sync_exit_code"]

SYNC_SUMMARY_SCHEMA = 1
"""The version of the ``--json`` summary's shape (``schema_version``, since 0.3): a key
renamed, removed or given another type raises it (and is listed in the changelog); a key
added does not."""

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
@on_invalid_option("Send nothing if a line is invalid, or skip and report it.")
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

        def estimate(status: BucketStatus | None) -> str | None:
            if not total or mark_stored or dry_run:
                return None
            needed = time_needed(math.ceil(total / MAX_BATCH), status)
            return (
                f"sync: the export holds about {total:,} rows and only differences are sent, "
                f"so at most: {needed}"
            )

        ran = await run_job(
            settings,
            source,
            reporter,
            lambda ps: ps.sales.sync(source, settings=sync),
            stopped=SalesSyncError,
            estimate=estimate,
        )
        result, error = ran.result, ran.error
        plan = time_needed(result.batches, ran.status, result.to_send) if dry_run else None
        summary = SyncSummary.of(
            settings, paths, source, result, error, interrupt, state_label(state), plan
        )
        show(settings, summary)
        if error is not None:
            return exit_code(error, interrupt.exit_code, partial=False, invalid=False)
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
    new_ids = any(q.new for q in result.quarantine)
    return exit_code(
        None,
        0,
        partial=bool(result.failed_batches or result.uncertain or new_discrepancy),
        invalid=bool(result.input_errors or result.new_refusals or new_ids or skipped_lines),
    )


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


def _quarantined(q: QuarantinedId) -> dict[str, Any]:
    return {**quarantined_item(q), "rows": q.rows}


@dataclasses.dataclass
class SyncSummary(Summary):
    """What ``sales sync`` reports (``--json``: this object; the README lists what each key
    holds)."""

    schema_version: int
    files: list[str]
    state: str
    dry_run: bool
    read: int
    product_days: int
    to_send: int
    sent: int
    stored: int
    requests: int
    unchanged: int
    deferred_stock: int
    declared: int
    resolved: int
    looked_up: int
    discrepancies: list[dict[str, Any]]
    uncertain: list[dict[str, Any]]
    server_rejected: list[dict[str, Any]]
    quarantine: dict[str, Any]
    invalid: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    stopped: str | None
    resolve: dict[str, Any] | None
    accept: str | None
    resume: str | None
    plan: str | None

    @classmethod
    def of(
        cls,
        settings: Settings,
        paths: list[str],
        source: SalesFiles,
        result: SalesSyncResult,
        error: SalesJobError[SalesSyncResult] | None,
        interrupt: Interrupt,
        state: str,
        plan: str | None,
    ) -> SyncSummary:
        """The summary of a sync of ``paths`` with ``state`` (its label); ``plan``: the time
        a dry run's requests would take."""
        discrepancies = [
            {"kind": d.kind, "acknowledged": d.acknowledged, **_day(d.day, source)}
            for d in result.discrepancies
        ]
        uncertain = [_day(d, source) for d in result.uncertain]
        held = {q.internal_id for q in result.quarantine}
        base = settings.command(drop=("--assume-unknown", "--resolve", "--accept", "--dry-run"))
        resolve: dict[str, Any] | None = None
        if uncertain:
            resolve = {
                "batches": result.uncertain_batches,
                "stored": f"{base} --assume-unknown stored",
                "not_stored": f"{base} --assume-unknown not-stored",
                "per_batch": f"{base} --resolve BATCH=stored --resolve BATCH=not-stored ...",
            }
        new = any(not d["acknowledged"] for d in discrepancies)
        interrupted = error is not None and error.reason == "interrupted"
        return cls(
            schema_version=SYNC_SUMMARY_SCHEMA,
            files=paths,
            state=state,
            dry_run=result.dry_run,
            read=result.read,
            product_days=result.product_days,
            to_send=result.to_send,
            sent=result.sent,
            stored=result.stored,
            requests=result.batches,
            unchanged=result.unchanged,
            deferred_stock=result.deferred_stock,
            declared=result.declared,
            resolved=result.resolved,
            looked_up=result.looked_up,
            discrepancies=discrepancies,
            uncertain=uncertain,
            server_rejected=[
                {
                    **_day(e.day, source),
                    "error": e.error,
                    "received": e.received,
                    "quarantined": e.day.internal_id in held,
                }
                for e in result.refused
                if e.day is not None
            ],
            quarantine={
                "rows": result.quarantined,
                "ids": [_quarantined(q) for q in result.quarantine],
            },
            invalid=invalid_items(result.input_errors, source),
            failed=[
                {
                    "rows": b.size,
                    "first_at": where_text(source, b.first_index),
                    "outcome": b.outcome,
                    "error": b.error,
                }
                for b in result.failed_batches
                if b.outcome != "unknown"  # those rows are listed one by one as uncertain
            ],
            stopped=None if error is None else _stop_text(error, result, interrupt, state),
            resolve=resolve,
            accept=f"{base} --accept all" if new else None,
            resume=settings.command() if interrupted else None,
            plan=plan,
        )

    def lines(self) -> Iterator[str]:
        yield (
            f"sync of {', '.join(self.files)}: read {self.read:,} records, "
            f"{self.product_days:,} products x days"
        )
        if self.dry_run:
            yield f"  dry run: nothing was sent and {self.state} was not changed"
            yield f"  would send {self.to_send:,} rows: {self.plan}"
        if self.looked_up:
            yield f"  looked up {self.looked_up:,} product UUIDs (kept in the state)"
        if self.declared:
            yield f"  declared {self.declared:,} days as already on the platform (nothing sent)"
        if self.resolved:
            yield f"  settled {self.resolved:,} uncertain rows of earlier runs"
        if not self.dry_run:
            yield (
                f"  this run sent {self.sent:,} rows in {self.requests:,} requests; "
                f"the server stored {self.stored:,}"
            )
        yield f"  unchanged (stored by earlier runs): {self.unchanged:,} days"
        if self.deferred_stock:
            yield (
                f"  stock deferred: {self.deferred_stock:,} days are still open; their stock "
                "is sent once they close"
            )
        yield from self._discrepancy_lines()
        yield from self._uncertain_lines()
        yield from self._refusal_lines()
        for item in self.invalid:
            yield "  " + invalid_line(item["at"], item["field"], item["reason"], item["value"])
        for batch in self.failed:
            yield (
                f"  {batch['rows']:,} rows not stored (first at {batch['first_at']}): "
                f"{batch['error']}; they go again on the next run"
            )
        if self.stopped:
            yield f"  stopped: {self.stopped}"
        if self.resume:
            yield f"  to resume: {self.resume}"

    def _discrepancy_lines(self) -> Iterator[str]:
        new = [d for d in self.discrepancies if not d["acknowledged"]]
        for d in new:
            what = "quantity" if d["kind"] == "quantity" else "stock"
            stored = d["stored_quantity"] if what == "quantity" else d["stored_stock"]
            export = d["export_quantity"] if what == "quantity" else d["export_stock"]
            yield (
                f"  {d['at']}: discrepancy {d['product']} {d['date']}: the server has {what} "
                f"{stored}, the export {export} (the API cannot lower it)"
            )
        known = len(self.discrepancies) - len(new)
        if known:
            yield f"  acknowledged discrepancies (unchanged since accepted): {known:,}"
        if self.accept:
            yield "  once checked on the platform, acknowledge them (or one: --accept ID:DAY):"
            yield f"    {self.accept}"

    def _uncertain_lines(self) -> Iterator[str]:
        for d in self.uncertain:
            yield (
                f"  {d['at']}: uncertain {d['product']} {d['date']} (batch {d['batch']}): "
                f"sent, the answer was lost (export quantity {d['export_quantity']}, stored "
                f"before {d['stored_quantity']})"
            )
        if self.resolve:
            batches = ", ".join(f"{b} ({n:,} rows)" for b, n in self.resolve["batches"].items())
            yield f"  uncertain batches: {batches}"
            yield "  check the platform for those rows, then settle them with one of:"
            yield f"    {self.resolve['stored']}"
            yield f"    {self.resolve['not_stored']}"
            if len(self.resolve["batches"]) > 1:
                yield f"    {self.resolve['per_batch']}"

    def _refusal_lines(self) -> Iterator[str]:
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for d in self.server_rejected:
            grouped[(d["product"], d["error"])].append(d)
        for (product, reason), rows in grouped.items():
            then = (
                "held in the state's quarantine from now on"
                if rows[0]["quarantined"]
                else "sent again on the next run"
            )
            yield (
                f"  {rows[0]['at']}: refused by the server {product}: {reason} "
                f"({len(rows):,} rows); {then}"
            )
        ids = self.quarantine["ids"]
        if ids:
            fresh = [q["internal_id"] for q in ids if q["new"]]
            retry = min(q["retry_on"] for q in ids)
            news = f" (new: {', '.join(fresh)})" if fresh else ""
            yield (
                f"  quarantine: {len(ids):,} id{'s' if len(ids) != 1 else ''} refused as "
                f"unknown{news}, {self.quarantine['rows']:,} rows held back, not sent; tried "
                f"again from {retry}, or now with --retry-refused"
            )


def _stop_text(
    error: SalesJobError[SalesSyncResult],
    result: SalesSyncResult,
    interrupt: Interrupt,
    state: str,
) -> str:
    if error.reason == "interrupted":
        if not result.sent:
            return f"interrupted by {interrupt.name}; nothing was sent"
        return (
            f"interrupted by {interrupt.name}; answers in flight were waited for and "
            f"recorded in {state}"
        )
    if error.reason == "invalid_record":
        count = result.invalid_records
        return (
            f"{count} invalid record{'' if count == 1 else 's'} (listed above); nothing was "
            "sent. "
            "Fix them, or pass --on-invalid skip to sync the valid records"
        )
    return str(error)
