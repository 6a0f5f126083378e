"""The fast paths behave as the plain ones: text cells from a sales file validate as the
reader's converted records do, and block-wise chunking yields the same records and ranges."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pleasurestock_async import sales_files
from pleasurestock_async.sales_files import FIELDS, SalesFiles, read_sales_csv, read_sales_jsonl
from pleasurestock_async.uploads.batcher import chunked
from pleasurestock_async.uploads.blocks import TextCells
from pleasurestock_async.uploads.codec import validate_rows

pytestmark = pytest.mark.concurrency

CELLS = [
    "12",
    "007",
    "0",
    "2147483647",
    "2147483648",
    "99999999999",
    "-1",
    "-0",
    "+3",
    " 5",
    "5 ",
    "1.0",
    "1e3",
    "1_000",
    "",
    " ",
    "\t",
    "abc",
    "\u0661\u0662",
    "\u00a0",
    "0x10",
]


def text_record(quantity: str, stock: str | None, day: str = "2025-11-03") -> dict[str, Any]:
    record: dict[str, Any] = {"internal_id": "ps_abcdefghij", "date": day, "quantity": quantity}
    if stock is not None:
        record["stock_on_hand"] = stock
    return record


def cells_of(records: list[dict[str, Any]]) -> TextCells:
    """Text records of one shape as the reader hands them over."""
    width = 4 if "stock_on_hand" in records[0] else 3
    return TextCells([r[f] for r in records for f in FIELDS[:width]], width)


def same_as_reader(records: list[dict[str, Any]]) -> None:
    fast = validate_rows(cells_of(records), 40)
    plain = validate_rows(cells_of(records).typed(), 40)
    assert fast == plain


@pytest.mark.parametrize("quantity", CELLS)
def test_text_quantity_validates_as_converted(quantity: str) -> None:
    same_as_reader([text_record(quantity, "3")])
    same_as_reader([text_record("1", None), text_record(quantity, None)])


@pytest.mark.parametrize("stock", [*CELLS, None])
def test_text_stock_validates_as_converted(stock: str | None) -> None:
    same_as_reader([text_record("4", stock)])
    rows, _, errors = validate_rows(cells_of([text_record("4", stock)]))
    if not errors:
        assert set(rows[0]) <= {"internal_id", "date", "quantity", "stock_on_hand"}
        assert rows[0].get("stock_on_hand", 0) is not None  # a blank stock is left out


@pytest.mark.parametrize("day", ["2025-02-29", "2024-02-29", "2025-13-01", "03/11/2025", ""])
def test_text_dates_validate_as_converted(day: str) -> None:
    same_as_reader([text_record("1", "2", day)])


def test_user_dicts_keep_refusing_number_strings() -> None:
    _, _, errors = validate_rows(
        [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": "5"}]
    )
    assert [e.field for e in errors] == ["quantity"]


def write_files(tmp_path: Path) -> list[Path]:
    a = tmp_path / "a.csv"
    lines = ["internal_id;date;quantity;stock_on_hand"]
    lines += [f"ps_{n:010d};2025-11-0{1 + n % 9};{n % 7};{'' if n % 5 else n}" for n in range(2345)]
    lines.insert(700, "")  # a blank line shifts the lines after it
    lines.insert(900, 'ps_0000000900;"2025-11-\n01";1;2')  # a cell spanning two lines
    a.write_text("\n".join(lines) + "\n")
    b = tmp_path / "b.jsonl"
    b.write_text(
        "\n".join(
            json.dumps({"internal_id": f"ps_{n:010d}", "date": "2025-11-02", "quantity": n})
            for n in range(1500)
        )
    )
    c = tmp_path / "c.csv"
    c.write_text(
        "internal_id,date,quantity\n"
        + "".join(f"ps_{n:010d},2025-11-03,{n}\n" for n in range(1234))
    )
    return [a, b, c]


def sources(paths: list[Path]) -> SalesFiles:
    return SalesFiles(
        [read_sales_jsonl(p) if p.suffix == ".jsonl" else read_sales_csv(p) for p in paths]
    )


@pytest.mark.parametrize("size", [1, 7, 1000, 2500])
async def test_block_chunks_match_record_chunks(tmp_path: Path, size: int) -> None:
    paths = write_files(tmp_path)
    for chosen in ([paths[0]], [paths[0], paths[2]], paths, [paths[1], paths[0]]):
        one = sources(chosen)
        records = [r async for r in one]
        expected = [records[i : i + size] for i in range(0, len(records), size)]
        other = sources(chosen)
        got = []
        async for chunk in chunked(other, size):
            got.append(chunk.typed() if isinstance(chunk, TextCells) else list(chunk))
        assert got == expected
        assert [other.where(i) for i in range(len(records))] == [
            one.where(i) for i in range(len(records))
        ]


async def test_block_reading_keeps_lines(tmp_path: Path) -> None:
    path = write_files(tmp_path)[0]
    one = read_sales_csv(path)
    records = [r async for r in one]
    other = read_sales_csv(path)
    async for _ in chunked(other, 1000):
        pass
    assert other.records == one.records == len(records)
    assert [other.line_of(i) for i in range(len(records))] == [
        one.line_of(i) for i in range(len(records))
    ]


def test_state_written_product_first_is_rebuilt_day_first(tmp_path: Path) -> None:
    import sqlite3

    from pleasurestock_async.uploads.state import SyncState

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('version', '2');"
        "CREATE TABLE days (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER NOT NULL,"
        " stock INTEGER, PRIMARY KEY (product, day)) WITHOUT ROWID;"
        "INSERT INTO days VALUES ('ps_abcdefghij', '2025-11-03', 5, NULL),"
        " ('ps_abcdefghij', '2025-11-04', 2, 7);"
        # the rest of a state as the first states of 0.2 wrote it
        "CREATE TABLE pending (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER NOT"
        " NULL, stock INTEGER, state TEXT NOT NULL, batch TEXT NOT NULL, error TEXT,"
        " updated_at REAL NOT NULL, PRIMARY KEY (product, day)) WITHOUT ROWID;"
    )
    db.commit()
    db.close()
    state = SyncState(path)
    try:
        assert state.stored() == {
            ("ps_abcdefghij", "2025-11-03"): (5, None),
            ("ps_abcdefghij", "2025-11-04"): (2, 7),
        }
        state.acknowledge([("ps_abcdefghij", "2025-11-03", 1, 3)])
        assert state.stored()[("ps_abcdefghij", "2025-11-03")] == (6, 3)
    finally:
        state.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'days'").fetchone()
    assert "PRIMARY KEY (day, product)" in sql


async def test_block_chunks_stop_as_record_chunks_at_a_broken_file(tmp_path: Path) -> None:
    from pleasurestock_async.uploads.batcher import PartialInputError

    path = tmp_path / "broken.csv"
    lines = ["internal_id,date,quantity"]
    lines += [f"ps_{n:010d},2025-11-03,{n % 9}" for n in range(15_000)]
    lines.append('ps_0000000000,"2025-11-03,1')  # a quote never closed: the file is refused
    lines += [f"ps_{n:010d},2025-11-04,1" for n in range(100)]
    path.write_text("\n".join(lines) + "\n")

    async def one_by_one() -> AsyncIterator[dict[str, Any]]:
        async for record in read_sales_csv(path):
            yield record

    async def walk(source: Any, got: list[list[dict[str, Any]]]) -> None:
        async for chunk in chunked(source, 7):
            got.append(chunk.typed() if isinstance(chunk, TextCells) else list(chunk))

    outcomes = []
    for source in (read_sales_csv(path), one_by_one()):
        got: list[list[dict[str, Any]]] = []
        with pytest.raises(PartialInputError) as info:
            await walk(source, got)
        outcomes.append((got, info.value.consumed, type(info.value.__cause__)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] == 10_000 % 7 and len(outcomes[0][0]) == 10_000 // 7


@pytest.mark.parametrize("kind", [list, tuple])
async def test_a_list_or_tuple_is_sliced_as_an_iterator_is_chunked(kind: Any) -> None:
    records = [{"n": n} for n in range(2503)]

    async def walk(source: Any) -> list[Any]:
        return [chunk async for chunk in chunked(source, 1000)]

    sliced = await walk(kind(records))
    assert sliced == await walk(iter(records))
    assert [len(c) for c in sliced] == [1000, 1000, 503]
    assert all(type(c) is list for c in sliced)  # a tuple's slices are handed out as lists
    assert await walk(kind()) == []


def test_text_cells_slice_as_a_list_does() -> None:
    records = [text_record(str(n), "" if n % 3 else str(n)) for n in range(10)]
    cells = cells_of(records)
    typed = cells.typed()
    assert list(cells) == typed and len(cells) == 10
    bounds = [None, -12, -3, 0, 2, 9, 10, 15]
    for start, stop, step in itertools.product(bounds, bounds, [None, 1, 2, -1, -3]):
        cut = slice(start, stop, step)
        assert list(cells[cut]) == typed[cut]
        assert list(cells[2:8][cut]) == typed[2:8][cut]
    assert [cells[i] for i in range(-10, 10)] == [typed[i] for i in range(-10, 10)]
    with pytest.raises(IndexError):
        cells[10]


CSV_CELLS = st.sampled_from(
    ["ps_abcdefghij", "2025-11-03", "2025-02-29", "7", "007", " 5", "", "x", "-1", '"a\nb"']
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.lists(CSV_CELLS, max_size=5), max_size=40),
    stock=st.booleans(),
    eol=st.sampled_from(["\n", "\r\n"]),
    sizes=st.sampled_from([(10_000, 500), (7, 3), (5, 2)]),
)
def test_csv_blocks_hold_the_records_read_one_by_one(
    rows: list[list[str]], stock: bool, eol: str, sizes: tuple[int, int]
) -> None:
    """Blank lines, wrong widths and cells spanning lines anywhere in a block (or a batch of
    rows within it): the blocks hold the same records, lines and problems, and those are what
    a plain ``csv.reader`` walk finds."""
    header = "internal_id,date,quantity" + (",stock_on_hand" if stock else "")
    text = eol.join([header, *(",".join(row) for row in rows)]) + eol
    width = 4 if stock else 3
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    next(reader)
    found: list[str] = []
    lines: list[int] = []
    problems: list[int] = []
    last = 1  # the line a row starts on follows the previous row's last
    for row in reader:
        start, last = last + 1, reader.line_num
        if len(row) == width:
            found += row
            lines.append(start)
        elif "".join(row).strip():
            problems.append(start)

    async def compare(path: Path) -> None:
        one = read_sales_csv(path, on_error="skip")
        records = [r async for r in one]
        assert records == TextCells(found, width).typed()
        assert [one.line_of(i) for i in range(len(records))] == lines
        assert [s.line for s in one.skipped] == problems
        other = read_sales_csv(path, on_error="skip")
        chunks = [chunk async for chunk in chunked(other, 4)]
        assert [r for chunk in chunks for r in chunk] == records
        for chunk in chunks:
            assert validate_rows(chunk, 3) == validate_rows(list(chunk), 3)
        assert other.skipped == one.skipped
        assert [other.line_of(i) for i in range(len(records) + 1)] == [
            one.line_of(i) for i in range(len(records) + 1)
        ]

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(sales_files, "_BLOCK", sizes[0]))
        stack.enter_context(mock.patch.object(sales_files, "_ROWS", sizes[1]))
        path = Path(tmp) / "s.csv"
        path.write_bytes(text.encode())
        anyio.run(compare, path)
