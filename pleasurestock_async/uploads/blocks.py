"""Records handed over in blocks: how a source of many records feeds ``sales.upload`` and
``sales.sync`` faster than one record at a time.

Any iterable or async iterable of records is an input. One that is also a
:class:`BlockSource` is read through its :meth:`~BlockSource.sales_blocks` instead: each block
is one step of the event loop (and, for the sales file readers, one trip to a worker thread),
not one per record. A block is any sequence of records; a block of :class:`TextCells` (what the
CSV reader hands over) keeps its records as the text of their cells, which validation reads a
column at a time, building no dict per record that it does not need.

This module owns both: the readers (:mod:`pleasurestock_async.sales_files`) produce them, the
engine's batcher and validation consume them, and neither knows the other.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Protocol, overload, runtime_checkable

__all__ = ["BlockSource", "TextCells"]


@runtime_checkable
class BlockSource(Protocol):
    """An input that hands over its records in blocks (:class:`~pleasurestock_async.
    sales_files.SalesFile` and :class:`~pleasurestock_async.sales_files.SalesFiles` are).

    Example::

        class Cursor:  # rows of a database cursor, 5,000 at a time
            def __aiter__(self): ...  # the records one by one, as any input
            async def sales_blocks(self):
                while rows := await self.cursor.fetchmany(5000):
                    yield [dict(zip(FIELDS, row)) for row in rows]
    """

    def sales_blocks(self) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        """The records in blocks, in order: the same records iterating the input yields one
        by one, each block a sequence of them (a block may be of any size)."""
        ...


_INT = re.compile(r"-?\d+")
_CACHE_LIMIT = 100_000


def _as_number(text: str, optional: bool) -> int | str | None:
    """An integer cell as an int, an empty optional one as None; anything else as given
    (validation will name it). Called once per distinct cell text."""
    stripped = text.strip()
    if not stripped and optional:
        return None
    return int(stripped) if _INT.fullmatch(stripped) else text


class _Numbers(dict[str, int | str | None]):
    """Cell text to number, each distinct text converted once (a file has few)."""

    def __init__(self, *, optional: bool) -> None:
        super().__init__()
        self.optional = optional

    def __missing__(self, text: str) -> int | str | None:
        value = _as_number(text, self.optional)
        if len(self) < _CACHE_LIMIT:
            self[text] = value
        return value


_COUNTS = _Numbers(optional=False)
_STOCKS = _Numbers(optional=True)


class TextCells(Sequence[dict[str, Any]]):
    """Records as the text of their cells: ``cells`` holds each record's ``internal_id``,
    ``date``, ``quantity`` and, when ``width`` is 4, ``stock_on_hand`` in turn; these are its
    records ``start`` to ``stop`` (a slice shares the list).

    As a sequence it holds the records a reader yields: number cells as ints, a blank stock as
    None, any other text as given (for validation to name).
    """

    __slots__ = ("cells", "start", "stop", "width")

    def __init__(self, cells: list[str], width: int, start: int = 0, stop: int | None = None):
        self.cells = cells
        self.width = width
        self.start = start
        self.stop = len(cells) // width if stop is None else stop

    def _column(self, field: int) -> list[str]:
        n = self.width
        return self.cells[self.start * n + field : self.stop * n : n]

    @property
    def ids(self) -> list[str]:
        """The ``internal_id`` cells."""
        return self._column(0)

    @property
    def days(self) -> list[str]:
        """The ``date`` cells."""
        return self._column(1)

    @property
    def quantities(self) -> list[str]:
        """The ``quantity`` cells."""
        return self._column(2)

    @property
    def stocks(self) -> list[str] | None:
        """The stock cells; None if the records have none (the file has no such column)."""
        return self._column(3) if self.width > 3 else None

    def typed(self) -> list[dict[str, Any]]:
        """The records, number cells converted (what iterating them yields)."""
        quantities = map(_COUNTS.__getitem__, self.quantities)
        if self.width < 4:
            return [
                {"internal_id": i, "date": d, "quantity": q}
                for i, d, q in zip(self.ids, self.days, quantities, strict=True)
            ]
        stocks = map(_STOCKS.__getitem__, self._column(3))
        return [
            {"internal_id": i, "date": d, "quantity": q, "stock_on_hand": s}
            for i, d, q, s in zip(self.ids, self.days, quantities, stocks, strict=True)
        ]

    def joined(self, other: TextCells) -> TextCells | None:
        """These records then ``other``'s; None if only one of them has stock cells."""
        n = self.width
        if other.width != n:
            return None
        cells = self.cells[self.start * n : self.stop * n]
        cells += other.cells[other.start * n : other.stop * n]
        return TextCells(cells, n)

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> TextCells: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | TextCells:
        n = self.width
        rows = range(self.start, self.stop)[index]  # a list's index rules
        if isinstance(rows, int):
            return TextCells(self.cells, n, rows, rows + 1).typed()[0]
        if rows.step == 1:
            return TextCells(self.cells, n, rows.start, max(rows.start, rows.stop))
        cells = [cell for i in rows for cell in self.cells[i * n : i * n + n]]
        return TextCells(cells, n)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.typed())
