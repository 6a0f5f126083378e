"""Verify, parse and deduplicate PleasureStock webhooks.

Each webhook carries ``X-Webhook-Signature: sha256=<hex>`` and ``X-Webhook-Timestamp: <unix
seconds>``: the HMAC-SHA256, keyed with the webhook secret, of ``f"{timestamp}.{raw_body}"``.
Verify the raw body exactly as received, never re-serialised JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import pydantic

from .errors import ConfigurationError, InputError, WebhookVerificationError, shorten
from .types.webhooks import (
    GenericEvent,
    OrderCancelledEvent,
    OrderCreatedEvent,
    OrderStatusChangedEvent,
    WebhookEvent,
    parse_event,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EventDeduplicator",
    "GenericEvent",
    "OrderCancelledEvent",
    "OrderCreatedEvent",
    "OrderStatusChangedEvent",
    "WebhookEvent",
    "WebhookVerificationError",
    "construct_event",
    "dedupe_key",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
DEFAULT_TOLERANCE = 300
"""Seconds a webhook's timestamp may differ from now, either way, before it is refused."""

_PREFIX = "sha256="
_HEX = frozenset(string.hexdigits)
_MAX_HEADER = 256

Secret = str | bytes
Secrets = Secret | Sequence[Secret]
Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


def _secret_list(secret: Secrets) -> list[bytes]:
    if isinstance(secret, str | bytes):
        items: Iterable[object] = (secret,)
    elif isinstance(secret, list | tuple):
        items = secret
    else:
        raise WebhookVerificationError("the webhook secret must be a str, bytes or a list of them")
    keys = []
    for item in items:
        if not isinstance(item, str | bytes):
            raise WebhookVerificationError(
                "the webhook secret must be a str, bytes or a list of them"
            )
        keys.append(_as_bytes(item, "the webhook secret"))
    if not keys or not all(keys):
        raise WebhookVerificationError("no webhook secret given (an empty secret verifies nothing)")
    return keys


def _as_bytes(payload: object, what: str = "the payload") -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        try:
            return payload.encode()
        except UnicodeEncodeError:
            raise WebhookVerificationError(
                f"{what} is not valid text (pass the raw body bytes as received)"
            ) from None
    raise WebhookVerificationError(f"{what} must be bytes or str, got {type(payload).__name__}")


def _digest(key: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _parse_timestamp(timestamp: str | int | None) -> int:
    if timestamp is None or timestamp == "":
        raise WebhookVerificationError(f"missing {TIMESTAMP_HEADER}")
    if isinstance(timestamp, int) and not 0 <= timestamp < 10**15:
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} is not a unix time in seconds")
    text = str(timestamp).strip()
    if len(text) > 15 or not text.isascii() or not text.isdigit():
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} is not a unix time in seconds")
    return int(text)


def _parse_signature(signature: str | None) -> str:
    if not signature:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER}")
    text = signature.strip()
    if len(text) > _MAX_HEADER:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} is too long")
    if not text.startswith(_PREFIX):
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} must start with {_PREFIX!r}")
    digest = text[len(_PREFIX) :]
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} is not 64 hex digits after the prefix")
    return digest.lower()


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def _seconds(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds (a bool is not)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and _finite(value)


def _check_types(signature: object, timestamp: object, tolerance: object, now: object) -> None:
    if signature is not None and not isinstance(signature, str):
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} must be a str")
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, str | int)
    ):
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} must be a str or an int")
    if tolerance is not None and (not _seconds(tolerance) or tolerance < 0):  # type: ignore[operator]
        raise WebhookVerificationError(
            f"tolerance must be seconds >= 0 or None, got {shorten(tolerance)}"
        )
    if now is not None and not _seconds(now):
        raise WebhookVerificationError(f"now must be a unix time in seconds, got {shorten(now)}")


