from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import SalesUploadError
from pleasurestock_async.sales_files import (
    SalesFileError,
    SalesFiles,
    read_sales_csv,
    read_sales_jsonl,
)

pytestmark = pytest.mark.concurrency


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
    assert rows[1] == {
        "internal_id": "ps_0123456789",
        "date": "2025-11-03",
        "quantity": 8,
        "stock_on_hand": None,  # an empty stock is no stock (the upload drops the key)
    }
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
        and "unknown columns: day" in str(info.value)
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
        "internal_id,date,quantity,stock_on_hand\n"
        "ps_abcdefghij,2025-11-03,1,\n"
        "\n"
        "ps_abcdefghij,2025-13-03,1,4\n"
        "ps_abcdefghij,2025-11-04,2,5\n"
    )
    source = read_sales_csv(path)
    result = await ps.sales.upload(source, on_invalid="skip")
    (bad,) = result.input_errors
    assert bad.field == "date" and source.line_of(bad.index) == 4  # type: ignore[arg-type]
    assert result.stored == 2  # the empty stock on line 2 is sent without a stock


async def test_broken_file_stops_upload_with_result(
    ps: AsyncPleasureStock, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.post("/sales").respond(json={"success": True, "processed": 1})
    path = tmp_path / "s.jsonl"
    path.write_text('{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}\n{x\n')
    with pytest.raises(SalesUploadError) as info:
        await ps.sales.upload(read_sales_jsonl(path))
    assert info.value.reason == "input_error" and ":2:" in str(info.value)


async def test_real_exports_semicolon_bom_crlf_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "erp.csv"
    path.write_bytes(
        b"\xef\xbb\xbfArtikel;Datum;Menge;Bestand;Lager\r\n"
        b"ps_abcdefghij;03/11/2025;5;10;A\r\n"
        b"\r\n"
        b"   \r\n"
        b"ps_0123456789;04/11/2025;7;;B\r\n"
    )
    source = read_sales_csv(
        path,
        columns={
            "Artikel": "internal_id",
            "Datum": "date",
            "Menge": "quantity",
            "Bestand": "stock_on_hand",
        },
        date_format="%d/%m/%Y",
    )
    rows = await collect(source)
    assert rows == [
        {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 5, "stock_on_hand": 10},
        {
            "internal_id": "ps_0123456789",
            "date": "2025-11-04",
            "quantity": 7,
            "stock_on_hand": None,
        },
    ]
    assert [source.line_of(i) for i in range(2)] == [2, 5]
    assert source.ignored_columns == ["Lager"]
    assert source.notices == [f"{path}:1: ignoring columns Lager"]
    with pytest.raises(SalesFileError, match=r"erp\.csv:1: unknown columns: Bestand, Lager"):
        await collect(
            read_sales_csv(
                path,
                columns={"Artikel": "internal_id", "Datum": "date", "Menge": "quantity"},
                strict_columns=True,
            )
        )


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
async def test_delimiter_sniffed_or_given(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        delimiter.join(["internal_id", "date", "quantity"])
        + "\n"
        + delimiter.join(["ps_abcdefghij", "2025-11-03", "3"])
        + "\n"
    )
    assert (await collect(read_sales_csv(path)))[0]["quantity"] == 3
    assert (await collect(read_sales_csv(path, delimiter=delimiter)))[0]["quantity"] == 3


async def test_unparsed_dates_and_numbers_are_left_for_validation(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "internal_id,date,quantity\nps_abcdefghij,31/02/2025,x1\nps_abcdefghij,01/03/2025, 7 \n"
    )
    rows = await collect(read_sales_csv(path, date_format="%d/%m/%Y"))
    assert rows[0] == {"internal_id": "ps_abcdefghij", "date": "31/02/2025", "quantity": "x1"}
    assert rows[1]["date"] == "2025-03-01" and rows[1]["quantity"] == 7


async def test_gzip_by_magic_bytes(tmp_path: Path) -> None:
    text = "internal_id,date,quantity\nps_abcdefghij,2025-11-03,4\n"
    named = tmp_path / "s.csv.gz"
    named.write_bytes(gzip.compress(text.encode()))
    unnamed = tmp_path / "plain-name.csv"
    unnamed.write_bytes(gzip.compress(text.encode()))
    for path in (named, unnamed):
        assert (await collect(read_sales_csv(path)))[0]["quantity"] == 4
    jsonl = tmp_path / "s.jsonl.gz"
    jsonl.write_bytes(
        gzip.compress(b'{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 2}\n')
    )
    assert (await collect(read_sales_jsonl(jsonl)))[0]["quantity"] == 2


async def test_multiline_cells_and_wrong_widths_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    lines = ["internal_id,date,quantity"]
    lines += [f"ps_abcdefghij,2025-11-03,{n}" for n in range(2500)]  # past one block
    lines.insert(2200, '"ps_two\nlines",2025-11-03,1')
    lines.insert(2300, "ps_abcdefghij,2025-11-03")
    path.write_text("\n".join(lines) + "\n")
    source = read_sales_csv(path, on_error="skip")
    rows = await collect(source)
    assert len(rows) == 2501
    assert source.line_of(0) == 2 and source.line_of(2198) == 2200
    assert rows[2199]["internal_id"] == "ps_two\nlines" and source.line_of(2199) == 2201
    assert source.line_of(2200) == 2203  # the quoted cell spans lines 2201-2202
    assert [s.line for s in source.skipped] == [2302]
    assert rows[2299]["quantity"] == 2298 and source.line_of(2299) == 2303


async def test_a_quote_left_open_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        'internal_id,date,quantity\nps_abcdefghij,"2025-11-03,1\n'
        + "ps_abcdefghij,2025-11-03,1\n" * 6000
    )
    with pytest.raises(SalesFileError, match="quote left open"):
        await collect(read_sales_csv(path, on_error="skip"))


async def test_other_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(
        "internal_id,date,quantity\nps_abcdefghij,2025-11-03,1\nÇ,x,1\n".encode("cp1254")
    )
    with pytest.raises(SalesFileError, match="another encoding"):
        await collect(read_sales_csv(path))
    rows = await collect(read_sales_csv(path, encoding="cp1254"))
    assert rows[1]["internal_id"] == "Ç"


async def test_several_files_are_one_input(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text(
        "internal_id,date,quantity\nps_abcdefghij,2025-11-03,1\n\nps_abcdefghij,2025-11-04,1\n"
    )
    b = tmp_path / "b.jsonl"
    b.write_text('\n{"internal_id": "ps_abcdefghij", "date": "2025-11-05", "quantity": 1}\n')
    both = SalesFiles([read_sales_csv(a), read_sales_jsonl(b)])
    rows = await collect(both)
    assert [r["date"] for r in rows] == ["2025-11-03", "2025-11-04", "2025-11-05"]
    assert [both.where(i) for i in range(3)] == [(str(a), 2), (str(a), 4), (str(b), 2)]
    assert both.records == 3
