"""A limiter shared by every process and host that uses one API key, kept in Redis.

It keeps the same exact sliding windows as :class:`MemoryRateLimiter`, with the same rules (a
request holds its slots from sending until a window after its answer; every window of every
bucket it needs is spent at one instant; a 429 pauses a bucket for everyone), but the windows
live in Redis and each check-and-spend is one atomic Lua script run on the Redis server's clock.

Keys are named after a hash of the API key (the key never reaches Redis) under a prefix, and
every key expires on its own. A request in flight holds its slots at most until its deadline
(``hold_for``, or ``default_hold_for``), or until its worker stops beating: every worker
beats every :data:`HEARTBEAT` seconds, and one silent for :data:`ALIVE_FOR` seconds (killed,
frozen) loses its places in the queues and its requests count as answered then.

Redis losing its state (``FLUSHALL``, a restart without persistence) is noticed by the next
call of any worker: every bucket then waits a few seconds while each worker puts back what it
sent within the longest window (it keeps that record), so no window starts from nothing while
the API still counts those requests.

Waiting: in each process, requests queue first come, first served per bucket (as in memory),
and only the first of each queue waits in Redis, holding a ticket in that bucket's queue
there; tickets are served in order across processes, so no worker starves. A waiter sleeps
until the moment the server computed (never polling a full window); a ticket not renewed for
``ticket_ttl`` seconds (its worker died) is dropped.

Install with the ``redis`` extra: ``pip install 'pleasurestock-async[redis]'``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .._apikey import ApiKey
from ..errors import ConfigurationError, RateLimitWaitError, shorten
from . import _lua
from ._clock import Clock, ManualClock, MonotonicClock, within
from ._config import (
    BUCKET_NAMES,
    DEFAULT_RATE_LIMITS,
    BucketName,
    BucketStatus,
    RateLimitConfig,
    Window,
    WindowStatus,
)
from ._errors import RateLimiterUnavailableError
from ._keys import Namespace
from ._protocol import BaseRateLimiter, Lease
from ._waits import QUEUED, check_wait, wait_error
from .memory import MemoryRateLimiter

__all__ = ["RedisRateLimiter"]

log = logging.getLogger("pleasurestock_async")

OnUnavailable = Literal["raise", "local"]

_RANK = {name: rank for rank, name in enumerate(BUCKET_NAMES)}
_PAUSED = "paused by the server's 429"
_RESTORING = "Redis's state being put back by the workers"

HEARTBEAT = 1.0
"""Seconds between a worker's beats (in real time)."""

ALIVE_FOR = 4.0
"""Seconds after its last beat that a worker counts as dead: its places in the queues are
dropped, and at the next beat of any worker its requests in flight count as answered a beat
after its last one (when it died, at the latest)."""

_MAX_LOST = 3
"""Times one acquire puts its worker's record back before giving up on a Redis that keeps
losing its state."""
_FIRST_POLL = 0.001
"""A waiter whose windows have room but whose turn has not come asks again after this long,
then twice as long each time (up to a :data:`HEARTBEAT`: the turn of a dead worker's ticket
ends within one)."""


class _UnavailableError(Exception):
    """Redis failed; carries what to tell the user."""


class _Reply(NamedTuple):
    """What ACQUIRE answered: its status, the bucket it stopped at (1-based), the cause (0: a
    pause, i: window i, -1: none, -2: restoring), the most and least seconds until that
    frees (``most`` is Redis's time for ``ok``), the epoch of Redis's state, and for ``ok``
    each window's count (the shape's window keys' order)."""

    status: str
    stage: int
    cause: int
    most: float
    least: float
    epoch: str
    counts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Shape:
    """The Redis keys and script arguments of one set of buckets."""

    names: tuple[BucketName, ...]
    labels: tuple[tuple[str, ...], ...]  # per bucket, each window's label (longest first)
    acquire_keys: tuple[str, ...]
    acquire_args: tuple[str, ...]
    window_keys: tuple[str, ...]
    window_seconds: tuple[str, ...]
    queue_keys: tuple[str, ...]
    pause_keys: tuple[str, ...]


