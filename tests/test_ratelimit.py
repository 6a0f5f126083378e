"""The in-process limiter and the client's use of limiters: configuration, the buckets each
endpoint spends, and requests over (mocked) HTTP on simulated and on real time.

The rules every limiter keeps (exact, greedy, in-flight holds, deadlines, pauses, max_wait,
logging, cancellation, order) are tested for both limiters in ``test_ratelimit_shared.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import anyio
import httpx
import pytest
import respx

from pleasurestock_async import DEFAULT_RATE_LIMITS, AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import ConfigurationError, RateLimitError
from pleasurestock_async.ratelimit import (
    ManualClock,
    MemoryRateLimiter,
    MonotonicClock,
    RateLimiter,
)
from pleasurestock_async.ratelimit._clock import within

from .conftest import BASE, KEY
from .simulated import on_clock

# A limiter that loops forever fails, not hangs.
pytestmark = [pytest.mark.timeout(60), pytest.mark.concurrency]

PAGE = {"data": [], "pagination": {"page": 1, "limit": 100, "total": 0, "pages": 0}}
RECS: dict[str, object] = {"date": "2025-11-03", "recommendations": [], "total": 0}
ORDERS = {"data": {"orders": [], "pagination": {"total": 0, "limit": 20, "offset": 0}}}
PRODUCT = {"ps_id": "ps_1234567890", "quantity": 1, "current_stock": 1, "sales_history": [1] * 7}
EPS = 1e-3


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any half-open window of ``seconds`` (a sliding-window counter)."""
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - seconds + EPS:
            j += 1
        best = max(best, i - j + 1)
    return best


