"""``sales sync`` of a CSV export: cost per row against ``sales.upload`` of the same file, a
second run of the same file, and peak memory.

Speed: a CSV of N rows (2,000 sandbox products x N/2,000 days) synced into a fresh state
against the in-process sandbox with no rate limit, beside ``sales.upload`` of the same file
into a fresh sandbox; each run in a fresh process, interleaved, process CPU time (the sandbox's
work is in it on both sides). Then the same file synced again: nothing has changed, so no
request may leave, and the run should cost a fraction of the first.

Memory: peak RSS, read from outside, of a fresh process syncing N rows against a transport
that acknowledges every batch (no sandbox, whose stored days would fill memory).

Run alone: ``python -m benchmarks.bench_sync [--rows N]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.sales_files import read_sales_csv
from pleasurestock_async.sandbox import Sandbox

from ._common import Row, child, hold_for_measure, interleaved, median, peak_rss_many, ratio_row

PRODUCTS = 2000
TODAY = dt.date(2030, 1, 1)  # every day of the file is closed: its stock is sent too


def write_csv(path: Path, rows: int) -> None:
    """Sandbox products x consecutive days, quantity and stock."""
    ids = [p.internal_id for p in Sandbox(rate_limits=None, products=PRODUCTS).products]
    rng = random.Random(11)
    start = dt.date(2022, 1, 1)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["internal_id", "date", "quantity", "stock_on_hand"])
        for n in range(rows):
            day = start + dt.timedelta(days=n // PRODUCTS)
            writer.writerow(
                [ids[n % PRODUCTS], day.isoformat(), rng.randrange(20), rng.randrange(200)]
            )


def _acknowledge(request: httpx.Request) -> httpx.Response:
    count = request.content.count(b'"internal_id"')
    return httpx.Response(
        200,
        content=b'{"success":true,"processed":%d}' % count,
        headers={"Content-Type": "application/json"},
    )


async def _work(spec: dict[str, Any]) -> dict[str, Any]:
    path, mode = spec["path"], spec["mode"]
    out: dict[str, Any] = {}
    if mode == "memory":
        http = httpx.AsyncClient(transport=httpx.MockTransport(_acknowledge))
        async with AsyncPleasureStock(
            "pk_bench",
            base_url="https://bench.invalid/api/v1",
            rate_limits=None,
            http_client=http,
        ) as ps:
            result = await ps.sales.sync(read_sales_csv(path), state=spec["state"], today=TODAY)
        await http.aclose()
        assert result.ok and result.stored == result.read, result
        return {"stored": result.stored}
    sandbox = Sandbox(rate_limits=None, products=PRODUCTS)
    async with sandbox, sandbox.client(rate_limits=None) as ps:
        start = time.process_time()
        if mode == "upload":
            uploaded = await ps.sales.upload(read_sales_csv(path))
            assert uploaded.ok, uploaded
            out["first"] = time.process_time() - start
            return out
        result = await ps.sales.sync(read_sales_csv(path), state=spec["state"], today=TODAY)
        out["first"] = time.process_time() - start
        assert result.ok and result.stored == result.product_days, result
        before = sum(sandbox.request_counts.values())
        start = time.process_time()
        again = await ps.sales.sync(read_sales_csv(path), state=spec["state"], today=TODAY)
        out["second"] = time.process_time() - start
        out["second_requests"] = sum(sandbox.request_counts.values()) - before
        assert again.ok and again.sent == 0 and again.unchanged == again.product_days, again
    return out


def _run(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(child(["benchmarks.bench_sync", "--worker", json.dumps(spec)])))


def run(
    rows: int = 1_000_000, repeat: int = 1, rss: tuple[int, ...] = (1_000_000, 5_000_000)
) -> list[Row]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        write_csv(path, max(rows, *rss))
        small = Path(tmp) / "small.csv"
        with path.open() as source, small.open("w") as target:
            for n, line in enumerate(source):
                if n > rows:
                    break
                target.write(line)
        seconds: list[float] = []
        requests: list[int] = []
        counter = iter(range(1_000_000))

        def sync() -> float:
            report = _run(
                {"mode": "sync", "path": str(small), "state": f"{tmp}/s{next(counter)}.db"}
            )
            seconds.append(report["second"])
            requests.append(report["second_requests"])
            return float(report["first"])

        times = interleaved(
            {
                "sync": sync,
                "upload": lambda: float(_run({"mode": "upload", "path": str(small)})["first"]),
            },
            repeat,
            warm_up=False,
        )
        first = median(times["sync"])
        out.append(
            ratio_row(
                f"sales sync of a {rows / 1e6:g}M-row CSV, in-process sandbox: CPU per row",
                first / rows,
                median(times["upload"]) / rows,
                "sales.upload of the same file",
                unit="us",
                scale=1e6,
                limit=1.5,
                n=repeat,
                note="the sandbox's own work is in both figures",
            )
        )
        second = median(seconds)
        out.append(
            Row(
                "the same file synced again (nothing changed)",
                f"{second:.1f} s, {max(requests)} requests",
                f"{first:.1f} s (first sync)",
                second / first,
                "0 requests, < 0.2x",
                max(requests) == 0 and second / first < 0.2,
                repeat,
            )
        )
        parts = []
        for count in rss:
            part = Path(tmp) / f"rss{count}.csv"
            if count == max(rows, *rss):
                part = path
            else:
                with path.open() as source, part.open("w") as target:
                    for n, line in enumerate(source):
                        if n > count:
                            break
                        target.write(line)
            spec = {"mode": "memory", "path": str(part), "state": f"{tmp}/m{count}.db"}
            parts.append(["benchmarks.bench_sync", "--worker", json.dumps(spec)])
        peaks = peak_rss_many(parts)
        flat = max(peaks) <= min(peaks) * 1.1
        out.append(
            Row(
                "peak RSS of sales sync, " + " / ".join(f"{c / 1e6:g}M" for c in rss) + " rows",
                " / ".join(f"{p:.0f} MB" for p in peaks),
                "",
                None,
                "< 200 MB, flat",
                max(peaks) < 200 and flat,
                1,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rss", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        report = anyio.run(_work, spec)
        print(json.dumps(report), flush=True)
        if spec["mode"] == "memory":
            hold_for_measure()
        return
    from ._common import print_table

    print_table(run(args.rows, args.repeat, tuple(args.rss)))


if __name__ == "__main__":
    main()
