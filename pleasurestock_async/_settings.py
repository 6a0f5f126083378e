"""A client's settings, a call's (the client's with its ``options`` over them), their checks,
and the deadline that bounds a call as a whole."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from . import errors
from ._options import NOT_GIVEN, NotGiven, RequestOptions, check_headers, check_query
from ._retry import RetryPolicy
from .ratelimit import Clock

__all__ = [
    "MAX_RESPONSE_BYTES",
    "CallSettings",
    "ClientSettings",
    "Deadline",
    "as_timeout",
    "call_defaults",
    "call_timeout",
    "check_retries",
    "check_seconds",
    "plus",
    "resolve_call",
]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The largest answer read by default (decoded): a page of 1,000 products is about 1 MB."""

UNBOUNDED_PHASES_ATTEMPT = 300.0
"""The whole-attempt bound when per-phase timeouts are given as an :class:`httpx.Timeout`."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A client's defaults for every call (a call's ``options`` override them)."""

    timeout: httpx.Timeout
    attempt_timeout: float | NotGiven | None
    max_retries: int
    max_rate_limit_wait: float | None
    max_retry_after: float
    max_response_bytes: int
    strict_response_validation: bool
    call_timeout: float | None = None
    """``timeout`` when it was given as a number: it then bounds each call as a whole."""


@dataclass(frozen=True, slots=True)
class CallSettings:
    """The settings of one call, resolved."""

    timeout: httpx.Timeout
    attempt_timeout: float | None
    retry: RetryPolicy
    max_rate_limit_wait: float | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, Any]
    within: float | None
    """Seconds the whole call may take (``timeout`` + ``max_rate_limit_wait``), if bounded."""


def as_timeout(value: object, name: str = "timeout") -> httpx.Timeout:
    """A number of seconds, ``None`` or an :class:`httpx.Timeout` as an :class:`httpx.Timeout`."""
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    return httpx.Timeout(check_seconds(value, name, allow_none=False))


def call_timeout(value: object) -> float | None:
    """The whole-call bound a ``timeout`` sets: the number itself (an :class:`httpx.Timeout`
    bounds only the phases of each attempt; ``None``, nothing)."""
    if value is None or isinstance(value, httpx.Timeout):
        return None
    return check_seconds(value, "timeout", allow_none=False)


def check_seconds(value: object, name: str, *, allow_none: bool = True) -> float | None:
    """``value`` as seconds (a finite number >= 0), or a :class:`ConfigurationError`."""
    if value is None and allow_none:
        return None
    seconds = math.nan
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            seconds = math.inf
    if not math.isfinite(seconds):
        raise errors.ConfigurationError(
            f"{name} must be a finite number of seconds, got {errors.shorten(value)}"
        )
    if seconds < 0:
        raise errors.ConfigurationError(f"{name} must be 0 or more, got {errors.shorten(value)}")
    return seconds


def check_retries(value: object, name: str = "max_retries") -> int:
    """``value`` as a retry count (an int >= 0), or a :class:`ConfigurationError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.ConfigurationError(f"{name} must be an int >= 0, got {errors.shorten(value)}")
    return value


def plus(*parts: float | None) -> float | None:
    """The sum of ``parts``; None (no bound) if any is None."""
    total = 0.0
    for part in parts:
        if part is None:
            return None
        total += part
    return total


class Deadline:
    """The moment a call must be over by, on ``clock`` (``None``: no bound). Every wait of the
    call is bounded by what is left of it."""

    __slots__ = ("at", "clock", "seconds")

    def __init__(self, clock: Clock, seconds: float | None) -> None:
        self.clock = clock
        self.seconds = seconds
        self.at = None if seconds is None else clock.now() + seconds

    def left(self) -> float | None:
        """Seconds left (0 once passed), or None without a bound."""
        return None if self.at is None else max(0.0, self.at - self.clock.now())

    def bound(self, seconds: float | None) -> float | None:
        """``seconds`` cut to what is left (None: neither bounds it)."""
        left = self.left()
        if left is None:
            return seconds
        return left if seconds is None else min(seconds, left)

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time to send before the end."""
        left = self.left()
        return left is None or wait < left


def whole_attempt(timeout: httpx.Timeout, attempt_timeout: float | NotGiven | None) -> float | None:
    """The bound on one attempt as a whole: as given, else the single number of ``timeout``."""
    if not isinstance(attempt_timeout, NotGiven):
        return attempt_timeout
    phases = {timeout.connect, timeout.read, timeout.write, timeout.pool}
    if phases == {None}:
        return None
    if len(phases) == 1:
        return phases.pop()
    return UNBOUNDED_PHASES_ATTEMPT


def call_defaults(settings: ClientSettings) -> CallSettings:
    """The settings of a call made without options."""
    s = settings
    return CallSettings(
        s.timeout,
        whole_attempt(s.timeout, s.attempt_timeout),
        RetryPolicy(max_retries=s.max_retries),
        s.max_rate_limit_wait,
        {},
        {},
        plus(s.call_timeout, s.max_rate_limit_wait),
    )


def resolve_call(
    settings: ClientSettings, defaults: CallSettings, options: RequestOptions | None
) -> CallSettings:
    """The settings of a call: ``defaults`` (those of ``settings``), or ``options`` over
    ``settings`` (checked: a :class:`ConfigurationError` for options no request could use)."""
    if options is not None and not isinstance(options, Mapping):
        raise errors.ConfigurationError(
            f"options must be a dict of request options, got {type(options).__name__}"
        )
    if not options:
        return defaults
    unknown = [name for name in options if name not in RequestOptions.__annotations__]
    if unknown:
        raise errors.ConfigurationError(
            f"unknown request option(s): {', '.join(map(errors.shorten, unknown))}; "
            f"known: {', '.join(RequestOptions.__annotations__)}"
        )
    s = settings
    timeout = s.timeout
    total = s.call_timeout
    if "timeout" in options:
        timeout = as_timeout(options["timeout"])
        total = call_timeout(options["timeout"])
    attempt: float | NotGiven | None = s.attempt_timeout
    if "attempt_timeout" in options:
        attempt = check_seconds(options["attempt_timeout"], "attempt_timeout")
    elif "timeout" in options:
        attempt = NOT_GIVEN
    retries = check_retries(options["max_retries"]) if "max_retries" in options else s.max_retries
    wait = (
        check_seconds(options["max_rate_limit_wait"], "max_rate_limit_wait")
        if "max_rate_limit_wait" in options
        else s.max_rate_limit_wait
    )
    return CallSettings(
        timeout,
        whole_attempt(timeout, attempt),
        RetryPolicy(max_retries=retries),
        wait,
        check_headers(options.get("extra_headers"), "extra_headers"),
        check_query(options.get("extra_query"), "extra_query"),
        plus(total, wait),
    )
