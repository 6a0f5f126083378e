"""The API key: checked once at construction, then kept out of every repr, log line and error.

A server that echoes the key (in an error message, a per-record error, a header) must not carry
it into an exception, a journal or a terminal, so everything the SDK keeps from a response goes
through :meth:`ApiKey.scrub` / :meth:`ApiKey.scrub_json` first. An echo need not be whole: a
server may drop the ``pk_live_`` prefix or cut the key short, so any :data:`MIN_ECHO` or more
consecutive characters of the key's secret part are scrubbed too.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import weakref
from typing import Any

from .errors import ConfigurationError

__all__ = ["MIN_ECHO", "REDACTED", "ApiKey", "guard_logs"]

REDACTED = "[redacted]"

MIN_ECHO = 10
"""The shortest run of the secret's characters that is scrubbed wherever it appears: enough to
identify the key (62**10 values), too long to occur in ordinary text by chance."""

_BLOCK = MIN_ECHO // 2
"""Any MIN_ECHO characters of a string hold one of its blocks of this length at a multiple of
it: a quick search for those blocks tells whether a text can hold an echo at all."""

_PREFIX = re.compile(r"pk_[A-Za-z0-9]+_")
"""The public part of a key (``pk_live_``): the same for every key, so no secret."""


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


def _text_forms(text: str) -> tuple[str, ...]:
    """``text`` as it can appear in a body: as is, and escaped as JSON writes it ("\\/" for
    "/" as some servers do, "\\"" and "\\\\")."""
    escaped = json.dumps(text)[1:-1]
    return tuple(dict.fromkeys((text, escaped, escaped.replace("/", "\\/"))))


def _echo_pattern(forms: tuple[str, ...]) -> str:
    """A regular expression for any run of ``MIN_ECHO`` or more consecutive characters of one
    of ``forms``, matched whole (as far as it follows the form)."""

    def rest(tail: str) -> str:  # the rest of the form, as far as the text follows it
        pattern = ""
        for char in reversed(tail):
            pattern = f"(?:{re.escape(char)}{pattern})?"
        return pattern

    runs = {
        form[i : i + MIN_ECHO] + "\x00" + form[i + MIN_ECHO :]
        for form in forms
        for i in range(len(form) - MIN_ECHO + 1)
    }
    parts = []
    for run in sorted(runs):
        head, _, tail = run.partition("\x00")
        parts.append(re.escape(head) + rest(tail))
    return "|".join(parts)


_MAX_LOOKS = 1000
"""Occurrences of blocks looked at before the full search runs anyway (a hostile text)."""


def _may_echo(text: Any, forms: tuple[Any, ...]) -> bool:
    """Whether ``text`` (str or bytes, as ``forms``) may hold ``MIN_ECHO`` consecutive
    characters of a form: each is looked for by its aligned blocks (fast, in C), and a block
    found is checked around its place; False is certain."""
    looks = 0
    for form in forms:
        for start in range(0, len(form) - _BLOCK + 1, _BLOCK):
            block = form[start : start + _BLOCK]
            at = text.find(block)
            while at != -1:
                looks += 1
                if looks > _MAX_LOOKS:
                    return True
                left = 0
                while left < start and left < at and text[at - left - 1] == form[start - left - 1]:
                    left += 1
                right = _BLOCK
                end = len(form) - start
                while (
                    right < end
                    and at + right < len(text)
                    and text[at + right] == form[start + right]
                ):
                    right += 1
                if left + right >= MIN_ECHO:
                    return True
                at = text.find(block, at + 1)
    return False


class _Echoes:
    """Finds runs of a secret's characters in text and bytes."""

    __slots__ = ("_forms", "_forms_bytes")

    def __init__(self, secret: str) -> None:
        self._forms = _text_forms(secret)
        self._forms_bytes = tuple(form.encode() for form in self._forms)

    def scrub(self, text: str) -> str:
        if not _may_echo(text, self._forms):  # the common case, at C speed
            return text
        return _compiled(self._forms).sub(REDACTED, text)

    def scrub_bytes(self, data: bytes) -> bytes:
        if not _may_echo(data, self._forms_bytes):
            return data
        return _compiled_bytes(self._forms).sub(REDACTED.encode(), data)


@functools.lru_cache(maxsize=16)
def _compiled(forms: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_echo_pattern(forms))


@functools.lru_cache(maxsize=16)
def _compiled_bytes(forms: tuple[str, ...]) -> re.Pattern[bytes]:
    return re.compile(_echo_pattern(forms).encode())


class ApiKey:
    """Holds the API key so that no repr, str or log line can show it."""

    __slots__ = ("__weakref__", "_echoes", "_encoded", "_forms", "_value")

    def __init__(self, value: object) -> None:
        self._value = _check(value)
        self._forms = _text_forms(self._value)
        self._encoded = tuple(form.encode() for form in self._forms)
        prefix = _PREFIX.match(self._value)
        secret = self._value[prefix.end() :] if prefix else self._value
        self._echoes = _Echoes(secret) if len(secret) >= MIN_ECHO else None

    def reveal(self) -> str:
        """The key itself, for the auth header only."""
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the key, and of any :data:`MIN_ECHO` or more
        consecutive characters of its secret part, replaced."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text if self._echoes is None else self._echoes.scrub(text)

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` scrubbed as :meth:`scrub` does (as UTF-8, or JSON-escaped)."""
        for key in self._encoded:
            if key in data:
                data = data.replace(key, REDACTED.encode())
        return data if self._echoes is None else self._echoes.scrub_bytes(data)

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
