"""Read sales from the files sync jobs start from: CSV and JSON Lines, streamed.

Both readers are async iterators of plain dicts ready for ``sales.upload`` and ``sales.sync``.
The file is read in blocks on a worker thread, so a large file never blocks the event loop nor
sits in memory. Real ERP exports are accepted as they come: the delimiter (``,`` ``;`` or tab)
is sniffed from the header, a BOM and CRLF line ends are fine, blank lines are skipped, gzip
is recognised by its magic bytes, columns can be renamed (``columns={"Artikel": "internal_id"}``)
and dates read in another format (``date_format="%d/%m/%Y"``).

The reader only shapes records; whether a value is valid is left to the upload's validation,
which reports record indices: ``line_of(index)`` (one file) or :meth:`SalesFiles.where`
(several files read as one input) turn them into file and line.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import datetime as dt
import gzip
import io
import itertools
import json
import operator
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike, fsencode, fspath
from typing import IO, Any, Literal, NamedTuple

import anyio.to_thread

from .errors import InputError, PleasureStockError
from .uploads.blocks import TextCells

__all__ = [
    "FIELDS",
    "SalesFile",
    "SalesFileError",
    "SalesFiles",
    "SkippedLine",
    "count_records",
    "read_sales_csv",
    "read_sales_jsonl",
]

FIELDS = ("internal_id", "date", "quantity", "stock_on_hand")
"""The fields of a sales record; a file's columns map onto them."""
REQUIRED = ("internal_id", "date", "quantity")
DELIMITERS = (",", ";", "\t")
_BLOCK = 10_000
"""Records read per trip to the worker thread: each trip costs about a millisecond of thread
hand-off, so 2,000-record blocks added 40% to reading a file; 10,000 hold about 6 MB."""
_ROWS = 500
"""Rows held at once while a block's columns are filled: CPython's cyclic collector walks the
row lists that outlive about 700 allocations (dicts of text it skips), so many rows kept alive
at once cost more than reading them; 500 die young."""
_CACHE_LIMIT = 100_000
_GZIP_MAGIC = b"\x1f\x8b"

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


