"""A third rate-limiter backend, written from CONTRIBUTING's "A new rate-limiter backend" alone:
it plugs into the client without a change to the pipeline, the client or the command line, its
waits reach users' listeners, the log and the CLI's progress line, for any bucket."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping, Sequence

import pytest
import respx
from rich.console import Console

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.cli._progress import Reporter
from pleasurestock_async.errors import ConfigurationError
from pleasurestock_async.ratelimit import (
    BaseRateLimiter,
    BucketName,
    BucketStatus,
    Lease,
    ManualClock,
    MemoryRateLimiter,
    RateLimitConfig,
    RateLimiter,
    RateLimitWait,
    RateLimitWaitError,
    Window,
    WindowStatus,
    check_wait,
)

from .conftest import BASE, KEY, fixture
from .simulated import on_clock


class _Answered:
    async def release(self) -> None:
        return None


class CountingLimiter(BaseRateLimiter):
    """``limit`` requests per fixed window of ``seconds`` in each bucket, counted from the
    first request of the window (a counting backend, not a safe one: for this test)."""

    def __init__(self, limit: int, seconds: float, clock: ManualClock) -> None:
        self.window = Window(limit, seconds)
        self.clock = clock
        self.opened: dict[BucketName, float] = {}
        self.counts: dict[BucketName, int] = {}
        self.paused_until: dict[BucketName, float] = {}

    def _wait(self, bucket: BucketName) -> float:
        now = self.clock.now()
        paused = self.paused_until.get(bucket, 0.0) - now
        if paused > 0:
            return paused
        opened = self.opened.get(bucket)
        if opened is None or now >= opened + self.window.seconds:
            return 0.0
        if self.counts[bucket] < self.window.limit:
            return 0.0
        return opened + self.window.seconds - now

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> Lease:
        for bucket in buckets:
            wait = self._wait(bucket)
            if wait > 0:
                check_wait(bucket, str(self.window), wait, max_wait)
                self.waiting(bucket, str(self.window), wait)
                await self.clock.sleep(wait)
        now = self.clock.now()
        for bucket in buckets:
            opened = self.opened.get(bucket)
            if opened is None or now >= opened + self.window.seconds:
                self.opened[bucket], self.counts[bucket] = now, 0
            self.counts[bucket] += 1
        return _Answered()

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        until = self.clock.now() + seconds
        for bucket in buckets:
            self.paused_until[bucket] = max(self.paused_until.get(bucket, 0.0), until)

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        now = self.clock.now()
        out: dict[BucketName, BucketStatus] = {}
        for bucket in self.counts:
            opened = self.opened[bucket]
            used = self.counts[bucket] if now < opened + self.window.seconds else 0
            paused = max(0.0, self.paused_until.get(bucket, 0.0) - now)
            w = self.window
            windows = (WindowStatus(w.limit, w.seconds, used, max(0, w.limit - used)),)
            out[bucket] = BucketStatus(bucket, windows, paused)
        return out


ORDERS = "/external/orders"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get(ORDERS).respond(json=fixture("orders_list"))
        yield router


async def test_it_plugs_in_and_its_waits_reach_listeners_and_the_log(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    limiter = CountingLimiter(2, 30.0, clock)
    assert isinstance(limiter, RateLimiter)
    seen: list[RateLimitWait] = []
    caplog.set_level(logging.INFO, logger="pleasurestock_async")
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:
        assert ps.rate_limiter is limiter
        stop = ps.rate_limiter.on_wait(seen.append)

        async def three() -> list[float]:
            at = []
            for _ in range(3):
                await ps.orders.list()
                at.append(clock.now())
            return at

        assert await on_clock(clock, three) == [0.0, 0.0, 30.0]
        stop()
        await on_clock(clock, three)  # no listener any more
    assert api.calls.call_count == 6
    assert [(e.bucket, e.window, e.seconds) for e in seen] == [("external", "2 per 30 s", 30.0)]
    record = next(r for r in caplog.records if r.getMessage().startswith("rate limit: waiting"))
    fields = {name: record.__dict__[name] for name in ("bucket", "window", "wait")}
    assert fields == {"bucket": "external", "window": "2 per 30 s", "wait": 30.0}


async def test_a_wait_max_rate_limit_wait_forbids_is_the_public_error(
    api: respx.MockRouter,
) -> None:
    clock = ManualClock()
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limiter=CountingLimiter(1, 60.0, clock), max_rate_limit_wait=5
    ) as ps:
        await ps.orders.list()
        with pytest.raises(RateLimitWaitError) as info:
            await ps.orders.list()
    assert (info.value.bucket, info.value.window, info.value.wait) == ("external", "1 per 60 s", 60)
    assert api.calls.call_count == 1


async def test_the_cli_progress_line_shows_its_waits_for_any_bucket(
    api: respx.MockRouter,
) -> None:
    """The line came from scraping the log text of the built-in limiters and looked at the
    standard bucket only: a wait of another backend, or of the external API, was not shown."""
    clock = ManualClock()
    stream = io.StringIO()
    reporter = Reporter(Console(file=stream, width=80, color_system=None), label="push")
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limiter=CountingLimiter(1, 600.0, clock)
    ) as ps:
        async with reporter.running(ps.rate_limiter):

            async def twice() -> None:
                await ps.orders.list()
                await ps.orders.list()

            await on_clock(clock, twice)
    lines = stream.getvalue().splitlines()
    assert any(line.startswith("push: external rate limit: waiting until ") for line in lines)


async def test_a_limiter_of_another_key_is_refused() -> None:
    class OtherKey(CountingLimiter):
        def uses_key(self, api_key: str) -> bool:
            return api_key != KEY

    with pytest.raises(ConfigurationError, match="another API key"):
        AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=OtherKey(1, 1.0, ManualClock()))


async def test_a_limiter_written_for_the_old_protocol_works_with_a_warning(
    api: respx.MockRouter,
) -> None:
    class Old:
        """The four methods the protocol asked before uses_key and on_wait."""

        def __init__(self) -> None:
            self.inner = MemoryRateLimiter()
            self.clock = self.inner.clock

        async def acquire(
            self,
            buckets: Sequence[BucketName],
            *,
            max_wait: float | None = None,
            hold_for: float | None = None,
        ) -> Lease:
            return await self.inner.acquire(buckets, max_wait=max_wait, hold_for=hold_for)

        async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
            await self.inner.pause(buckets, seconds)

        async def status(self) -> Mapping[BucketName, BucketStatus]:
            return await self.inner.status()

        async def aclose(self) -> None:
            await self.inner.aclose()

    old = Old()
    with pytest.warns(DeprecationWarning, match="uses_key"):
        ps = AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=old)  # type: ignore[arg-type]
    async with ps:
        await ps.orders.list()
        assert "external" in await ps.rate_limiter.status()
    assert api.calls.call_count == 1


async def test_a_failing_listener_stops_no_request(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter(RateLimitConfig(external=(Window(1, 10.0),)), clock=clock)

    def broken(event: RateLimitWait) -> None:
        raise ValueError("a metrics backend is down")

    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:
        ps.rate_limiter.on_wait(broken)

        async def twice() -> None:
            await ps.orders.list()
            await ps.orders.list()

        await on_clock(clock, twice)
    assert api.calls.call_count == 2
    (failed,) = [r for r in caplog.records if r.getMessage() == "a rate-limit wait listener failed"]
    assert failed.exc_info is not None and isinstance(failed.exc_info[1], ValueError)


async def test_the_cli_progress_line_shows_a_wait_of_the_external_bucket_at_once(
    api: respx.MockRouter,
) -> None:
    """The built-in limiter too: the line was read from the standard bucket's status only,
    a quarter of a second after a wait began, from the text of a log line."""
    clock = ManualClock()
    limiter = MemoryRateLimiter(RateLimitConfig(external=(Window(1, 600.0),)), clock=clock)
    stream = io.StringIO()
    reporter = Reporter(Console(file=stream, width=80, color_system=None), label="sync")
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=limiter) as ps:
        async with reporter.running(ps.rate_limiter):

            async def twice() -> None:
                await ps.orders.list()
                await ps.orders.list()

            await on_clock(clock, twice)
    assert "sync: external rate limit: waiting until " in stream.getvalue()


async def test_an_old_limiter_of_another_key_is_still_refused() -> None:
    """The client honoured an old limiter's own ``uses_key``: the wrapper keeps doing so."""

    class OldOfAnotherKey:
        async def acquire(
            self,
            buckets: Sequence[BucketName],
            *,
            max_wait: float | None = None,
            hold_for: float | None = None,
        ) -> Lease:
            raise AssertionError("never asked")

        async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
            return None

        async def status(self) -> Mapping[BucketName, BucketStatus]:
            return {}

        async def aclose(self) -> None:
            return None

        def uses_key(self, api_key: str) -> bool:
            return False

    with (
        pytest.warns(DeprecationWarning, match="on_wait"),
        pytest.raises(ConfigurationError, match="another API key"),
    ):
        AsyncPleasureStock(KEY, base_url=BASE, rate_limiter=OldOfAnotherKey())  # type: ignore[arg-type]
