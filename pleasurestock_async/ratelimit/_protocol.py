"""The seam between the request pipeline and a rate limiter, and the base a limiter of yours
can start from (see CONTRIBUTING, "A new rate-limiter backend")."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from ..errors import ConfigurationError
from ._clock import Clock, MonotonicClock
from ._config import BucketName, BucketStatus
from ._waits import WaitListener, WaitListeners

__all__ = ["BaseRateLimiter", "Lease", "RateLimiter", "checked_limiter"]


@runtime_checkable
class Lease(Protocol):
    """The slots of one request, held while it is in flight."""

    async def release(self) -> None:
        """Record that the answer (or the failure) arrived now: the slots stay counted for one
        window from this moment, the last moment the server can have counted the request.

        Must not raise, and must finish even while the calling task is being cancelled.
        """
        ...


@runtime_checkable
class RateLimiter(Protocol):
    """Decides when a request may be sent so that the server's windows are never exceeded.

    One limiter serves every request of a client (and, for a shared store, of many processes).
    ``AsyncPleasureStock(rate_limiter=...)`` accepts any implementation.
    """

    clock: Clock
    """Where the limiter's time comes from; the client runs each call's deadline on it too,
    so a :class:`ManualClock` moves both in tests."""

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> Lease:
        """Wait until every window of every named bucket admits one more request at the same
        instant, spend one slot in each at that instant, and return the lease.

        ``max_wait``: raise :class:`~pleasurestock_async.errors.RateLimitWaitError` at once when
        the next slot is further away than that, or when waiting takes longer (``None``: no
        bound). ``hold_for``: the longest the request can stay in flight; a lease not released
        by then counts as answered then (a worker that dies cannot hold slots forever).
        A cancelled wait takes nothing.
        """
        ...

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        """Hold the named buckets for ``seconds`` for every request (after a server 429)."""
        ...

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        """Each bucket's use per window (longest first) and its pause."""
        ...

    async def aclose(self) -> None:
        """Release what the limiter holds (connections); the client calls it when it closes
        a limiter it created."""
        ...

    def uses_key(self, api_key: str) -> bool:
        """Whether this limiter may count the requests of ``api_key`` (False: it keeps another
        key's windows, and the client refuses it). A limiter not tied to a key says True."""
        ...

    def on_wait(self, listener: WaitListener) -> Callable[[], None]:
        """Call ``listener`` with a :class:`~pleasurestock_async.ratelimit.RateLimitWait` each
        time a request has to wait for a slot in :meth:`acquire` (once per request, before
        it waits); the function returned stops that. For metrics and progress displays."""
        ...


@runtime_checkable
class _OldRateLimiter(Protocol):
    """What the protocol asked before ``clock``, ``uses_key`` and ``on_wait`` (accepted,
    deprecated)."""

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> Lease: ...

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None: ...

    async def status(self) -> Mapping[BucketName, BucketStatus]: ...

    async def aclose(self) -> None: ...


class BaseRateLimiter:
    """A base for rate limiters: it gives :meth:`on_wait` and :meth:`waiting` (the listeners),
    ``uses_key`` (True), ``aclose`` (nothing to release) and ``clock`` (real time). A
    subclass writes ``acquire``, ``pause`` and ``status``, calls :meth:`waiting` before each
    wait, and raises :func:`~pleasurestock_async.ratelimit.wait_error` for a wait
    ``max_wait`` forbids (CONTRIBUTING, "A new rate-limiter backend", lists all of it)."""

    clock: Clock = MonotonicClock()
    """Real time unless a subclass sets ``self.clock`` (a :class:`ManualClock` in tests)."""

    def uses_key(self, api_key: str) -> bool:
        """True: these windows are not tied to one key (override for a store that is)."""
        return True

    def on_wait(self, listener: WaitListener) -> Callable[[], None]:
        """See :meth:`RateLimiter.on_wait`."""
        return self._wait_listeners().add(listener)

    def waiting(self, bucket: str, window: str, seconds: float) -> bool:
        """Tell the listeners that a request waits ``seconds`` for ``bucket`` (``window``
        names what is full); logged when over a second. Call it once per waiting request;
        False (nobody told) when ``seconds`` is not positive."""
        return self._wait_listeners().waiting(bucket, window, seconds)

    async def aclose(self) -> None:
        """Nothing to release."""

    def _wait_listeners(self) -> WaitListeners:
        # made on first use: a subclass need not call this class's __init__
        try:
            return self.__listeners
        except AttributeError:
            self.__listeners: WaitListeners = WaitListeners()
            return self.__listeners


class _OldLimiter(BaseRateLimiter):
    """A limiter written for the protocol before ``clock``, ``uses_key`` and ``on_wait``: its
    waits are not announced."""

    def __init__(self, limiter: _OldRateLimiter) -> None:
        self.limiter = limiter
        clock = getattr(limiter, "clock", None)
        if isinstance(clock, Clock):
            self.clock = clock

    async def acquire(
        self,
        buckets: Sequence[BucketName],
        *,
        max_wait: float | None = None,
        hold_for: float | None = None,
    ) -> Lease:
        return await self.limiter.acquire(buckets, max_wait=max_wait, hold_for=hold_for)

    async def pause(self, buckets: Sequence[BucketName], seconds: float) -> None:
        await self.limiter.pause(buckets, seconds)

    async def status(self) -> Mapping[BucketName, BucketStatus]:
        return await self.limiter.status()

    async def aclose(self) -> None:
        await self.limiter.aclose()

    def uses_key(self, api_key: str) -> bool:
        own = getattr(self.limiter, "uses_key", None)  # the old way a limiter said so
        return True if own is None else bool(own(api_key))


def checked_limiter(limiter: object) -> RateLimiter:
    """``limiter`` as a :class:`RateLimiter`. One written before ``clock``, ``uses_key`` and
    ``on_wait`` joined the protocol (0.3) still works, with a :class:`DeprecationWarning`
    (refused from 0.4); anything else is a
    :class:`~pleasurestock_async.errors.ConfigurationError`."""
    if isinstance(limiter, RateLimiter):
        return limiter
    if isinstance(limiter, _OldRateLimiter):
        warnings.warn(
            f"{type(limiter).__name__} lacks clock, uses_key() or on_wait() of the RateLimiter "
            "protocol (subclass pleasurestock_async.ratelimit.BaseRateLimiter to get them); "
            "such limiters are refused from 0.4",
            DeprecationWarning,
            stacklevel=3,
        )
        return _OldLimiter(limiter)
    raise ConfigurationError("rate_limiter must implement the RateLimiter protocol")