class _Days(dict[str, str]):
    """Date text in ``fmt`` to ISO text, each distinct text converted once; text that does not
    match stays as given (validation names it)."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.fmt = fmt

    def __missing__(self, text: str) -> str:
        try:
            value = dt.datetime.strptime(text.strip(), self.fmt).date().isoformat()
        except ValueError:
            value = text
        if len(self) < _CACHE_LIMIT:
            self[text] = value
        return value


class _Layout(NamedTuple):
    """Where a CSV file's fields are: its width and each field's column (-1: none)."""

    width: int
    internal_id: int
    date: int
    quantity: int
    stock_on_hand: int


def _breaks(cell: str) -> int:
    """Line breaks inside a quoted cell (the reader counts them as lines)."""
    return cell.count("\n") + cell.count("\r") - cell.count("\r\n")


def _open_binary(path: str) -> IO[bytes]:
    if path == "-":
        raw: Any = sys.stdin.buffer
        # Standard input may be a pipe or an in-memory buffer: peek needs a buffered reader.
        return raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    return open(path, "rb")  # closed by SalesFile


def _open_text(path: str, encoding: str) -> IO[str]:
    """``path`` as text: gzip (by its magic bytes) unpacked, a BOM dropped, line ends kept."""
    raw = _open_binary(path)
    stream: IO[bytes] = raw
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if head == _GZIP_MAGIC and path != "-":
            raw.close()  # reopened by gzip, which then owns (and closes) the file
            stream = gzip.open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115
        elif head == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        lowered = encoding.lower().replace("_", "-")
        codec = "utf-8-sig" if lowered in ("utf-8", "utf8") else encoding
        return io.TextIOWrapper(stream, encoding=codec, newline="")
    except BaseException:
        if path != "-":
            stream.close()  # not left to the garbage collector
        raise


def _path(path: object) -> str:
    """``path`` as a str, or :class:`InputError` (a path is a str or a path-like)."""
    try:
        text = fspath(path)  # type: ignore[call-overload]
    except TypeError:
        raise InputError.single("path", "must be a str or a path", path) from None
    if not isinstance(text, str) or not text or "\x00" in text:
        raise InputError.single("path", "must be a non-empty str without NUL", path)
    try:
        fsencode(text)
    except UnicodeEncodeError:  # a lone surrogate: no file system has such a name
        raise InputError.single("path", "is not a name the file system can hold", path) from None
    return text


def _encoding(name: object) -> str:
    """``name`` if Python knows that text encoding, else :class:`InputError`."""
    if not isinstance(name, str):
        raise InputError.single("encoding", "must be the name of a text encoding", name)
    try:  # what opening the file checks: codecs.lookup would also accept rot13 and the like
        io.TextIOWrapper(io.BytesIO(), encoding=name)
    except (LookupError, ValueError):  # ValueError: a name holding NUL
        raise InputError.single("encoding", "is not a text encoding Python knows", name) from None
    return name


def count_records(path: str | PathLike[str], kind: Literal["csv", "jsonl"]) -> int:
    """About how many records a file holds: its non-blank lines, less a CSV header (a quick
    pass, for progress and estimates; gzip is unpacked). Raises :class:`SalesFileError` for a
    file that cannot be read."""
    name = _path(path)
    if kind not in ("csv", "jsonl"):
        raise InputError.single("kind", "must be 'csv' or 'jsonl'", kind)
    try:
        with _open_text(name, "latin-1") as handle:  # any bytes decode: lines only
            lines = sum(1 for line in handle if not line.isspace())
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise SalesFileError(
            name, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return max(0, lines - (kind == "csv"))


def sniff_delimiter(header: str) -> str:
    """The delimiter a header line uses: the most frequent of ``,`` ``;`` and tab."""
    return max(DELIMITERS, key=header.count)


class SalesFile:
    """A sales file being read. Iterate it with ``async for``; then ``line_of`` and
    ``skipped`` tell where each record and each unreadable line was, and ``notices`` what
    was worth saying about the file (columns ignored, say)."""

    def __init__(
        self,
        path: str | PathLike[str],
        kind: Literal["csv", "jsonl"],
        on_error: OnError,
        *,
        delimiter: str | None = None,
        columns: Mapping[str, str] | None = None,
        strict_columns: bool = False,
        date_format: str | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self.path: str = _path(path)
        if kind not in ("csv", "jsonl"):
            raise InputError.single("kind", "must be 'csv' or 'jsonl'", kind)
        self.kind = kind
        if on_error not in ("raise", "skip"):
            raise InputError.single("on_error", "must be 'raise' or 'skip'", on_error)
        self.on_error = on_error
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
            raise InputError.single("delimiter", "must be one character", delimiter)
        self.delimiter = delimiter
        if columns is not None and not isinstance(columns, Mapping):
            raise InputError.single("columns", "must map column names to fields", columns)
        self.columns: dict[str, str] = dict(columns or {})
        if not all(isinstance(name, str) for name in self.columns):
            raise InputError.single("columns", "column names must be str", columns)
        bad = sorted(str(field) for field in set(self.columns.values()) - set(FIELDS))
        if bad:
            raise InputError.single(
                "columns", f"map onto {', '.join(FIELDS)}; not {', '.join(bad)}", columns
            )
        self.strict_columns = bool(strict_columns)
        if date_format is not None and not isinstance(date_format, str):
            raise InputError.single("date_format", "must be a str such as %d/%m/%Y", date_format)
        self.date_format = date_format
        self.encoding = _encoding(encoding)
        self.skipped: list[SkippedLine] = []
        self.notices: list[str] = []
        self.ignored_columns: list[str] = []
        # Records usually sit one per line after a header; only departures are stored, so
        # line_of costs no memory for a well-formed file of any size.
        self._shift_at: list[int] = [0]
        self._shift: list[int] = [0]
        self._count = 0
        self._first_line = 2 if kind == "csv" else 1
        self._days = _Days(date_format or "%Y-%m-%d")

    @property
    def records(self) -> int:
        """Records read so far (all of them once iterated)."""
        return self._count

    def line_of(self, index: int) -> int:
        """The line on which record ``index`` (0-based, as uploads report it) starts."""
        k = bisect.bisect_right(self._shift_at, index) - 1
        return index + self._first_line + self._shift[k]

    def where(self, index: int) -> tuple[str, int]:
        """The file and line of record ``index``."""
        return self.path, self.line_of(index)

    def _note(self, line: int, count: int = 1) -> None:
        """The next ``count`` records start on ``line`` and follow one per line."""
        shift = line - self._count - self._first_line
        if shift != self._shift[-1]:
            self._shift_at.append(self._count)
            self._shift.append(shift)
        self._count += count

    def _problem(self, line: int, reason: str) -> None:
        if self.on_error == "raise":
            raise SalesFileError(self.path, line, reason)
        self.skipped.append(SkippedLine(line, reason))

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._records()

    async def _records(self) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.aclosing(self.sales_blocks()) as blocks:
            async for block in blocks:
                for record in block:  # TextCells convert their cells here
                    yield record

    async def sales_blocks(self) -> AsyncGenerator[Sequence[dict[str, Any]], None]:
        """The records in blocks of up to 10,000 as read (a
        :class:`~pleasurestock_async.uploads.blocks.BlockSource`: how uploads and syncs read
        the file); a CSV file's as :class:`~pleasurestock_async.uploads.blocks.TextCells`."""
        try:
            handle = await anyio.to_thread.run_sync(_open_text, self.path, self.encoding)
        except OSError as exc:
            raise SalesFileError(self.path, 0, f"cannot open: {exc.strerror or exc}") from None
        try:
            blocks = self._csv_blocks(handle) if self.kind == "csv" else self._jsonl_blocks(handle)
            while block := await anyio.to_thread.run_sync(self._block, blocks):
                yield block
        finally:
            if self.path != "-":
                handle.close()

    def _block(self, blocks: Iterator[Sequence[dict[str, Any]]]) -> Sequence[dict[str, Any]]:
        """The next block of records ([] at the end), read on a worker thread."""
        try:
            return next(blocks, [])
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            # A broken encoding or archive ends the file: no later line can be trusted.
            raise SalesFileError(
                self.path,
                self.line_of(self._count),
                f"cannot read past this point ({exc}); "
                + (
                    "is the file in another encoding? (pass it, e.g. cp1254)"
                    if isinstance(exc, UnicodeDecodeError)
                    else "the archive is damaged or cut short"
                ),
            ) from None

    # -- CSV -----------------------------------------------------------------------------------

    def _header(self, names: list[str]) -> dict[str, int]:
        """Each field's column, from the header (mapped through ``columns``)."""
        at: dict[str, int] = {}
        extra: list[str] = []
        for pos, raw in enumerate(names):
            name = self.columns.get(raw.strip(), raw.strip())
            if name in FIELDS:
                if name in at:
                    raise SalesFileError(self.path, 1, f"two columns give {name}")
                at[name] = pos
            elif raw.strip():
                extra.append(raw.strip())
        missing = [f for f in REQUIRED if f not in at]
        if missing:
            raise SalesFileError(
                self.path,
                1,
                f"the header must name {', '.join(REQUIRED)} (and may name stock_on_hand); "
                f"missing {', '.join(missing)}"
                + (f"; unknown columns: {', '.join(extra)}" if extra else "")
                + " (map a column of yours with columns={'NAME': 'internal_id'}, "
                "--column NAME=internal_id on the command line)",
            )
        if extra and self.strict_columns:
            raise SalesFileError(self.path, 1, f"unknown columns: {', '.join(extra)}")
        if extra:
            self.ignored_columns = extra
            self.notices.append(f"{self.path}:1: ignoring columns {', '.join(extra)}")
        return at

    def _csv_blocks(self, handle: IO[str]) -> Iterator[TextCells]:
        first = handle.readline()
        while first and not first.strip():  # blank lines before the header
            self._first_line += 1
            first = handle.readline()
        if not first:
            return
        delimiter = self.delimiter or sniff_delimiter(first)
        header = next(csv.reader([first], delimiter=delimiter), [])
        at = self._header(header)
        layout = _Layout(
            len(header), at["internal_id"], at["date"], at["quantity"], at.get("stock_on_hand", -1)
        )
        reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
        header_line = self._first_line - 1
        while True:
            try:
                block = self._csv_block(reader, layout, header_line)
            except csv.Error as exc:
                # Only a runaway field (a quote never closed) gets here: nothing after it can
                # be trusted, so the file is refused rather than skipped past.
                raise SalesFileError(
                    self.path,
                    header_line + reader.line_num,
                    f"not valid CSV ({exc}): is a quote left open on or before this line?",
                ) from None
            if block is None:
                return
            if block:
                yield block

    def _csv_block(self, reader: Any, layout: _Layout, header_line: int) -> TextCells | None:
        """The records of the reader's next ``_BLOCK`` rows (None at the end of the file).

        Rows are taken ``_ROWS`` at a time; when each is one line of the header's width (as
        nearly all are), their cells go into the block as they are, checked in C. Lines are
        noted only once the whole block is read, so a failure leaves the count as it was."""
        width, *at = layout
        if at[-1] < 0:  # no stock column
            at.pop()
        # The fields' cells of a row, in FIELDS order (None: the row is just that).
        pick = None if at == list(range(width)) else operator.itemgetter(*at)
        cells: list[str] = []
        runs: list[tuple[int, int]] = []  # (line, records): records on consecutive lines
        taken = 0
        while taken < _BLOCK:
            done = reader.line_num  # lines the reader consumed after the header
            rows: list[list[str]] = []
            try:
                rows.extend(itertools.islice(reader, min(_ROWS, _BLOCK - taken)))
            except Exception:
                self._irregular(rows, done, reader.line_num, width, header_line)  # reported first
                raise
            if not rows:
                break
            taken += len(rows)
            one_line_each = reader.line_num - done == len(rows)
            if one_line_each and operator.countOf(map(len, rows), width) == len(rows):
                runs.append((header_line + done + 1, len(rows)))
            else:
                lines = self._irregular(rows, done, reader.line_num, width, header_line)
                runs += zip(lines, itertools.repeat(1))
                rows = [row for row in rows if len(row) == width]
            for row in map(pick, rows) if pick else rows:
                cells += row
        if not taken:
            return None
        for line, count in runs:
            self._note(line, count)
        if self.date_format is not None:
            cells[1 :: len(at)] = list(map(self._days.__getitem__, cells[1 :: len(at)]))
        return TextCells(cells, len(at))

    def _irregular(
        self, rows: list[list[str]], done: int, end: int, width: int, header_line: int
    ) -> list[int]:
        """The lines of the records among ``rows``, read from after reader line ``done`` up
        to ``end``, that are not all one line of ``width`` cells: blank lines, rows of another
        width (a problem) and cells spanning lines. Rows of ``width`` cells are records."""
        spans = end - done != len(rows)  # some cell holds a line break
        lines = []
        line = header_line + done
        for row in rows:
            start = line + 1
            line = start + sum(map(_breaks, row)) if spans else start
            if len(row) == width:
                lines.append(start)
            elif "".join(row).strip():
                self._problem(start, f"expected {width} columns, found {len(row)}")
        return lines

    # -- JSON Lines ------------------------------------------------------------------------------

    def _jsonl_blocks(self, handle: IO[str]) -> Iterator[list[dict[str, Any]]]:
        rows = self._jsonl_rows(handle)
        while block := list(itertools.islice(rows, _BLOCK)):
            yield block

    def _jsonl_rows(self, handle: IO[str]) -> Iterator[dict[str, Any]]:
        rename = self.columns
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
            if rename:
                record = {rename.get(k, k): v for k, v in record.items()}
            if self.date_format is not None and isinstance(record.get("date"), str):
                record["date"] = self._days[record["date"]]
            self._note(line)
            yield record


