"""The fleet example (``examples/fleet``) as it runs: 3 arq worker processes, 5 API keys on one
sandbox with per-key rate windows, 3 exports per key, state per key in PostgreSQL, limits
shared per key through Redis (issue 23, point 3)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from pleasurestock_async.errors import RateLimitWaitError
from pleasurestock_async.ratelimit import RateLimitConfig, Window
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.uploads.store import read_status

from . import postgres_server as pg
from . import redis_server as servers
from .postgres_server import PostgresServer, unique_name
from .redis_server import REDIS_TIMEOUT, RedisServer, unique_prefix
from .sandbox_server import serve

postgres_server = pg.postgres_server
own_redis_server = servers.own_redis_server
redis_server = servers.redis_server
asyncio_only = servers.asyncio_only

ROOT = Path(__file__).resolve().parents[1]
KEYS = 5
WORKERS = 3
PER_SECOND = 2
PRODUCTS = 400  # per key
START = dt.date(2025, 11, 1)


def export(products: list[str], days: int, bump: int) -> str:
    """A cumulative export: every product on each of ``days`` days; the first day's
    quantities rise by ``bump`` (a late sale)."""
    lines = ["internal_id,date,quantity,stock_on_hand"]
    for d in range(days):
        day = START + dt.timedelta(days=d)
        for n, pid in enumerate(products):
            lines.append(f"{pid},{day.isoformat()},{n % 5 + 1 + (bump if d == 0 else 0)},{n % 40}")
    return "\n".join(lines) + "\n"


def totals(text: str) -> dict[tuple[str, dt.date], int]:
    found = {}
    for line in text.splitlines()[1:]:
        pid, day, qty, _ = line.split(",")
        found[(pid, dt.date.fromisoformat(day))] = int(qty)
    return found


@pytest.mark.slow
def test_a_fleet_of_workers_syncs_every_key_exactly_without_overlap_or_429(
    tmp_path: Path, postgres_server: PostgresServer, own_redis_server: RedisServer
) -> None:
    pytest.importorskip("arq")
    keys = [f"pk_fleet_key_{n}_{unique_name()}" for n in range(KEYS)]
    limits = RateLimitConfig(standard=(Window(PER_SECOND, 1.0),))
    sandbox = Sandbox(api_keys=keys, rate_limits=limits, products=KEYS * PRODUCTS)
    accounts = {f"shop-{n}": key for n, key in enumerate(keys)}
    (tmp_path / "keys.json").write_text(json.dumps(accounts))
    database = postgres_server.url(schema=unique_name("fleet"))
    latest: dict[str, str] = {}
    jobs: list[tuple[str, str]] = []
    for n, account in enumerate(accounts):
        products = [p.internal_id for p in sandbox.products[n * PRODUCTS : (n + 1) * PRODUCTS]]
        for j, days in enumerate((3, 5, 7)):
            path = tmp_path / f"{account}-{j}.csv"
            path.write_text(export(products, days, bump=j))
            jobs.append((account, str(path)))
            latest[account] = path.read_text()
    with serve(sandbox) as url:
        env = {
            **os.environ,
            "PLEASURESTOCK_BASE_URL": url,
            "REDIS_URL": own_redis_server.url,
            "FLEET_KEYS": str(tmp_path / "keys.json"),
            "FLEET_DATABASE": database,
            "FLEET_STANDARD_PER_SECOND": str(PER_SECOND),
        }
        env.pop("PLEASURESTOCK_API_KEY", None)
        by_account: dict[str, list[str]] = {}
        for account, csv in jobs:
            by_account.setdefault(account, []).append(csv)
        for account, paths in by_account.items():  # every job queued before a worker starts
            subprocess.run(
                [sys.executable, "-m", "examples.fleet.enqueue", account, *paths],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "arq", "--burst", "examples.fleet.worker.WorkerSettings"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        logs = [w.communicate(timeout=600)[0] for w in workers]
        assert all(w.returncode == 0 for w in workers), "\n".join(logs)
        log = sandbox.request_log
    assert sandbox.rate_limited == 0, "\n".join(logs)
    stored = {k: v.quantity for k, v in sandbox.stored_sales().items()}
    for account, text in latest.items():  # every key ends with its latest export's totals
        mine = totals(text)
        assert {k: stored.get(k) for k in mine} == mine, account
    assert len(stored) == sum(len(totals(t)) for t in latest.values())
    labels = {key: ("manager" if n == 0 else f"manager {n + 1}") for n, key in enumerate(keys)}
    for account, key in accounts.items():
        status = anyio.run(read_status, f"{database}&state={account}")
        runs = sorted((r.started, r.finished) for r in status.runs if r.finished is not None)
        assert len(runs) == len(status.runs) >= 3, status.runs  # every job ran to its end
        for (_, end), (start, _) in itertools.pairwise(runs):
            assert end <= start, f"two runs of {account} overlapped: {runs}"
        requests = [e for e in log if e.key == labels[key] and e.method == "POST"]
        assert requests, account
        for entry in requests:  # the server saw this key's requests only inside its runs
            at = entry.at.timestamp()
            assert any(start <= at <= end for start, end in runs), (account, entry.line(), runs)
    print(f"requests: {len(log)}; jobs: {len(jobs)}; worker logs:\n" + "\n".join(logs)[-3000:])


async def test_a_429_of_one_key_pauses_only_that_keys_workers(
    redis_server: RedisServer, asyncio_only: None
) -> None:
    """Two workers of key A and one of key B share Redis: A's 429 holds both of A's, not B."""
    from pleasurestock_async.ratelimit import RedisRateLimiter

    prefix = unique_prefix()
    limits = RateLimitConfig(standard=(Window(100, 1.0),))

    def limiter(key: str) -> RedisRateLimiter:
        return RedisRateLimiter.from_url(
            redis_server.url, api_key=key, config=limits, prefix=prefix, timeout=REDIS_TIMEOUT
        )

    async with (
        limiter("pk_fleet_a") as a1,
        limiter("pk_fleet_a") as a2,
        limiter("pk_fleet_b") as b,
    ):
        await a1.pause(("standard",), 30.0)  # what a 429 with Retry-After: 30 does
        assert (await a2.status())["standard"].paused
        assert not (await b.status())["standard"].paused
        lease = await b.acquire(("standard",), max_wait=5.0)  # B is served at once
        await lease.release()
        with pytest.raises(RateLimitWaitError):
            await a2.acquire(("standard",), max_wait=5.0)  # A waits out its pause
