"""Which failures are retried for which method, how long to wait, and ``Retry-After`` parsing.

A POST here is not idempotent (``/sales`` sums rows again, ``/external/orders`` creates new
orders), so it is retried only when the failure proves the server never processed it: the
connection was never established, or the server answered 429. GET and PUT are also retried on
timeouts, dropped connections and 500/502/503/504.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["RetryPolicy", "parse_retry_after"]

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_idempotent(method: str) -> bool:
    """Whether a request with this method may be repeated without changing the result."""
    return method.upper() in _IDEMPOTENT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry decisions and capped exponential backoff with jitter."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0

    def retries_exception(self, method: str, exc: httpx.TransportError) -> bool:
        """Whether a transport failure may be retried for this method."""
        if isinstance(exc, _NEVER_SENT):
            return True
        return is_idempotent(method) and isinstance(exc, _TRANSIENT_TRANSPORT)

    def retries_status(self, method: str, status_code: int) -> bool:
        """Whether an error status may be retried for this method."""
        if status_code == 429:
            return True
        return is_idempotent(method) and status_code in _TRANSIENT_STATUS

    def outcome_unknown(self, method: str, failure: httpx.TransportError | int) -> bool:
        """Whether the server may have processed a failed non-idempotent request."""
        if is_idempotent(method):
            return False
        if isinstance(failure, int):
            return failure >= 500
        return not isinstance(failure, _NEVER_SENT)

    def backoff(self, retry_number: int) -> float:
        """Wait before retry ``retry_number`` (0-based): doubling, capped, with jitter."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0**retry_number)
        return ceiling * (0.5 + random.random() / 2)
