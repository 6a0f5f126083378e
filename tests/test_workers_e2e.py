"""Many worker processes, one API key, one shared limiter in a real redis-server, against one
sandbox served over HTTP on loopback that enforces the vendor's window shapes scaled down in
time. The server side counts arrivals with its own sliding-window counter (below, written
from the API reference's rule: at most N requests in any span of T seconds).

Workers are real subprocesses (``python -m tests.test_workers_e2e worker <spec>``); one is
killed with SIGKILL while it holds slots, and Redis itself is stopped mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import APIError, RateLimitError
from pleasurestock_async.ratelimit import RateLimiterUnavailableError
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

from . import redis_server as servers
from .redis_server import RedisServer, unique_prefix
from .sandbox_server import serve

redis_server = servers.redis_server
own_redis_server = servers.own_redis_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[1]
TASKS = 50
LIMITS = RateLimitConfig(  # the vendor's shape (hour, minute, second), 360x faster
    standard=(Window(150, 10.0), Window(40, 1.0), Window(8, 0.1)),
    external=(Window(300, 10.0), Window(80, 1.0), Window(16, 0.1)),
    smart=(Window(10, 10.0), Window(4, 1.0), Window(2, 0.1)),
)


# -- the server side: a sandbox, an arrival log and an independent window counter ----------------


def busiest(times: Sequence[float], seconds: float) -> int:
    """The most arrivals in any half-open span of ``seconds``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


class Recorder:
    """Wraps the sandbox app: logs each request's arrival (monotonic time, worker tag),
    counts answers by status, and holds requests tagged ``X-Test-Hold`` that long before
    answering (a slow server, so a worker can be killed mid-request)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.arrivals: list[tuple[float, str]] = []
        self.statuses: Counter[int] = Counter()
        self.closing = threading.Event()  # ends held requests when the server stops

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        self.arrivals.append((time.monotonic(), headers.get(b"x-test-worker", b"").decode()))
        hold = headers.get(b"x-test-hold")
        if hold:
            await anyio.to_thread.run_sync(self.closing.wait, float(hold), abandon_on_cancel=True)
            if self.closing.is_set():  # the server stops: no one waits for this answer
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting)

    def times(self, prefix: str = "") -> list[float]:
        return [t for t, tag in list(self.arrivals) if tag.startswith(prefix)]


@contextmanager
def serve_sandbox(limits: RateLimitConfig) -> Iterator[tuple[str, Recorder]]:
    """A sandbox enforcing ``limits``, served by uvicorn on 127.0.0.1 in a thread."""
    recorder = Recorder(Sandbox(rate_limits=limits, products=20).app)
    try:
        with serve(recorder, check=False, log_level="error") as url:
            yield url, recorder
    finally:
        recorder.closing.set()


def windows_of(config: RateLimitConfig) -> dict[str, list[list[float]]]:
    return {name: [[w.limit, w.seconds] for w in ws] for name, ws in config.windows().items()}


def config_of(windows: dict[str, list[list[float]]]) -> RateLimitConfig:
    return RateLimitConfig(
        **{
            name: tuple(Window(int(limit), seconds) for limit, seconds in ws)
            for name, ws in windows.items()
        }
    )


# -- the workers ---------------------------------------------------------------------------------


def start_worker(
    spec: dict[str, Any],
    log: Path,
    *,
    module: str = "tests.test_workers_e2e",
    log_level: str = "info",
) -> subprocess.Popen[str]:
    """``python -m <module> worker <spec>`` in a child process, its log into ``log``."""
    env = {**os.environ, "PLEASURESTOCK_LOG": log_level}
    with log.open("w") as stderr:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", module, "worker", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )


def result_of(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The worker's report (its last stdout line); fails if it does not end in time."""
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"a worker did not finish within {timeout} s")
    assert process.returncode == 0, out
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def spec(
    base: str,
    redis_url: str,
    prefix: str,
    name: str,
    limits: RateLimitConfig = LIMITS,
    **options: Any,
) -> dict[str, Any]:
    return {
        "limits": windows_of(limits),
        "base": base,
        "redis": redis_url,
        "prefix": prefix,
        "name": name,
        "tasks": TASKS,
        "requests": 1,
        "seconds": 30.0,
        "timeout": 5.0,
        "mode": "raise",
        **options,
    }


