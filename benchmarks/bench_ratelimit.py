"""Rate limits under load, side by side: how much of the budget each client uses and how
many 429s it draws, against one local server over real HTTP on loopback.

The server enforces the vendor's window shapes scaled down in time (standard API: 150 per
10 s, 40 per 1 s, 8 per 0.1 s, the shape of 1000/h, 100/min, 10/s) with its own sliding-window
counter, written from the API reference's rule: a request that would put more than N requests
in any span of T seconds is answered 429 and not counted. Clients, each in its own processes,
200 tasks in all, all sending ``GET /products`` through ``AsyncPleasureStock`` (no retries):

- ``ours, in-process``: the default sliding windows, one process;
- ``ours, Redis``: :class:`RedisRateLimiter`, 4 processes x 50 tasks sharing one key;
- ``aiolimiter, naive``: one ``AsyncLimiter(limit, period)`` per window, taken in turn;
- ``aiolimiter, safe``: the same, each sized so that burst + rate x T <= limit.

"Budget used" is what the server admitted in the run, against the most a perfect client
could have had admitted in that time. Also measured: what one Redis ``acquire`` costs on
loopback (median and 99th percentile).

Run: ``python -m benchmarks.bench_ratelimit`` (about 70 s; needs ``redis-server`` for the
Redis rows, else they are left out).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import uvicorn

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import APIError, RateLimitError
from pleasurestock_async.ratelimit import BucketName, BucketStatus
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

WINDOWS = (Window(150, 10.0), Window(40, 1.0), Window(8, 0.1))
LIMITS = RateLimitConfig(standard=WINDOWS)
TASKS = 200
STARTUP = 3.0
"""Seconds given to the worker processes to start; then they all begin at the same moment."""
ROOT = Path(__file__).resolve().parents[1]


# -- the server ----------------------------------------------------------------------------------


class Enforcer:
    """The server's rule for ``/products``: admitted only while every window has room;
    otherwise 429 with ``Retry-After`` (whole seconds) and not counted."""

    def __init__(self, app: Any, windows: Sequence[Window]) -> None:
        self.app = app
        self.windows = windows
        self.stamps: list[deque[float]] = [deque() for _ in windows]
        self.admitted: list[float] = []
        self.rejected = 0

    def reset(self) -> None:
        self.stamps = [deque() for _ in self.windows]
        self.admitted = []
        self.rejected = 0

    def _check(self, now: float) -> float:
        wait = 0.0
        for window, stamps in zip(self.windows, self.stamps, strict=True):
            while stamps and stamps[0] <= now - window.seconds:
                stamps.popleft()
            if len(stamps) >= window.limit:
                wait = max(wait, stamps[0] + window.seconds - now)
        if wait == 0.0:
            for stamps in self.stamps:
                stamps.append(now)
            self.admitted.append(now)
        return wait

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/products"):
            wait = self._check(time.monotonic())
            if wait > 0:
                self.rejected += 1
                retry_after = str(max(1, math.ceil(wait))).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [(b"retry-after", retry_after), (b"content-length", b"2")],
                    }
                )
                await send({"type": "http.response.body", "body": b"{}"})
                return
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port (no persistence); None without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        arguments += ["--appendonly", "no", "--dir", directory]
        process = subprocess.Popen(
            [binary, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


# -- the clients (each runs in worker processes) -------------------------------------------------


class _NoLease:
    async def release(self) -> None:
        return None


class AioLimiterChain:
    """A limiter made of ``aiolimiter.AsyncLimiter`` leaky buckets, taken one after another
    (how such a library is usually combined for several windows). No pauses, no status."""

    def __init__(self, buckets: Sequence[tuple[float, float]]) -> None:
        from aiolimiter import AsyncLimiter

        self._limiters = [AsyncLimiter(rate, period) for rate, period in buckets]

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> _NoLease:
        for limiter in self._limiters:
            await limiter.acquire()
        return _NoLease()

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        return None

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        return {}

    async def aclose(self) -> None:
        return None


def naive_buckets(windows: Sequence[Window]) -> list[tuple[float, float]]:
    """``AsyncLimiter(limit, period)`` per window: a full burst, then ``limit`` per period."""
    return [(w.limit, w.seconds) for w in windows]


def safe_buckets(windows: Sequence[Window], burst_share: float = 0.1) -> list[tuple[float, float]]:
    """Per window a burst of ``burst_share`` of the limit and the rate that keeps
    burst + rate x T <= limit (aiolimiter's ``AsyncLimiter(burst, burst / rate)``)."""
    out = []
    for w in windows:
        burst = max(1, round(w.limit * burst_share))
        rate = (w.limit - burst) / w.seconds
        out.append((float(burst), burst / rate))
    return out


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["kind"]
    limiter: Any
    if kind == "memory":
        limiter = None
    elif kind == "redis":
        from pleasurestock_async.ratelimit import RedisRateLimiter

        limiter = RedisRateLimiter.from_url(
            spec["redis"], api_key=DEMO_API_KEY, config=LIMITS, prefix=spec["prefix"]
        )
    else:
        limiter = AioLimiterChain(spec["buckets"])
    counts = {"ok": 0, "429": 0, "other": 0}
    async with AsyncPleasureStock(
        DEMO_API_KEY,
        base_url=spec["base"],
        rate_limits=LIMITS,
        rate_limiter=limiter,
        max_retries=0,
        timeout=10.0,
    ) as ps:

        async def task() -> None:
            while True:
                try:
                    await ps.products.list(limit=1)
                    counts["ok"] += 1
                except RateLimitError:
                    counts["429"] += 1
                except APIError:
                    counts["other"] += 1

        await anyio.sleep(max(0.0, spec["start_at"] - time.time()))  # every process at once
        with anyio.move_on_after(max(0.0, spec["start_at"] + spec["seconds"] - time.time())):
            async with anyio.create_task_group() as tg:
                for _ in range(spec["tasks"]):
                    tg.start_soon(task)
    if limiter is not None:
        await limiter.aclose()
    return counts


def _worker(spec_json: str) -> None:
    print(json.dumps(anyio.run(_load, json.loads(spec_json))), flush=True)


def _run_processes(specs: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_ratelimit", "--worker", json.dumps(spec)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=seconds + 60)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


# -- measuring -----------------------------------------------------------------------------------


def busiest(times: Sequence[float], seconds: float) -> int:
    """The most arrivals in any half-open span of ``seconds`` (an independent counter)."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def ideal(windows: Sequence[Window], seconds: float) -> int:
    """How many requests a perfect client (no latency, every slot the moment it frees)
    gets admitted in ``seconds``."""
    stamps: list[deque[float]] = [deque() for _ in windows]
    t = 0.0
    count = 0
    while True:
        for w, s in zip(windows, stamps, strict=True):
            while s and s[0] + w.seconds <= t:
                s.popleft()
        full = [s[0] + w.seconds for w, s in zip(windows, stamps, strict=True) if len(s) >= w.limit]
        if full:  # every full window has freed a slot by the latest of these
            t = max(full)
            continue
        if t >= seconds:
            return count
        for s in stamps:
            s.append(t)
        count += 1


async def acquire_cost(url: str, rounds: int = 2000) -> dict[str, float]:
    """Milliseconds per Redis acquire (and release) with room to spare, on loopback."""
    from pleasurestock_async.ratelimit import RedisRateLimiter

    big = RateLimitConfig(standard=(Window(10**9, 3600.0), Window(10**9, 60.0), Window(10**9, 1.0)))
    limiter = RedisRateLimiter.from_url(url, api_key=DEMO_API_KEY, config=big, prefix="bench:cost")
    acquires: list[float] = []
    releases: list[float] = []
    try:
        for n in range(rounds + 100):
            started = time.perf_counter()
            lease = await limiter.acquire(("standard",))
            taken = time.perf_counter()
            await lease.release()
            if n >= 100:  # after the scripts are loaded and the connection warm
                acquires.append(taken - started)
                releases.append(time.perf_counter() - taken)
    finally:
        await limiter.aclose()
    acquires.sort()
    return {
        "acquire_median_ms": statistics.median(acquires) * 1000,
        "acquire_p99_ms": acquires[int(len(acquires) * 0.99)] * 1000,
        "release_median_ms": statistics.median(releases) * 1000,
    }


def run(seconds: float = 11.0) -> dict[str, Any]:
    """Every scenario for ``seconds`` each. Returns plain data: ``rows`` (one per client:
    client, processes, answered, 429s, budget used, and per window the busiest span as a
    share of its limit) and ``redis_acquire`` (milliseconds), or None without redis-server."""
    rows: list[dict[str, Any]] = []
    enforcer = Enforcer(Sandbox(rate_limits=None, products=20).app, WINDOWS)
    best = ideal(WINDOWS, seconds)
    with redis_server() as redis_url, serve(enforcer) as base:
        scenarios: list[tuple[str, list[dict[str, Any]]]] = [
            ("ours, in-process", [{"kind": "memory", "tasks": TASKS}]),
        ]
        if redis_url is not None:
            shared = {"kind": "redis", "redis": redis_url, "prefix": "bench:load"}
            scenarios.append(("ours, Redis", [{**shared, "tasks": TASKS // 4} for _ in range(4)]))
        for name, buckets in (
            ("aiolimiter, naive", naive_buckets(WINDOWS)),
            ("aiolimiter, safe", safe_buckets(WINDOWS)),
        ):
            scenarios.append((name, [{"kind": "aio", "tasks": TASKS, "buckets": buckets}]))
        for name, specs in scenarios:
            enforcer.reset()
            start_at = time.time() + STARTUP
            for spec in specs:
                spec.update(base=base, seconds=seconds, start_at=start_at)
            reports = _run_processes(specs, seconds)
            admitted = list(enforcer.admitted)
            first = min(admitted, default=0.0)
            in_run = [t for t in admitted if t < first + seconds]
            rows.append(
                {
                    "client": name,
                    "processes": len(specs),
                    "answered": sum(r["ok"] for r in reports),
                    "429s": enforcer.rejected,
                    "budget_used": len(in_run) / best,
                    "busiest": {str(w): busiest(admitted, w.seconds) / w.limit for w in WINDOWS},
                }
            )
        cost = anyio.run(acquire_cost, redis_url) if redis_url is not None else None
    return {"seconds": seconds, "ideal": best, "rows": rows, "redis_acquire": cost}


def main() -> None:
    """Run the scenarios and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=11.0, help="Length of each scenario.")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.worker:
        _worker(args.worker)
        return
    result = run(args.seconds)
    windows = [str(w) for w in WINDOWS]
    print(
        f"{TASKS} tasks for {result['seconds']:g} s per client; a perfect client gets "
        f"{result['ideal']} requests admitted in that time"
    )
    header = f"{'client':<20}{'procs':>6}{'answered':>10}{'429s':>6}{'budget':>8}"
    print(header + "".join(f"{'busiest ' + w:>22}" for w in windows))
    for row in result["rows"]:
        print(
            f"{row['client']:<20}{row['processes']:>6}{row['answered']:>10}{row['429s']:>6}"
            f"{row['budget_used']:>8.1%}" + "".join(f"{row['busiest'][w]:>22.1%}" for w in windows)
        )
    cost = result["redis_acquire"]
    if cost is None:
        print("Redis rows left out: redis-server is not installed")
    else:
        print(
            f"Redis acquire on loopback: median {cost['acquire_median_ms']:.3f} ms, "
            f"p99 {cost['acquire_p99_ms']:.3f} ms; release median "
            f"{cost['release_median_ms']:.3f} ms"
        )


if __name__ == "__main__":
    main()
