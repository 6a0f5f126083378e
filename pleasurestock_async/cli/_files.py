"""Opening sales files the way the command line is told to, and checking them (``--dry-run``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import anyio.to_thread
import click

from ..sales_files import (
    FIELDS,
    SalesFile,
    SalesFileError,
    SalesFiles,
    count_records,
    read_sales_csv,
    read_sales_jsonl,
)

__all__ = ["FileOptions", "file_options", "open_files", "problems_of", "where_text"]

F = TypeVar("F", bound=Callable[..., Any])

Kind = Literal["csv", "jsonl"]


def _columns(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in values:
        name, sep, target = text.rpartition("=")
        if not sep or not name.strip() or target.strip() not in FIELDS:
            raise click.BadParameter(
                f"{text!r}: expected ERP_NAME=FIELD with FIELD one of {', '.join(FIELDS)}",
                param_hint="--column",
            )
        found[name.strip()] = target.strip()
    return found


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
    value = named.get(value.lower(), value)
    if len(value) != 1:
        raise click.BadParameter("one character, or tab", param_hint="--delimiter")
    return value


def file_options(func: F) -> F:
    """The options that say how to read sales files."""
    for option in reversed(
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["csv", "jsonl"]),
                help="File format (default: by extension, .jsonl/.ndjson[.gz] is JSON Lines; "
                "- is CSV unless given).",
            ),
            click.option(
                "--delimiter",
                callback=_delimiter,
                help="CSV delimiter: , ; or tab (default: sniffed from the header).",
            ),
            click.option(
                "--column",
                "columns",
                multiple=True,
                callback=_columns,
                metavar="ERP_NAME=FIELD",
                help="A column of yours and the field it holds (internal_id, date, quantity, "
                "stock_on_hand); repeat for more.",
            ),
            click.option(
                "--strict-columns",
                is_flag=True,
                help="Refuse columns that are not fields (default: ignore them, with a notice).",
            ),
            click.option(
                "--date-format",
                metavar="FORMAT",
                help="How dates are written, e.g. %d/%m/%Y (default: YYYY-MM-DD).",
            ),
            click.option(
                "--encoding", default="utf-8", show_default=True, help="Text encoding, e.g. cp1254."
            ),
        ]
    ):
        func = option(func)
    return func


class FileOptions:
    """The reading options of one command."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.fmt: str | None = params.pop("fmt")
        self.delimiter: str | None = params.pop("delimiter")
        self.columns: dict[str, str] = params.pop("columns")
        self.strict_columns: bool = params.pop("strict_columns")
        self.date_format: str | None = params.pop("date_format")
        self.encoding: str = params.pop("encoding")

    def kind(self, path: str) -> Kind:
        """The format of ``path``."""
        if self.fmt is not None:
            return "jsonl" if self.fmt == "jsonl" else "csv"
        name = path.lower().removesuffix(".gz")
        return "jsonl" if name.endswith((".jsonl", ".ndjson")) else "csv"

    def open(self, path: str, on_error: Literal["raise", "skip"]) -> SalesFile:
        """A reader for ``path``."""
        if self.kind(path) == "jsonl":
            return read_sales_jsonl(
                path,
                on_error=on_error,
                columns=self.columns,
                date_format=self.date_format,
                encoding=self.encoding,
            )
        return read_sales_csv(
            path,
            on_error=on_error,
            delimiter=self.delimiter,
            columns=self.columns,
            strict_columns=self.strict_columns,
            date_format=self.date_format,
            encoding=self.encoding,
        )

    async def count(self, paths: list[str]) -> int | None:
        """About how many records the files hold (None for standard input)."""
        if "-" in paths:
            return None
        total = 0
        for path in paths:
            try:
                total += await anyio.to_thread.run_sync(
                    count_records, path, self.kind(path), abandon_on_cancel=True
                )
            except SalesFileError:  # reading the file will say what is wrong with it
                return None
        return total


def open_files(paths: list[str], options: FileOptions, on_error: str) -> SalesFiles:
    """The files of one run, read as one input."""
    mode: Literal["raise", "skip"] = "skip" if on_error == "skip" else "raise"
    return SalesFiles([options.open(p, mode) for p in paths])


def where_text(source: SalesFiles | SalesFile, index: int | None) -> str:
    """``file:line`` of input record ``index``."""
    if index is None:
        return "(argument)"
    path, line = source.where(index)
    return f"{path}:{line}"


async def problems_of(source: SalesFiles) -> list[dict[str, Any]]:
    """Every problem of the files, read to their end and validated (nothing is sent)."""
    from ..uploads.batcher import PartialInputError, chunked
    from ..uploads.codec import MAX_BATCH, validate_rows

    problems: list[dict[str, Any]] = []
    index = 0
    try:
        async for chunk in chunked(source, MAX_BATCH):
            _, _, bad = validate_rows(chunk, index)
            for e in bad:
                path, line = source.where(e.index or 0)
                problems.append(
                    {
                        "file": path,
                        "line": line,
                        "field": e.field,
                        "reason": e.message,
                        "value": e.value,
                    }
                )
            index += len(chunk)
    except PartialInputError as partial:  # a file that cannot be read (further): a problem
        cause = partial.__cause__
        if not isinstance(cause, SalesFileError):
            raise
        problems.append(
            {
                "file": cause.path,
                "line": cause.line,
                "field": None,
                "reason": cause.reason,
                "value": None,
            }
        )
    problems.extend(
        {"file": path, "line": s.line, "field": None, "reason": s.reason, "value": None}
        for path, s in source.skipped
    )
    order = {f.path: n for n, f in enumerate(source.files)}
    return sorted(problems, key=lambda p: (order.get(p["file"], 0), p["line"]))
