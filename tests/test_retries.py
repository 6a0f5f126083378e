"""The retry policy: what is retried for which method, and what is never resent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest
import respx

from pleasurestock_async import DEFAULT_RATE_LIMITS, AsyncPleasureStock
from pleasurestock_async._retry import (
    DEFAULT_MAX_RETRY_AFTER,
    UNREADABLE_RETRY_AFTER,
    RetryPolicy,
    parse_retry_after,
)
from pleasurestock_async.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from pleasurestock_async.ratelimit import ManualClock, MemoryRateLimiter

from .collector import left_for_the_collector
from .conftest import BASE, KEY
from .simulated import on_clock

PAGE = {"data": [], "pagination": {"page": 1, "limit": 100, "total": 0, "pages": 0}}
SALE = [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
OK_SALES = {"success": True, "processed": 1}


@pytest.fixture
async def ps2(mock: respx.MockRouter):  # type: ignore[no-untyped-def]
    async with AsyncPleasureStock(KEY, base_url=BASE, max_retries=2) as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def on_time(mock: respx.MockRouter, clock: ManualClock):  # type: ignore[no-untyped-def]
    """A client whose waits for rate limits (a 429's Retry-After among them) are on ``clock``."""
    limiter = MemoryRateLimiter(DEFAULT_RATE_LIMITS, clock=clock)
    async with AsyncPleasureStock(KEY, base_url=BASE, max_retries=2, rate_limiter=limiter) as ps:
        yield ps


async def test_429_then_200_waits_retry_after_seconds(
    on_time: AsyncPleasureStock, clock: ManualClock, mock: respx.MockRouter
) -> None:
    asked: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(clock.now())
        if len(asked) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=answer)
    await on_clock(clock, on_time.products.list)
    assert asked == [0.0, 1.0]


async def test_429_then_200_waits_retry_after_http_date(
    on_time: AsyncPleasureStock, clock: ManualClock, mock: respx.MockRouter
) -> None:
    asked: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(clock.now())
        if len(asked) == 1:
            when = datetime.now(UTC) + timedelta(seconds=2)
            return httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
        return httpx.Response(200, json=PAGE)

    mock.get("/products").mock(side_effect=answer)
    await on_clock(clock, on_time.products.list)
    assert asked[0] == 0.0
    assert 1.0 <= asked[1] <= 2.0  # HTTP dates have whole-second precision


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("hostile", ["inf", "1e400", "nan", "-3", "soon", "", "Infinity"])
def test_unusable_retry_after_is_a_bounded_default(hostile: str) -> None:
    assert parse_retry_after(hostile) == UNREADABLE_RETRY_AFTER


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("86400") == DEFAULT_MAX_RETRY_AFTER == 3600
    assert parse_retry_after("86400", cap=10) == 10
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == DEFAULT_MAX_RETRY_AFTER


async def test_429_on_post_is_retried(ps2: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.post("/sales").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json=OK_SALES),
        ]
    )
    assert (await ps2.sales.submit(SALE)).processed == 1
    assert route.call_count == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_get_is_retried(
    ps2: AsyncPleasureStock, mock: respx.MockRouter, status: int
) -> None:
    route = mock.get("/products").mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=PAGE)]
    )
    await ps2.products.list()
    assert route.call_count == 2


async def test_5xx_on_put_is_retried(ps2: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    body = {"data": {"orderId": 1, "orderNumber": "O-1", "status": "paid"}}
    route = mock.put("/external/orders/O-1/status").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=body)]
    )
    await ps2.orders.update_status("O-1", "paid")
    assert route.call_count == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_post_sales_is_sent_once(
    ps2: AsyncPleasureStock, mock: respx.MockRouter, status: int
) -> None:
    route = mock.post("/sales").respond(status, json={"error": "boom"})
    with pytest.raises(InternalServerError) as info:
        await ps2.sales.submit(SALE)
    assert route.call_count == 1
    assert info.value.outcome_unknown
    assert "may have processed" in str(info.value) and "double-count" in str(info.value)


