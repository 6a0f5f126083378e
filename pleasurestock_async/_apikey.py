"""The API key: checked once at construction, then kept out of every repr, log line and error.

A server that echoes the key (in an error message, a per-record error, a header) must not carry
it into an exception, a journal or a terminal, so everything the SDK keeps from a response goes
through :meth:`ApiKey.scrub` / :meth:`ApiKey.scrub_json` first.
"""

from __future__ import annotations

import hmac
import json
import logging
import weakref
from typing import Any

from .errors import ConfigurationError

__all__ = ["REDACTED", "ApiKey", "guard_logs"]

REDACTED = "[redacted]"


def _check(value: object) -> str:
    """The key with surrounding whitespace removed; refuses what no header can carry. No
    message here ever shows the key."""
    if not isinstance(value, str):
        raise ConfigurationError(f"api_key must be a str, got {type(value).__name__}")
    key = value.strip()
    if not key:
        raise ConfigurationError("api_key is empty")
    for position, char in enumerate(key):
        if not (char.isascii() and char.isprintable()) or char.isspace():
            raise ConfigurationError(
                f"api_key has a whitespace, control or non-ASCII character at position "
                f"{position}: check the file or environment variable it was read from"
            )
    return key


class ApiKey:
    """Holds the API key so that no repr, str or log line can show it."""

    __slots__ = ("__weakref__", "_encoded", "_forms", "_value")

    def __init__(self, value: object) -> None:
        self._value = _check(value)
        # The key as it can appear in text: as is, and escaped as JSON writes it ("\/" for
        # "/" as some servers do, "\"" and "\\").
        escaped = json.dumps(self._value)[1:-1]
        self._forms = tuple(dict.fromkeys((self._value, escaped, escaped.replace("/", "\\/"))))
        self._encoded = tuple(form.encode() for form in self._forms)

    def reveal(self) -> str:
        """The key itself, for the auth header only."""
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` with every occurrence of the key (as UTF-8, or JSON-escaped) replaced."""
        for key in self._encoded:
            if key in data:
                data = data.replace(key, REDACTED.encode())
        return data

    def scrub_json(self, value: Any) -> Any:
        """A copy of a parsed JSON value with the key replaced in every string (keys too)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_json(k): self.scrub_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_json(v) for v in value]
        return value

    def same_as(self, other: ApiKey) -> bool:
        """Whether both hold the same key (compared in constant time)."""
        return hmac.compare_digest(self._value, other._value)

    def __repr__(self) -> str:
        return f"ApiKey({REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an ApiKey cannot be pickled")


_LIVE_KEYS: weakref.WeakSet[ApiKey] = weakref.WeakSet()

_TRANSPORT_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""The loggers of the HTTP stack; at DEBUG httpcore logs response headers, which a server
may use to echo the key."""


class _ScrubKeys(logging.Filter):
    """Replaces every live client's key in a log record of the HTTP stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for key in list(_LIVE_KEYS):
            message = key.scrub(message)
        record.msg, record.args = message, None
        return True


_FILTER = _ScrubKeys()


def guard_logs(key: ApiKey) -> None:
    """Keep ``key`` out of the HTTP stack's log records while its client lives."""
    _LIVE_KEYS.add(key)
    for name in _TRANSPORT_LOGGERS:
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
