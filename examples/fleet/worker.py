"""A fleet of sync workers on arq: many API keys (one partner account each), any number of
worker processes, one job per export.

Each job syncs one export of one account. The account's API key is read by the worker from its
own secrets (here a JSON file), never carried through the queue. What each account's server
acknowledged is its own state in one PostgreSQL database (``?state=<account>``), whose run lock
keeps two jobs of one account from ever running at once: a job that finds its account busy is
put back on the queue (``Retry``), not run beside the other. Rate limits are shared per key by
every worker through Redis (``RedisRateLimiter``), so the fleet never earns a 429, and a 429 or
a full window of one key pauses only that key's jobs.

A worker killed mid-job loses nothing and double-counts nothing: the job stays on arq's queue
and runs again once its worker's claim expires (``job_timeout``); the rows whose request may
have left are held in the state as a batch in doubt, listed by ``pleasurestock sales status``
until settled, never resent blindly.

Run one or more workers::

    export FLEET_KEYS=/run/secrets/pleasurestock-keys.json   # {"shop-1": "pk_live_...", ...}
    export FLEET_DATABASE=postgresql://sync@db.internal/sales   # PGPASSWORD or .pgpass
    export REDIS_URL=redis://redis.internal:6379/0
    arq examples.fleet.worker.WorkerSettings

and queue exports with ``python -m examples.fleet.enqueue ACCOUNT FILE...``.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from arq import Retry
from arq.connections import RedisSettings

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import StateLockedError
from pleasurestock_async.ratelimit import (
    DEFAULT_RATE_LIMITS,
    RateLimitConfig,
    RedisRateLimiter,
    Window,
)
from pleasurestock_async.sales_files import read_sales_csv

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LOCK_WAIT = 2.0
"""Seconds a job waits for its account's state before it goes back on the queue."""
RETRY_AFTER = 1


def limits() -> RateLimitConfig:
    """The plan's limits: ``FLEET_STANDARD_PER_SECOND`` (else the published ones)."""
    per_second = os.environ.get("FLEET_STANDARD_PER_SECOND")
    if not per_second:
        return DEFAULT_RATE_LIMITS
    return RateLimitConfig(standard=(Window(int(per_second), 1.0),))


def state_url(account: str) -> str:
    """The account's state in the fleet's database."""
    database = os.environ["FLEET_DATABASE"]
    joiner = "&" if "?" in database else "?"
    return f"{database}{joiner}state={quote(account, safe='')}"


def api_key(account: str) -> str:
    """The account's key, from the worker's own secrets."""
    with open(os.environ["FLEET_KEYS"], encoding="utf-8") as keys:
        found: dict[str, str] = json.load(keys)
    return found[account]


async def sync_export(ctx: dict[str, Any], account: str, path: str) -> dict[str, Any]:
    """Sync one export of one account; what it did (kept by arq as the job's result)."""
    key = api_key(account)
    async with (
        RedisRateLimiter.from_url(REDIS_URL, api_key=key, config=limits()) as limiter,
        AsyncPleasureStock(key, rate_limiter=limiter) as ps,
    ):
        try:
            result = await ps.sales.sync(
                read_sales_csv(path),
                state=state_url(account),
                lock_wait=LOCK_WAIT,
            )
        except StateLockedError:  # another worker runs this account: later, never beside it
            raise Retry(defer=RETRY_AFTER) from None
    return {
        "account": account,
        "path": path,
        "sent": result.sent,
        "stored": result.stored,
        "requests": result.batches,
        "attention": result.needs_attention,
    }


class WorkerSettings:
    """``arq examples.fleet.worker.WorkerSettings``."""

    functions = (sync_export,)
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    max_jobs = 4
    job_timeout = 900  # a killed worker's job runs again this long (+10 s) after it began
    max_tries = 1000  # a busy account is tried again until its turn comes
    keep_result = 3600
