"""``sales sync`` of a CSV export: cost per row against ``sales.upload`` of the same file, a
second run of the same file, peak memory, and how long the sync holds the event loop.

Speed: a CSV of N rows (2,000 sandbox products x N/2,000 days) synced into a fresh state
against the in-process sandbox with no rate limit, beside ``sales.upload`` of the same file
into a fresh sandbox; each run in a fresh process, interleaved, process CPU time (the sandbox's
work is in it on both sides). Then the same file synced again: nothing has changed, so no
request may leave, and the run should cost a fraction of the first.

Memory: peak RSS, read from outside, of a fresh process syncing N rows against a transport
that acknowledges every batch (no sandbox, whose stored days would fill memory).

Loop lag: a ticker task sleeps 1 ms in a loop beside a 30,000-row sync and records how late
each tick wakes; the row shows the 99th percentile (median of N fresh processes), beside the
same ticker on the idle loop of the same process (the machine's own noise). The sandbox is
served from another process on loopback: run in-process (over ``httpx.ASGITransport``) its
own handling of each 1000-row request runs on the client's event loop, so a second row shows
that figure for information only.

Run alone: ``python -m benchmarks.bench_sync [--rows N]``; the loop lag alone:
``python -m benchmarks.bench_sync --lag``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
LAG_ROWS = 30_000
TICK = 0.001


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


def _p99(lags: list[float]) -> float:
    ordered = sorted(lags)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _ticks(seconds: float | None, done: list[bool]) -> list[float]:
    """How late each 1 ms sleep wakes, for ``seconds`` (or until ``done``)."""
    lags: list[float] = []
    end = time.perf_counter() + (seconds or 1e9)
    while not done and time.perf_counter() < end:
        start = time.perf_counter()
        await anyio.sleep(TICK)
        lags.append(time.perf_counter() - start - TICK)
    return lags


@contextmanager
def _steps(found: list[tuple[float, float]]) -> Iterator[None]:
    """Each step the asyncio event loop runs meanwhile: (wall, CPU) seconds of the thread.
    An instrument of this benchmark only: it wraps asyncio's ``Handle._run``."""
    import asyncio.events

    handle = asyncio.events.Handle
    step = handle._run

    def timed(self: asyncio.events.Handle) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        step(self)
        found.append((time.perf_counter() - wall, time.thread_time() - cpu))

    handle._run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        handle._run = step  # type: ignore[method-assign]


async def _lag(spec: dict[str, Any]) -> dict[str, Any]:
    """Loop lag on the idle loop, then during a sync of ``spec["path"]``; and the loop's steps
    during another sync of it (without the ticker)."""
    idle = await _ticks(1.0, [])
    done: list[bool] = []
    during: list[float] = []
    if spec.get("url"):
        client = AsyncPleasureStock("pk_sandbox_demo_key", base_url=spec["url"], rate_limits=None)
    else:
        client = Sandbox(rate_limits=None, products=PRODUCTS).client(rate_limits=None)
    async with client as ps:

        async def tick() -> None:
            during.extend(await _ticks(None, done))

        async with anyio.create_task_group() as tg:
            tg.start_soon(tick)
            result = await ps.sales.sync(
                read_sales_csv(spec["path"]), state=spec["state"], today=TODAY
            )
            done.append(True)
        assert result.ok and result.stored == result.product_days, result
        steps: list[tuple[float, float]] = []
        with _steps(steps):
            again = await ps.sales.sync(
                read_sales_csv(spec["path"]), state=spec["state"] + "-again", today=TODAY
            )
        assert again.ok and again.stored == again.product_days, again
    return {
        "idle": _p99(idle),
        "sync": _p99(during),
        "max": max(during),
        "ticks": len(during),
        "busy": sum(w for w, _ in steps),
        "blocked": sum(w - c for w, c in steps),
        "longest": max(w for w, _ in steps),
    }


@contextmanager
def _sandbox_process() -> Iterator[str]:
    """``pleasurestock sandbox`` in a child process (its own interpreter and event loop)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "pleasurestock_async", "sandbox"),
            *("--port", str(port), "--no-rate-limits", "--products", str(PRODUCTS)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # a remote server takes no CPU from the client: on a small machine, it yields to it
        preexec_fn=(lambda: os.nice(19)) if hasattr(os, "nice") else None,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


def loop_lag(repeat: int = 3) -> list[Row]:
    """The loop-lag rows: p99 of a 1 ms ticker during a 30,000-row sync (medians of
    ``repeat`` fresh processes), against the sandbox in another process and in-process."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lag.csv"
        write_csv(path, LAG_ROWS)
        counter = iter(range(1_000_000))
        with _sandbox_process() as url:
            for where, target in ((url, True), ("", False)):
                runs = [
                    _run(
                        {
                            "mode": "lag",
                            "path": str(path),
                            "url": where,
                            "state": f"{tmp}/lag{next(counter)}.db",
                        }
                    )
                    for _ in range(repeat)
                ]
                sync = median([r["sync"] for r in runs]) * 1e3
                idle = median([r["idle"] for r in runs]) * 1e3
                worst = max(r["max"] for r in runs) * 1e3
                out.append(
                    Row(
                        f"event-loop lag p99 during a {LAG_ROWS:,}-row sync, 1 ms ticker, "
                        + ("sandbox in another process" if target else "in-process sandbox"),
                        f"{sync:.1f} ms (max {worst:.0f} ms)",
                        f"{idle:.1f} ms (the idle loop, same process)",
                        None,
                        "< 5 ms" if target else "-",
                        sync < 5 if target else None,
                        repeat,
                        "" if target else "the sandbox's own work for each request is on the loop",
                    )
                )
                if target:
                    busy = median([r["busy"] for r in runs]) * 1e3
                    blocked = median([r["blocked"] for r in runs]) * 1e3
                    longest = median([r["longest"] for r in runs]) * 1e3
                    out.append(
                        Row(
                            "the same sync: time in the event loop's steps (blocked off the "
                            "CPU), the longest step",
                            f"{busy:.0f} ms ({blocked:.0f} ms), {longest:.0f} ms",
                            "",
                            None,
                            "-",
                            None,
                            repeat,
                            "a step blocked off the CPU waits for the disk or the OS; the "
                            "longest step is usually a garbage collection",
                        )
                    )
    return out


async def _work(spec: dict[str, Any]) -> dict[str, Any]:
    path, mode = spec["path"], spec["mode"]
    out: dict[str, Any] = {}
    if mode == "lag":
        return await _lag(spec)
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
    parser.add_argument("--lag", action="store_true", help="only the loop-lag rows")
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

    if args.lag:
        print_table(loop_lag(max(args.repeat, 3)))
        return
    print_table(run(args.rows, args.repeat, tuple(args.rss)) + loop_lag(max(args.repeat, 3)))


if __name__ == "__main__":
    main()
