"""What only the Redis limiter does: keys and their expiry, the server's clock, several
limiters (as several processes) sharing one key fairly, dead waiters, Redis going away, and
owning its connection. A real redis-server; asyncio only (redis-py's client needs it)."""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.abc
import pytest
import redis.asyncio as aioredis

from pleasurestock_async.errors import APIConnectionError, ConfigurationError, RateLimitWaitError
from pleasurestock_async.ratelimit import (
    BucketName,
    ManualClock,
    RateLimitConfig,
    RateLimiterUnavailableError,
    RateLimitWait,
    RedisRateLimiter,
    Window,
)
from pleasurestock_async.ratelimit._clock import within

from . import redis_server as servers
from .redis_server import REDIS_TIMEOUT, RedisServer, unique_prefix
from .simulated import on_clock

redis_server = servers.redis_server
own_redis_server = servers.own_redis_server
asyncio_only = servers.asyncio_only

pytestmark = [pytest.mark.usefixtures("asyncio_only"), pytest.mark.timeout(60)]

KEY = "pk_live_secret_key_that_must_stay_home_42"
OTHER_KEY = "pk_live_another_tenant_key_0000000000"
STD: tuple[BucketName, ...] = ("standard",)


def config(*standard: Window, **others: tuple[Window, ...]) -> RateLimitConfig:
    big = (Window(1000, 1.0),)
    return RateLimitConfig(
        standard=standard or big,
        external=others.get("external", big),
        smart=others.get("smart", big),
    )


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client, to look at what the limiter left in Redis."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def everything_under(client: aioredis.Redis, prefix: str) -> dict[str, Any]:
    """Every key under ``prefix`` with its content and its time to live."""
    out: dict[str, Any] = {}
    async for key in client.scan_iter(match=f"{prefix}:*"):
        kind = await client.type(key)
        if kind == "zset":
            value: Any = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "string":
            value = await client.get(key)
        else:
            value = kind
        out[key] = (value, await client.pttl(key))
    return out


def windows_in(stored: dict[str, Any]) -> list[Any]:
    """The windows among the keys (not the queues, pauses, workers alive or epoch)."""
    return [value for key, value in stored.items() if key.rsplit(":", 1)[1][0].isdigit()]


# -- keys ----------------------------------------------------------------------------------------


async def test_keys_hold_no_api_key_and_expire_on_their_own(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    prefix = unique_prefix()
    limiter = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=config(Window(2, 1.0)), prefix=prefix
    )
    try:
        first = await limiter.acquire(("smart", "standard"), hold_for=5.0)
        await limiter.acquire(STD, hold_for=5.0)  # left in flight
        await first.release()
        with anyio.move_on_after(0.2):  # a waiter: its ticket sits in the queue meanwhile
            await limiter.acquire(STD, hold_for=5.0)
        await limiter.pause(("external",), 3.0)
        stored = await everything_under(raw, prefix)
    finally:
        await limiter.aclose()
    assert stored, "nothing was stored"
    dump = repr(stored)
    assert KEY not in dump and KEY[8:20] not in dump
    assert KEY not in repr(limiter)
    hashes = {key.split(":")[2] for key in stored}
    assert len(hashes) == 1 and hashes.pop().startswith("{")  # one namespace, a cluster hash tag
    # the name of Redis's state lives a minute past the last beat of any worker
    assert all(
        0 < ttl <= (60_000 if key.endswith(":epoch") else 5_000 + 1_000 + 1_000)
        for key, (_, ttl) in stored.items()
    ), stored
    kinds = {key.rsplit(":", 1)[1] for key in stored}
    assert {"1.0s", "pause", "alive", "epoch"} <= kinds


