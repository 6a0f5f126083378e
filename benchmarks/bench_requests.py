"""Per-request overhead over loopback: the SDK against raw httpx, at 1, 100 and 1000 tasks.

A tiny ASGI app served by uvicorn in another process answers ``GET /api/v1/products`` with a
small page. Each client runs in a fresh process of its own and sends a fixed number of
requests from T tasks; the figure is that process's CPU time per request (the server's is
not counted). The SDK reads each answer into its model; raw httpx (a default
``httpx.AsyncClient``, as a user would write it) calls ``raise_for_status`` and ``.json()``.

Also measured at 1000 tasks, for the notes: the SDK without its FIFO queue in front of the
pool (20 connections, and 100 as httpx's default), and without ``sniffio`` installed (httpcore
then retries the failing import on every request; emulated by a finder that searches the
path as a missing module costs, then fails).

Run alone: ``python -m benchmarks.bench_requests``.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._common import ROOT, Row, interleaved, median, ratio_row

PAGE = b'{"success":true,"data":[],"pagination":{"page":1,"limit":1,"total":0,"pages":0}}'
KEY = "pk_bench_loopback"
REQUESTS = {1: 300, 100: 800, 1000: 1500}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The server: the same small page for every request."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(PAGE))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    """uvicorn serving :func:`app` in another process; yields the API's base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bench_requests:app",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--no-access-log",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        process.terminate()
        process.wait(timeout=20)


# -- the clients (each in a fresh process) -----------------------------------------------------


class _NoSniffio:
    """Makes ``import sniffio`` fail after the search a missing module costs."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_is_not_installed")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


async def _client(spec: dict[str, Any]) -> dict[str, float]:
    import anyio
    import httpx

    from pleasurestock_async import AsyncPleasureStock

    tasks, count, base = spec["tasks"], spec["requests"], spec["base"]
    left = count

    async def sdk_calls(ps: AsyncPleasureStock) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            page = await ps.products.list(limit=1)
            assert page.pagination.page == 1

    gate = anyio.Semaphore(spec["gate"]) if spec.get("gate") else None

    async def raw_call(http: httpx.AsyncClient) -> None:
        response = await http.get(
            base + "/products", params={"limit": 1}, headers={"X-API-Key": KEY}
        )
        response.raise_for_status()
        assert response.json()["pagination"]["page"] == 1

    async def raw_calls(http: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            if gate is None:
                await raw_call(http)
            else:  # what a user writes once 1000 tasks have met httpx's pool
                async with gate:
                    await raw_call(http)

    start_cpu, start = time.process_time(), time.perf_counter()
    if spec["kind"] == "httpx":
        async with httpx.AsyncClient(timeout=120.0) as http, anyio.create_task_group() as tg:
            for _ in range(tasks):
                tg.start_soon(raw_calls, http)
    else:
        pool = spec.get("pool")
        http = (
            httpx.AsyncClient(
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
            )
            if pool
            else None
        )
        async with AsyncPleasureStock(
            KEY, base_url=base, rate_limits=None, max_retries=0, http_client=http
        ) as ps:
            if spec.get("no_queue"):
                ps._http.lifecycle.gate = anyio.Semaphore(10**9)
            async with anyio.create_task_group() as tg:
                for _ in range(tasks):
                    tg.start_soon(sdk_calls, ps)
        if http is not None:
            await http.aclose()
    return {
        "cpu": (time.process_time() - start_cpu) / count,
        "wall": (time.perf_counter() - start) / count,
    }


def _worker(spec: dict[str, Any]) -> None:
    if spec.get("no_sniffio"):
        sys.meta_path.insert(0, _NoSniffio())
    import anyio

    print(json.dumps(anyio.run(_client, spec)))


def _run(spec: dict[str, Any]) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_requests", "--worker", json.dumps(spec)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return float(json.loads(out.stdout)["cpu"])


def run(quick: bool = False, notes: bool = False) -> list[Row]:
    """The rows for 1, 100 and 1000 tasks; with ``notes``, also the SDK at 1000 tasks beside
    raw httpx's own pool, itself without its queue, and without sniffio (N=1 each)."""
    n = 3 if quick else 5
    rows = []
    with server() as base:
        for tasks, count in REQUESTS.items():
            spec = {"tasks": tasks, "requests": count // (2 if quick else 1), "base": base}
            runs = {"sdk": lambda s=spec: _run({**s, "kind": "sdk"})}
            if tasks < 1000:
                runs["httpx"] = lambda s=spec: _run({**s, "kind": "httpx"})
                label = "raw httpx.AsyncClient()"
            else:
                # httpx's own pool at 1000 tasks costs tens of ms of CPU a request (a single
                # run takes over a minute), so the baseline is the semaphore a user adds
                runs["httpx"] = lambda s=spec: _run({**s, "kind": "httpx", "gate": 100})
                label = "httpx + a semaphore of 100"
            times = interleaved(runs, n, warm_up=False)
            sdk = median(times["sdk"])
            rows.append(
                ratio_row(
                    f"client CPU per request, {tasks} task(s), loopback",
                    sdk,
                    median(times["httpx"]),
                    label,
                    unit="ms",
                    scale=1e3,
                    limit=1.15,
                    n=n,
                    digits=3,
                )
            )
        if not notes:
            return rows
        spec = {"tasks": 1000, "requests": 1000, "base": base, "kind": "sdk"}
        extras = {
            "sdk": spec,
            "raw httpx.AsyncClient(), its pool of 100 alone": {
                **spec,
                "kind": "httpx",
                "requests": 500,
            },
            "SDK without its queue, pool of 20": {**spec, "no_queue": True},
            "SDK without its queue, pool of 100": {**spec, "no_queue": True, "pool": 100},
            "SDK without sniffio installed": {**spec, "no_sniffio": True},
        }
        times = interleaved({k: lambda v=v: _run(v) for k, v in extras.items()}, 1, warm_up=False)
        sdk = median(times.pop("sdk"))
        for label, values in times.items():
            rows.append(
                ratio_row(
                    "  1000 tasks: the SDK as shipped",
                    sdk,
                    median(values),
                    label,
                    unit="ms",
                    scale=1e3,
                    limit=None,
                    n=1,
                    digits=3,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--notes", action="store_true", help="also queue and sniffio effects")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(json.loads(args.worker))
        return
    from ._common import print_table

    print_table(run(args.quick, args.notes))


if __name__ == "__main__":
    main()
