"""Which failures are retried for which method, how long to wait, and ``Retry-After`` parsing.

A POST here is not idempotent (``/sales`` sums rows again, ``/external/orders`` creates new
orders), so it is retried only when the failure proves the server never processed it: the
connection was never established, the request could not be formed, or the server answered 429.
GET and PUT are also retried on timeouts, dropped connections, unreadable answers and
500/502/503/504.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "DEFAULT_MAX_RETRY_AFTER",
    "UNREADABLE_RETRY_AFTER",
    "RetryPolicy",
    "never_sent",
    "parse_retry_after",
]

DEFAULT_MAX_RETRY_AFTER = 3600.0
"""The longest pause a server's ``Retry-After`` can impose by default: the longest window."""

UNREADABLE_RETRY_AFTER = 60.0
"""The pause used when ``Retry-After`` is present but not a usable number of seconds or date
(``inf``, ``1e400``, ``NaN``, negative, garbage): bounded, and long enough to let a minute
window drain."""

_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)
_TRANSIENT_TRANSPORT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def parse_retry_after(
    value: str | None, *, cap: float = DEFAULT_MAX_RETRY_AFTER, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), at most
    ``cap``; :data:`UNREADABLE_RETRY_AFTER` (also capped) for a value that is present but not
    usable; None when there is no header."""
    if value is None:
        return None
    text = value.strip()
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, now)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        seconds = UNREADABLE_RETRY_AFTER
    return min(seconds, cap)


def _seconds_until(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_idempotent(method: str) -> bool:
    """Whether a request with this method may be repeated without changing the result."""
    return method.upper() in _IDEMPOTENT


def never_sent(exc: BaseException) -> bool:
    """Whether a transport failure proves the request never reached the server."""
    return isinstance(exc, _NEVER_SENT)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry decisions and capped exponential backoff with jitter."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0

    def retries_exception(self, method: str, exc: httpx.HTTPError) -> bool:
        """Whether a transport failure may be retried for this method."""
        if never_sent(exc):
            return True
        return is_idempotent(method) and isinstance(exc, _TRANSIENT_TRANSPORT)

    def retries_status(self, method: str, status_code: int) -> bool:
        """Whether an error status may be retried for this method."""
        if status_code == 429:
            return True
        return is_idempotent(method) and status_code in _TRANSIENT_STATUS

    def outcome_unknown(self, method: str, failure: BaseException | int) -> bool:
        """Whether the server may have processed a failed non-idempotent request."""
        if is_idempotent(method):
            return False
        if isinstance(failure, int):  # 3xx: handled somewhere else, perhaps after storing
            return failure >= 500 or 300 <= failure < 400
        return not never_sent(failure)

    def backoff(self, retry_number: int) -> float:
        """Wait before retry ``retry_number`` (0-based): doubling, capped, with jitter."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0**retry_number)
        return ceiling * (0.5 + random.random() / 2)
