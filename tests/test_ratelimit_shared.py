"""The rate-limiter contract, run against both limiters on simulated time: the in-process
sliding windows and the Redis ones (a real redis-server; skipped under trio).

Every test drives a :class:`ManualClock`, so waits of seconds take none, and checks the
admission times exactly.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import pytest
import sniffio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pleasurestock_async.errors import RateLimitWaitError
from pleasurestock_async.ratelimit import (
    BucketName,
    Lease,
    ManualClock,
    MemoryRateLimiter,
    RateLimitConfig,
    RateLimiter,
    RateLimitWait,
    Window,
)

from . import redis_server as servers
from .redis_server import unique_prefix

redis_server = servers.redis_server

# A limiter that loops forever fails, not hangs.
pytestmark = [pytest.mark.timeout(60), pytest.mark.concurrency]

KEY = "pk_test_shared_limits_0123456789"
STD: Sequence[BucketName] = ("standard",)
HOLD = 100.0
EPS = 1e-9

Make = Callable[..., Awaitable[RateLimiter]]


def config(*standard: Window, **others: tuple[Window, ...]) -> RateLimitConfig:
    big = (Window(1000, 1.0),)
    return RateLimitConfig(
        standard=standard or big,
        external=others.get("external", big),
        smart=others.get("smart", big),
    )


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Builds a limiter of the kind under test on a given config and clock."""
    made: list[RateLimiter] = []
    if request.param == "memory":

        async def make_memory(cfg: RateLimitConfig, clock: ManualClock, **_: Any) -> RateLimiter:
            return MemoryRateLimiter(cfg, clock=clock)

        yield make_memory
        return
    if sniffio.current_async_library() != "asyncio":
        pytest.skip("redis.asyncio runs only on asyncio")
    server = request.getfixturevalue("redis_server")
    from pleasurestock_async.ratelimit import RedisRateLimiter

    async def make_redis(cfg: RateLimitConfig, clock: ManualClock, **options: Any) -> RateLimiter:
        limiter = RedisRateLimiter.from_url(
            server.url, api_key=KEY, config=cfg, clock=clock, prefix=unique_prefix(), **options
        )
        made.append(limiter)
        return limiter

    try:
        yield make_redis
    finally:
        for limiter in made:
            await limiter.aclose()


async def take(limiter: RateLimiter, clock: ManualClock, at: list[float], **kw: Any) -> Lease:
    lease = await limiter.acquire(kw.pop("buckets", STD), hold_for=kw.pop("hold", HOLD), **kw)
    at.append(clock.now())
    return lease


async def take_and_answer(
    limiter: RateLimiter, clock: ManualClock, at: list[float], **kw: Any
) -> None:
    lease = await take(limiter, clock, at, **kw)
    await lease.release()


# -- the property: exact and greedy ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    gap: float  # after the previous request arrived
    latency: float | None  # None: never answered (its worker died)


def exceeded(sent: list[float], done: list[float], window: Window) -> int:
    """The most requests a server could count in one window: each request may arrive at
    any moment between its sending and its answer (``done``). An independent check."""
    most = 0
    for b in done:  # the worst window starts at some answer
        most = max(
            most,
            sum(
                1
                for s_i, b_i in zip(sent, done, strict=True)
                if s_i < b + window.seconds - EPS and b_i >= b - EPS
            ),
        )
    return most


def justified(j: int, sent: list[float], done: list[float], windows: Sequence[Window]) -> bool:
    """Whether request ``j`` had to wait: just before it was sent, some window was full."""
    t = sent[j]
    return any(
        sum(
            1
            for s_i, b_i in zip(sent, done, strict=True)
            if s_i < t - EPS and b_i + w.seconds >= t - EPS
        )
        >= w.limit
        for w in windows
    )