async def test_it_tells_whose_windows_it_keeps(redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(redis_server.url, api_key=KEY, prefix=unique_prefix())
    try:
        assert limiter.uses_key(KEY) and limiter.uses_key(f" {KEY}\n")
        assert not limiter.uses_key(OTHER_KEY)
    finally:
        await limiter.aclose()


async def test_two_api_keys_keep_separate_windows(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    one = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=config(Window(1, 10.0)), prefix=prefix
    )
    other = RedisRateLimiter.from_url(
        redis_server.url, api_key=OTHER_KEY, config=config(Window(1, 10.0)), prefix=prefix
    )
    try:
        await one.acquire(STD, hold_for=5.0)
        with anyio.fail_after(1.0):
            await other.acquire(STD, hold_for=5.0)  # not held up by the first key's request
        assert (await one.status())["standard"].windows[0].used == 1
        assert (await other.status())["standard"].windows[0].used == 1
    finally:
        await one.aclose()
        await other.aclose()


async def test_time_is_the_redis_servers(redis_server: RedisServer, raw: aioredis.Redis) -> None:
    """Without an injected clock every moment is the server's, whatever the host's clock."""
    prefix = unique_prefix()
    limiter = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=config(Window(5, 60.0)), prefix=prefix
    )
    try:
        seconds, micros = await raw.time()
        before = seconds + micros / 1e6
        await limiter.acquire(STD, hold_for=10.0)
        seconds, micros = await raw.time()
        after = seconds + micros / 1e6
        [(members, _)] = windows_in(await everything_under(raw, prefix))
    finally:
        await limiter.aclose()
    [(_, score)] = members
    assert before + 70.0 <= score <= after + 70.0  # sent on the server's clock + hold + window


# -- several workers -----------------------------------------------------------------------------


async def test_workers_share_one_window(redis_server: RedisServer) -> None:
    """Two limiters on separate connections (two processes, as Redis sees them)."""
    prefix = unique_prefix()
    clock = ManualClock()
    cfg = config(Window(3, 0.5))
    a, b = (
        RedisRateLimiter.from_url(
            redis_server.url, api_key=KEY, config=cfg, prefix=prefix, clock=clock
        )
        for _ in range(2)
    )
    sent: list[float] = []
    try:

        async def one(limiter: RedisRateLimiter) -> None:
            lease = await limiter.acquire(STD, hold_for=5.0)
            sent.append(clock.now())
            await lease.release()

        async def eight() -> None:
            async with anyio.create_task_group() as tg:
                for n in range(8):
                    tg.start_soon(one, a if n % 2 else b)

        await on_clock(clock, eight)
    finally:
        await a.aclose()
        await b.aclose()
    sent.sort()
    assert len(sent) == 8
    assert all(
        later - earlier >= 0.5 - 1e-9 for earlier, later in zip(sent, sent[3:], strict=False)
    )
    assert sent[-1] == pytest.approx(1.0, abs=0.01)  # and no slot was left unused


async def test_no_worker_starves_while_others_keep_acquiring(redis_server: RedisServer) -> None:
    """Three limiters (processes) with ten busy tasks each share a small window: each gets
    its turn, about a third of the slots."""
    prefix = unique_prefix()
    clock = ManualClock()
    cfg = config(Window(4, 0.2))
    limiters = [
        RedisRateLimiter.from_url(
            redis_server.url, api_key=KEY, config=cfg, prefix=prefix, clock=clock
        )
        for _ in range(3)
    ]
    counts = [0, 0, 0]
    try:

        async def busy(n: int) -> None:
            while True:
                lease = await limiters[n].acquire(STD, hold_for=5.0)
                counts[n] += 1
                await lease.release()

        async def everyone() -> None:
            async with anyio.create_task_group() as tg:
                for n in range(3):
                    for _ in range(10):
                        tg.start_soon(busy, n)

        await on_clock(clock, lambda: within(clock, 1.5, everyone))
    finally:
        for limiter in limiters:
            await limiter.aclose()
    total = sum(counts)
    assert 4 * 7 <= total <= 4 * 8, counts  # windows of 4 starting at 0, 0.2, ... 1.4
    assert min(counts) >= total // 3 - 3, counts


