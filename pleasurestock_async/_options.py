"""Per-call options (``options={...}`` on every method), their checks, and the not-given
sentinel."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final, Literal, TypedDict

import httpx

from .errors import ConfigurationError, shorten

__all__ = ["NOT_GIVEN", "NotGiven", "RequestOptions", "check_headers", "check_query"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument left out, as distinct from ``None``
    (``ps.copy(timeout=None)`` turns the timeout off; leaving ``timeout`` out keeps it)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class RequestOptions(TypedDict, total=False):
    """Settings for one call, overriding the client's: ``options={"timeout": 2.0}``.

    - ``timeout``: seconds (or an :class:`httpx.Timeout`) for each phase; ``None`` for none.
      A number also bounds the call as a whole: it is over ``timeout + max_rate_limit_wait``
      seconds after it began, whatever it waited for (``max_rate_limit_wait=0``: ``timeout``
      in all).
    - ``attempt_timeout``: seconds one attempt may take in all, connect to last byte.
    - ``max_retries``: retries allowed for this call.
    - ``max_rate_limit_wait``: the longest this call may wait for a rate-limit slot before
      it raises :class:`~pleasurestock_async.errors.RateLimitWaitError` (``None``: no bound).
    - ``extra_headers`` / ``extra_query``: sent with the request (the auth header cannot be
      replaced this way).
    """

    timeout: float | httpx.Timeout | None
    attempt_timeout: float | None
    max_retries: int
    max_rate_limit_wait: float | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str | int | float | bool]


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An HTTP header name (RFC 9110 token)."""

_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})

_MAX_QUERY_INT = 2**63
"""Query integers beyond a 64-bit range are refused: no API number is that large."""


def _text_ok(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no request can carry it
        return False
    return True


def check_headers(value: object, name: str) -> dict[str, str]:
    """``value`` as headers to send (str names and values an HTTP request can carry, neither
    auth header), or a :class:`ConfigurationError` naming ``name``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a mapping of str to str, got {shorten(value)}")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _TOKEN.match(key):
            raise ConfigurationError(f"{name}: {shorten(key)} is not a header name")
        if not isinstance(item, str) or not all(c == "\t" or " " <= c <= "~" for c in item):
            raise ConfigurationError(
                f"{name}[{key!r}] must be a str of printable ASCII, got {shorten(item)}"
            )
        if key.lower() in _AUTH_HEADERS:
            raise ConfigurationError(
                f"{name} cannot set X-API-Key or Authorization: the client sends the key"
            )
        out[key] = item
    return out


def check_query(value: object, name: str) -> dict[str, Any]:
    """``value`` as extra query parameters (str names; str, int, finite float or bool values;
    ``None`` leaves one out), or a :class:`ConfigurationError` naming ``name``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a mapping of str to values, got {shorten(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or not _text_ok(key):
            raise ConfigurationError(f"{name}: {shorten(key)} is not a parameter name")
        if item is None:
            continue
        if isinstance(item, bool) or (isinstance(item, str) and _text_ok(item)):
            pass
        elif isinstance(item, int):
            if not -_MAX_QUERY_INT < item < _MAX_QUERY_INT:
                raise ConfigurationError(f"{name}[{key!r}] is out of range: {shorten(item)}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ConfigurationError(f"{name}[{key!r}] must be finite, got {item!r}")
        else:
            raise ConfigurationError(
                f"{name}[{key!r}] must be a str, int, float or bool, got {shorten(item)}"
            )
        out[key] = item
    return out
