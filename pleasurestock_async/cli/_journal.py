"""``pleasurestock sales journal``: what a push journal holds, and forgetting old jobs."""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Any

import click

from ..errors import PleasureStockError
from ..uploads._sqlite import JOURNAL
from ..uploads.journal import Journal
from ..uploads.lock import FileLock
from ._common import EXIT_PARTIAL, FiniteFloatRange, dump, run_async, say, settings_of

__all__ = ["journal_group"]

_MAX_DAYS = 100_000.0
"""The largest --older-than (about 270 years): a span of days Python can count."""


def _open(path: str) -> Journal:
    """The journal at ``path``, checked and opened to read (nothing in it changes); a usage
    error (exit 2) when there is none, or the file is not one (another program's database, a
    CSV file given by mistake)."""
    if not Path(path).is_file():
        raise click.BadParameter(f"no journal at {path}", param_hint="JOURNAL")
    try:
        return Journal(path, read_only=True)
    except PleasureStockError as exc:
        raise click.BadParameter(str(exc), param_hint="JOURNAL") from None


def _when(timestamp: float) -> str:
    try:
        return dt.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):  # a journal written with a broken clock
        return "unknown"


@click.group("journal")
def journal_group() -> None:
    """Push journals: their jobs, uncertain batches, and pruning.

    \b
    Example:
      pleasurestock sales journal show /data/sales.journal
      pleasurestock sales journal prune /data/sales.journal --older-than 90
    """


@journal_group.command("show")
@click.argument("journal", type=click.Path(dir_okay=False))
@click.pass_context
def journal_show(ctx: click.Context, journal: str) -> None:
    """Every job of a journal, and each batch that may already be stored.

    \b
    Example:
      pleasurestock sales journal show /data/sales.journal
    """
    settings = settings_of(ctx)
    book = _open(journal)
    try:
        jobs = book.jobs()
        unresolved = book.unresolved()
    finally:
        book.close()
    rows = [
        {
            "job": job,
            "batches": ranges,
            "stored": stored,
            "uncertain": uncertain,
            "updated": _when(updated),
        }
        for job, ranges, stored, uncertain, updated in jobs
    ]
    batches: list[dict[str, Any]] = [
        {
            "job": b.job,
            "batch": b.seq,
            "records": [b.first_index + 1, b.last_index + 1],
            "state": b.state,
            "error": b.error,
            "resolve": (
                f"pleasurestock sales push {shlex.quote(b.job)} --journal {shlex.quote(journal)} "
                f"--resolve {b.seq}=stored"
            ),
        }
        for b in unresolved
    ]
    if settings.json:
        for row in rows:
            say(settings.out, dump(row))
        for batch in batches:
            say(settings.out, dump({"uncertain_batch": batch}))
    else:
        say(settings.out, f"{journal}: {len(rows)} job(s)")
        for row in rows:
            say(
                settings.out,
                f"  {row['job']}: {row['stored']:,} records stored in {row['batches']:,} "
                f"batches, {row['uncertain']:,} uncertain; last change {row['updated']}",
            )
        for batch in batches:
            first, last = batch["records"]
            say(
                settings.out,
                f"  uncertain: {batch['job']} batch {batch['batch']} (records {first}-{last}, "
                f"{batch['state']}): {batch['error'] or 'sent, no answer recorded'}",
            )
            say(settings.out, f"    once checked: {batch['resolve']}  (or =not-stored)")
    if batches:
        click.get_current_context().exit(EXIT_PARTIAL)


@journal_group.command("prune")
@click.argument("journal", type=click.Path(dir_okay=False))
@click.option(
    "--older-than",
    type=FiniteFloatRange(0, _MAX_DAYS),
    default=90,
    show_default=True,
    metavar="DAYS",
    help="Forget jobs whose last change is older than this.",
)
@click.option(
    "--include-unresolved",
    is_flag=True,
    help="Forget jobs with uncertain batches too (default: keep them).",
)
@click.pass_context
@run_async
async def journal_prune(
    ctx: click.Context, journal: str, older_than: float, include_unresolved: bool
) -> int:
    """Forget old jobs, so a journal of a daily cron stays small.

    \b
    Example:
      pleasurestock sales journal prune /data/sales.journal --older-than 90
    """
    settings = settings_of(ctx)
    book = _open(journal)
    book.close()
    async with FileLock(book.path, kind=JOURNAL):
        book = Journal(book.path)
        try:
            removed = book.prune(
                dt.timedelta(days=older_than), include_unresolved=include_unresolved
            )
        finally:
            book.close()
    if settings.json:
        say(settings.out, dump({"journal": journal, "removed": removed}))
    else:
        for job in removed:
            say(settings.out, f"  removed {job}")
        say(settings.out, f"{journal}: {len(removed)} job(s) removed")
    return 0
