"""``pleasurestock sales push``: append new sales, exactly once with a journal."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from typing import Any

import click

from ..errors import SalesUploadError
from ..sales_files import SalesFiles
from ..types.uploads import SalesUploadResult
from ..uploads.journal import STORED, Journal, Resolution
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
from ._files import FileOptions, file_options, open_files, problems_of, where_text
from ._progress import Reporter, time_needed
from ._resolve import resolutions
from ._signals import Interrupt, interruptible

__all__ = ["DEPRECATED_SUMMARY_KEYS", "SUMMARY_KEYS", "SUMMARY_SCHEMA", "push_command"]

SUMMARY_SCHEMA = 2
"""The version of the ``--json`` summary's shape: 1 was 0.1's (``accepted``, ``batches``,
``lines`` as ``[first, last]``); 2 since 0.2. A key renamed, removed or given another type
raises it (and is listed in the changelog); a key added does not."""

SUMMARY_KEYS = (
    "schema_version",
    "file",
    "read",
    "sent_now",
    "processed",
    "requests",
    "stored_before",
    "skipped_batches",
    "invalid",
    "server_rejected",
    "failed_batches",
    "unresolved_batches",
    "not_sent",
    "stored_lines",
    "stopped",
    "resume",
)
"""Every key of the ``--json`` summary of one file, in order (the README lists what each holds)."""

DEPRECATED_SUMMARY_KEYS = {"accepted": "sent_now", "batches": "requests"}
"""Schema 1's names, still written beside their new ones until 0.4."""


def _resolutions(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[int, Resolution]:
    return resolutions(values, lambda name: int(name) if name.isdigit() else None)


@click.command("push")
@click.argument("files", nargs=-1, required=True)
@file_options
@click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    help="SQLite journal for resumable, exactly-once runs; one journal holds many inputs.",
)
@click.option(
    "--job",
    metavar="NAME",
    help="The input's name in the journal (default: the file's absolute path).",
)
@click.option("--chunk-size", default=1000, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--on-invalid",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Stop at an invalid line, or skip and report it.",
)
@click.option("--dry-run", is_flag=True, help="Read and validate everything; send nothing.")
@click.option(
    "--resolve",
    multiple=True,
    callback=_resolutions,
    metavar="BATCH=stored|not-stored",
    help="How an uncertain batch ended (checked on the platform); not-stored sends it again.",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Resend every uncertain batch (may double-count).",
)
@sending_options("journal")
@click.pass_context
@run_async
async def push_command(
    ctx: click.Context,
    /,
    files: tuple[str, ...],
    journal: str | None,
    job: str | None,
    concurrency: int,
    chunk_size: int,
    on_invalid: str,
    dry_run: bool,
    resolve: dict[int, Resolution],
    resend_unknown: bool,
    heal: bool,
    wait_lock: float,
    **params: Any,
) -> int:
    """Push new sales (CSV or JSON Lines, gzip too; - for stdin), each file once.

    Every file is its own job in the journal (its absolute path, or --job), so one journal
    serves a daily cron for years: each day's new file is sent once, a rerun after a fix or a
    crash sends only what is not stored yet, and a batch whose answer was lost is held back
    until you --resolve it. For exports that repeat earlier days, use `sales sync`.

    \b
    CSV header: internal_id,date,quantity[,stock_on_hand] (or map yours with --column)
    Example (cron, a new file each day):
      pleasurestock sales push /data/sales-$(date +%F).csv --journal /data/sales.journal
    """
    settings = settings_of(ctx)
    options = FileOptions(params)
    paths = list(files)
    if dry_run:
        return await _dry_run(settings, paths, options)
    if job is not None and len(paths) > 1:
        raise click.UsageError("--job names one input: push one file with it")
    if (resolve or resend_unknown) and journal is None:
        raise click.UsageError("--resolve and --resend-unknown need the --journal of the run")
    if resolve and len(paths) > 1:
        raise click.UsageError("--resolve is about one input's batches: push one file with it")
    if journal is not None and "-" in paths and job is None:
        raise click.UsageError("standard input has no name for the journal: give it --job NAME")
    if journal is None and settings.err.is_terminal and not settings.json:
        say(
            settings.err,
            "tip: add --journal sales.journal to make this push resumable (a rerun then sends "
            "only what is not stored yet)",
        )

    async def work(interrupt: Interrupt) -> int:
        code = 0
        for path in paths:
            found = await _push_one(
                settings,
                path,
                options,
                interrupt,
                journal=journal,
                job=job,
                upload={
                    "chunk_size": chunk_size,
                    "concurrency": concurrency,
                    "on_invalid": "skip" if on_invalid == "skip" else "raise",
                    "resend_unknown": resend_unknown,
                    "resolve": resolve or None,
                    "heal_rejections": heal,
                    "lock_wait": wait_lock,
                },
            )
            if interrupt.signum is not None:
                return interrupt.exit_code
            code = max(code, found)
        return code

    return await interruptible(work, lambda text: say(settings.err, text))


