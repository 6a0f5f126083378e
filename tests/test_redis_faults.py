"""Issue 20, item 5: Redis faults in the middle of a busy run cost no 429 and little budget.

Six worker processes of 50 tasks each share one API key's windows through a real
redis-server, against a sandbox served over HTTP that enforces 10 requests a second and 40 in
any 5 s (so at most 8 a second, sustained). Mid-run, one fault: Redis flushed, Redis killed
and restarted empty, Redis stalled past the client's timeout (``DEBUG SLEEP``), or a worker
killed while its requests are in flight. Every run: no 429 from the server, and from 5 s after
Redis recovers the workers use at least 90% of the budget.

Real processes and real time: slow tier. ``python -m tests.test_redis_faults report`` runs every
scenario and prints the numbers (for the README and the issue).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import (
    APIError,
    RateLimitError,
    RateLimiterUnavailableError,
    RateLimitWaitError,
)
from pleasurestock_async.sandbox import DEMO_API_KEY

from .redis_server import RedisServer, require_redis_server, unique_prefix
from .test_workers_e2e import (
    Recorder,
    busiest,
    config_of,
    serve_sandbox,
    start_worker,
    windows_of,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 6
TASKS = 50
LIMITS = RateLimitConfig(standard=(Window(40, 5.0), Window(10, 1.0)))
SUSTAINED = 40 / 5.0
"""Requests a second the server admits over time (the 5-s window binds)."""
RUN = 20.0
"""Seconds each worker runs."""
FAULT_AT = 6.0
"""When the fault strikes, seconds into the run."""
SETTLE = 5.0
"""Seconds after Redis recovers from which the budget must be used again."""
TARGET_BUDGET = 0.90
"""The target from 5 s after recovery, which the report measures (on an idle machine)."""
MIN_BUDGET = 0.70
"""What the test asserts: well below the target, since this is real time on a machine that may
be busy, and well above what the faults cost before (8% to 44%, or 0% for a killed worker)."""


# -- the workers ----------------------------------------------------------------------------------


async def _work(spec: dict[str, Any]) -> dict[str, Any]:
    from pleasurestock_async.ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter.from_url(
        spec["redis"],
        api_key=DEMO_API_KEY,
        config=config_of(spec["limits"]),
        prefix=spec["prefix"],
        on_unavailable=spec["mode"],
        workers=spec["workers"] if spec["mode"] == "local" else None,
        timeout=spec["redis_timeout"],
    )
    headers = {"X-Test-Worker": spec["name"]}
    until = spec["until"]
    report: dict[str, Any] = {
        "ok": 0,
        "429": 0,
        "unavailable": 0,
        "waits": 0,
        "other": [],
        "longest_call": 0.0,
    }

    async def task() -> None:
        while time.time() < until:
            started = time.monotonic()
            try:
                await ps.products.list(limit=1, options={"extra_headers": headers})
                report["ok"] += 1
            except RateLimitError:
                report["429"] += 1
            except RateLimiterUnavailableError:
                report["unavailable"] += 1
                await anyio.sleep(0.05)  # Redis is away: no request can be sent meanwhile
                continue
            except RateLimitWaitError as exc:
                report["waits"] += 1
                report["longest_call"] = max(report["longest_call"], time.monotonic() - started)
                await anyio.sleep(min(exc.wait, 1.0))  # as a caller would: not a busy loop
                continue
            except APIError as exc:
                report["other"].append(type(exc).__name__)
            report["longest_call"] = max(report["longest_call"], time.monotonic() - started)

    async with AsyncPleasureStock(
        DEMO_API_KEY,
        base_url=spec["base"],
        rate_limiter=limiter,
        max_retries=0,
        timeout=5.0,
        max_rate_limit_wait=spec["max_wait"],
    ) as ps:
        with anyio.move_on_after(max(0.0, until - time.time())):
            async with anyio.create_task_group() as tg:
                for _ in range(spec["tasks"]):
                    tg.start_soon(task)
    await limiter.aclose()
    return report


def worker_main(argv: list[str]) -> None:
    """``python -m tests.test_redis_faults worker <spec>``: run, then print a JSON report."""
    print(json.dumps(anyio.run(_work, json.loads(argv[0]))), flush=True)


def start(spec: dict[str, Any], log: Path) -> subprocess.Popen[str]:
    """A worker of this module (its log level from ``$FAULTS_LOG``, warning by default)."""
    level = os.environ.get("FAULTS_LOG", "warning")
    return start_worker(spec, log, module="tests.test_redis_faults", log_level=level)


# -- the faults -----------------------------------------------------------------------------------


@dataclass
class Run:
    """What one scenario did: the server's answers and arrivals, when Redis recovered, the
    workers' reports."""

    scenario: str
    statuses: dict[int, int]
    arrivals: list[float]
    started: float
    recovered: float
    reports: list[dict[str, Any]]

    @property
    def longest_call(self) -> float:
        """The longest call of any worker, in seconds."""
        return max((r["longest_call"] for r in self.reports), default=0.0)

    @property
    def rate_limited(self) -> int:
        return self.statuses.get(429, 0)

    def budget(self, start: float, end: float) -> float:
        """The share of the sustained budget used between two moments (monotonic time)."""
        sent = sum(1 for t in self.arrivals if start <= t < end)
        return sent / (SUSTAINED * (end - start))

    def budget_after_recovery(self) -> float:
        start = self.recovered + SETTLE
        return self.budget(start, self.started + RUN - 0.5)

    def summary(self) -> str:
        before = self.budget(self.started + 1, self.started + FAULT_AT)
        return (
            f"{self.scenario}: {self.rate_limited} x 429, "
            f"budget before the fault {before:.0%}, "
            f"from {SETTLE:g} s after recovery {self.budget_after_recovery():.0%}; "
            f"unavailable {sum(r['unavailable'] for r in self.reports)}; "
            f"longest call {self.longest_call:.2f} s"
        )


