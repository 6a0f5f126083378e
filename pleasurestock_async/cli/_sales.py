"""``pleasurestock sales``: push files of daily sales."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import click

from ..errors import (
    SalesUploadError,
)
from ..sales_files import SalesFile, read_sales_csv, read_sales_jsonl
from ..types.uploads import SalesUploadResult
from ._common import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_PARTIAL,
    Reporter,
    Settings,
    dump,
    run_async,
    settings_of,
)


@click.group()
def sales() -> None:
    """Sales history: push files of daily sales.

    \b
    Example:
      pleasurestock sales push sales.csv --journal sales.journal
    """


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
    from ..uploads.batcher import chunked
    from ..uploads.codec import MAX_BATCH, validate_rows

    problems: list[dict[str, Any]] = []
    index = 0
    async for chunk in chunked(source, MAX_BATCH):
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
@run_async
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
    settings = settings_of(ctx)
    if journal and len(files) > 1:
        raise click.UsageError("--journal covers one input: push one file per journal")
    code = 0
    for path in files:
        source = _open_sales(path, fmt, on_invalid)
        if dry_run:
            problems = await _validate_only(source)
            if settings.json:
                settings.out.print(dump({"file": path, "problems": problems}), highlight=False)
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
    reporter = Reporter(settings.err, total=await _count_records(path))
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
            "state": e.state,
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
        settings.out.print(dump(summary), highlight=False)
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