@dataclass(slots=True)
class _Record:
    """A request this worker sent (its lease), kept while any window still counts it, to put
    it back should Redis lose it: times on Redis's clock."""

    shape: _Shape
    sent: float
    hold: float
    answered: float | None = None

    def until(self, seconds: float) -> float:
        """When it stops counting in a window of ``seconds``."""
        end = self.sent + self.hold if self.answered is None else self.answered
        return end + seconds


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _num(value: float) -> str:
    return repr(float(value))


def _describe(client: aioredis.Redis) -> str:
    """Where ``client`` connects, without credentials: ``host:port/db`` or a socket path."""
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}/{db}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


class _RedisLease:
    __slots__ = ("_id", "_limiter", "_released", "_shape")

    def __init__(self, limiter: RedisRateLimiter, shape: _Shape, lease_id: str) -> None:
        self._limiter = limiter
        self._shape = shape
        self._id = lease_id
        self._released = False

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        with anyio.CancelScope(shield=True):
            await self._limiter._release(self._shape, self._id)


class _RecordedLease:
    """A lease of the local fall-back windows, recorded so that Redis can be told of it once
    it answers again."""

    __slots__ = ("_lease", "_record", "_when")

    def __init__(self, lease: Lease, record: _Record, when: Any) -> None:
        self._lease = lease
        self._record = record
        self._when = when  # what Redis's clock reads now (an estimate while it is away)

    async def release(self) -> None:
        if self._record.answered is None:
            self._record.answered = self._when()
        await self._lease.release()


class _BothLease:
    """A lease from Redis and from the local windows (while they still count fallback
    requests): releasing it releases both."""

    __slots__ = ("_leases",)

    def __init__(self, *leases: Lease) -> None:
        self._leases = leases

    async def release(self) -> None:
        for lease in self._leases:
            await lease.release()


class _FreeLease:
    __slots__ = ()

    async def release(self) -> None:
        return None


_FREE = _FreeLease()


