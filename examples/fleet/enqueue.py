"""Queue exports for the fleet: ``python -m examples.fleet.enqueue ACCOUNT FILE...``.

A job's id is its account and file, so queueing the same export twice runs it once.
"""

from __future__ import annotations

import asyncio
import sys

from arq import create_pool

from .worker import WorkerSettings


async def enqueue(account: str, paths: list[str]) -> list[str]:
    """Queue one job per file of ``account``; their ids."""
    redis = await create_pool(WorkerSettings.redis_settings)
    try:
        ids = []
        for path in paths:
            job = await redis.enqueue_job(
                "sync_export", account, path, _job_id=f"sync:{account}:{path}"
            )
            ids.append(job.job_id if job is not None else f"sync:{account}:{path} (queued before)")
        return ids
    finally:
        await redis.aclose()


if __name__ == "__main__":
    for queued in asyncio.run(enqueue(sys.argv[1], sys.argv[2:])):
        print(queued)