async def _dry_run(settings: Settings, paths: list[str], options: FileOptions) -> int:
    source = open_files(paths, options, "skip")
    problems = await problems_of(source)
    for notice in source.notices:
        say(settings.err, notice)
    for p in problems:
        if settings.json:
            say(settings.out, dump(p))
        else:
            got = "" if p["value"] is None else f" (got {p['value']!r})"
            say(
                settings.out, f"{p['file']}:{p['line']}: {p['field'] or 'line'}: {p['reason']}{got}"
            )
    say(
        settings.err,
        f"{source.records:,} records read from {len(paths)} file(s); {len(problems)} problem(s)",
    )
    return EXIT_INVALID if problems else 0


async def _push_one(
    settings: Settings,
    path: str,
    options: FileOptions,
    interrupt: Interrupt,
    *,
    journal: str | None,
    job: str | None,
    upload: dict[str, Any],
) -> int:
    source = open_files([path], options, str(upload["on_invalid"]))
    total = await options.count([path])
    job_name = job or _job_of(path)
    # Without a journal of the user's, a scratch one still tells which lines were stored, and
    # is kept (and named) only if the run is left unfinished. It is created by the upload, in
    # a fresh directory: a journal is only ever created where no file exists.
    scratch = None
    if journal is None:
        scratch = os.path.join(tempfile.mkdtemp(prefix="pleasurestock-push-"), "push.journal")
    book = journal if journal is not None else scratch
    assert book is not None
    reporter = Reporter(settings.err, total=total, label="push")
    result: SalesUploadResult
    error: SalesUploadError | None = None
    keep: str | None = None
    try:
        async with settings.client() as ps:
            status = (await ps.rate_limiter.status()).get("standard")
            if total:
                requests = math.ceil(total / int(upload["chunk_size"]))
                say(settings.err, f"{path}: {time_needed(requests, status, total)}")
            async with reporter.running(ps.rate_limiter):
                try:
                    result = await ps.sales.upload(
                        source,
                        progress=reporter,
                        journal=book,
                        job=job_name,
                        stop=interrupt.stop,
                        **upload,
                    )
                except SalesUploadError as exc:
                    error, result = exc, exc.result
                reporter.extra_invalid = len(source.skipped)
                reporter.finish(result.read)
            for notice in source.notices:
                say(settings.err, notice)
        unfinished = not result.ok or error is not None
        stored = _stored_lines(book, job_name, source) if unfinished else []
        # an unfinished run keeps its journal: only it knows what may already be stored
        keep = scratch if scratch is not None and unfinished else None
        _summary(settings, path, source, result, error, interrupt, stored, book, keep)
    finally:
        if scratch is not None and keep is None:
            shutil.rmtree(os.path.dirname(scratch), ignore_errors=True)
    if error is not None:
        return stopped_exit_code(error.reason, interrupt.exit_code)
    if result.failed_batches or result.unresolved_batches:
        return EXIT_PARTIAL
    if result.rejected or result.server_rejected or source.skipped:
        return EXIT_INVALID
    return 0


def _job_of(path: str) -> str:
    """The default job of a file: its absolute path (standard input: ``-``)."""
    return path if path == "-" else os.path.abspath(path)


def _stored_lines(journal: str, job: str, source: SalesFiles) -> list[list[int]]:
    """The line ranges of ``job`` that the journal says are stored (runs of records)."""
    book = Journal(journal, read_only=True)
    try:
        ranges: list[list[int]] = []
        last = -2
        seq = 0
        while (entry := book.get(job, seq)) is not None:
            for i, mark in enumerate(entry.marks):
                index = entry.first_index + i
                if mark != STORED:
                    continue
                line = source.where(index)[1]
                if index == last + 1:
                    ranges[-1][1] = line
                else:
                    ranges.append([line, line])
                last = index
            seq += 1
        return ranges
    finally:
        book.close()


def _line_range(source: SalesFiles, first: int, last: int) -> dict[str, Any]:
    """Where a batch's records are: ``lines`` as text (``file:3-9``), and the same as
    ``file``, ``first_line`` and ``last_line`` for programs."""
    path, first_line = source.where(first)
    last_line = source.where(last)[1]
    return {
        "lines": f"{path}:{first_line}-{last_line}",
        "file": path,
        "first_line": first_line,
        "last_line": last_line,
    }