class RedisRateLimiter(BaseRateLimiter):
    """Exact sliding windows per bucket shared through Redis by every worker of one API key.

    Build it with :meth:`from_url`, or pass a ``redis.asyncio.Redis`` of yours (not closed
    here). Every worker must use the same ``config``, ``prefix`` and API key. From its first
    acquire it beats in the background (every :data:`HEARTBEAT` seconds) until
    :meth:`aclose` (or the end of its ``async with`` block, or of the event loop).

    Args:
        redis: The client to use.
        api_key: The API key whose limits these are; only a hash of it names the keys.
        config: The windows of each bucket (the vendor's published limits by default).
        prefix: The start of every Redis key.
        on_unavailable: What an ``acquire`` does when Redis cannot be reached: ``"raise"``
            :class:`RateLimiterUnavailableError`, or ``"local"``: log a warning and keep
            per-process windows of ``1/workers`` of each limit until Redis answers again.
        workers: How many processes share the key (needed for ``on_unavailable="local"``).
        default_hold_for: The longest a request counts as in flight when ``acquire`` is given
            no ``hold_for`` (a worker that dies frees its slots sooner: a window after it stops
            beating).
        ticket_ttl: A waiter's place in a Redis queue is dropped when not renewed for this
            long (its worker died); waiters renew it every third of that.
        timeout: The longest one Redis call may take.
        retry_interval: In the local fall-back, how often Redis is tried again.
        clock: A :class:`Clock` replacing the Redis server's time (for tests).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        api_key: str,
        config: RateLimitConfig = DEFAULT_RATE_LIMITS,
        prefix: str = "pleasurestock:ratelimit",
        on_unavailable: OnUnavailable = "raise",
        workers: int | None = None,
        default_hold_for: float = 300.0,
        ticket_ttl: float = 15.0,
        timeout: float = 2.0,
        retry_interval: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(config, RateLimitConfig):
            raise ConfigurationError("config must be a RateLimitConfig")
        if on_unavailable not in ("raise", "local"):
            raise ConfigurationError(
                f'on_unavailable must be "raise" or "local", got {shorten(on_unavailable)}'
            )
        if on_unavailable == "local" and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ConfigurationError(
                'on_unavailable="local" needs workers=N: how many processes share the key, '
                "so that each keeps 1/N of every limit while Redis is away"
            )
        for name, value in (
            ("default_hold_for", default_hold_for),
            ("ticket_ttl", ticket_ttl),
            ("timeout", timeout),
            ("retry_interval", retry_interval),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 < value < math.inf)
            ):
                raise ConfigurationError(f"{name} must be a finite number of seconds > 0")
        self.config = config
        self.clock: Clock = clock or MonotonicClock()
        self._redis = redis
        self._owns_redis = False
        self._where = _describe(redis)
        self._keys = Namespace(prefix, ApiKey(api_key))
        self._server_time = clock is None
        self._default_hold = float(default_hold_for)
        self._ticket_ttl = float(ticket_ttl)
        self._renew_every = float(ticket_ttl) / 3
        self._timeout = float(timeout)
        self._retry_interval = float(retry_interval)
        self._windows = {
            name: tuple(sorted(ws, key=lambda w: -w.seconds))
            for name, ws in config.windows().items()
        }
        self._locks = {name: anyio.Lock() for name in BUCKET_NAMES}
        self._shapes: dict[tuple[BucketName, ...], _Shape] = {}
        self._free_at: dict[BucketName, tuple[float, str]] = {}  # the earliest a slot can free
        # Tickets whose ACQUIRE got no reply (Redis slow or gone): it may have taken slots,
        # which the next call that reaches Redis gives back (waiting for it now would double
        # the time a hung Redis takes to fail).
        self._orphans: list[tuple[_Shape, str]] = []
        self._scripts = {
            name: redis.register_script(getattr(_lua, name))
            for name in ("ACQUIRE", "RELEASE", "PAUSE", "LEAVE", "STATUS", "HEARTBEAT", "RESTORE")
        }
        self._worker = secrets.token_hex(8)
        self._epoch = ""  # the state of Redis this worker knows ("" before its first call)
        self._records: dict[str, _Record] = {}  # by ticket: what this worker sent
        self._clock_gap: float | None = None  # Redis's time less the clock's, last seen
        self._every = self._shape(BUCKET_NAMES)
        self._beating: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        # each window's count as last seen (with Redis's time then): a fall-back starts there
        self._last_counts: dict[str, tuple[int, float]] = {}
        self._local = (
            MemoryRateLimiter(config.scaled(1 / workers), clock=self.clock)
            if on_unavailable == "local" and workers is not None
            else None
        )
        if self._local is not None:  # its waits are this limiter's waits
            self._local.on_wait(self._wait_listeners().tell)
        self._workers = workers
        self._down = False
        self._retry_at = 0.0
        self._probing = False
        self._recovering = False
        self._recovered_at = 0.0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        api_key: str,
        config: RateLimitConfig = DEFAULT_RATE_LIMITS,
        timeout: float = 2.0,
        **options: Any,
    ) -> RedisRateLimiter:
        """A limiter on a Redis client of its own (closed by :meth:`aclose`), e.g.
        ``RedisRateLimiter.from_url("redis://localhost:6379/0", api_key=key)``. Other
        keyword arguments are those of the constructor."""
        if not isinstance(url, str):
            raise ConfigurationError(f"url must be a str, got {type(url).__name__}")
        try:
            client = aioredis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1),  # one retry: a pooled connection may predate a restart
            )
        except (ValueError, TypeError) as exc:  # the message names the part, never a password
            raise ConfigurationError(f"not a usable Redis URL: {exc}") from None
        limiter = cls(client, api_key=api_key, config=config, timeout=timeout, **options)
        limiter._owns_redis = True
        return limiter

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def uses_key(self, api_key: str) -> bool:
        """Whether these are the windows of ``api_key`` (by its hash: the key is not kept)."""
        return Namespace(self._keys.prefix, ApiKey(api_key)).waiting == self._keys.waiting

    def __repr__(self) -> str:
        return f"RedisRateLimiter(redis={self._where!r}, prefix={self._keys.prefix!r})"

    # -- the protocol -------------------------------------------------------------------------

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> Lease:
        """See :meth:`RateLimiter.acquire`. Waits in Redis's queue of each bucket (the scarcest
        first); raises :class:`RateLimiterUnavailableError` when Redis is unreachable, unless
        the limiter falls back to local windows."""
        shape = self._shape(buckets)
        if not shape.names:
            return _FREE
        self._start_beating()
        hold = self._default_hold if hold_for is None else max(0.0, hold_for)
        start = self.clock.now()
        local = self._local
        if local is not None and self._local_only():
            return await self._on_local(buckets, shape, start, max_wait, hold_for, hold)
        probing = self._down
        local_lease: Lease | None = None
        try:
            if local is not None and self._recovering:
                local_lease = await self._still_recovering(shape, max_wait, hold)
            lease = await self._acquire_shared(shape, start, max_wait, hold)
        except _UnavailableError as exc:
            if local is None:
                raise RateLimiterUnavailableError(str(exc), where=self._where) from None
            self._went_down(exc)
            if local_lease is not None:
                return self._recorded(shape, hold, local_lease)
            return await self._on_local(buckets, shape, start, max_wait, hold_for, hold)
        except BaseException:
            if local_lease is not None:
                await local_lease.release()
            raise
        finally:
            if probing:
                self._probing = False
        if local is not None and local_lease is None and self._recovering:
            # Admitted by an answer that ended a fall-back (its ACQUIRE left while Redis was
            # away): Redis does not know yet what the workers sent meanwhile, so the local
            # share must admit it too. Not waiting for it while holding the shared slot
            # (waiters the other way round would hold each other up): now, or queue again.
            try:
                local_lease = await local.acquire(shape.names, max_wait=0.0, hold_for=hold)
            except RateLimitWaitError:
                await lease.release()
                left = None if max_wait is None else max(0.0, max_wait - (self.clock.now() - start))
                return await self.acquire(buckets, max_wait=left, hold_for=hold_for)
        if local is not None and local_lease is None:
            # The local windows count this worker's own requests too, so a fall-back starts
            # from what it sent, not from nothing.
            local_lease = local.record(shape.names, hold)
        return lease if local_lease is None else _BothLease(lease, local_lease)

    async def _on_local(
        self,
        buckets: Sequence[BucketName],
        shape: _Shape,
        start: float,
        max_wait: float | None,
        hold_for: float | None,
        hold: float,
    ) -> Lease:
        """A slot of the local windows, while Redis is away; if Redis comes back while the
        request waits for one, it queues in Redis instead (with every other request)."""
        assert self._local is not None
        left = None if max_wait is None else max(0.0, max_wait - (self.clock.now() - start))
        waited = await self._local.acquire(shape.names, max_wait=left, hold_for=hold)
        if self._down:
            return self._recorded(shape, hold, waited)
        await waited.release()
        left = None if max_wait is None else max(0.0, max_wait - (self.clock.now() - start))
        return await self.acquire(buckets, max_wait=left, hold_for=hold_for)

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        """Hold the named buckets for ``seconds`` for every worker (after a server 429).
        When Redis cannot be reached the pause is kept locally (with the local fall-back) and
        a warning logged; it never raises for that."""
        shape = self._shape(buckets)
        if self._local is not None:
            await self._local.pause(shape.names, seconds)
        if not shape.names:
            return
        try:
            await self._call("PAUSE", shape.pause_keys, (self._now(), _num(max(0.0, seconds))))
        except _UnavailableError as exc:
            log.warning("rate limit: could not share a %.1f s pause: %s", seconds, exc)

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        """Each bucket's use per window (longest first) and its pause, as Redis counts them
        (the local windows' while falling back)."""
        shape = self._shape(BUCKET_NAMES)
        if self._local is not None and self._down:
            return await self._local.status()
        keys: list[str] = []
        args = [self._now(), str(len(shape.names))]
        for name, pause_key in zip(shape.names, shape.pause_keys, strict=True):
            keys.append(pause_key)
            keys.extend(self._keys.window(name, w) for w in self._windows[name])
            args.append(str(len(self._windows[name])))
        try:
            reply = await self._call("STATUS", keys, args)
        except _UnavailableError as exc:
            if self._local is None:
                raise RateLimiterUnavailableError(str(exc), where=self._where) from None
            return await self._local.status()
        values = iter(reply)
        out: dict[BucketName, BucketStatus] = {}
        for name in shape.names:
            paused = float(_text(next(values)))
            windows = []
            for w in self._windows[name]:
                used = int(_text(next(values)))
                windows.append(WindowStatus(w.limit, w.seconds, used, max(0, w.limit - used)))
            if windows:
                out[name] = BucketStatus(name, tuple(windows), paused)
        return out

    async def aclose(self) -> None:
        """Stop beating, and close the Redis connections if this limiter created them
        (:meth:`from_url`)."""
        beating, self._beating = self._beating, None
        if beating is not None and self._stopping is not None:
            self._stopping.set()
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._timeout + 1.0):
                await asyncio.wait([beating])
            beating.cancel()
        if self._owns_redis:
            await self._redis.aclose()

    # -- waiting in Redis ---------------------------------------------------------------------

    async def _acquire_shared(
        self, shape: _Shape, start: float, max_wait: float | None, hold: float
    ) -> Lease:
        ticket = f"{self._worker}.{secrets.token_hex(6)}"
        deadline = None if max_wait is None else start + max_wait
        lost = 0  # times Redis was found to have lost its state during this acquire
        held: list[anyio.Lock] = []
        joined = False  # whether the ticket may be in a Redis queue
        admitted = False
        checked = announced = False
        need = 1  # how many buckets' local queues to hold before asking Redis
        poll = _FIRST_POLL
        for name in shape.names:  # what this process's first waiter last heard from Redis
            known = self._free_at.get(name)
            if known is not None and self._locks[name].locked():
                check_wait(name, known[1], known[0] - start, max_wait)
        try:
            while True:
                while len(held) < need:  # wait our turn in this process, renewing the ticket
                    lock = self._locks[shape.names[len(held)]]
                    until = self.clock.now() + self._renew_every if joined else math.inf
                    if deadline is not None:
                        until = min(until, deadline)
                    if not await within(self.clock, until, lock.acquire):
                        if deadline is not None and self.clock.now() >= deadline:
                            assert max_wait is not None
                            bucket = shape.names[len(held)]
                            raise wait_error(bucket, QUEUED, self.clock.now() - start, max_wait)
                        break
                    held.append(lock)
                while len(held) < len(shape.names):  # and those free right now
                    lock = self._locks[shape.names[len(held)]]
                    try:
                        lock.acquire_nowait()
                    except anyio.WouldBlock:
                        break
                    held.append(lock)
                if not held:
                    continue
                joined = True
                reply = await self._ask(shape, ticket, hold, len(held))
                status, stage, cause, least = reply.status, reply.stage, reply.cause, reply.least
                if status == "lost":  # put back what this worker sent, then ask again
                    lost += 1
                    if lost > _MAX_LOST:
                        raise _UnavailableError(
                            f"the rate limiter's Redis ({self._where}) keeps losing its state"
                        )
                    await self._put_back(reply.epoch)
                    continue
                if status == "ok":
                    admitted = True
                    for name in shape.names:
                        self._free_at.pop(name, None)
                    self._records[ticket] = _Record(shape, reply.most, hold)
                    self._clock_gap = reply.most - self.clock.now()
                    for key, count in zip(shape.window_keys, reply.counts, strict=False):
                        self._last_counts[key] = (count, reply.most)
                    return _RedisLease(self, shape, ticket)
                if status == "ready":  # the scarcer buckets have room: queue for the next one
                    need = len(held) + 1
                    continue
                for lock in reversed(held[stage:]):  # not queued there yet in Redis
                    lock.release()
                del held[stage:]
                need = stage
                now = self.clock.now()
                bucket = shape.names[stage - 1]
                what = QUEUED
                if cause == 0:
                    what = _PAUSED
                elif cause == -2:
                    what = _RESTORING
                elif cause > 0 and least > 0:
                    what = shape.labels[stage - 1][cause - 1]
                if least > 0:
                    self._free_at[bucket] = (now + least, what)
                if not checked:
                    check_wait(bucket, what, least, max_wait)
                    checked = True
                if deadline is not None and (now >= deadline or now + least > deadline):
                    assert max_wait is not None
                    raise wait_error(bucket, what, (now - start) + max(least, 0.0), max_wait)
                announced = announced or self.waiting(bucket, what, least)
                if status == "queued" and least <= 0:
                    sleep, poll = poll, min(poll * 2, HEARTBEAT)
                else:
                    sleep, poll = least, _FIRST_POLL
                sleep = min(sleep, self._renew_every)
                if deadline is not None:
                    sleep = min(sleep, deadline - now)
                await self.clock.sleep(sleep)
        except _UnavailableError:
            if joined:
                self._orphans.append((shape, ticket))
            joined = False
            raise
        finally:
            for lock in reversed(held):
                lock.release()
            if joined and not admitted:  # cancelled, or refused past max_wait
                with anyio.CancelScope(shield=True):
                    await self._leave(shape, ticket)

    async def _ask(self, shape: _Shape, ticket: str, hold: float, reach: int) -> _Reply:
        """Ask Redis to admit the ticket (see :class:`_Reply`); ``least`` is the least
        seconds until the cause frees (a waiter sleeps that long: nothing can free sooner)."""
        keys = (
            self._keys.waiting,
            self._keys.alive,
            self._keys.epoch,
            self._keys.restoring,
            *shape.acquire_keys[1:],
        )
        args = (
            self._now(),
            ticket,
            _num(self._ticket_ttl),
            _num(hold),
            str(reach),
            self._worker,
            _num(ALIVE_FOR),
            self._epoch,
            secrets.token_hex(8),
            _num(self._restore_for),
            *shape.acquire_args,
        )
        reply = await self._call("ACQUIRE", keys, args)
        await self._answers()
        status, stage, cause, most, least, epoch, *counts = (_text(v) for v in reply)
        return _Reply(
            status,
            int(stage),
            int(cause),
            float(most),
            float(least),
            epoch,
            tuple(int(c) for c in counts),
        )

    async def _answers(self) -> None:
        """Redis answered: give back what lost calls took, and after a fall-back, come back
        at once (this worker's other requests stop using local windows alone) and tell Redis
        what was sent meanwhile."""
        await self._leave_orphans()
        if self._down:
            self._came_back()
            with anyio.CancelScope(shield=True):
                await self._put_back()

    @property
    def _restore_for(self) -> float:
        """How long every bucket waits, once Redis lost its state, for each worker to put
        back what it sent: its next beat, and a call that may take the whole timeout."""
        return 2 * HEARTBEAT + self._timeout

    async def _leave(self, shape: _Shape, ticket: str) -> None:
        self._orphans.append((shape, ticket))
        await self._leave_orphans()

    async def _leave_orphans(self) -> None:
        """Give up the places (and any slots) of tickets whose waiters gave up or never
        heard back: one call per set of buckets; kept for later if Redis does not answer."""
        if not self._orphans:
            return
        orphans, self._orphans = self._orphans, []
        by_shape: dict[tuple[BucketName, ...], tuple[_Shape, list[str]]] = {}
        for shape, ticket in orphans:
            by_shape.setdefault(shape.names, (shape, []))[1].append(ticket)
        for shape, tickets in by_shape.values():
            keys = (self._keys.waiting, *shape.queue_keys, *shape.window_keys)
            try:
                await self._call("LEAVE", keys, tickets, whole=True)
            except _UnavailableError:  # tried again once Redis answers
                self._orphans.extend((shape, ticket) for ticket in tickets)
            else:
                for ticket in tickets:
                    self._records.pop(ticket, None)

    async def _release(self, shape: _Shape, lease_id: str) -> None:
        record = self._records.get(lease_id)
        if not shape.window_keys:
            return
        try:
            answered = await self._call(
                "RELEASE", shape.window_keys, (self._now(), lease_id, *shape.window_seconds)
            )
        except _UnavailableError as exc:
            if record is not None:
                record.answered = self._redis_time()
            log.warning(
                "rate limit: could not record an answer in Redis (%s); its slots stay counted "
                "until the request's deadline",
                exc,
            )
        else:
            if record is not None:
                record.answered = float(_text(answered))

    # -- what this worker sent, should Redis lose it -----------------------------------------

    def _redis_time(self) -> float:
        """What Redis's clock reads now (from the last gap seen; the wall clock before any)."""
        if not self._server_time:
            return self.clock.now()
        gap = self._clock_gap
        if gap is None:
            gap = time.time() - self.clock.now()
        return self.clock.now() + gap

    def _recorded(self, shape: _Shape, hold: float, lease: Lease) -> Lease:
        """A lease of the local windows, recorded to be put back in Redis later."""
        record = _Record(shape, self._redis_time(), hold)
        self._records[f"{self._worker}.{secrets.token_hex(6)}"] = record
        return _RecordedLease(lease, record, self._redis_time)

    def _forget_past(self) -> None:
        """Drop the records no window counts any more."""
        now = self._redis_time()
        longest = max((float(x) for x in self._every.window_seconds), default=0.0)
        for ticket in [t for t, r in self._records.items() if r.until(longest) < now]:
            del self._records[ticket]

    async def _put_back(self, epoch: str | None = None) -> None:
        """Tell Redis what this worker sent that a window may still count (after Redis lost
        its state, or was away), then take ``epoch`` as the state Redis holds."""
        self._forget_past()
        keys: list[str] = []
        args: list[str] = [self._now()]
        for key, seconds in zip(self._every.window_keys, self._every.window_seconds, strict=True):
            entries = [
                (ticket, record.until(float(seconds)))
                for ticket, record in self._records.items()
                if key in record.shape.window_keys
            ]
            keys.append(key)
            args.append(str(len(entries)))
            for ticket, until in entries:
                args += [ticket, _num(until)]
        if self._records:
            await self._call("RESTORE", keys, args)
        if epoch is not None:
            if self._epoch:
                log.warning(
                    "rate limit: Redis (%s) lost the shared windows; put back the %d requests "
                    "this worker sent that still count",
                    self._where,
                    len(self._records),
                )
            self._epoch = epoch

    # -- beating --------------------------------------------------------------------------

    def _start_beating(self) -> None:
        """Beat in the background from the first acquire on (Redis's client is asyncio's, so
        the limiter runs on asyncio: an asyncio task outlives no call, it ends at aclose)."""
        if self._beating is not None and not self._beating.done():
            return
        self._stopping = asyncio.Event()
        self._beating = asyncio.get_running_loop().create_task(
            self._beat_until_closed(self._stopping), name="pleasurestock rate-limit heartbeat"
        )

    async def _beat_until_closed(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with anyio.move_on_after(HEARTBEAT):
                await stopping.wait()
            if stopping.is_set():
                return
            try:
                await self._beat()
            except _UnavailableError:
                pass  # Redis away: the acquires deal with it (raise, or fall back)
            except Exception:  # a beat that fails must not end the beating
                log.debug("rate limit: a heartbeat failed", exc_info=True)

    async def _beat(self) -> None:
        """Say this worker lives, free the requests of workers that do not, and notice a
        Redis that lost its state."""
        every = self._every
        keys = (self._keys.alive, self._keys.epoch, self._keys.restoring, *every.window_keys)
        args = (
            self._now(),
            self._worker,
            _num(ALIVE_FOR),
            _num(HEARTBEAT),
            self._epoch,
            secrets.token_hex(8),
            _num(self._restore_for),
            *every.window_seconds,
        )
        epoch, _ = await self._call("HEARTBEAT", keys, args)
        epoch = _text(epoch)
        await self._answers()
        if epoch and self._epoch and epoch != self._epoch:
            await self._put_back(epoch)
        else:
            self._forget_past()

    async def _call(
        self, name: str, keys: Sequence[str], args: Sequence[str], *, whole: bool = False
    ) -> Any:
        """Run a script. ``whole`` sends its text (EVAL) rather than its digest: a clean-up
        must run even when a slow network hides a "script not loaded" answer from us."""
        script = self._scripts[name]
        with self._busy():
            try:
                with anyio.fail_after(self._timeout):
                    if whole:  # typed sync-or-async by redis-py 5, async only by later ones
                        found: Any = self._redis.eval(getattr(_lua, name), len(keys), *keys, *args)
                        return await found
                    return await script(keys=list(keys), args=list(args))
            except (RedisError, OSError) as exc:  # builtin TimeoutError is an OSError
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                raise _UnavailableError(
                    f"the rate limiter's Redis ({self._where}) is unavailable: {detail}"
                ) from None

    def _busy(self) -> AbstractContextManager[None]:
        """A :class:`ManualClock` waits for Redis calls before it moves time."""
        return self.clock.busy() if isinstance(self.clock, ManualClock) else nullcontext()

    def _now(self) -> str:
        return "" if self._server_time else _num(self.clock.now())

    # -- falling back to local windows --------------------------------------------------------

    def _local_only(self) -> bool:
        """Whether this acquire uses the local windows only (Redis is away and it is not yet
        time to try it again); otherwise, when Redis is away, this acquire is the probe."""
        if not self._down:
            return False
        if self._probing or self.clock.now() < self._retry_at:
            return True
        self._probing = True
        return False

    def _went_down(self, exc: _UnavailableError) -> None:
        self._retry_at = self.clock.now() + self._retry_interval
        if not self._down:
            self._down = True
            self._assume_the_others()
            log.warning(
                "rate limit: %s; falling back to per-process windows (1/%d of each limit) "
                "until it answers again",
                exc,
                self._workers,
            )

    def _assume_the_others(self) -> None:
        """Falling back: each local window (1/N of the limit) already counts this worker's
        own requests; it must also leave room for what the other workers may have used of
        the shared window, until those requests leave it. What a window held when last seen
        is known, plus what the shorter windows let the others send since (a shortest window,
        or one never seen: full). Each worker then takes 1/N of what is left: together they
        stay within the limit."""
        local, workers = self._local, self._workers
        assert local is not None
        assert workers is not None
        now = self._redis_time()
        for name in self._every.names:
            own = local.used(name)
            windows = self._windows[name]
            for window in windows:
                seen = self._last_counts.get(self._keys.window(name, window))
                count = window.limit
                if seen is not None:
                    stale = max(0.0, now - seen[1])
                    since = min(
                        (
                            w.limit * math.ceil(stale / w.seconds)
                            for w in windows
                            if w.seconds < window.seconds
                        ),
                        default=window.limit,
                    )
                    count = min(window.limit, seen[0] + since)
                left_to_each = (window.limit - count) // workers
                others = window.limit // workers - own.get(window.seconds, 0) - left_to_each
                if others > 0:  # theirs leave the window at the latest one window from now
                    local.occupy(name, window.seconds, others, self.clock.now() + window.seconds)

    def _came_back(self) -> None:
        self._down = False
        self._recovering = True
        # Other workers may still be on their local windows until they hear from Redis (at
        # their next beat at the latest): till then this one keeps to its local share too
        # (what it sent meanwhile is put back).
        grace = HEARTBEAT + self._timeout
        self._recovered_at = self.clock.now() + grace
        log.warning(
            "rate limit: Redis (%s) answers again; shared windows resume (after %.0f s in "
            "which local ones still count too)",
            self._where,
            grace,
        )

    async def _still_recovering(
        self, shape: _Shape, max_wait: float | None, hold: float
    ) -> Lease | None:
        """After a fall-back, requests also wait for local slots until every worker has had
        the time to hear from Redis (until then some may still send on their local share)."""
        assert self._local is not None
        if self.clock.now() >= self._recovered_at:
            self._recovering = False
            return None
        return await self._local.acquire(shape.names, max_wait=max_wait, hold_for=hold)

    # -- keys ---------------------------------------------------------------------------------

    def _shape(self, buckets: Sequence[BucketName]) -> _Shape:
        names = tuple(sorted({b for b in buckets if b in self._windows}, key=_RANK.__getitem__))
        found = self._shapes.get(names)
        if found is not None:
            return found
        acquire_keys = [self._keys.waiting]
        acquire_args = [str(len(names))]
        window_keys: list[str] = []
        window_seconds: list[str] = []
        for name in names:
            windows: tuple[Window, ...] = self._windows[name]
            acquire_keys += [self._keys.queue(name), self._keys.pause(name)]
            acquire_args.append(str(len(windows)))
            for w in windows:
                key = self._keys.window(name, w)
                acquire_keys.append(key)
                acquire_args += [str(w.limit), _num(w.seconds)]
                window_keys.append(key)
                window_seconds.append(_num(w.seconds))
        shape = _Shape(
            names=names,
            labels=tuple(tuple(str(w) for w in self._windows[n]) for n in names),
            acquire_keys=tuple(acquire_keys),
            acquire_args=tuple(acquire_args),
            window_keys=tuple(window_keys),
            window_seconds=tuple(window_seconds),
            queue_keys=tuple(self._keys.queue(n) for n in names),
            pause_keys=tuple(self._keys.pause(n) for n in names),
        )
        self._shapes[names] = shape
        return shape
