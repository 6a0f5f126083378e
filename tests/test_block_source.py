"""Any input may hand its records over in blocks (``BlockSource``, the protocol the sales file
readers implement): the engine then reads ``sales_blocks()``, never the records one by one,
and positions stay those of the whole input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.uploads import BlockSource


class Cursor:
    """A user's input, as from a database cursor's ``fetchmany``: blocks of ``size`` rows."""

    def __init__(self, rows: list[dict[str, Any]], size: int) -> None:
        self.rows, self.size = rows, size
        self.blocks_read = 0

    def __aiter__(self) -> AsyncIterator[Mapping[str, Any]]:
        raise AssertionError("a block source is read through sales_blocks()")

    async def sales_blocks(self) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        for start in range(0, len(self.rows), self.size):
            self.blocks_read += 1
            yield self.rows[start : start + self.size]


async def test_upload_and_sync_read_a_users_block_source_by_blocks(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    ids = [p.internal_id for p in sandbox.products]
    rows: list[dict[str, Any]] = [
        {"internal_id": i, "date": f"2025-11-0{day}", "quantity": day}
        for day in (1, 2)
        for i in ids
    ]
    rows[7] = {**rows[7], "quantity": -1}  # in the second block of three
    cursor = Cursor(rows, size=3)
    assert isinstance(cursor, BlockSource)
    async with sandbox.client() as ps:
        uploaded = await ps.sales.upload(cursor, chunk_size=4, on_invalid="skip")
        assert [(e.index, e.field) for e in uploaded.input_errors] == [(7, "quantity")]
        assert (uploaded.read, uploaded.stored, uploaded.batches) == (10, 9, 3)
        assert cursor.blocks_read == 4
        synced = await ps.sales.sync(
            Cursor(rows, size=4), state=str(tmp_path / "state.db"), on_invalid="skip"
        )
    assert [(e.index, e.field) for e in synced.input_errors] == [(7, "quantity")]
    assert (synced.read, synced.product_days, synced.to_send) == (10, 9, 9)