async def _work(spec: dict[str, Any]) -> dict[str, Any]:
    from pleasurestock_async.ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter.from_url(
        spec["redis"],
        api_key=DEMO_API_KEY,
        config=config_of(spec["limits"]),
        prefix=spec["prefix"],
        on_unavailable=spec["mode"],
        workers=spec.get("workers"),
        ticket_ttl=2.0,
        retry_interval=1.0,
    )
    headers = {"X-Test-Worker": spec["name"]}
    if spec.get("hold"):
        headers["X-Test-Hold"] = str(spec["hold"])
    until = time.monotonic() + spec["seconds"]
    report: dict[str, Any] = {"ok": 0, "429": 0, "unavailable": 0, "other": []}

    async def task() -> None:
        for _ in range(spec["requests"]):
            if time.monotonic() >= until:
                return
            try:
                await ps.products.list(limit=1, options={"extra_headers": headers})
                report["ok"] += 1
            except RateLimitError:
                report["429"] += 1
            except RateLimiterUnavailableError:
                report["unavailable"] += 1
                report.setdefault("first_unavailable", time.time())
                return
            except APIError as exc:
                report["other"].append(type(exc).__name__)

    async with AsyncPleasureStock(
        DEMO_API_KEY,
        base_url=spec["base"],
        rate_limiter=limiter,
        max_retries=0,
        timeout=spec["timeout"],
    ) as ps:
        with anyio.move_on_after(spec["seconds"]):  # then tasks still waiting give up
            async with anyio.create_task_group() as tg:
                for _ in range(spec["tasks"]):
                    tg.start_soon(task)
    await limiter.aclose()
    return report


def worker_main(argv: list[str]) -> None:
    """``python -m tests.test_workers_e2e worker <spec>``: run, then print a JSON report."""
    print(json.dumps(anyio.run(_work, json.loads(argv[0]))), flush=True)


def script_calls(server: RedisServer) -> int:
    """How many Lua scripts the Redis server has run so far."""
    with redis.Redis(port=server.port) as client:
        stats = client.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))


# -- the scenarios -------------------------------------------------------------------------------


