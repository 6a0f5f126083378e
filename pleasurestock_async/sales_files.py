"""Read sales from the files sync jobs start from: CSV and JSON Lines, streamed.

Both readers are async iterators of plain dicts ready for ``sales.upload``. The file is read
in blocks on a worker thread, so a large file never blocks the event loop nor sits in memory.
``line_of(index)`` turns the index an upload reports into the file's line number.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import json
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Any, Literal

import anyio.to_thread

from .errors import PleasureStockError

__all__ = ["SalesFile", "SalesFileError", "SkippedLine", "read_sales_csv", "read_sales_jsonl"]

FIELDS = ("internal_id", "date", "quantity", "stock_on_hand")
REQUIRED = ("internal_id", "date", "quantity")
_BLOCK = 2000
_INT = re.compile(r"^-?\d+$")

OnError = Literal["raise", "skip"]


class SalesFileError(PleasureStockError, ValueError):
    """A line of a sales file cannot be read at all (broken CSV or JSON, wrong header)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line left out because it could not be read (with ``on_error="skip"``)."""

    line: int
    reason: str


def _number(text: str) -> int | str:
    text = text.strip()
    return int(text) if _INT.match(text) else text


class SalesFile:
    """A sales file being read. Iterate it with ``async for``; then ``line_of`` and
    ``skipped`` tell where each record and each unreadable line was."""

    def __init__(
        self, path: str | PathLike[str], kind: Literal["csv", "jsonl"], on_error: OnError
    ) -> None:
        self.path = str(path)
        self.kind = kind
        self.on_error = on_error
        self.skipped: list[SkippedLine] = []
        # Records usually sit one per line after a header; only departures are stored, so
        # line_of costs no memory for a well-formed file of any size.
        self._shift_at: list[int] = [0]
        self._shift: list[int] = [0]
        self._count = 0
        self._first_line = 2 if kind == "csv" else 1

    def line_of(self, index: int) -> int:
        """The line on which record ``index`` (0-based, as uploads report it) starts."""
        k = bisect.bisect_right(self._shift_at, index) - 1
        return index + self._first_line + self._shift[k]

    def _note(self, line: int) -> None:
        shift = line - self._count - self._first_line
        if shift != self._shift[-1]:
            self._shift_at.append(self._count)
            self._shift.append(shift)
        self._count += 1

    def _problem(self, line: int, reason: str) -> None:
        if self.on_error == "raise":
            raise SalesFileError(self.path, line, reason)
        self.skipped.append(SkippedLine(line, reason))

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._records()

    async def _records(self) -> AsyncIterator[dict[str, Any]]:
        handle: IO[str] = (
            sys.stdin
            if self.path == "-"
            else await anyio.to_thread.run_sync(
                lambda: Path(self.path).open(newline="", encoding="utf-8-sig")  # noqa: SIM115
            )
        )
        try:
            rows = self._csv_rows(handle) if self.kind == "csv" else self._jsonl_rows(handle)
            while block := await anyio.to_thread.run_sync(
                lambda: list(itertools.islice(rows, _BLOCK))
            ):
                for record in block:
                    yield record
        finally:
            if handle is not sys.stdin:
                handle.close()

    def _csv_rows(self, handle: IO[str]) -> Iterator[dict[str, Any]]:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        missing = [f for f in REQUIRED if f not in header]
        unknown = [h for h in header if h not in FIELDS]
        if missing or unknown:
            raise SalesFileError(
                self.path,
                1,
                f"the header must name {', '.join(REQUIRED)} (and may name stock_on_hand); "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {', '.join(unknown)}" if unknown else ""),
            )
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._problem(reader.line_num, f"not valid CSV: {exc}")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                self._problem(line, f"expected {len(header)} columns, found {len(row)}")
                continue
            record: dict[str, Any] = {}
            for name, cell in zip(header, row, strict=True):
                if name in ("quantity", "stock_on_hand"):
                    if name == "stock_on_hand" and not cell.strip():
                        continue
                    record[name] = _number(cell)
                else:
                    record[name] = cell.strip()
            self._note(line)
            yield record

    def _jsonl_rows(self, handle: IO[str]) -> Iterator[dict[str, Any]]:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                self._problem(line, f"not valid JSON: {exc}")
                continue
            if not isinstance(record, dict):
                self._problem(line, "not a JSON object")
                continue
            self._note(line)
            yield record


def read_sales_csv(path: str | PathLike[str], *, on_error: OnError = "raise") -> SalesFile:
    """Sales from a CSV file with a header naming ``internal_id,date,quantity[,stock_on_hand]``
    (``-`` reads standard input). Numbers become ints; anything else is left for the upload's
    validation to report by index (see :meth:`SalesFile.line_of`)."""
    return SalesFile(path, "csv", on_error)


def read_sales_jsonl(path: str | PathLike[str], *, on_error: OnError = "raise") -> SalesFile:
    """Sales from a JSON Lines file, one object per line (``-`` reads standard input)."""
    return SalesFile(path, "jsonl", on_error)
