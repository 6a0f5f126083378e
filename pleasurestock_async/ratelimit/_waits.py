"""What every limiter does about a wait: refuse it past ``max_wait``, announce it to whoever
listens (and log it past a second)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import RateLimitWaitError

__all__ = [
    "LOG_WAITS_OVER",
    "QUEUED",
    "RateLimitWait",
    "WaitListener",
    "WaitListeners",
    "check_wait",
    "wait_error",
]

log = logging.getLogger("pleasurestock_async")

LOG_WAITS_OVER = 1.0
"""Waits longer than this many seconds are logged (bucket, window, until when)."""

QUEUED = "requests queued before this one"
"""What a request waits for when its windows have room but earlier requests go first."""


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """A request waits for a rate-limit slot: the event a limiter announces to its listeners
    (:meth:`~pleasurestock_async.ratelimit.RateLimiter.on_wait`), once per waiting request.

    ``bucket`` and ``window`` name what is full (``window`` is ``"100 per 60 s"``, or why it
    waits: a server's 429 pause, requests queued before it), ``seconds`` is the expected wait
    and ``until`` the moment it ends as a Unix time.
    """

    bucket: str
    window: str
    seconds: float
    until: float


WaitListener = Callable[[RateLimitWait], object]
"""A callable told about each :class:`RateLimitWait`; what it returns is ignored."""


def wait_error(bucket: str, window: str, wait: float, max_wait: float) -> RateLimitWaitError:
    """The :class:`~pleasurestock_async.errors.RateLimitWaitError` for a wait of ``wait``
    seconds that ``max_wait`` does not allow (for a limiter's ``acquire`` to raise)."""
    return RateLimitWaitError(
        bucket=bucket, window=window, wait=wait, free_at=time.time() + wait, max_wait=max_wait
    )


def check_wait(bucket: str, window: str, wait: float, max_wait: float | None) -> None:
    """Raise :class:`~pleasurestock_async.errors.RateLimitWaitError` when ``wait`` exceeds
    ``max_wait`` (``None``: no bound)."""
    if max_wait is not None and wait > max_wait:
        raise wait_error(bucket, window, wait, max_wait)


class WaitListeners:
    """The listeners of one limiter: :meth:`add` one, :meth:`waiting` tells them all."""

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[WaitListener] = []

    def add(self, listener: WaitListener) -> Callable[[], None]:
        """Call ``listener`` with every wait from now on; the function returned stops that."""
        if not callable(listener):
            raise TypeError(f"a wait listener must be callable, got {type(listener).__name__}")
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def waiting(self, bucket: str, window: str, seconds: float) -> bool:
        """Announce that a request waits ``seconds`` for ``bucket`` (``window`` names what it
        waits for): every listener is told, and a wait over :data:`LOG_WAITS_OVER` is logged.
        False (nothing told) when ``seconds`` is not positive."""
        if not seconds > 0:
            return False
        event = RateLimitWait(bucket, window, seconds, time.time() + seconds)
        if seconds > LOG_WAITS_OVER and log.isEnabledFor(logging.INFO):
            log.info(
                "rate limit: waiting %.1f s for the %s bucket (%s) until %s",
                seconds,
                bucket,
                window,
                datetime.fromtimestamp(event.until, UTC).strftime("%H:%M:%S UTC"),
                extra={"bucket": bucket, "window": window, "wait": seconds},
            )
        self.tell(event)
        return True

    def tell(self, event: RateLimitWait) -> None:
        """Pass ``event`` to every listener; one that raises is logged and stops nothing."""
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.warning("a rate-limit wait listener failed", exc_info=True)