@pytest.mark.concurrency
async def test_read_timeout_on_post_sales_is_sent_once(
    ps2: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.post("/sales").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError) as info:
        await ps2.sales.submit(SALE)
    assert route.call_count == 1
    assert info.value.outcome_unknown and "double-count" in str(info.value)


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadError("reset"), httpx.RemoteProtocolError("closed"), httpx.WriteTimeout("slow")],
)
async def test_ambiguous_failures_on_post_orders_are_sent_once(
    ps2: AsyncPleasureStock, mock: respx.MockRouter, exc: Exception
) -> None:
    route = mock.post("/external/orders").mock(side_effect=exc)
    with pytest.raises(APIConnectionError) as info:
        await ps2.orders.create([{"ps_id": "ps_1234567890", "quantity": 1}])
    assert route.call_count == 1 and info.value.outcome_unknown


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
)
async def test_never_established_post_is_retried(
    ps2: AsyncPleasureStock, mock: respx.MockRouter, exc: Exception
) -> None:
    route = mock.post("/sales").mock(side_effect=[exc, httpx.Response(200, json=OK_SALES)])
    assert (await ps2.sales.submit(SALE)).processed == 1
    assert route.call_count == 2


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("slow"), httpx.ReadError("reset"), httpx.ConnectError("refused")]
)
async def test_transport_errors_on_get_are_retried(
    ps2: AsyncPleasureStock, mock: respx.MockRouter, exc: Exception
) -> None:
    route = mock.get("/products").mock(side_effect=[exc, httpx.Response(200, json=PAGE)])
    await ps2.products.list()
    assert route.call_count == 2


async def test_retries_exhausted(ps2: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products").respond(503)
    with pytest.raises(InternalServerError) as info:
        await ps2.products.list()
    assert route.call_count == 3  # the first try and max_retries=2
    assert not info.value.outcome_unknown


async def test_rate_limit_exhausted_surfaces_retry_after(
    ps2: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    route = mock.get("/products").respond(429, headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError) as info:
        await ps2.products.list()
    assert route.call_count == 3 and info.value.retry_after == 0


async def test_per_call_override(ps2: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products").respond(503)
    with pytest.raises(InternalServerError):
        await ps2.with_options(max_retries=0).products.list()
    assert route.call_count == 1
    route.reset()
    with pytest.raises(InternalServerError):
        await ps2.with_options(max_retries=4).products.list()
    assert route.call_count == 5


async def test_no_retry_on_4xx(ps2: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    route = mock.get("/products").respond(404)
    with pytest.raises(NotFoundError):
        await ps2.products.list()
    assert route.call_count == 1


@pytest.mark.real_backoff
def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0)
    for n in range(10):
        ceiling = min(8.0, 0.5 * 2**n)
        waits = {policy.backoff(n) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1


@pytest.mark.concurrency
async def test_cancel_during_retry_wait(mock: respx.MockRouter) -> None:
    route = mock.get("/products").respond(429, headers={"Retry-After": "30"})
    async with AsyncPleasureStock(KEY, base_url=BASE, max_retries=2) as ps:
        with anyio.move_on_after(0.2) as scope:
            await ps.products.list()
        assert scope.cancelled_caught and route.call_count == 1
        status = (await ps.rate_limiter.status())["standard"]
        assert status.paused and 29 < status.paused_for <= 30
        assert status.windows[0].used == 1  # the cancelled retry spent nothing


async def test_a_failed_request_is_freed_when_done_not_by_the_garbage_collector() -> None:
    """The pipeline's frame held the transport error whose traceback holds the frame: every
    failed request and its body lived until the collector ran."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, http_client=http, max_retries=0
    ) as ps:
        with left_for_the_collector() as left:
            for _ in range(3):
                with pytest.raises(APIConnectionError):
                    await ps.products.list()
    await http.aclose()
    assert [o for o in left if isinstance(o, httpx.Request | BaseException)] == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"success": true, "data": 7}'])
async def test_an_unreadable_answer_is_freed_when_done_not_by_the_garbage_collector(
    body: bytes,
) -> None:
    from pleasurestock_async.errors import APIResponseValidationError

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    )
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, http_client=http, max_retries=0
    ) as ps:
        with left_for_the_collector() as left:
            with pytest.raises(APIResponseValidationError):
                await ps.products.list()
    await http.aclose()
    assert [o for o in left if isinstance(o, BaseException)] == []
