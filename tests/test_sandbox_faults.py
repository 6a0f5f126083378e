"""Faults for chaos tests: each one does what ``Faults`` documents, draws from its own random
stream, and leaves the OpenAPI route alone."""

from __future__ import annotations

import time
from datetime import date

import anyio
import httpx
import pytest

from pleasurestock_async.errors import APIConnectionError, InternalServerError
from pleasurestock_async.ratelimit import ManualClock
from pleasurestock_async.ratelimit._clock import within
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox

from .sandbox_server import CONTRACT, serve
from .simulated import on_clock

STD = {"X-API-Key": DEMO_API_KEY}
SALE = {"internal_id": "ps_1234567890", "date": "2025-11-03", "quantity": 3}
DAY = date(2025, 11, 3)


def raw(sandbox: Sandbox) -> httpx.AsyncClient:
    """A raw client through the sandbox's faulty in-process transport, checking the contract."""
    return httpx.AsyncClient(
        transport=sandbox.transport(),
        base_url="http://sb/api/v1",
        event_hooks={"response": [CONTRACT.check_response]},
    )


async def test_fault_streams_are_independent() -> None:
    """With one shared seed a request that passed the drop draw could never get an error
    draw below the same rate; with a stream per fault, first requests see every outcome."""
    outcomes = set()
    for seed in range(40):
        sandbox = Sandbox(
            rate_limits=None, products=10, faults=Faults(drop_rate=0.5, error_rate=0.5, seed=seed)
        )
        async with sandbox.client(max_retries=0) as ps:
            try:
                await ps.currency.convert_to_try(1, "EUR")
                outcomes.add("ok")
            except APIConnectionError:
                outcomes.add("dropped")
            except InternalServerError:
                outcomes.add("500")
    assert outcomes == {"ok", "dropped", "500"}


async def test_each_stream_is_deterministic_and_unaffected_by_the_others() -> None:
    async def pattern(faults: Faults) -> list[int | str]:
        seen: list[int | str] = []
        async with raw(Sandbox(rate_limits=None, products=10, faults=faults)) as http:
            for _ in range(30):
                try:
                    seen.append((await http.get("/products?limit=1", headers=STD)).status_code)
                except httpx.ConnectError:
                    seen.append("drop")
        return seen

    drops = await pattern(Faults(drop_rate=0.3, seed=1))
    assert drops == await pattern(Faults(drop_rate=0.3, seed=1))
    both = await pattern(Faults(drop_rate=0.3, rate_limit_rate=0.3, seed=1))
    assert ["drop" if x == "drop" else 0 for x in both] == [
        "drop" if x == "drop" else 0 for x in drops
    ]
    assert 429 in both and 200 in both


async def test_drop_after_store_keeps_the_data_and_loses_the_answer() -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drop_after_store_rate=1.0))
    async with raw(sandbox) as http:
        with pytest.raises(httpx.ReadError):
            await http.post("/sales", json={"sales": [SALE]}, headers=STD)
        assert (await http.get("/products?limit=1", headers=STD)).status_code == 200  # reads pass
    assert sandbox.daily_sales("ps_1234567890")[DAY].quantity == 3


@pytest.mark.parametrize("over_http", [False, True])
async def test_corrupt_success_after_storing(over_http: bool) -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(corrupt_success_rate=1.0))
    with serve(sandbox) as base:
        client = httpx.AsyncClient(base_url=base, timeout=10) if over_http else raw(sandbox)
        async with client as http:
            with pytest.raises(httpx.DecodingError):
                await http.post("/sales", json={"sales": [SALE]}, headers=STD)
            refused = await http.get("/products", headers={"X-API-Key": "pk_wrong"})
            assert refused.status_code == 401 and refused.json()["success"] is False
    assert sandbox.daily_sales("ps_1234567890")[DAY].quantity == 3


async def test_injected_429_with_hostile_retry_after_values() -> None:
    values = ("inf", "1e400", "-5", "abc", "86400")
    sandbox = Sandbox(
        rate_limits=None,
        products=10,
        faults=Faults(rate_limit_rate=1.0, retry_after_values=values, seed=3),
    )
    seen = set()
    async with raw(sandbox) as http:
        for _ in range(40):
            response = await http.post("/sales", json={"sales": [SALE]}, headers=STD)
            assert response.status_code == 429 and response.json()["success"] is False
            seen.add(response.headers["Retry-After"])
    assert seen == set(values)
    assert sandbox.rate_limited == 40 and sandbox.stored_sales() == {}


async def test_drip_sends_one_byte_at_a_time_over_http() -> None:
    drip = 0.003  # real time, in the server's thread: the test only waits for the bytes
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drip_seconds=drip))
    with serve(sandbox) as base:
        # No contract hook here: it would read the body before the test streams it.
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            start = time.monotonic()
            async with http.stream("GET", "/products", headers={"X-API-Key": "x"}) as response:
                chunks = [chunk async for chunk in response.aiter_raw()]
            elapsed = time.monotonic() - start
    body = b"".join(chunks)
    assert response.status_code == 401 and body.startswith(b'{"success":false')
    assert elapsed >= len(body) * drip
    assert len(chunks) > 10  # it really arrived in pieces


async def test_drip_sends_one_byte_at_a_time_in_process() -> None:
    clock = ManualClock()
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drip_seconds=0.5), clock=clock)
    arrived: list[tuple[float, bytes]] = []

    async def read() -> None:
        async with (
            httpx.AsyncClient(transport=sandbox.transport(), base_url="http://sb/api/v1") as http,
            http.stream("GET", "/products", headers={"X-API-Key": "x"}) as response,
        ):
            assert response.status_code == 401
            async for chunk in response.aiter_raw():
                arrived.append((clock.now(), chunk))

    await on_clock(clock, read)
    body = b"".join(chunk for _, chunk in arrived)
    assert body.startswith(b'{"success":false')
    assert clock.now() == pytest.approx(len(body) * 0.5)  # a byte every half second


@pytest.mark.concurrency
async def test_a_total_deadline_cuts_a_dripping_answer() -> None:
    clock = ManualClock()
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(drip_seconds=0.05), clock=clock)
    async with raw(sandbox) as http:

        async def get() -> None:
            await http.get("/products?limit=1", headers=STD)

        finished = await on_clock(clock, lambda: within(clock, 0.3, get))
    assert not finished and clock.now() == pytest.approx(0.3)


async def test_faults_never_touch_the_openapi_route() -> None:
    faults = Faults(
        error_rate=1.0,
        rate_limit_rate=1.0,
        drop_rate=1.0,
        drop_after_store_rate=1.0,
        corrupt_success_rate=1.0,
        latency=5.0,
        drip_seconds=5.0,
    )
    sandbox = Sandbox(rate_limits=None, products=10, faults=faults)
    async with raw(sandbox) as http:
        with anyio.fail_after(2):
            response = await http.get("/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency": -1.0},
        {"drip_seconds": float("nan")},
        {"retry_after_values": ()},
        {"retry_after_values": ("1\r\nX-Evil: 1",)},
    ],
)
def test_faults_refuse_impossible_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        Faults(**kwargs)  # type: ignore[arg-type]
