"""Reading a sales CSV with ``read_sales_csv`` against a bare ``csv.reader`` over the same file.

``python -m benchmarks.bench_sales_files [--rows N] [--repeat K]``: writes a CSV of N rows
(2,000 products x days, quantity and stock), then times, best of K, a loop over
``csv.reader`` (the floor: no records built) and an ``async for`` over ``read_sales_csv``
(records built, numbers converted, lines tracked; validation is the upload's job).
Target: at most 1.5x.
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


def time_read_sales_csv(path: Path) -> float:
    """Seconds to read every record with ``read_sales_csv``."""

    async def walk() -> int:
        count = 0
        async for _ in read_sales_csv(path):
            count += 1
        return count

    t0 = time.perf_counter()
    anyio.run(walk)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Print both timings and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sales.csv"
        write_csv(path, args.rows)
        base = min(time_csv_reader(path) for _ in range(args.repeat))
        ours = min(time_read_sales_csv(path) for _ in range(args.repeat))
    print(f"{args.rows:,} rows, best of {args.repeat}")
    print(f"  csv.reader      {base:6.3f} s  ({base / args.rows * 1e6:.2f} us/row)")
    print(f"  read_sales_csv  {ours:6.3f} s  ({ours / args.rows * 1e6:.2f} us/row)")
    print(f"  ratio           {ours / base:6.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