class SalesFiles:
    """Several sales files read as one input: the records of each, one file after another
    (the files of one export, one per warehouse say). :meth:`where` maps an index of the
    combined input to its file and line."""

    def __init__(self, files: Sequence[SalesFile]) -> None:
        if not files:
            raise ValueError("SalesFiles needs at least one file")
        self.files: list[SalesFile] = list(files)
        self._starts: list[int] = []

    @property
    def skipped(self) -> list[tuple[str, SkippedLine]]:
        """Every line left out, with its file."""
        return [(f.path, s) for f in self.files for s in f.skipped]

    @property
    def notices(self) -> list[str]:
        """What each file had to say (columns ignored, say)."""
        return [n for f in self.files for n in f.notices]

    @property
    def records(self) -> int:
        """Records read so far."""
        return sum(f.records for f in self.files)

    def where(self, index: int) -> tuple[str, int]:
        """The file and line of record ``index`` of the combined input."""
        k = max(0, bisect.bisect_right(self._starts, index) - 1)
        if k >= len(self._starts):  # not read yet: only the first file can hold it
            return self.files[0].where(index)
        return self.files[k].where(index - self._starts[k])

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._records()

    async def _records(self) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.aclosing(self.sales_blocks()) as blocks:
            async for block in blocks:
                for record in block:  # TextCells convert their cells here
                    yield record

    async def sales_blocks(self) -> AsyncGenerator[Sequence[dict[str, Any]], None]:
        """Every file's blocks, one file after another (see :meth:`SalesFile.sales_blocks`)."""
        self._starts = []
        total = 0
        for source in self.files:
            self._starts.append(total)
            async with contextlib.aclosing(source.sales_blocks()) as blocks:
                async for block in blocks:
                    yield block
            total += source.records