windows_st = st.lists(
    st.builds(
        Window,
        st.integers(1, 5),
        st.integers(1, 40).map(lambda n: n / 4),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda w: w.seconds,
)
requests_st = st.lists(
    st.builds(
        Request,
        st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.5, 1.0, 2.5]),
        st.one_of(st.none(), st.integers(0, 16).map(lambda n: n / 4)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(windows=windows_st, requests=requests_st, hold=st.integers(1, 24).map(lambda n: n / 4))
async def test_never_more_than_a_window_allows_and_no_slot_wasted(
    make: Make, windows: list[Window], requests: list[Request], hold: float
) -> None:
    """Requests arrive, wait, stay in flight for a while (some are never answered and count
    until their deadline). No window a server could count ever holds more than its limit,
    and a request waits only while some window is full."""
    clock = ManualClock()
    limiter = await make(config(*windows), clock)
    arrivals: list[float] = []
    t = 0.0
    for r in requests:
        t += r.gap
        arrivals.append(t)
    sent = [math.nan] * len(requests)
    done = [math.nan] * len(requests)

    async def one(i: int) -> None:
        await clock.sleep(arrivals[i])
        lease = await limiter.acquire(STD, hold_for=hold)
        sent[i] = clock.now()
        latency = requests[i].latency
        if latency is None:
            done[i] = sent[i] + hold
            return
        await clock.sleep(latency)
        await lease.release()
        done[i] = min(clock.now(), sent[i] + hold)

    horizon = t + len(requests) * (max(w.seconds for w in windows) + hold + 5)
    async with anyio.create_task_group() as tg:
        for i in range(len(requests)):
            tg.start_soon(one, i)
        await clock.run(until=horizon)
        tg.cancel_scope.cancel()
    assert not any(math.isnan(s) for s in sent), "a request was never admitted"
    for w in windows:
        assert exceeded(sent, done, w) <= w.limit, w
    for j, (a, s) in enumerate(zip(arrivals, sent, strict=True)):
        assert s >= a - EPS
        if s > a + EPS:
            assert justified(j, sent, done, windows), (j, a, s)


# -- one rule at a time --------------------------------------------------------------------------


async def test_a_free_slot_is_taken_at_once(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(3, 1.0)), clock)
    at: list[float] = []
    for _ in range(3):
        await take_and_answer(limiter, clock, at)
    assert at == [0.0, 0.0, 0.0]
    status = await limiter.status()
    assert status["standard"].windows[0].used == 3
    assert status["standard"].windows[0].remaining == 0
    assert status["standard"].paused_for == 0


async def test_a_waiting_request_goes_the_moment_a_slot_frees(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(2, 1.0)), clock)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)
    await clock.advance(0.25)
    await take_and_answer(limiter, clock, at)
    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=5.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 0.25, 1.0, 1.25]


async def test_several_windows_are_spent_together(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(3, 10.0), Window(2, 1.0)), clock)
    at: list[float] = []
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=30.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 0.0, 1.0, 10.0]


async def test_a_request_in_flight_holds_its_slot_until_a_window_after_its_answer(
    make: Make,
) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    lease = await take(limiter, clock, at)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=3.0)
        assert at == [0.0]  # still in flight after three windows: nothing else went
        await lease.release()  # the answer comes at 3.0
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 4.0]


async def test_an_unanswered_request_counts_as_answered_at_its_deadline(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    await take(limiter, clock, at, hold=2.5)  # never released: its worker died
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 3.5]


async def test_a_long_request_does_not_hold_up_slots_answered_after_it(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(2, 1.0)), clock)
    at: list[float] = []
    slow = await take(limiter, clock, at)  # in flight for long
    await clock.advance(0.5)
    await take_and_answer(limiter, clock, at)  # answered at 0.5: free again at 1.5
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    await slow.release()
    assert at == [0.0, 0.5, 1.5]


async def test_a_429_pause_holds_every_request_of_the_bucket_only(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(), clock)
    at: list[float] = []
    other: list[float] = []
    await limiter.pause(STD, 5.0)
    assert (await limiter.status())["standard"].paused_for == pytest.approx(5.0)
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(take_and_answer, limiter, clock, at)
        lease = await take(limiter, clock, other, buckets=("external",))
        await lease.release()
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [5.0, 5.0, 5.0]
    assert other == [0.0]


async def test_max_wait_refuses_at_once_a_slot_further_away(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 10.0)), clock)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)
    before = time.time()
    with pytest.raises(RateLimitWaitError) as caught:
        await limiter.acquire(STD, max_wait=3.0, hold_for=HOLD)
    error = caught.value
    assert clock.now() == 0.0  # refused without waiting
    assert (error.bucket, error.window, error.max_wait) == ("standard", "1 per 10 s", 3.0)
    assert error.wait == pytest.approx(10.0)
    assert before + 10.0 <= error.free_at <= time.time() + 10.0
    assert "nothing was sent" in str(error)
    assert (await limiter.status())["standard"].windows[0].used == 1  # it took nothing


async def test_max_wait_refuses_at_once_behind_a_queued_request(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 10.0)), clock)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)  # queued until 10.0
        await clock.advance(0.5)
        with pytest.raises(RateLimitWaitError) as caught:
            await limiter.acquire(STD, max_wait=3.0, hold_for=HOLD)
        assert clock.now() == 0.5
        assert caught.value.window == "1 per 10 s"
        assert caught.value.wait == pytest.approx(9.5)
        await clock.run(until=20.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 10.0]