def test_four_workers_use_the_shared_windows_fully_and_never_exceed_them(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    calls_before = script_calls(redis_server)
    with serve_sandbox(LIMITS) as (base, recorder):
        workers = [
            start_worker(spec(base, redis_server.url, prefix, f"w{n}"), tmp_path / f"w{n}.log")
            for n in range(4)
        ]
        reports = [result_of(w, timeout=40) for w in workers]
    calls = script_calls(redis_server) - calls_before
    # one call to take a slot and one to release it; waiting adds few (no polling)
    assert calls <= 5 * 4 * TASKS, calls
    assert [r["ok"] for r in reports] == [TASKS] * 4, reports
    assert sum(r["429"] for r in reports) == 0
    assert recorder.statuses == {200: 4 * TASKS}
    times = recorder.times()
    for window in LIMITS.standard:
        most = busiest(times, window.seconds)
        assert most <= window.limit, (window, most)
        assert most >= 0.95 * window.limit, (window, most)
    for n in range(4):
        assert DEMO_API_KEY not in (tmp_path / f"w{n}.log").read_text()


def test_a_killed_worker_frees_its_slots_once_it_stops_beating(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A worker killed while its requests are in flight holds their slots only until the
    others notice it stopped beating (ALIVE_FOR after its last beat, at the next beat of any
    worker); they then count as answered when it died (a beat after its last one at most)."""
    from pleasurestock_async.ratelimit.redis import ALIVE_FOR, HEARTBEAT

    second = Window(20, 1.0)
    limits = RateLimitConfig(standard=(second,))
    prefix = unique_prefix()
    timeout = 1.5
    held = 6
    with serve_sandbox(limits) as (base, recorder):
        victim = start_worker(
            spec(
                base,
                redis_server.url,
                prefix,
                "victim",
                limits,
                tasks=held,
                hold=30,
                timeout=60.0,  # its requests stay in flight until it is killed
            ),
            tmp_path / "victim.log",
        )
        deadline = time.monotonic() + 20
        while len(recorder.times("victim")) < held:
            assert time.monotonic() < deadline, "the victim's requests never arrived"
            time.sleep(0.01)
        run_for = 2.0 + ALIVE_FOR + 2 * HEARTBEAT + second.seconds + 4.0
        survivors = [
            start_worker(
                spec(
                    base,
                    redis_server.url,
                    prefix,
                    f"s{n}",
                    limits,
                    requests=10**6,
                    seconds=run_for,
                    timeout=timeout,
                ),
                tmp_path / f"s{n}.log",
            )
            for n in range(3)
        ]
        while len(recorder.times("s")) < 3 * second.limit:  # the survivors are under way
            assert time.monotonic() < deadline, "the survivors did not start"
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)  # mid-request: its slots stay counted in Redis
        killed = time.monotonic()
        victim.communicate(timeout=10)  # reaps it and closes its pipe
        reports = [result_of(w, timeout=40) for w in survivors]
    still_alive = killed + ALIVE_FOR - HEARTBEAT  # its last beat was at most one ago
    freed = killed + ALIVE_FOR + 2 * HEARTBEAT  # noticed by a beat, counted until it died
    assert victim.returncode == -signal.SIGKILL
    assert sum(r["429"] for r in reports) == 0, reports
    assert all(r["ok"] > 0 for r in reports), reports  # every survivor kept going
    assert recorder.statuses[429] == 0
    assert busiest(recorder.times(), second.seconds) <= second.limit
    others = recorder.times("s")
    during = [t for t in others if t < still_alive - 0.3]
    after = [t for t in others if t >= freed + 0.3]
    assert during and after
    # Directions only, not how fully the survivors use the window: that depends on how busy
    # the machine is (the fault report measures it). While the victim may live, its slots
    # stay counted; once it is known dead, they are used again.
    assert busiest(during, second.seconds) <= second.limit - held
    assert busiest(after, second.seconds) > second.limit - held, [
        round(t - freed, 3) for t in after
    ]


def test_redis_stopped_mid_run_raises_or_falls_back_without_hanging(
    own_redis_server: RedisServer, tmp_path: Path
) -> None:
    with serve_sandbox(LIMITS) as (base, recorder):
        _stop_redis_mid_run(own_redis_server, base, recorder, tmp_path)


def _stop_redis_mid_run(
    own_redis_server: RedisServer, base: str, recorder: Recorder, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    url = own_redis_server.url
    raising = [
        start_worker(
            spec(base, url, prefix, f"r{n}", requests=10**6, seconds=5.0), tmp_path / f"r{n}"
        )
        for n in range(2)
    ]
    local = [
        start_worker(
            spec(base, url, prefix, f"l{n}", requests=10**6, seconds=5.0, mode="local", workers=4),
            tmp_path / f"l{n}",
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 20
    while len(recorder.times()) < 60:  # every worker is under way
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    own_redis_server.stop()
    stopped = time.time()
    stopped_mono = time.monotonic()
    raised = [result_of(w, timeout=20) for w in raising]
    fell_back = [result_of(w, timeout=20) for w in local]
    for report in raised:  # raise: a clear error within the Redis timeout, then the worker ends
        assert report["unavailable"] > 0, report
        assert report["first_unavailable"] - stopped < 2.0 + 1.0, report
    for n, report in enumerate(fell_back):  # local: kept going at its share, and said so
        assert report["unavailable"] == 0, report
        assert report["ok"] > 0, report
        assert "falling back to per-process windows (1/4" in (tmp_path / f"l{n}").read_text()
    assert recorder.statuses[429] == 0
    later = [t for t in recorder.times("l") if t >= stopped_mono]
    assert later, "the local workers sent nothing after Redis stopped"
    for window in LIMITS.standard:
        share = window.limit // 4
        assert busiest(later, window.seconds) <= 2 * share + 1  # two workers, a quarter each


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker_main(sys.argv[2:])