def read_sales_csv(
    path: str | PathLike[str],
    *,
    on_error: OnError = "raise",
    delimiter: str | None = None,
    columns: Mapping[str, str] | None = None,
    strict_columns: bool = False,
    date_format: str | None = None,
    encoding: str = "utf-8",
) -> SalesFile:
    """Sales from a CSV file whose header names ``internal_id,date,quantity[,stock_on_hand]``
    (``-`` reads standard input; gzip is unpacked).

    Args:
        path: The file.
        on_error: ``"raise"`` at an unreadable line, or ``"skip"`` it (see ``skipped``).
        delimiter: ``,`` ``;`` or tab; default: sniffed from the header.
        columns: Header names of yours and the field each holds, e.g. ``{"Qty": "quantity"}``.
        strict_columns: Refuse columns that are not fields (default: ignore them, with a
            notice).
        date_format: How dates are written, e.g. ``"%d/%m/%Y"`` (default: ``YYYY-MM-DD``).
        encoding: The text encoding (default UTF-8; a BOM is dropped).

    Numbers become ints; anything else is left for the upload's validation to report by index
    (see :meth:`SalesFile.line_of`).
    """
    return SalesFile(
        path,
        "csv",
        on_error,
        delimiter=delimiter,
        columns=columns,
        strict_columns=strict_columns,
        date_format=date_format,
        encoding=encoding,
    )


def read_sales_jsonl(
    path: str | PathLike[str],
    *,
    on_error: OnError = "raise",
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str = "utf-8",
) -> SalesFile:
    """Sales from a JSON Lines file, one object per line (``-`` reads standard input; gzip
    is unpacked). ``columns`` renames keys, ``date_format`` reads other date forms."""
    return SalesFile(
        path, "jsonl", on_error, columns=columns, date_format=date_format, encoding=encoding
    )