def recorder(
    times: list[float], body: object, now: Callable[[], float] = time.monotonic
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        times.append(now())
        return httpx.Response(200, json=body)

    return handler


def config(**buckets: tuple[Window, ...]) -> RateLimitConfig:
    big = (Window(10_000, 1.0),)
    return RateLimitConfig(
        standard=buckets.get("standard", big),
        external=buckets.get("external", big),
        smart=buckets.get("smart", big),
    )


async def used(limiter: RateLimiter) -> dict[str, int]:
    return {name: s.windows[0].used for name, s in (await limiter.status()).items() if s.windows}


# -- configuration -----------------------------------------------------------------------------


def test_max_in_window_counter() -> None:
    assert max_in_window([0, 0.1, 0.2, 1.0, 1.05], 0.5) == 3
    assert max_in_window([0, 0.5, 1.0], 0.5) == 1
    assert max_in_window([], 1) == 0


def test_default_buckets_use_the_published_numbers() -> None:
    limits = {
        name: sorted((w.limit, w.seconds) for w in ws)
        for name, ws in RateLimitConfig().windows().items()
    }
    assert limits == {
        "standard": [(10, 1.0), (100, 60.0), (1000, 3600.0)],
        "external": [(20, 1.0), (200, 60.0), (5000, 3600.0)],
        "smart": [(2, 1.0), (10, 60.0), (100, 3600.0)],
    }


@pytest.mark.parametrize("window", [(0, 1.0), (5, 0.0), (10, -1.0), (1.5, 1.0), (1, float("inf"))])
def test_bad_windows_refused(window: tuple[int, float]) -> None:
    with pytest.raises(ConfigurationError):
        Window(*window)


def test_scaled_keeps_a_share_of_every_limit() -> None:
    quarter = RateLimitConfig().scaled(1 / 4)
    assert [(w.limit, w.seconds) for w in quarter.standard] == [(250, 3600.0), (25, 60.0), (2, 1.0)]
    assert [w.limit for w in quarter.smart] == [25, 2, 1]  # never below one
    with pytest.raises(ConfigurationError):
        RateLimitConfig().scaled(0)


def test_importing_the_sdk_does_not_import_redis() -> None:
    code = (
        "import sys, pleasurestock_async, pleasurestock_async.ratelimit as r; "
        "assert 'redis' not in sys.modules, 'redis imported'; "
        "r.RedisRateLimiter; assert 'redis' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the in-process limiter's own cases ----------------------------------------------------------


async def test_no_windows_counts_nothing_but_honours_a_pause() -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter(None, clock=clock)
    at: list[float] = []
    for _ in range(50):
        await (await limiter.acquire(("standard",))).release()
    await limiter.pause(("standard",), 2.0)

    async def one() -> None:
        await limiter.acquire(("standard",))
        at.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        await clock.run(until=5.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [2.0]
    status = await limiter.status()
    assert all(s.windows == () for s in status.values())


async def test_releasing_twice_counts_once() -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter(config(standard=(Window(2, 1.0),)), clock=clock)
    lease = await limiter.acquire(("standard",), hold_for=10.0)
    await lease.release()
    await clock.advance(0.5)
    await lease.release()  # a second release does not move the answer
    await clock.advance(0.5)
    assert (await used(limiter))["standard"] == 0


async def test_answered_slots_behind_a_long_request_leave_on_time() -> None:
    """Thousands of requests answered while one stays in flight: each leaves a window after
    its answer, and the window keeps only what still counts."""
    clock = ManualClock()
    limiter = MemoryRateLimiter(config(standard=(Window(10, 1.0),)), clock=clock)
    slow = await limiter.acquire(("standard",))  # no deadline: in flight until released
    for _ in range(2_000):
        await (await limiter.acquire(("standard",))).release()
        await clock.advance(0.2)
    assert (await used(limiter))["standard"] == 1 + 5
    window = limiter._buckets["standard"].windows[0]
    assert len(window._flying) <= 2 * 1 + 16 + 1
    await slow.release()


async def test_manual_clock_stands_still_while_busy() -> None:
    clock = ManualClock()
    woke: list[float] = []
    finished = anyio.Event()

    async def sleeper() -> None:
        await clock.sleep(1.0)
        woke.append(clock.now())

    async def network_call() -> None:
        with clock.busy():
            await anyio.sleep(0.05)  # real time: the clock must not jump meanwhile
            woke.append(-clock.now())
        finished.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper)
        tg.start_soon(network_call)
        await clock.run(until=2.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert finished.is_set()
    assert woke == [-0.0, 1.0]


# -- the client's path: which buckets each endpoint spends ---------------------------------------


async def test_each_endpoint_spends_its_buckets(mock: respx.MockRouter) -> None:
    mock.get("/products").respond(json=PAGE)
    mock.get("/smart-reordering").respond(json=RECS)
    mock.post("/external/smart-reorder").respond(
        json={
            "data": {"smartReorderId": 1, "lastUpdated": "2025-11-03T00:00:00Z", "isActive": True}
        }
    )
    mock.get("/external/orders").respond(json=ORDERS)
    async with AsyncPleasureStock(KEY, base_url=BASE) as ps:
        await ps.products.list()
        assert await used(ps.rate_limiter) == {"standard": 1, "external": 0, "smart": 0}
        await ps.smart_reordering.get()
        assert await used(ps.rate_limiter) == {"standard": 2, "external": 0, "smart": 1}
        await ps.smart_reordering.submit([PRODUCT])
        assert await used(ps.rate_limiter) == {"standard": 2, "external": 1, "smart": 2}
        await ps.orders.list()
        assert await used(ps.rate_limiter) == {"standard": 2, "external": 2, "smart": 2}


async def test_requests_wait_for_the_window_on_simulated_time(mock: respx.MockRouter) -> None:
    clock = ManualClock()
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE, clock.now))
    limiter = MemoryRateLimiter(config(standard=(Window(2, 10.0),)), clock=clock)
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(_fetch, ps)
            await clock.run(until=100.0)
            tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert times == [0.0, 0.0, 10.0, 10.0, 20.0]


async def test_smart_bucket_paces_smart_routes_only(mock: respx.MockRouter) -> None:
    clock = ManualClock()
    smart_times: list[float] = []
    product_times: list[float] = []
    mock.get("/smart-reordering").mock(side_effect=recorder(smart_times, RECS, clock.now))
    mock.get("/products").mock(side_effect=recorder(product_times, PAGE, clock.now))
    limiter = MemoryRateLimiter(config(smart=(Window(3, 60.0),)), clock=clock)

    async def smart(ps: AsyncPleasureStock) -> None:
        await ps.smart_reordering.get()

    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(smart, ps)
            for _ in range(6):
                tg.start_soon(_fetch, ps)
            await clock.run(until=200.0)
            tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert smart_times == [0.0] * 3 + [60.0] * 3
    assert product_times == [0.0] * 6


async def _fetch(ps: AsyncPleasureStock) -> None:
    await ps.products.list()


# -- the client's path on real time --------------------------------------------------------------


async def test_concurrent_tasks_never_exceed_a_window(mock: respx.MockRouter) -> None:
    clock = ManualClock()
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE, clock.now))
    limiter = MemoryRateLimiter(config(standard=(Window(10, 0.2),)), clock=clock)
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:

        async def forty() -> None:
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(_fetch, ps)

        await on_clock(clock, forty)
    assert len(times) == 40
    assert max_in_window(times, 0.2) == 10  # never more, and the budget is used
    assert times == sorted(times) and times[-1] == pytest.approx(0.6)  # no slot wasted


