"""Webhook verification: signatures, timestamps, parsing, dedupe."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pleasurestock_async import webhooks
from pleasurestock_async.types import (
    GenericEvent,
    OrderCancelledEvent,
    OrderCreatedEvent,
    OrderStatus,
    OrderStatusChangedEvent,
)
from pleasurestock_async.webhooks import WebhookVerificationError

from .conftest import fixture

SECRET = "whsec_test_secret"
NOW = 1_736_850_600
CREATED = json.dumps(fixture("webhook_order_created")).encode()
CHANGED = json.dumps(fixture("webhook_order_status_changed")).encode()


def reference_verify(secret: str, signature: str, timestamp: str, body: str) -> bool:
    """The API reference's own verify_webhook, verbatim in logic."""
    message = f"{timestamp}.{body}"
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return f"sha256={expected}" == signature


def test_sign_agrees_with_the_reference_algorithm() -> None:
    headers = webhooks.sign(CREATED, SECRET, NOW)
    assert headers["X-Webhook-Timestamp"] == str(NOW)
    assert reference_verify(SECRET, headers["X-Webhook-Signature"], str(NOW), CREATED.decode())


def test_round_trip_and_typed_events() -> None:
    created = webhooks.construct_event(
        CREATED, webhooks.sign(CREATED, SECRET, NOW), SECRET, now=NOW
    )
    assert isinstance(created, OrderCreatedEvent)
    assert created.data.order_number == "ORD-2025-000123"
    assert created.data.status is OrderStatus.CREATED
    assert created.data.items[0].ps_id == "ps_1234567890"
    assert str(created.data.items[0].unit_price) == "25.5"
    changed = webhooks.construct_event(
        CHANGED, webhooks.sign(CHANGED, SECRET, NOW), SECRET, now=NOW
    )
    assert isinstance(changed, OrderStatusChangedEvent)
    assert changed.data.old_status is OrderStatus.CREATED
    assert changed.data.new_status is OrderStatus.PAID
    assert changed.data.changed_by == "external_api"


def test_cancelled_and_unknown_events() -> None:
    body = (
        b'{"event":"order.cancelled","timestamp":"2025-01-14T12:00:00Z","data":'
        b'{"orderId":"x","orderNumber":"O-1","reason":"customer request"}}'
    )
    event = webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)
    assert isinstance(event, OrderCancelledEvent) and event.data.reason == "customer request"
    body = b'{"event":"invoice.paid","data":{"amount":1}}'
    event = webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)
    assert isinstance(event, GenericEvent) and event.data == {"amount": 1}


def test_headers_any_case_and_pairs() -> None:
    headers = webhooks.sign(CHANGED, SECRET, NOW)
    lower = {k.lower(): v for k, v in headers.items()}
    upper = {k.upper(): v for k, v in headers.items()}
    raw_pairs = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    for variant in (lower, upper, raw_pairs):
        assert (
            webhooks.construct_event(CHANGED, variant, SECRET, now=NOW).event
            == "order.status_changed"
        )


def test_str_payload_and_int_timestamp() -> None:
    headers = webhooks.sign(CHANGED, SECRET, NOW)
    webhooks.verify_signature(
        CHANGED.decode(), headers["X-Webhook-Signature"], NOW, SECRET, now=NOW
    )


def test_secret_rotation() -> None:
    headers = webhooks.sign(CHANGED, "old", NOW)
    webhooks.verify_signature(
        CHANGED,
        headers["X-Webhook-Signature"],
        headers["X-Webhook-Timestamp"],
        ["new", "old"],
        now=NOW,
    )
    with pytest.raises(WebhookVerificationError, match="does not match"):
        webhooks.verify_signature(
            CHANGED,
            headers["X-Webhook-Signature"],
            headers["X-Webhook-Timestamp"],
            ["new"],
            now=NOW,
        )


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (10**6, False)],
)
def test_timestamp_window_both_directions(offset: int, ok: bool) -> None:
    headers = webhooks.sign(CHANGED, SECRET, NOW)

    def check() -> None:
        webhooks.verify_signature(
            CHANGED,
            headers["X-Webhook-Signature"],
            headers["X-Webhook-Timestamp"],
            SECRET,
            now=NOW + offset,
        )

    if ok:
        check()
    else:
        with pytest.raises(
            WebhookVerificationError, match="old" if offset > 0 else "in the future"
        ):
            check()


def test_tolerance_setting() -> None:
    headers = webhooks.sign(CHANGED, SECRET, NOW)
    webhooks.verify_signature(
        CHANGED,
        headers["X-Webhook-Signature"],
        headers["X-Webhook-Timestamp"],
        SECRET,
        tolerance=None,
        now=NOW + 10**7,
    )
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(
            CHANGED,
            headers["X-Webhook-Signature"],
            headers["X-Webhook-Timestamp"],
            SECRET,
            tolerance=10,
            now=NOW + 11,
        )


def test_default_now_is_the_clock() -> None:
    headers = webhooks.sign(CHANGED, SECRET)
    assert abs(int(headers["X-Webhook-Timestamp"]) - time.time()) < 5
    webhooks.verify_signature(
        CHANGED, headers["X-Webhook-Signature"], headers["X-Webhook-Timestamp"], SECRET
    )