async def test_a_dead_waiters_place_is_given_up(redis_server: RedisServer) -> None:
    """A worker that died while first in a queue stops renewing its ticket: after
    ``ticket_ttl`` the others go past it."""
    clock = ManualClock()
    prefix = unique_prefix()
    cfg = config(Window(1, 1.0))
    dead = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=cfg, prefix=prefix, clock=clock, ticket_ttl=3.0
    )
    alive = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=cfg, prefix=prefix, clock=clock, ticket_ttl=3.0
    )
    at: list[float] = []
    try:
        await dead.acquire(STD, hold_for=0.5)  # counts until 1.5 (never released)
        # the dead worker queues at 0 and then stops renewing: its ticket stays in Redis
        reply = await dead._ask(dead._shape(STD), "dead-ticket", 0.5, 1)
        assert reply[0] == "wait"

        async def one() -> None:
            await alive.acquire(STD, hold_for=0.5)
            at.append(clock.now())

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            await clock.run(until=20.0)
    finally:
        await dead.aclose()
        await alive.aclose()
    [t] = at
    assert 3.0 <= t <= 3.0 + 1.0 + 0.01  # dropped at 3.0, noticed within a renewal period


async def test_release_records_the_answer_even_while_cancelled(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    clock = ManualClock()
    prefix = unique_prefix()
    limiter = RedisRateLimiter.from_url(
        redis_server.url, api_key=KEY, config=config(Window(1, 1.0)), prefix=prefix, clock=clock
    )
    try:
        lease = await limiter.acquire(STD, hold_for=50.0)
        await clock.advance(2.0)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await lease.release()
        [(members, _)] = windows_in(await everything_under(raw, prefix))
    finally:
        await limiter.aclose()
    assert [score for _, score in members] == [3.0]  # answered at 2.0, counted until 3.0


# -- Redis away ----------------------------------------------------------------------------------


async def test_redis_away_raises_a_clear_error_quickly(own_redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(
        own_redis_server.url, api_key=KEY, config=config(Window(5, 1.0)), prefix=unique_prefix()
    )
    try:
        lease = await limiter.acquire(STD, hold_for=5.0)
        own_redis_server.stop()
        await lease.release()  # logged, never raised: the slot ends at its deadline
        await limiter.pause(STD, 1.0)  # logged, never raised
        started = time.monotonic()
        with pytest.raises(RateLimiterUnavailableError) as caught:
            await limiter.acquire(STD, hold_for=5.0)
        assert time.monotonic() - started < 3.0
        with pytest.raises(RateLimiterUnavailableError):
            await limiter.status()
    finally:
        await limiter.aclose()
    error = caught.value
    assert isinstance(error, APIConnectionError)
    assert error.where == f"127.0.0.1:{own_redis_server.port}/0"
    assert "Redis (127.0.0.1" in str(error) and "unavailable" in str(error)
    assert KEY not in str(error)


async def test_redis_hung_is_bounded_by_the_timeout(own_redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(
        own_redis_server.url,
        api_key=KEY,
        config=config(Window(5, 1.0)),
        prefix=unique_prefix(),
        timeout=0.5,
    )
    process = own_redis_server.process
    assert process is not None
    try:
        await limiter.acquire(STD, hold_for=5.0)
        process.send_signal(19)  # SIGSTOP: connections stay open, nothing answers
        started = time.monotonic()
        with pytest.raises(RateLimiterUnavailableError):
            await limiter.acquire(STD, hold_for=5.0)
        assert time.monotonic() - started < 0.5 * 2  # one timeout, not one per call
    finally:
        process.send_signal(18)  # SIGCONT
        await limiter.aclose()


async def test_local_fallback_keeps_a_share_until_redis_is_back(
    own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pleasurestock_async")
    clock = ManualClock()
    limiter = RedisRateLimiter.from_url(
        own_redis_server.url,
        api_key=KEY,
        config=config(Window(8, 0.5)),
        prefix=unique_prefix(),
        on_unavailable="local",
        workers=4,
        retry_interval=0.3,
        clock=clock,
        timeout=REDIS_TIMEOUT,
    )
    sent: list[float] = []

    async def burst(n: int) -> None:
        async def one() -> None:
            await (await limiter.acquire(STD, hold_for=5.0)).release()
            sent.append(clock.now())

        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)

    try:
        await on_clock(clock, lambda: burst(8))  # shared: all at once
        assert sent == [0.0] * 8
        own_redis_server.stop()
        sent.clear()
        await on_clock(clock, lambda: burst(6))  # local: 2 (8 / 4 workers) per 0.5 s
        local = sorted(sent)
        assert all(b - a >= 0.5 - 1e-9 for a, b in zip(local, local[2:], strict=False))
        assert (await limiter.status())["standard"].windows[0].limit == 2
        own_redis_server.start()
        await clock.advance(0.35)  # past retry_interval: the next acquire tries Redis
        sent.clear()
        await on_clock(clock, lambda: burst(4))
        assert (await limiter.status())["standard"].windows[0].limit == 8
    finally:
        await limiter.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("falling back to per-process windows (1/4" in m for m in messages) == 1
    assert any("answers again" in m for m in messages)
    assert not any(KEY in m for m in messages)


# -- construction and ownership ------------------------------------------------------------------


async def test_a_given_client_is_not_closed_and_an_own_one_is(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    async def connections() -> int:
        return int((await raw.info("clients"))["connected_clients"])

    base = await connections()
    client = aioredis.Redis.from_url(redis_server.url)
    limiter = RedisRateLimiter(client, api_key=KEY, prefix=unique_prefix())
    await (await limiter.acquire(STD)).release()
    await limiter.aclose()
    assert await connections() == base + 1  # still connected
    assert await client.ping()
    await client.aclose()

    own = RedisRateLimiter.from_url(redis_server.url, api_key=KEY, prefix=unique_prefix())
    await (await own.acquire(STD)).release()
    assert await connections() == base + 1
    await own.aclose()
    for _ in range(100):  # the server notices the closed socket within a moment
        if await connections() == base:
            break
        await anyio.sleep(0.01)
    assert await connections() == base


async def test_no_password_in_repr_or_errors(own_redis_server: RedisServer) -> None:
    url = f"redis://:hunter2-password@127.0.0.1:{own_redis_server.port}/3"
    limiter = RedisRateLimiter.from_url(url, api_key=KEY, prefix=unique_prefix())
    try:
        own_redis_server.stop()
        with pytest.raises(RateLimiterUnavailableError) as caught:
            await limiter.acquire(STD)
    finally:
        await limiter.aclose()
    for text in (repr(limiter), str(caught.value), caught.value.where):
        assert "hunter2" not in text and KEY not in text
    assert caught.value.where.endswith("/3")


@pytest.mark.parametrize(
    "options",
    [
        {"on_unavailable": "local"},  # no workers
        {"on_unavailable": "local", "workers": 0},
        {"on_unavailable": "ignore"},
        {"prefix": "has {braces}"},
        {"prefix": ""},
        {"ticket_ttl": 0},
        {"default_hold_for": math.inf},
    ],
)
async def test_bad_options_are_refused(redis_server: RedisServer, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RedisRateLimiter.from_url(redis_server.url, api_key=KEY, **options)


async def test_a_bad_api_key_is_refused_without_showing_it(redis_server: RedisServer) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisRateLimiter.from_url(redis_server.url, api_key="pk secret with spaces")
    assert "secret" not in str(caught.value)


class _HeldReplies:
    """A TCP proxy to Redis whose replies (not requests) can be held back until released, so
    a script runs in Redis while its caller has already given up on the answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._open = anyio.Event()
        self._open.set()
        self.reply_held = anyio.Event()
        self.reply_sent = anyio.Event()

    def hold(self) -> None:
        """Keep every reply from now on until :meth:`release`."""
        self._open = anyio.Event()
        self.reply_held = anyio.Event()
        self.reply_sent = anyio.Event()

    def release(self) -> None:
        """Let the held replies (and later ones) through."""
        self._open.set()

    async def _pipe(self, source: Any, sink: Any, replies: bool) -> None:
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            while True:
                data = await source.receive()
                if replies and not self._open.is_set():
                    self.reply_held.set()
                    await self._open.wait()
                    await sink.send(data)
                    self.reply_sent.set()
                    continue
                await sink.send(data)

    async def handle(self, client: Any) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", self.port) as server:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pipe, client, server, False)
                await self._pipe(server, client, True)
                tg.cancel_scope.cancel()


async def _acquire_and_release(limiter: RedisRateLimiter) -> None:
    """One request's slot through a limiter with a short timeout: tried again when a busy
    machine makes a round trip outlast it (a lost answer costs nothing, as tested below)."""
    for _ in range(50):
        try:
            await (await limiter.acquire(STD, hold_for=30)).release()
        except RateLimiterUnavailableError:
            continue
        return
    raise AssertionError("50 round trips outlasted the limiter's timeout")


@pytest.mark.parametrize("how", ["cancelled", "timed out"])
async def test_an_acquire_whose_reply_is_lost_takes_no_slot(
    redis_server: RedisServer, how: str
) -> None:
    proxy = _HeldReplies(redis_server.port)
    prefix = unique_prefix()
    windows = config(Window(5, 60.0))
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 (not Django)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, proxy.handle)
        direct = RedisRateLimiter.from_url(
            redis_server.url, api_key=KEY, config=windows, prefix=prefix, timeout=REDIS_TIMEOUT
        )
        slow = RedisRateLimiter.from_url(
            f"redis://127.0.0.1:{port}/0", api_key=KEY, config=windows, prefix=prefix,
            timeout=0.3,
        )  # fmt: skip
        try:
            await _acquire_and_release(slow)  # connected, scripts loaded
            before = (await direct.status())["standard"].windows[0].used
            proxy.hold()
            if how == "cancelled":
                async with anyio.create_task_group() as waiting:
                    waiting.start_soon(lambda: slow.acquire(STD, hold_for=30))
                    await proxy.reply_held.wait()  # Redis ran the ACQUIRE: its slot is taken
                    waiting.cancel_scope.cancel()
            else:
                with pytest.raises(RateLimiterUnavailableError):
                    await slow.acquire(STD, hold_for=30)
                assert proxy.reply_held.is_set()
            proxy.release()
            with anyio.fail_after(REDIS_TIMEOUT):
                await proxy.reply_sent.wait()  # the late reply arrives, to a caller gone
            # the next call that reaches Redis gives back what the lost one took
            await _acquire_and_release(slow)
            before += 1  # that call's own slot, answered
            assert (await direct.status())["standard"].windows[0].used == before
        finally:
            await slow.aclose()
            await direct.aclose()
            tg.cancel_scope.cancel()


async def test_no_wait_allowed_on_a_full_window_is_a_wait_error(redis_server: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(
        redis_server.url,
        api_key=KEY,
        config=config(Window(1, 60.0)),
        prefix=unique_prefix(),
        timeout=REDIS_TIMEOUT,
    )
    try:
        await limiter.acquire(STD, hold_for=5.0)
        with pytest.raises(RateLimitWaitError):  # it was ValueError (a negative sleep)
            await limiter.acquire(STD, max_wait=0, hold_for=5.0)
    finally:
        await limiter.aclose()


async def test_waits_of_the_local_fallback_are_announced_too() -> None:
    with socket.socket() as s:  # a port nothing listens on: Redis is down from the start
        s.bind(("127.0.0.1", 0))
        unused = s.getsockname()[1]
    clock = ManualClock()
    limiter = RedisRateLimiter.from_url(
        f"redis://127.0.0.1:{unused}/0",
        api_key=KEY,
        config=config(Window(1, 10.0)),
        prefix=unique_prefix(),
        on_unavailable="local",
        workers=1,
        clock=clock,
        timeout=REDIS_TIMEOUT,
    )
    seen: list[RateLimitWait] = []
    limiter.on_wait(seen.append)

    async def twice() -> None:
        for _ in range(2):
            await (await limiter.acquire(STD, hold_for=5.0)).release()

    try:
        await on_clock(clock, twice)
    finally:
        await limiter.aclose()
    # a shared window never seen counts as full when falling back: both requests wait
    assert [(e.bucket, e.window, e.seconds) for e in seen] == [("standard", "1 per 10 s", 10.0)] * 2