async def test_a_server_429_pauses_the_bucket_for_every_task(mock: respx.MockRouter) -> None:
    clock = ManualClock()
    times: list[float] = []
    external_times: list[float] = []
    first = True

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal first
        times.append(clock.now())
        if first:
            first = False
            return httpx.Response(429, headers={"Retry-After": "0.4"})
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=handler)
    mock.get("/external/orders").mock(side_effect=recorder(external_times, ORDERS, clock.now))

    async def later(call: Callable[[], Awaitable[object]]) -> None:
        await clock.sleep(0.05)
        await call()

    limiter = MemoryRateLimiter(DEFAULT_RATE_LIMITS, clock=clock)
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:

        async def calls() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_fetch, ps)
                for _ in range(5):
                    tg.start_soon(later, ps.products.list)
                tg.start_soon(later, ps.orders.list)

        await on_clock(clock, calls)
    assert len(times) == 7  # the 429, its retry, and five others
    assert times[0] == 0.0 and all(t >= 0.4 for t in times[1:])
    assert external_times == [0.05]  # another API's bucket is not paused


async def test_a_429_without_retries_left_is_raised_and_still_pauses(
    mock: respx.MockRouter,
) -> None:
    mock.get("/products").respond(429, headers={"Retry-After": "30"})
    async with AsyncPleasureStock(KEY, base_url=BASE, max_retries=0) as ps:
        with pytest.raises(RateLimitError):
            await ps.products.list()
        status = await ps.rate_limiter.status()
    assert status["standard"].paused_for == pytest.approx(30.0, abs=1.0)
    assert status["external"].paused_for == 0


async def test_limits_switched_off(mock: respx.MockRouter) -> None:
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(_fetch, ps)
        status = await ps.rate_limiter.status()
    assert len(times) == 50
    assert all(s.windows == () for s in status.values())


def test_a_workers_share_below_one_request_stretches_the_window() -> None:
    full = RateLimitConfig().smart  # 100/h, 10/min, 2/s
    part = RateLimitConfig().scaled(1 / 3).smart  # split three ways
    assert [(w.limit, w.seconds) for w in part] == [(33, 3600.0), (3, 60.0), (1, 1.5)]
    for whole, share in zip(full, part, strict=True):  # three workers' average rate fits
        assert 3 * share.limit / share.seconds <= whole.limit / whole.seconds + 1e-9


async def test_a_bound_already_past_on_the_real_clock_is_reached_at_once() -> None:
    """A deadline in the past (a wait of 0 that the scheduler made late) is no negative sleep:
    ``anyio.sleep`` refuses those, and a limiter asked for ``max_wait=0`` raised ValueError."""
    clock = MonotonicClock()
    await clock.sleep(-1.0)
    assert not await within(clock, clock.now() - 1.0, anyio.sleep_forever)
