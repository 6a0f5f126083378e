"""``pleasurestock sales push``: append new sales, exactly once with a journal."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any, ClassVar

import click

from ..errors import SalesJobError, SalesUploadError
from ..sales_files import SalesFiles
from ..types.uploads import SalesUploadResult
from ..uploads.journal import STORED, Journal, Resolution
from ..uploads.options import UploadOptions
from ._common import (
    EXIT_INVALID,
    Settings,
    dump,
    on_invalid_option,
    run_async,
    say,
    sending_options,
    settings_of,
)
from ._files import FileOptions, file_options, open_files, problems_of, where_text
from ._job import exit_code, run_job
from ._progress import Reporter, time_needed
from ._resolve import resolutions
from ._signals import Interrupt, interruptible
from ._summary import Summary, invalid_items, invalid_line, show

__all__ = [
    "DEPRECATED_SUMMARY_KEYS",
    "SUMMARY_KEYS",
    "SUMMARY_SCHEMA",
    "PushSummary",
    "push_command",
]

SUMMARY_SCHEMA = 2
"""The version of the ``--json`` summary's shape: 1 was 0.1's (``accepted``, ``batches``,
``lines`` as ``[first, last]``); 2 since 0.2. A key renamed, removed or given another type
raises it (and is listed in the changelog); a key added does not."""


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
@on_invalid_option("Stop at an invalid line, or skip and report it.")
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
    # One set of settings for every file; each file adds its journal job, progress and stop.
    upload = UploadOptions(
        chunk_size=chunk_size,
        concurrency=concurrency,
        on_invalid="skip" if on_invalid == "skip" else "raise",
        journal=journal,
        resend_unknown=resend_unknown,
        resolve=resolve or None,
        heal_rejections=heal,
        lock_wait=wait_lock,
    )

    async def work(interrupt: Interrupt) -> int:
        code = 0
        for path in paths:
            found = await _push_one(settings, path, options, upload, interrupt, job=job)
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
            say(settings.out, invalid_line(f"{p['file']}:{p['line']}", *_problem(p)))
    say(
        settings.err,
        f"{source.records:,} records read from {len(paths)} file(s); {len(problems)} problem(s)",
    )
    return EXIT_INVALID if problems else 0


def _problem(problem: dict[str, Any]) -> tuple[str | None, str, object]:
    return problem["field"], problem["reason"], problem["value"]


async def _push_one(
    settings: Settings,
    path: str,
    options: FileOptions,
    upload: UploadOptions,
    interrupt: Interrupt,
    *,
    job: str | None,
) -> int:
    source = open_files([path], options, upload.on_invalid)
    total = await options.count([path])
    job_name = job or _job_of(path)
    # Without a journal of the user's, a scratch one still tells which lines were stored, and
    # is kept (and named) only if the run is left unfinished. It is created by the upload, in
    # a fresh directory: a journal is only ever created where no file exists.
    scratch = None
    if upload.journal is None:
        scratch = os.path.join(tempfile.mkdtemp(prefix="pleasurestock-push-"), "push.journal")
    book = str(upload.journal) if upload.journal is not None else scratch
    assert book is not None
    reporter = Reporter(settings.err, total=total, label="push")
    chosen = dataclasses.replace(
        upload, journal=book, job=job_name, progress=reporter, stop=interrupt.stop
    )

    def estimate(status: Any) -> str | None:
        if not total:
            return None
        requests = math.ceil(total / upload.chunk_size)
        return f"{path}: {time_needed(requests, status, total)}"

    keep: str | None = None
    try:
        ran = await run_job(
            settings,
            source,
            reporter,
            lambda ps: ps.sales.upload(source, settings=chosen),
            stopped=SalesUploadError,
            estimate=estimate,
        )
        result, error = ran.result, ran.error
        unfinished = not result.ok or error is not None
        stored = _stored_lines(book, job_name, source) if unfinished else []
        # an unfinished run keeps its journal: only it knows what may already be stored
        keep = scratch if scratch is not None and unfinished else None
        summary = PushSummary.of(settings, path, source, result, error, interrupt, stored, keep)
        show(settings, summary)
    finally:
        if scratch is not None and keep is None:
            shutil.rmtree(os.path.dirname(scratch), ignore_errors=True)
    return exit_code(
        error,
        interrupt.exit_code,
        partial=bool(result.failed_batches or result.unresolved_batches),
        invalid=bool(result.input_errors or result.refused or source.skipped),
    )


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


_FATES = {
    "not_sent": "not stored; sent again on the next run",
    "rejected_by_server": "refused by the server, nothing stored",
    "unknown": "may be stored (answer lost)",
}


@dataclasses.dataclass
class PushSummary(Summary):
    """What ``sales push`` reports for one file (``--json``: this object; the README lists
    what each key holds)."""

    RENAMED: ClassVar[dict[str, str]] = {"accepted": "sent_now", "batches": "requests"}

    schema_version: int
    file: str
    read: int
    sent_now: int
    processed: int
    requests: int
    stored_before: int
    skipped_batches: int
    invalid: list[dict[str, Any]]
    server_rejected: list[dict[str, Any]]
    failed_batches: list[dict[str, Any]]
    unresolved_batches: list[dict[str, Any]]
    not_sent: int
    stored_lines: str | None
    stopped: str | None
    resume: str | None

    @classmethod
    def of(
        cls,
        settings: Settings,
        path: str,
        source: SalesFiles,
        result: SalesUploadResult,
        error: SalesJobError[SalesUploadResult] | None,
        interrupt: Interrupt,
        stored: list[list[int]],
        kept: str | None,
    ) -> PushSummary:
        """The summary of pushing ``path`` (``stored``: its line ranges stored, when the run
        is unfinished; ``kept``: the scratch journal kept to resume it)."""
        failed = [
            {
                **_line_range(source, b.first_index, b.last_index),
                "records": b.size,
                "outcome": b.outcome,
                "error": b.error,
            }
            for b in result.failed_batches
        ]
        unresolved = [
            {
                "batch": b.seq,
                **_line_range(source, b.first_index, b.last_index),
                "records": b.size,
                "error": b.error,
            }
            for b in result.unresolved_batches
        ]
        resume = None
        if error is not None or failed or unresolved:
            resume = settings.command(add=("--journal", kept) if kept else ())
        return cls(
            schema_version=SUMMARY_SCHEMA,
            file=path,
            read=result.read,
            sent_now=result.stored,
            processed=result.processed,
            requests=result.batches,
            stored_before=result.already_stored,
            skipped_batches=result.skipped_batches,
            invalid=invalid_items(result.input_errors, source),
            server_rejected=[
                {"at": where_text(source, e.index), "error": e.error, "received": e.received}
                for e in result.refused
            ],
            failed_batches=failed,
            unresolved_batches=unresolved,
            not_sent=result.not_sent,
            stored_lines=_span(stored) if stored else None,
            stopped=None if error is None else _stop_text(error, source, interrupt),
            resume=resume,
        )

    def lines(self) -> Iterator[str]:
        yield (
            f"{self.file}: read {self.read:,}; this run stored {self.sent_now:,} in "
            f"{self.requests:,} requests (server processed {self.processed:,})"
        )
        if self.stored_before:
            yield (
                f"  earlier runs had stored {self.stored_before:,} of them "
                f"({self.skipped_batches:,} whole batches skipped); nothing was sent twice"
            )
        for item in self.invalid:
            yield "  " + invalid_line(item["at"], item["field"], item["reason"], item["value"])
        for item in self.server_rejected:
            yield (
                f"  {item['at']}: refused by the server: {item['error']} (got {item['received']!r})"
            )
        for batch in self.failed_batches:
            fate = _FATES.get(batch["outcome"], batch["outcome"])
            yield f"  {batch['lines']}: {batch['records']:,} records {fate}: {batch['error']}"
        for batch in self.unresolved_batches:
            yield (
                f"  {batch['lines']}: {batch['records']:,} records may already be stored "
                f"(batch {batch['batch']}); check the platform, then rerun with "
                f"--resolve {batch['batch']}=stored or --resolve {batch['batch']}=not-stored"
            )
        if self.stopped:
            yield f"  stopped: {self.stopped}"
        unfinished = self.stopped or self.failed_batches or self.unresolved_batches
        if self.stored_lines and unfinished:
            yield f"  stored lines: {self.stored_lines}"
            if self.not_sent:
                yield f"  not sent: {self.not_sent:,} records"
        if self.resume:
            yield f"  to resume: {self.resume}"


SUMMARY_KEYS = tuple(f.name for f in dataclasses.fields(PushSummary))
"""Every key of the ``--json`` summary of one file, in order (the README lists what each holds)."""

DEPRECATED_SUMMARY_KEYS = PushSummary.RENAMED
"""Schema 1's names, still written beside their new ones until 0.4."""


def _stop_text(
    error: SalesJobError[SalesUploadResult], source: SalesFiles, interrupt: Interrupt
) -> str:
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
