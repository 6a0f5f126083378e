"""Client-side windows: counted per sliding window, never by wall-clock durations."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import anyio
import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pleasurestock_async._ratelimit import _Bucket

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.errors import ConfigurationError

from .conftest import BASE, KEY

PAGE = {"data": [], "pagination": {"page": 1, "limit": 100, "total": 0, "pages": 0}}
RECS = {"recommendations": []}
EPS = 1e-3


def max_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any half-open window of ``seconds`` (a sliding-window counter)."""
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - seconds + EPS:
            j += 1
        best = max(best, i - j + 1)
    return best


def recorder(times: list[float], body: object) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return httpx.Response(200, json=body)

    return handler


def config(**buckets: tuple[Window, ...]) -> RateLimitConfig:
    big = (Window(10_000, 1.0),)
    return RateLimitConfig(
        standard=buckets.get("standard", big),
        external=buckets.get("external", big),
        smart=buckets.get("smart", big),
    )


def test_max_in_window_counter() -> None:
    assert max_in_window([0, 0.1, 0.2, 1.0, 1.05], 0.5) == 3
    assert max_in_window([0, 0.5, 1.0], 0.5) == 1
    assert max_in_window([], 1) == 0


@given(
    windows=st.lists(st.tuples(st.integers(1, 20), st.floats(0.1, 50)), min_size=1, max_size=3),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_sliding_windows_are_exact_and_greedy(
    windows: list[tuple[int, float]], gaps: list[float]
) -> None:
    """Simulated time: FIFO requests arriving after ``gaps`` are admitted at the earliest
    instant every window allows, and no window ever holds more than its limit."""
    bucket = _Bucket("standard", [Window(limit, seconds) for limit, seconds in windows])
    admitted: list[float] = []
    arrival = now = 0.0
    for gap in gaps:
        arrival += gap
        now = max(now, arrival)
        before = [(w.window.limit, w.seconds, [t for (t,) in w.stamps]) for w in bucket.windows]
        while (wait := bucket.wait(now)) > 0:
            now += wait
        if now > arrival and admitted and now > admitted[-1]:
            # greedy: a moment earlier some window was still full
            earlier = now - 1e-6 * max(1.0, now)
            assert any(
                sum(1 for t in stamps if t + span > earlier) >= limit
                for limit, span, stamps in before
            )
        for window in bucket.windows:  # an instant request: answered as it is sent
            window.take(now)
        admitted.append(now)
    for limit, seconds in windows:
        assert max_in_window(admitted, seconds) <= limit


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


@pytest.mark.parametrize("window", [(0, 1.0), (5, 0.0), (10, -1.0)])
def test_bad_windows_refused(window: tuple[int, float]) -> None:
    with pytest.raises(ConfigurationError):
        Window(*window)


async def test_concurrent_tasks_never_exceed_a_window(mock: respx.MockRouter) -> None:
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE))
    limits = config(standard=(Window(10, 0.2),))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(_fetch, ps)
    assert len(times) == 40
    assert max_in_window(times, 0.2) <= 10
    assert max_in_window(times, 0.2) == 10  # the budget is used, not wasted


async def _fetch(ps: AsyncPleasureStock) -> None:
    await ps.products.list()


async def test_several_windows_at_once(mock: respx.MockRouter) -> None:
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE))
    limits = config(standard=(Window(30, 1.0), Window(6, 0.1)))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(36):
                tg.start_soon(_fetch, ps)
    assert max_in_window(times, 1.0) <= 30
    assert max_in_window(times, 0.1) <= 6


async def test_smart_routes_spend_two_buckets(mock: respx.MockRouter) -> None:
    mock.get("/products").respond(json=PAGE)
    mock.get("/smart-reordering").respond(json=RECS)
    mock.post("/external/smart-reorder").respond(json={"data": {"smartReorderId": 1}})
    mock.get("/external/orders").respond(
        json={"data": {"orders": [], "pagination": {"total": 0, "limit": 20, "offset": 0}}}
    )
    product = {
        "ps_id": "ps_1234567890",
        "quantity": 1,
        "current_stock": 1,
        "sales_history": [1] * 7,
    }
    async with AsyncPleasureStock(KEY, base_url=BASE) as ps:
        await ps.products.list()
        await ps.smart_reordering.get()
        await ps.smart_reordering.submit([product])
        await ps.orders.list()
        used = {name: s.windows[0].used for name, s in ps.rate_limits.status().items()}
    assert used == {"standard": 2, "external": 2, "smart": 2}


