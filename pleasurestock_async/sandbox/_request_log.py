"""The request log: every request the sandbox answered (its own inspector and page aside), newest
kept, with its route's API, buckets and key label (never the key), its status, duration, request
id and, for an error, the message it was answered with.

An ASGI middleware records each request and stamps its answer with ``X-Request-Id``; the API's
pipeline fills in what only it knows (API, buckets, key) through :func:`entry_of`. Each
finished request is also logged, one line, to the ``pleasurestock_async.sandbox.requests``
logger at INFO (``pleasurestock sandbox -v`` shows them).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "MAX_LOGGED",
    "REQUEST_ID_HEADER",
    "LoggedRequest",
    "RequestLog",
    "RequestRecorder",
    "entry_of",
]

MAX_LOGGED = 10_000
"""Requests the log keeps (the oldest are dropped first)."""
REQUEST_ID_HEADER = "X-Request-Id"
_SCOPE_KEY = "pleasurestock.request"
_MAX_ERROR_BODY = 65_536
_MAX_TEXT = 300
_SECRET_NAMES = ("key", "token", "secret", "auth", "password", "signature")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

logger = logging.getLogger("pleasurestock_async.sandbox.requests")


@dataclass(slots=True)
class LoggedRequest:
    """One request as the log keeps it. ``key`` is the label of the configured key that
    sent it ("manager", "viewer", ...), None when no key was checked; ``status`` is None
    when no answer was sent (the client went away)."""

    id: str
    at: datetime
    method: str
    path: str
    seq: int = 0
    status: int | None = None
    api: str | None = None
    buckets: tuple[str, ...] = ()
    key: str | None = None
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        """The request as one log line."""
        parts = [self.method, self.path, str(self.status or "-"), self.api or "-"]
        if self.key:
            parts.append(f"key={self.key}")
        parts.append(f"{self.seconds * 1000:.1f} ms")
        parts.append(f"id={self.id}")
        if self.error:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)


def entry_of(scope: Scope) -> LoggedRequest | None:
    """The log entry of the request being answered (None when it is not logged)."""
    found = scope.get(_SCOPE_KEY)
    return found if isinstance(found, LoggedRequest) else None


class RequestLog:
    """The newest :data:`MAX_LOGGED` requests, oldest first."""

    def __init__(self, size: int = MAX_LOGGED) -> None:
        self.entries: deque[LoggedRequest] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def add(self, entry: LoggedRequest) -> None:
        """Keep a finished request (its ``seq`` is the order it finished in)."""
        entry.seq = next(self._seq)
        self.entries.append(entry)

    def newest(self, offset: int, limit: int) -> list[LoggedRequest]:
        """``limit`` requests from the ``offset``-th newest on."""
        count = len(self.entries)
        stop = max(0, count - offset)
        start = max(0, stop - limit)
        return [self.entries[n] for n in range(stop - 1, start - 1, -1)]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries)

    def clear(self) -> None:
        """Forget every request (the numbering goes on)."""
        self.entries.clear()


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so that no client can break a log line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _shown_query(query: str) -> str:
    """The query string decoded for reading, with the values of parameters that look like
    secrets (``api_key=``, ``token=``, ...) hidden."""
    parts = []
    for part in query.split("&"):
        raw_name, sep, raw_value = part.partition("=")
        name = unquote_plus(raw_name)
        secret = any(s in name.lower() for s in _SECRET_NAMES)
        value = "[redacted]" if secret else unquote_plus(raw_value)
        parts.append(f"{name}{sep}{value if sep else ''}")
    return "&".join(parts)


def _error_text(body: bytes) -> str | None:
    """The message of an error answer: ``message`` of the error format, else ``error``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = data.get("message") or data.get("error")
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        message = (
            f"{data.get('error')}: {len(errors)} record(s); "
            f"#{first.get('index')}: {first.get('error')}"
        )
    return str(message)[:_MAX_TEXT] if message else None


class RequestRecorder:
    """ASGI middleware: logs each request ``skip`` does not exclude, and stamps its answer
    with a request id. ``redact`` hides configured keys in anything logged."""

    def __init__(
        self,
        app: ASGIApp,
        log: RequestLog,
        skip: Callable[[str], bool],
        redact: Callable[[str], str],
    ) -> None:
        self.app = app
        self.log = log
        self.skip = skip
        self.redact = redact

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.skip(scope["path"]):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            path = f"{path}?{_shown_query(query)}"
        entry = LoggedRequest(
            id=secrets.token_hex(8),
            at=datetime.now(UTC),
            method=_printable(scope["method"][:20]),
            path=self.redact(_printable(path[:2000])),
        )
        scope[_SCOPE_KEY] = entry
        error_body: list[bytes] = []
        started = time.perf_counter()

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, entry.id)
            elif (
                message["type"] == "http.response.body"
                and (entry.status or 0) >= 400
                and sum(map(len, error_body)) < _MAX_ERROR_BODY
            ):
                error_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            entry.seconds = time.perf_counter() - started
            if error_body:
                text = _error_text(b"".join(error_body))
                entry.error = self.redact(_printable(text)) if text else None
            self.log.add(entry)
            logger.info("%s", entry.line())
