from __future__ import annotations

from pathlib import Path

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import SalesUploadError
from pleasurestock_async.sales_files import SalesFileError, read_sales_csv, read_sales_jsonl


async def collect(source) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [r async for r in source]


async def test_csv_types_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(
        "internal_id,date,quantity,stock_on_hand\n"
        "ps_abcdefghij,2025-11-03,15,120\n"
        "\n"
        "ps_0123456789,2025-11-03,8,\n"
        '"ps_multiline\nid",2025-11-03,x,-1\n'
        "ps_abcdefghij,2025-11-04,0,0\n"
    )
    source = read_sales_csv(path)
    rows = await collect(source)
    assert rows[0] == {
        "internal_id": "ps_abcdefghij",
        "date": "2025-11-03",
        "quantity": 15,
        "stock_on_hand": 120,
    }
    assert rows[1] == {"internal_id": "ps_0123456789", "date": "2025-11-03", "quantity": 8}
    assert rows[2]["quantity"] == "x" and rows[2]["stock_on_hand"] == -1
    assert [source.line_of(i) for i in range(4)] == [2, 4, 5, 7]


async def test_csv_header_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("internal_id,day,quantity\nps_abcdefghij,2025-11-03,1\n")
    with pytest.raises(SalesFileError) as info:
        await collect(read_sales_csv(path))
    assert (
        info.value.line == 1
        and "missing date" in str(info.value)
        and "unknown day" in str(info.value)
    )


async def test_csv_wrong_column_count(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "internal_id,date,quantity\nps_abcdefghij,2025-11-03\nps_abcdefghij,2025-11-03,1\n"
    )
    with pytest.raises(SalesFileError, match=r"s\.csv:2: expected 3 columns"):
        await collect(read_sales_csv(path))
    skipping = read_sales_csv(path, on_error="skip")
    assert len(await collect(skipping)) == 1
    assert [(s.line, s.reason) for s in skipping.skipped] == [(2, "expected 3 columns, found 2")]
    assert skipping.line_of(0) == 3


async def test_jsonl_lines_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}\n'
        "\n"
        "{broken\n"
        "[1, 2]\n"
        '{"internal_id": "ps_abcdefghij", "date": "2025-11-04", "quantity": 2}\n'
    )
    source = read_sales_jsonl(path, on_error="skip")
    rows = await collect(source)
    assert [r["quantity"] for r in rows] == [1, 2]
    assert [source.line_of(i) for i in range(2)] == [1, 5]
    assert [s.line for s in source.skipped] == [3, 4]
    with pytest.raises(SalesFileError, match=":3: not valid JSON"):
        await collect(read_sales_jsonl(path))


async def test_large_file_line_map_stays_small(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("internal_id,date,quantity\n")
        for n in range(50_000):
            f.write(f"ps_abcdefghij,2025-11-03,{n % 9}\n")
    source = read_sales_csv(path)
    count = 0
    async for _ in source:
        count += 1
    assert count == 50_000 and source.line_of(49_999) == 50_001
    assert len(source._shift) == 1


async def test_upload_from_file_reports_line_numbers(
    ps: AsyncPleasureStock, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.post("/sales").respond(json={"success": True, "processed": 2})
    path = tmp_path / "s.csv"
    path.write_text(
        "internal_id,date,quantity\n"
        "ps_abcdefghij,2025-11-03,1\n"
        "\n"
        "ps_abcdefghij,2025-13-03,1\n"
        "ps_abcdefghij,2025-11-04,2\n"
    )
    source = read_sales_csv(path)
    result = await ps.sales.upload(source, on_invalid="skip")
    (bad,) = result.rejected
    assert bad.field == "date" and source.line_of(bad.index) == 4  # type: ignore[arg-type]


async def test_broken_file_stops_upload_with_result(
    ps: AsyncPleasureStock, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.post("/sales").respond(json={"success": True, "processed": 1})
    path = tmp_path / "s.jsonl"
    path.write_text('{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}\n{x\n')
    with pytest.raises(SalesUploadError) as info:
        await ps.sales.upload(read_sales_jsonl(path))
    assert info.value.reason == "input_error" and ":2:" in str(info.value)