async def test_smart_bucket_paces_smart_routes_only(mock: respx.MockRouter) -> None:
    smart_times: list[float] = []
    product_times: list[float] = []
    mock.get("/smart-reordering").mock(side_effect=recorder(smart_times, RECS))
    mock.get("/products").mock(side_effect=recorder(product_times, PAGE))
    limits = config(smart=(Window(3, 0.3),))

    async def smart(ps: AsyncPleasureStock) -> None:
        await ps.smart_reordering.get()

    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(smart, ps)
            for _ in range(6):
                tg.start_soon(_fetch, ps)
    assert max_in_window(smart_times, 0.3) <= 3
    assert max_in_window(product_times, 0.01) == 6  # the standard bucket is far from full


async def test_server_429_pauses_the_bucket_for_every_task(mock: respx.MockRouter) -> None:
    times: list[float] = []
    first = True

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal first
        times.append(time.monotonic())
        if first:
            first = False
            return httpx.Response(429, headers={"Retry-After": "0.4"})
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=handler)
    external_times: list[float] = []
    mock.get("/external/orders").mock(
        side_effect=recorder(
            external_times,
            {"data": {"orders": [], "pagination": {"total": 0, "limit": 20, "offset": 0}}},
        )
    )

    async def later(ps: AsyncPleasureStock) -> None:
        await anyio.sleep(0.05)
        await ps.products.list()

    async def other_api(ps: AsyncPleasureStock) -> None:
        await anyio.sleep(0.05)
        await ps.orders.list()

    async with AsyncPleasureStock(KEY, base_url=BASE) as ps, anyio.create_task_group() as tg:
        tg.start_soon(_fetch, ps)
        for _ in range(5):
            tg.start_soon(later, ps)
        tg.start_soon(other_api, ps)
    assert len(times) == 7  # the 429, its retry, and five others
    blocked_until = times[0] + 0.4
    assert all(t >= blocked_until - 0.01 for t in times[1:])
    assert external_times and external_times[0] < blocked_until - 0.2


async def test_cancelled_waiters_leave_no_phantom_capacity(mock: respx.MockRouter) -> None:
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE))
    limits = config(standard=(Window(4, 0.5),))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        with anyio.move_on_after(0.15):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(_fetch, ps)
        sent_before = len(times)
        assert sent_before < 20
        assert ps.rate_limits.status()["standard"].windows[0].used == sent_before
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(_fetch, ps)
    assert len(times) == sent_before + 8
    assert max_in_window(times, 0.5) <= 4


async def test_a_slot_is_held_for_a_window_after_the_answer(mock: respx.MockRouter) -> None:
    """The server may count a request as late as its answer leaves: the slot stays taken for
    a full window after the answer, so the next request cannot land in the same window."""
    arrived: list[float] = []
    answered: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(time.monotonic())
        if len(arrived) == 1:
            await anyio.sleep(0.25)  # a slow answer
        answered.append(time.monotonic())
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=handler)
    limits = config(standard=(Window(1, 0.3),))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(_fetch, ps)
    assert answered[0] - arrived[0] >= 0.25 - EPS
    assert arrived[1] >= answered[0] + 0.3 - EPS


async def test_a_request_in_flight_holds_its_slot(mock: respx.MockRouter) -> None:
    """However long a request takes, its slot is not reused until a window after its answer
    (were it freed a window after sending, a late arrival would share the server's window)."""
    arrived: list[float] = []
    answered: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.append(time.monotonic())
        if len(arrived) == 1:
            await anyio.sleep(0.35)  # longer than the window
        answered.append(time.monotonic())
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=handler)
    limits = config(standard=(Window(1, 0.1),))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=limits) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(_fetch, ps)
        assert ps.rate_limits.status()["standard"].windows[0].used == 1
    assert arrived[1] >= answered[0] + 0.1 - EPS


async def test_limits_switched_off(mock: respx.MockRouter) -> None:
    times: list[float] = []
    mock.get("/products").mock(side_effect=recorder(times, PAGE))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(_fetch, ps)
        assert ps.rate_limits.status() == {} and not ps.rate_limits.enabled
    assert len(times) == 50