@pytest.mark.parametrize(
    ("signature", "timestamp", "reason"),
    [
        (None, str(NOW), "missing X-Webhook-Signature"),
        ("", str(NOW), "missing X-Webhook-Signature"),
        ("abc", str(NOW), "must start with"),
        ("sha1=" + "0" * 40, str(NOW), "must start with"),
        ("sha256=" + "g" * 64, str(NOW), "64 hex digits"),
        ("sha256=" + "0" * 63, str(NOW), "64 hex digits"),
        ("sha256=" + "é" * 64, str(NOW), "64 hex digits"),
        ("sha256=" + "0" * 10_000, str(NOW), "too long"),
        ("sha256=" + "0" * 64, None, "missing X-Webhook-Timestamp"),
        ("sha256=" + "0" * 64, "", "missing X-Webhook-Timestamp"),
        ("sha256=" + "0" * 64, "12.5", "unix time"),
        ("sha256=" + "0" * 64, "-5", "unix time"),
        ("sha256=" + "0" * 64, "9" * 100, "unix time"),
        ("sha256=" + "0" * 64, "١٢٣", "unix time"),  # non-ASCII digits
    ],
)
def test_malformed_headers(signature: str | None, timestamp: str | None, reason: str) -> None:
    with pytest.raises(WebhookVerificationError, match=reason) as info:
        webhooks.verify_signature(CHANGED, signature, timestamp, SECRET, now=NOW)
    assert SECRET not in str(info.value)


def test_empty_secret_refused() -> None:
    headers = webhooks.sign(CHANGED, SECRET, NOW)
    empties: tuple[str | bytes | list[str], ...] = ("", b"", [])
    for secret in empties:
        with pytest.raises(WebhookVerificationError, match="secret"):
            webhooks.verify_signature(
                CHANGED, headers["X-Webhook-Signature"], str(NOW), secret, now=NOW
            )


def test_signed_garbage_is_not_an_event() -> None:
    body = b'{"not": "an event"}'
    with pytest.raises(WebhookVerificationError, match="not a valid event"):
        webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)
    body = b"\xff\xfe not json"
    with pytest.raises(WebhookVerificationError, match="not a valid event"):
        webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)


@given(
    body=st.binary(max_size=2000),
    secret=st.text(min_size=1, max_size=50),
    ts=st.integers(0, 2**40),
    flip=st.integers(0, 10_000),
)
def test_any_change_fails(body: bytes, secret: str, ts: int, flip: int) -> None:
    headers = webhooks.sign(body, secret, ts)
    sig, stamp = headers["X-Webhook-Signature"], headers["X-Webhook-Timestamp"]
    webhooks.verify_signature(body, sig, stamp, secret, now=ts)
    changed_body = body[: flip % (len(body) or 1)] + b"x" + body[flip % (len(body) or 1) :]
    attempts = [
        (changed_body, sig, stamp, secret),
        (body, sig, str(ts + 1 + flip % 100), secret),
        (body, sig[:-1] + ("0" if sig[-1] != "0" else "1"), stamp, secret),
        (body, sig, stamp, secret + "x"),
    ]
    for payload, signature, timestamp, key in attempts:
        with pytest.raises(WebhookVerificationError):
            webhooks.verify_signature(payload, signature, timestamp, key, tolerance=None)


@given(
    signature=st.one_of(st.none(), st.text(max_size=400)),
    timestamp=st.one_of(st.none(), st.text(max_size=40), st.integers()),
)
def test_garbage_headers_only_raise_verification_errors(
    signature: str | None, timestamp: str | int | None
) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        webhooks.verify_signature(CHANGED, signature, timestamp, SECRET)
    assert SECRET not in str(info.value)


# -- dedupe ---------------------------------------------------------------------------------------


def test_dedupe_key_stable_across_redeliveries() -> None:
    first = webhooks.construct_event(CHANGED, webhooks.sign(CHANGED, SECRET, NOW), SECRET, now=NOW)
    later = webhooks.construct_event(
        CHANGED, webhooks.sign(CHANGED, SECRET, NOW + 8), SECRET, now=NOW + 8
    )
    respaced = json.dumps(json.loads(CHANGED), indent=4).encode()
    again = webhooks.construct_event(
        respaced, webhooks.sign(respaced, SECRET, NOW), SECRET, now=NOW
    )
    assert webhooks.dedupe_key(first) == webhooks.dedupe_key(later) == webhooks.dedupe_key(again)
    other = webhooks.construct_event(CREATED, webhooks.sign(CREATED, SECRET, NOW), SECRET, now=NOW)
    assert webhooks.dedupe_key(other) != webhooks.dedupe_key(first)
    assert webhooks.dedupe_key(first).startswith("order.status_changed:")


def test_deduplicator_ttl_and_size() -> None:
    seen = webhooks.EventDeduplicator(max_size=3, ttl=10)
    assert seen.first_time("a", now=0) and not seen.first_time("a", now=1)
    assert seen.first_time("b", now=2) and seen.first_time("c", now=3)
    assert seen.first_time("d", now=4)  # evicts "a", the oldest
    assert len(seen) == 3
    assert seen.first_time("a", now=5)
    assert not seen.first_time("d", now=13)
    assert seen.first_time("d", now=14.5)  # its ten seconds are over


def test_deduplicator_takes_events() -> None:
    seen = webhooks.EventDeduplicator()
    event = webhooks.construct_event(CHANGED, webhooks.sign(CHANGED, SECRET, NOW), SECRET, now=NOW)
    assert seen.first_time(event) and not seen.first_time(event)
