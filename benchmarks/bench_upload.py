"""Sales upload speed and memory.

Speed: 1,000,000 records through ``sales.upload`` (validation included) against an in-process
no-op transport, compared in the same run with a baseline of raw httpx posting the same dicts
with ``json.dumps`` and no validation, both with 4 concurrent senders. Runs alternate between
the two and the medians are compared; time is the process's CPU time, which the other tenants
of a shared machine disturb far less than wall time (both sides are CPU-bound here).

Memory: peak RSS of a fresh process that streams N generated records through the upload, and
of one that pushes a 5,000,000-row CSV file through ``read_sales_csv`` and the upload.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.sales_files import read_sales_csv

BASE = "https://bench.invalid/api/v1"


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        content=b'{"success":true,"processed":1000}',
        headers={"Content-Type": "application/json"},
    )


def records(count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        yield {
            "internal_id": f"ps_{n % 100_000:010d}",
            "date": f"2025-{1 + n // 1_000_000 % 12:02d}-{1 + n // 100_000 % 28:02d}",
            "quantity": n % 17,
            "stock_on_hand": n % 300,
        }


async def sdk_upload(rows: list[dict[str, Any]]) -> float:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    async with AsyncPleasureStock(
        "pk_bench", base_url=BASE, rate_limits=None, http_client=http
    ) as ps:
        start = time.process_time()
        result = await ps.sales.upload(rows, concurrency=4)
        elapsed = time.process_time() - start
    await http.aclose()
    assert result.ok
    assert result.accepted == len(rows)
    return elapsed


async def baseline_upload(rows: list[dict[str, Any]]) -> float:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    send, receive = anyio.create_memory_object_stream[bytes](0)

    async def worker(stream: Any) -> None:
        async with stream:
            async for body in stream:
                response = await http.post(
                    BASE + "/sales",
                    content=body,
                    headers={"X-API-Key": "pk_bench", "Content-Type": "application/json"},
                )
                response.json()

    start = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker, receive.clone())
        receive.close()
        async with send:
            for i in range(0, len(rows), 1000):
                await send.send(json.dumps({"sales": rows[i : i + 1000]}).encode())
    elapsed = time.process_time() - start
    await http.aclose()
    return elapsed


def speed(count: int, repeats: int) -> dict[str, float]:
    rows = list(records(count))
    sdk, base = [], []
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        base.append(anyio.run(baseline_upload, rows))
        sdk.append(anyio.run(sdk_upload, rows))
    sdk_median, base_median = statistics.median(sdk), statistics.median(base)
    return {
        "records": count,
        "sdk_us_per_record": sdk_median / count * 1e6,
        "baseline_us_per_record": base_median / count * 1e6,
        "ratio": sdk_median / base_median,
    }


async def _generated(count: int) -> AsyncIterator[dict[str, Any]]:
    for row in records(count):
        yield row


async def _stream_upload(count: int, csv_path: str | None) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    source = read_sales_csv(csv_path) if csv_path else _generated(count)
    async with AsyncPleasureStock(
        "pk_bench", base_url=BASE, rate_limits=None, http_client=http
    ) as ps:
        result = await ps.sales.upload(source, concurrency=4)
    await http.aclose()
    assert result.accepted == count, result


def write_csv(path: Path, count: int) -> None:
    with path.open("w") as f:
        f.write("internal_id,date,quantity,stock_on_hand\n")
        for r in records(count):
            f.write(f"{r['internal_id']},{r['date']},{r['quantity']},{r['stock_on_hand']}\n")


def peak_rss_mb(count: int, csv_path: Path | None = None) -> float:
    """Peak RSS of a fresh process streaming ``count`` records (interpreter included)."""
    command = [sys.executable, "-m", "benchmarks.bench_upload", "--stream", str(count)]
    if csv_path is not None:
        command += ["--csv", str(csv_path)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rss", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--csv-rows", type=int, default=5_000_000)
    parser.add_argument("--stream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream is not None:
        anyio.run(_stream_upload, args.stream, args.csv)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return

    # Memory first: a child's peak RSS starts at its parent's size at fork time, so the
    # children are spawned while this process is still small.
    empty = peak_rss_mb(0)
    print(f"peak RSS of a process streaming N records (interpreter + imports: {empty:.1f} MB):")
    for count in args.rss:
        print(f"  {count:>9,} records: {peak_rss_mb(count):.1f} MB  (target < 200 MB, flat)")
    if args.csv_rows:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sales.csv"
            write_csv(path, args.csv_rows)
            size = path.stat().st_size / 2**20
            started = time.perf_counter()
            rss = peak_rss_mb(args.csv_rows, path)
            took = time.perf_counter() - started
            print(
                f"  {args.csv_rows:>9,}-row CSV ({size:.0f} MB) via read_sales_csv: {rss:.1f} MB"
                f" peak, {took:.0f} s wall ({args.csv_rows / took:,.0f} rows/s)"
            )

    figures = speed(args.records, args.repeats)
    print(f"upload speed, {figures['records']:,} records, median of {args.repeats}:")
    print(f"  sdk (validated)  {figures['sdk_us_per_record']:.3f} us/record")
    print(f"  raw httpx+json   {figures['baseline_us_per_record']:.3f} us/record")
    print(f"  ratio            {figures['ratio']:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