def _span(lines: list[list[int]]) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in lines)


def _summary(
    settings: Settings,
    path: str,
    source: SalesFiles,
    result: SalesUploadResult,
    error: SalesUploadError | None,
    interrupt: Interrupt,
    stored: list[list[int]],
    journal: str,
    kept: str | None,
) -> None:

    def at(index: int | None) -> str:
        return where_text(source, index)

    invalid: list[dict[str, Any]] = [
        {"at": at(e.index), "field": e.field, "reason": e.message, "value": e.value}
        for e in result.rejected
    ] + [
        {"at": f"{p}:{s.line}", "field": None, "reason": s.reason, "value": None}
        for p, s in source.skipped
    ]
    refused: list[dict[str, Any]] = [
        {"at": at(e.index), "error": e.error, "received": e.received}
        for e in result.server_rejected
    ]
    failed: list[dict[str, Any]] = [
        {
            **_line_range(source, b.first_index, b.last_index),
            "records": b.records,
            "outcome": b.outcome,
            "error": b.error,
        }
        for b in result.failed_batches
    ]
    unresolved: list[dict[str, Any]] = [
        {
            "batch": b.seq,
            **_line_range(source, b.first_index, b.last_index),
            "records": b.records,
            "error": b.error,
        }
        for b in result.unresolved_batches
    ]
    resume = None
    if error is not None or failed or unresolved:
        resume = settings.command(add=("--journal", kept) if kept else ())
    stopped = None
    if error is not None:
        stopped = _stop_text(error, source, interrupt)
    summary: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA,
        "file": path,
        "read": result.read,
        "sent_now": result.accepted,
        "processed": result.processed,
        "requests": result.batches,
        "stored_before": result.already_stored,
        "skipped_batches": result.skipped_batches,
        "invalid": invalid,
        "server_rejected": refused,
        "failed_batches": failed,
        "unresolved_batches": unresolved,
        "not_sent": result.not_sent,
        "stored_lines": _span(stored) if stored else None,
        "stopped": stopped,
        "resume": resume,
    }
    if settings.json:
        for old, new in DEPRECATED_SUMMARY_KEYS.items():
            summary[old] = summary[new]
        say(settings.out, dump(summary))
        return
    out = settings.out
    say(
        out,
        f"{path}: read {result.read:,}; this run stored {result.accepted:,} in "
        f"{result.batches:,} requests (server processed {result.processed:,})",
    )
    if result.already_stored:
        say(
            out,
            f"  earlier runs had stored {result.already_stored:,} of them "
            f"({result.skipped_batches:,} whole batches skipped); nothing was sent twice",
        )
    for item in invalid:
        got = "" if item["value"] is None else f" (got {item['value']!r})"
        say(out, f"  {item['at']}: {item['field'] or 'line'}: {item['reason']}{got}")
    for item in refused:
        say(
            out,
            f"  {item['at']}: refused by the server: {item['error']} (got {item['received']!r})",
        )
    for batch in failed:
        fate = {
            "not_sent": "not stored; sent again on the next run",
            "rejected_by_server": "refused by the server, nothing stored",
            "unknown": "may be stored (answer lost)",
        }.get(batch["outcome"], batch["outcome"])
        say(out, f"  {batch['lines']}: {batch['records']:,} records {fate}: {batch['error']}")
    for batch in unresolved:
        say(
            out,
            f"  {batch['lines']}: {batch['records']:,} records may already be stored "
            f"(batch {batch['batch']}); check the platform, then rerun with "
            f"--resolve {batch['batch']}=stored or --resolve {batch['batch']}=not-stored",
        )
    if stopped:
        say(out, f"  stopped: {stopped}")
    if stored and (error is not None or failed or unresolved):
        say(out, f"  stored lines: {_span(stored)}")
        if result.not_sent:
            say(out, f"  not sent: {result.not_sent:,} records")
    if resume:
        say(out, f"  to resume: {resume}")


def _stop_text(error: SalesUploadError, source: SalesFiles, interrupt: Interrupt) -> str:
    if error.reason == "interrupted":
        return f"interrupted by {interrupt.name}; answers in flight were waited for and recorded"
    if error.reason == "invalid_record" and error.errors:
        first = error.errors[0]
        return (
            f"invalid record at {where_text(source, first.index)}: {first.field}: "
            f"{first.message}; nothing from its batch on was sent (fix it and rerun, or pass "
            "--on-invalid skip)"
        )
    if error.reason == "journal_mismatch":
        return (
            f"{error}. If this file is rewritten each day, give each day its own job, e.g. "
            "--job sales-$(date +%F)"
        )
    return str(error)
