"""The seam between the request pipeline and a rate limiter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from ._config import BucketName, BucketStatus

__all__ = ["Lease", "RateLimiter"]


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