def verify_signature(
    payload: bytes | str,
    signature: str | None,
    timestamp: str | int | None,
    secret: Secrets,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a webhook's signature and timestamp; raise :class:`WebhookVerificationError`
    saying which check failed.

    ``secret`` may be a list, to accept both secrets during a rotation. ``tolerance`` is how
    many seconds the timestamp may lie in the past or the future (``None`` skips that check,
    which leaves replays possible). The comparison is constant-time.
    """
    _check_types(signature, timestamp, tolerance, now)
    keys = _secret_list(secret)
    digest = _parse_signature(signature)
    sent_at = _parse_timestamp(timestamp)
    body = _as_bytes(payload)
    ts = str(sent_at) if isinstance(timestamp, int) else str(timestamp).strip()
    if not any(hmac.compare_digest(_digest(key, ts, body), digest) for key in keys):
        raise WebhookVerificationError("signature does not match the payload and timestamp")
    if tolerance is not None:
        skew = (time.time() if now is None else now) - sent_at
        if skew > tolerance:
            raise WebhookVerificationError(
                f"timestamp is {skew:.0f}s old, more than the {tolerance:g}s tolerance"
            )
        if -skew > tolerance:
            raise WebhookVerificationError(
                f"timestamp is {-skew:.0f}s in the future, more than the {tolerance:g}s tolerance"
            )


def _header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    if isinstance(headers, Mapping):
        pairs: Iterable[object] = headers.items()
    elif isinstance(headers, list | tuple):
        pairs = headers
    else:
        raise WebhookVerificationError(
            f"headers must be a mapping or a list of (name, value) pairs, "
            f"got {type(headers).__name__}"
        )
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise WebhookVerificationError("headers must be (name, value) pairs")
        key, value = pair
        key_text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key_text.lower() == wanted:
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def construct_event(
    payload: bytes | str,
    headers: Headers,
    secret: Secrets,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Verify a webhook from its raw body and headers, and return its typed event.

    ``headers`` is any mapping (Starlette, aiohttp, Django, a dict) or a list of pairs; names
    are matched case-insensitively. An unknown event type comes back as :class:`GenericEvent`.
    """
    verify_signature(
        payload,
        _header(headers, SIGNATURE_HEADER),
        _header(headers, TIMESTAMP_HEADER),
        secret,
        tolerance=tolerance,
        now=now,
    )
    try:
        return parse_event(payload)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise WebhookVerificationError(f"signed payload is not a valid event: {problems}") from None


def sign(payload: bytes | str, secret: Secret, timestamp: int | None = None) -> dict[str, str]:
    """The headers PleasureStock would send with ``payload`` (for tests and the sandbox)."""
    if timestamp is not None and (
        isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 10**15
    ):
        raise InputError.single("timestamp", "must be a unix time in seconds (an int)", timestamp)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = _secret_list(secret)[0]
    return {
        SIGNATURE_HEADER: _PREFIX + _digest(key, ts, _as_bytes(payload)),
        TIMESTAMP_HEADER: ts,
    }


_EVENT_TYPES = (OrderCreatedEvent, OrderStatusChangedEvent, OrderCancelledEvent, GenericEvent)


def dedupe_key(event: WebhookEvent) -> str:
    """A key that is the same for every redelivery of one event, and differs between events.

    Built from the event's type, time and data (not the delivery's signature or timestamp).
    Raises :class:`InputError` for anything but an event (from :func:`construct_event`).
    """
    if not isinstance(event, _EVENT_TYPES):
        raise InputError.single("event", "must be a webhook event (from construct_event)", event)
    try:
        canonical = event.model_dump_json(by_alias=True)
    except ValueError as exc:  # a hand-made event holding what JSON cannot carry
        raise InputError.single("event", f"cannot be serialised: {exc}", event) from None
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{event.event}:{digest}"


def _positive(value: object, name: str, kind: type | tuple[type, ...]) -> None:
    ok = not isinstance(value, bool) and isinstance(value, kind) and _finite(value)  # type: ignore[arg-type]
    if not ok or value <= 0:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be a number above 0, got {shorten(value)}")


class EventDeduplicator:
    """Remembers recent event keys so a single-process receiver handles each event once.

    Holds at most ``max_size`` keys, each for ``ttl`` seconds (longer than the sender's
    retries). Use a shared store (a database unique key, Redis ``SET NX``) across processes.
    """

    def __init__(self, *, max_size: int = 10_000, ttl: float = 3600.0) -> None:
        _positive(max_size, "max_size", int)
        _positive(ttl, "ttl", (int, float))
        self.max_size = max_size
        self.ttl = float(ttl)
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event: WebhookEvent | str, *, now: float | None = None) -> bool:
        """Record the event (or key); True the first time it is seen within ``ttl``.

        Raises :class:`InputError` for anything but an event or a str key, or a ``now`` that
        is not a finite number (its clock: seconds, as :func:`time.monotonic` gives)."""
        key = event if isinstance(event, str) else dedupe_key(event)
        if now is not None and (
            isinstance(now, bool) or not isinstance(now, int | float) or not _finite(now)
        ):
            raise InputError.single("now", "must be a finite number of seconds", now)
        clock = time.monotonic() if now is None else float(now)
        while self._seen:
            oldest_key, seen_at = next(iter(self._seen.items()))
            if clock - seen_at < self.ttl and len(self._seen) < self.max_size:
                break
            del self._seen[oldest_key]
        if key in self._seen:
            return False
        self._seen[key] = clock
        return True

    def __len__(self) -> int:
        return len(self._seen)
