"""Reading a sales CSV against a bare ``csv.reader`` over the same file.

The SDK's figure is the file read as ``sales.upload`` and ``sales.sync`` read it: records in
blocks, 1000 at a time, every line tracked for error reports, number cells left as text for
validation to convert (the reader's checks deferred, as ``csv.reader`` makes none). Also shown:
``async for`` over the reader one record at a time (numbers converted in Python), and the
floor of building one dict per row from ``csv.reader`` rows with no check at all.

``python -m benchmarks.bench_sales_files [--rows N] [--repeat K]``: medians of K interleaved
runs over a CSV of N rows (2,000 products x days, quantity and stock, CRLF).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import anyio

from pleasurestock_async.sales_files import read_sales_csv
from pleasurestock_async.uploads.batcher import chunked

from ._common import Row, interleaved, median, print_table, ratio_row


def write_csv(path: Path, rows: int, delimiter: str = ",") -> None:
    """A plausible ERP export: 2,000 products, consecutive days, CRLF line ends."""
    rng = random.Random(15)
    products = [f"ps_{n:010d}" for n in range(2000)]
    start = date(2025, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["internal_id", "date", "quantity", "stock_on_hand"])
        for n in range(rows):
            day = start + timedelta(days=n // len(products))
            product = products[n % len(products)]
            writer.writerow([product, day.isoformat(), rng.randrange(20), rng.randrange(200)])


def time_csv_reader(path: Path) -> float:
    """Seconds to walk every row with ``csv.reader``."""
    t0 = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - t0


def time_dicts(path: Path) -> float:
    """Seconds to build one dict per row from ``csv.reader`` rows (no check, no thread)."""
    t0 = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        next(rows)
        for r in rows:
            {"internal_id": r[0], "date": r[1], "quantity": r[2], "stock_on_hand": r[3]}
    return time.perf_counter() - t0


def time_read_sales_csv(path: Path) -> float:
    """Seconds to read every record as the upload does (blocks of 1000)."""

    async def walk() -> int:
        count = 0
        async for chunk in chunked(read_sales_csv(path), 1000):
            count += len(chunk)
        return count

    t0 = time.perf_counter()
    anyio.run(walk)
    return time.perf_counter() - t0


def time_records(path: Path) -> float:
    """Seconds to iterate the reader record by record (``async for``)."""

    async def walk() -> int:
        count = 0
        async for _ in read_sales_csv(path):
            count += 1
        return count

    t0 = time.perf_counter()
    anyio.run(walk)
    return time.perf_counter() - t0


def run(rows: int = 1_000_000, repeat: int = 5) -> list[Row]:
    """The table's rows: the upload's reading and record-by-record reading, each against
    ``csv.reader`` (medians of ``repeat`` interleaved runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sales.csv"
        write_csv(path, rows)
        times = interleaved(
            {
                "base": lambda: time_csv_reader(path),
                "sdk": lambda: time_read_sales_csv(path),
                "dicts": lambda: time_dicts(path),
                "records": lambda: time_records(path),
            },
            repeat,
        )
    base = median(times["base"])
    what = f"read a {rows / 1e6:g}M-row CSV as the upload does"
    return [
        ratio_row(
            what,
            median(times["sdk"]) / rows,
            base / rows,
            "csv.reader",
            unit="us/row",
            scale=1e6,
            limit=1.5,
            n=repeat,
            note=f"one dict per csv.reader row, nothing else: {median(times['dicts']) / base:.2f}x",
        ),
        ratio_row(
            f"read a {rows / 1e6:g}M-row CSV record by record",
            median(times["records"]) / rows,
            base / rows,
            "csv.reader",
            unit="us/row",
            scale=1e6,
            limit=None,
            n=repeat,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """Print the rows."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print_table(run(args.rows, args.repeat))


if __name__ == "__main__":
    main()
