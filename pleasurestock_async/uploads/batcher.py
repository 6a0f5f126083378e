"""Cut the input into ranges of ``chunk_size`` records and validate each range.

A batch is one range of the input: its records' positions never depend on how many records
before it were invalid, so a journal can recognise the range on a rerun even after a bad line
was fixed. :func:`merged` combines rows of one product and day as the server would.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, cast

import anyio.lowlevel

from ..errors import InputErrorDetail
from ..types.sales import SaleRow
from .blocks import BlockSource, TextCells
from .codec import validate_rows

__all__ = ["InputBatch", "PartialInputError", "chunked", "merged", "read_batches"]


@dataclass(slots=True)
class InputBatch:
    """One range of the input: records ``first_index`` .. ``first_index + size - 1``.

    ``records`` holds its valid records by position within the range; ``invalid`` the details
    of the others, at ``invalid_positions``.
    """

    seq: int
    first_index: int
    size: int
    records: dict[int, SaleRow]
    invalid: list[InputErrorDetail]
    invalid_positions: set[int]

    @property
    def last_index(self) -> int:
        """The input index of the range's last record."""
        return self.first_index + self.size - 1


class PartialInputError(Exception):
    """The input raised after ``consumed`` records of a range that is not complete: they are
    not handed out (a range must be whole for a journal to recognise it on a rerun)."""

    def __init__(self, consumed: int) -> None:
        self.consumed = consumed
        super().__init__(f"the input failed after {consumed} records of an incomplete range")


async def chunked(
    records: Iterable[Any] | AsyncIterable[Any], size: int
) -> AsyncGenerator[Sequence[Any], None]:
    """``records`` (sync or async) in lists of ``size``; the last may be shorter. When the
    input raises, the whole lists read before it still come out, then
    :class:`PartialInputError` (with the input's error as its cause).

    A :class:`BlockSource` (a sales file reader) is read a block at a time rather than one
    record per step of the event loop; a block of :class:`TextCells` stays one (a sequence of
    the same records, kept as cells), for validation."""
    failure: list[Exception] = []
    chunk: Sequence[Any] = []
    if isinstance(records, BlockSource):
        pending: Sequence[Any] = []
        try:
            async with _closed_after(records.sales_blocks()) as source:
                async for block in source:
                    pending = _joined(pending, block)
                    start = 0
                    while len(pending) - start >= size:
                        yield pending[start : start + size]
                        start += size
                    if start:
                        pending = pending[start:]
        except Exception as exc:
            failure.append(exc)
        if pending and not failure:
            yield pending
        chunk = pending
    elif isinstance(records, AsyncIterable):
        items: list[Any] = []
        try:
            async for record in records:
                items.append(record)
                if len(items) == size:
                    yield items
                    items = []
        except Exception as exc:
            failure.append(exc)
        if items and not failure:
            yield items
        chunk = items
    elif type(records) is list or type(records) is tuple:  # slices: nothing here can raise
        start = 0
        while start < len(records):
            chunk = list(records[start : start + size])
            start += size
            yield chunk
            await anyio.lowlevel.checkpoint()
    else:
        iterator = _guarded(iter(records), failure)
        while chunk := list(itertools.islice(iterator, size)):
            if failure:
                break
            yield chunk
            await anyio.lowlevel.checkpoint()
    if failure:
        raise PartialInputError(len(chunk)) from failure[0]


@contextlib.asynccontextmanager
async def _closed_after(blocks: AsyncIterator[Any]) -> AsyncGenerator[AsyncIterator[Any], None]:
    """``blocks``, closed at the end when it is a generator (so its file closes at once)."""
    try:
        yield blocks
    finally:
        if isinstance(blocks, AsyncGenerator):
            await blocks.aclose()


def _joined(pending: Sequence[Any], block: Sequence[Any]) -> Sequence[Any]:
    """``pending`` then ``block``. Text records stay :class:`TextCells`; mixed with others
    (files of both kinds, or with and without stock, read as one input), they are converted."""
    if not pending:
        return block
    if isinstance(block, TextCells) and isinstance(pending, TextCells):
        joined = pending.joined(block)
        if joined is not None:
            return joined
    return _listed(pending) + _listed(block)


def _listed(records: Sequence[Any]) -> list[Any]:
    return records.typed() if isinstance(records, TextCells) else list(records)


def _guarded(records: Iterator[Any], failure: list[Exception]) -> Iterator[Any]:
    """``records`` until they end or raise (the error is kept in ``failure``)."""
    try:
        yield from records
    except Exception as exc:
        failure.append(exc)


async def read_batches(
    records: Iterable[Any] | AsyncIterable[Any], *, chunk_size: int
) -> AsyncGenerator[InputBatch, None]:
    """Every range of ``records``, validated."""
    first = 0
    async with contextlib.aclosing(chunked(records, chunk_size)) as chunks:
        seq = 0
        async for chunk in chunks:
            rows, positions, bad = validate_rows(chunk, first)
            yield InputBatch(
                seq,
                first,
                len(chunk),
                dict(zip(positions, rows, strict=True)),
                bad,
                {e.index - first for e in bad if e.index is not None},
            )
            first += len(chunk)
            seq += 1


def merged(rows: list[SaleRow], positions: list[int]) -> tuple[list[SaleRow], list[list[int]]]:
    """Rows of one product and day combined as the server would (quantity summed, stock the
    maximum), with the positions each merged row came from."""
    out: list[SaleRow] = []
    groups: list[list[int]] = []
    at: dict[tuple[str, str], int] = {}
    for row, pos in zip(rows, positions, strict=True):
        key = (row["internal_id"], str(row["date"]))
        found = at.get(key)
        if found is None:
            at[key] = len(out)
            out.append(cast(SaleRow, dict(row)))  # a copy: merging must not touch the input
            groups.append([pos])
            continue
        into = out[found]
        into["quantity"] += row["quantity"]
        stocks = [s for s in (into.get("stock_on_hand"), row.get("stock_on_hand")) if s is not None]
        if stocks:
            into["stock_on_hand"] = max(stocks)
        groups[found].append(pos)
    return out, groups
