"""Rate limits under load: 200 concurrent tasks against a local server that enforces three
sliding windows per API the way the vendor describes, over real HTTP on loopback.

The windows are the vendor's shape scaled down in time so a run takes seconds, not hours:
standard 150 per 10 s, 40 per 1 s, 8 per 0.1 s; external twice that (as with the vendor's
numbers, each short window allows more than the next longer one, so every limit is reachable).
The client is given the same windows. Printed: 429s received (target 0); for each window the
most requests the server saw in any span of that length, against the limit (target: within
5%, the budget used, not wasted); and what arrived in each whole long window.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import uvicorn

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import RateLimitError
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

LIMITS = RateLimitConfig(
    standard=(Window(150, 10.0), Window(40, 1.0), Window(8, 0.1)),
    external=(Window(300, 10.0), Window(80, 1.0), Window(16, 0.1)),
    smart=(Window(10, 10.0), Window(4, 1.0), Window(2, 0.1)),
)


def max_in_window(times: list[float], seconds: float) -> int:
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - seconds:
            j += 1
        best = max(best, i - j + 1)
    return best


def serve(app: Any) -> tuple[uvicorn.Server, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, port


async def load(port: int, seconds: float, tasks: int) -> dict[str, int]:
    outcome = {"ok": 0, "429": 0}
    deadline = time.monotonic() + seconds
    base = f"http://127.0.0.1:{port}/api/v1"
    async with AsyncPleasureStock(
        DEMO_API_KEY, base_url=base, rate_limits=LIMITS, max_retries=0
    ) as ps:

        async def worker(call: Callable[[], Awaitable[object]]) -> None:
            while time.monotonic() < deadline:
                try:
                    await call()
                    outcome["ok"] += 1
                except RateLimitError:
                    outcome["429"] += 1

        async with anyio.create_task_group() as tg:
            for n in range(tasks):
                if n % 2:
                    tg.start_soon(worker, lambda: ps.products.list(limit=1))
                else:
                    tg.start_soon(worker, lambda: ps.orders.list(limit=1))
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument(
        "--long-windows", type=int, default=2, help="How many long (10 s) windows to run for."
    )
    args = parser.parse_args()

    sandbox = Sandbox(rate_limits=LIMITS, products=50)
    arrivals: list[tuple[float, str]] = []

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            arrivals.append((time.monotonic(), scope["path"]))
        await sandbox.app(scope, receive, send)

    server, port = serve(recorded)
    seconds = 10.0 * args.long_windows
    start = time.monotonic()
    outcome = anyio.run(load, port, seconds, args.tasks)
    server.should_exit = True

    print(
        f"{args.tasks} tasks for {seconds:.0f} s over HTTP: {outcome['ok']} requests answered, "
        f"{outcome['429']} answered 429 (server counted {sandbox.rate_limited})"
    )
    for bucket, prefix in (("standard", "/api/v1/products"), ("external", "/api/v1/external")):
        times = sorted(t for t, path in arrivals if path.startswith(prefix))
        windows = LIMITS.windows()[bucket]
        print(f"  {bucket}:")
        for w in windows:
            most = max_in_window(times, w.seconds)
            print(
                f"    {w.limit:>4} per {w.seconds:>5g} s: busiest span held {most:>4} "
                f"({most / w.limit:6.1%} of the limit)"
            )
        long = windows[0]
        per_window = [
            sum(1 for t in times if start + k * long.seconds <= t < start + (k + 1) * long.seconds)
            for k in range(args.long_windows)
        ]
        print(f"    each whole {long.seconds:g} s window: {per_window} of {long.limit}")


if __name__ == "__main__":
    main()