def _flush(server: RedisServer, workers: list[subprocess.Popen[str]]) -> None:
    with redis.Redis(port=server.port) as client:
        client.flushall()


def _restart(server: RedisServer, workers: list[subprocess.Popen[str]]) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    time.sleep(2.0)
    server.start()


def _stall(server: RedisServer, workers: list[subprocess.Popen[str]]) -> None:
    with redis.Redis(port=server.port, socket_timeout=30) as client:
        client.execute_command("DEBUG", "SLEEP", "4")


def _kill_worker(server: RedisServer, workers: list[subprocess.Popen[str]]) -> None:
    workers[0].send_signal(signal.SIGKILL)


def _nothing(server: RedisServer, workers: list[subprocess.Popen[str]]) -> None:
    return None


FAULTS: dict[str, Callable[[RedisServer, list[subprocess.Popen[str]]], None]] = {
    "flushall": _flush,
    "restart": _restart,
    "debug-sleep": _stall,
    "worker-killed": _kill_worker,
    "none": _nothing,
}


def run_scenario(fault: str, mode: str, tmp: Path, *, max_wait: float = 60.0) -> Run:
    server = RedisServer(require_redis_server(), tmp, debug=True)
    server.start()
    try:
        with serve_sandbox(LIMITS) as (base, recorder):
            return _run(fault, mode, server, base, recorder, tmp, max_wait)
    finally:
        server.stop()


def _run(
    fault: str,
    mode: str,
    server: RedisServer,
    base: str,
    recorder: Recorder,
    tmp: Path,
    max_wait: float,
) -> Run:
    prefix = unique_prefix()
    started = time.monotonic()
    until = time.time() + RUN
    spec = {
        "limits": windows_of(LIMITS),
        "base": base,
        "redis": server.url,
        "prefix": prefix,
        "tasks": TASKS,
        "until": until,
        "mode": mode,
        "workers": WORKERS,
        "redis_timeout": 2.0,  # the default, and the retry interval's (5 s)
        "max_wait": max_wait,
    }
    processes = [start({**spec, "name": f"w{n}"}, tmp / f"w{n}.log") for n in range(WORKERS)]
    time.sleep(max(0.0, started + FAULT_AT - time.monotonic()))
    FAULTS[fault](server, processes)
    recovered = time.monotonic()
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=RUN + 60)
        if process.returncode == -signal.SIGKILL:
            continue
        assert process.returncode == 0, out
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return Run(
        f"{fault} ({mode})",
        dict(recorder.statuses),
        recorder.times(),
        started,
        recovered,
        reports,
    )


# -- the tests ------------------------------------------------------------------------------------


SCENARIOS = [
    ("flushall", "raise"),
    ("restart", "raise"),
    ("restart", "local"),
    ("debug-sleep", "raise"),
    ("debug-sleep", "local"),
    ("worker-killed", "raise"),
]


@pytest.mark.parametrize(("fault", "mode"), SCENARIOS, ids=[f"{f}-{m}" for f, m in SCENARIOS])
def test_5_a_redis_fault_costs_no_429_and_the_budget_comes_back(
    fault: str, mode: str, tmp_path: Path
) -> None:
    run = run_scenario(fault, mode, tmp_path)
    assert run.rate_limited == 0, run.summary()
    assert run.budget_after_recovery() >= MIN_BUDGET, run.summary()
    for window in LIMITS.standard:
        assert busiest(run.arrivals, window.seconds) <= window.limit, run.summary()


@pytest.mark.parametrize("mode", ["raise", "local"])
def test_3_calls_of_busy_workers_end_within_their_deadline(mode: str, tmp_path: Path) -> None:
    """300 tasks queued on one Redis limiter, each call allowed 1 s for its slot: every call
    ends (sent, or refused for its wait) within that plus its timeout (5 s, most of which a
    fast server leaves unused). Before, the wait for a connection came first and counted
    against nothing: calls ran up to 27 s past their max_rate_limit_wait."""
    run = run_scenario("none", mode, tmp_path, max_wait=1.0)
    assert run.rate_limited == 0, run.summary()
    assert sum(r["waits"] for r in run.reports) > 0, run.summary()  # the bound was the limit
    # 1.5 s of slack for a loaded machine; before, calls ran 3 s and more
    assert run.longest_call <= 1.0 + 1.5, run.summary()


def report_main(tmp_root: Path) -> None:
    """``python -m tests.test_redis_faults report``: every scenario, its numbers."""
    for n, (fault, mode) in enumerate(SCENARIOS):
        folder = tmp_root / f"{n}"
        folder.mkdir(parents=True, exist_ok=True)
        print(run_scenario(fault, mode, folder).summary(), flush=True)
    for mode in ("raise", "local"):
        folder = tmp_root / f"waits-{mode}"
        folder.mkdir(parents=True, exist_ok=True)
        run = run_scenario("none", mode, folder, max_wait=1.0)
        print(f"max_rate_limit_wait=1 ({mode}): {run.summary()}", flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker_main(sys.argv[2:])
elif __name__ == "__main__" and sys.argv[1:2] == ["report"]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        report_main(Path(folder))
