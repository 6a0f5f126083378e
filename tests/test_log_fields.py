"""Log records carry structured fields (``extra=``) for log pipelines and metrics: method,
path, status, elapsed, attempt, bucket, wait; never the key (issue 24, observability)."""

from __future__ import annotations

import logging

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.ratelimit import ManualClock, MemoryRateLimiter, RateLimitConfig, Window

from .conftest import BASE, KEY
from .simulated import on_clock

PAGE = {
    "success": True,
    "data": [],
    "pagination": {"page": 1, "limit": 1, "total": 0, "pages": 0},
}


def fields(record: logging.LogRecord, *names: str) -> dict[str, object]:
    return {name: record.__dict__[name] for name in names}


async def test_every_record_of_a_call_carries_its_fields_and_never_the_key(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get("/products").mock(
        side_effect=[
            respx.MockResponse(503, json={"success": False, "error": "busy"}),
            respx.MockResponse(429, headers={"Retry-After": "2"}, json={"success": False}),
            respx.MockResponse(200, json=PAGE),
            respx.MockResponse(200, json=PAGE),
        ]
    )
    clock = ManualClock()
    limiter = MemoryRateLimiter(RateLimitConfig(standard=(Window(3, 60.0),)), clock=clock)
    caplog.set_level(logging.INFO, logger="pleasurestock_async")
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter, max_retries=2) as ps:

        async def twice() -> None:
            await ps.products.list()
            await ps.products.list()  # the window of 3 is full: it waits

        await on_clock(clock, twice)
    records = [r for r in caplog.records if r.name == "pleasurestock_async"]
    sent = [r for r in records if r.levelno == logging.INFO and " -> " in r.getMessage()]
    assert [fields(r, "method", "path", "status", "attempt", "bucket") for r in sent] == [
        {
            "method": "GET",
            "path": "/api/v1/products",
            "status": s,
            "attempt": a,
            "bucket": "standard",
        }
        for s, a in ((503, 0), (429, 1), (200, 2), (200, 0))
    ]
    assert all(isinstance(r.__dict__["elapsed"], float) for r in sent)
    # the second call waited for its slot: the window of 60 s less the 429's 2 s pause
    assert sent[-1].__dict__["wait"] == pytest.approx(58.0, abs=0.01)
    retry, paused = [r for r in records if r.levelno == logging.WARNING]
    assert fields(retry, "method", "path", "attempt", "reason") == {
        "method": "GET",
        "path": "/api/v1/products",
        "attempt": 1,
        "reason": "HTTP 503",
    }
    assert fields(paused, "status", "attempt", "bucket", "wait") == {
        "status": 429,
        "attempt": 2,
        "bucket": "standard",
        "wait": 2.0,
    }
    waits = [r for r in records if r.getMessage().startswith("rate limit: waiting")]
    assert [fields(r, "bucket", "window") for r in waits] == [
        {"bucket": "standard", "window": "paused by the server's 429"},  # the retry
        {"bucket": "standard", "window": "3 per 60 s"},  # the second call
    ]
    for record in records:  # the key in no field, argument or message
        text = repr(record.__dict__) + record.getMessage()
        assert KEY not in text and KEY[8:] not in text