async def test_max_wait_ends_a_wait_that_runs_longer(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    await take(limiter, clock, at)  # in flight: it might be answered any moment
    raised_at: list[float] = []

    async def impatient() -> None:
        with pytest.raises(RateLimitWaitError) as caught:
            await limiter.acquire(STD, max_wait=3.0, hold_for=HOLD)
        raised_at.append(clock.now())
        assert caught.value.bucket == "standard"
        assert caught.value.wait >= 3.0

    async with anyio.create_task_group() as tg:
        tg.start_soon(impatient)
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert raised_at == [3.0]


async def test_max_wait_counts_the_time_queued_behind_others(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 2.0)), clock)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)
    outcomes: list[str] = []

    async def patient() -> None:
        await take_and_answer(limiter, clock, at)
        outcomes.append("sent")

    async def impatient() -> None:
        try:
            await take_and_answer(limiter, clock, at, max_wait=3.0)
            outcomes.append("sent")
        except RateLimitWaitError:
            outcomes.append(f"refused at {clock.now()}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(patient)  # goes at 2.0; the next slot is at 4.0, past 3.0
        await clock.advance(0.5)
        tg.start_soon(impatient)
        await clock.run(until=20.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 2.0]
    assert outcomes == ["sent", "refused at 2.0"]


async def test_max_wait_ending_while_queued_behind_another_raises(make: Make) -> None:
    """The wait ends exactly at max_wait while an earlier request still queues ahead."""
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    await take(limiter, clock, at)  # in flight until its deadline: a slot could free any time
    raised: list[tuple[float, str]] = []

    async def impatient() -> None:
        try:
            await limiter.acquire(STD, max_wait=3.0, hold_for=HOLD)
        except RateLimitWaitError as exc:
            raised.append((clock.now(), exc.bucket))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)  # first in the queue
        await clock.advance(0.5)
        tg.start_soon(impatient)
        await clock.run(until=10.0)
        tg.cancel_scope.cancel()
    assert raised == [(3.5, "standard")]
    assert at == [0.0]


async def test_long_waits_are_logged_with_bucket_window_and_time(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 10.0), Window(1, 0.5)), clock)
    at: list[float] = []
    caplog.set_level(logging.INFO, logger="pleasurestock_async")
    await take_and_answer(limiter, clock, at)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=20.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    waits = [r.getMessage() for r in caplog.records if "rate limit: waiting" in r.getMessage()]
    assert len(waits) == 1
    assert "10.0 s for the standard bucket (1 per 10 s) until" in waits[0]
    assert waits[0].endswith("UTC")


async def test_each_wait_is_announced_once_to_the_listeners(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 10.0)), clock)
    seen: list[RateLimitWait] = []
    stop = limiter.on_wait(seen.append)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)  # no wait: nothing announced
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=20.0)
        stop()
        tg.start_soon(take_and_answer, limiter, clock, at)  # after stop(): not told
        await clock.run(until=40.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 10.0, 20.0]
    assert [(e.bucket, e.window, e.seconds) for e in seen] == [("standard", "1 per 10 s", 10.0)]
    assert seen[0].until == pytest.approx(time.time() + 10.0, abs=30.0)


async def test_short_waits_are_not_logged(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 0.5)), clock)
    at: list[float] = []
    caplog.set_level(logging.INFO, logger="pleasurestock_async")
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.run(until=5.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert at == [0.0, 0.5, 1.0]
    assert not [r for r in caplog.records if "rate limit: waiting" in r.getMessage()]


async def test_a_cancelled_wait_takes_nothing(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    await take_and_answer(limiter, clock, at)
    async with anyio.create_task_group() as tg:
        tg.start_soon(take_and_answer, limiter, clock, at)
        await clock.advance(0.5)
        tg.cancel_scope.cancel()  # the waiter is cancelled at 0.5
    await clock.advance(0.5)
    await take_and_answer(limiter, clock, at)  # the slot that frees at 1.0 is still there
    assert at == [0.0, 1.0]
    assert (await limiter.status())["standard"].windows[0].used == 1


async def test_requests_go_in_the_order_they_came(make: Make) -> None:
    clock = ManualClock()
    limiter = await make(config(Window(1, 1.0)), clock)
    at: list[float] = []
    order: list[int] = []
    await take_and_answer(limiter, clock, at)

    async def numbered(n: int) -> None:
        await take_and_answer(limiter, clock, at)
        order.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(numbered, n)
            await clock.advance(0.1)
        await clock.run(until=20.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert order == [0, 1, 2, 3, 4]
    assert at == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


async def test_a_smart_request_waiting_for_its_bucket_does_not_hold_up_the_api(
    make: Make,
) -> None:
    """Smart reordering spends two buckets; while it waits for the scarce smart bucket,
    requests of the standard bucket alone keep going."""
    clock = ManualClock()
    limiter = await make(config(Window(5, 1.0), smart=(Window(1, 10.0),)), clock)
    smart: list[float] = []
    plain: list[float] = []
    lease = await take(limiter, clock, smart, buckets=("smart", "standard"))
    await lease.release()
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(take, limiter, clock, smart, buckets=("smart", "standard")))
        await clock.advance(1.0)
        for _ in range(3):
            await take(limiter, clock, plain)  # left in flight
        await clock.run(until=20.0)
        tg.cancel_scope.cancel()  # what is left unfinished fails below
    assert smart == [0.0, 10.0]
    assert plain == [1.0, 1.0, 1.0]
    status = await limiter.status()
    assert status["standard"].windows[0].used == 4  # three in flight, the smart one
