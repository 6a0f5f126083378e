"""The webhook receiver example (``examples/webhook_receiver``) as it runs: served by uvicorn on
loopback, fed by a sandbox that signs and delivers order events over HTTP. Every event is
handled once, a redelivery (to the same process or another sharing the inbox) is answered and
not handled again, a forged one is refused, and an event kept but not handled before a stop is
handled by the next start."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from examples.webhook_receiver import app as receiver
from pleasurestock_async import webhooks
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, Sandbox

from .example_logs import watching
from .sandbox_server import serve

PATH = "/webhooks/pleasurestock"
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "inbox.db"
    monkeypatch.setenv("WEBHOOK_INBOX", str(path))
    monkeypatch.setenv("PLEASURESTOCK_WEBHOOK_SECRET", f"whsec_old_one,{DEMO_WEBHOOK_SECRET}")
    return path


def rows(inbox: Path) -> list[tuple[str, bool]]:
    with closing(sqlite3.connect(inbox)) as db:
        found = db.execute("SELECT key, handled_at IS NOT NULL FROM events ORDER BY received_at")
        return [(str(key), bool(handled)) for key, handled in found]


def test_each_event_is_handled_once_by_any_number_of_receivers(inbox: Path) -> None:
    sandbox = Sandbox(example_orders=True, rate_limits=None, webhook_url="http://127.0.0.1:9/")
    assert sandbox.webhooks is not None
    with (
        watching("examples.webhook_receiver") as log,
        serve(sandbox) as api,
        serve(receiver.app, path="") as first,
        serve(receiver.app, path="") as second,  # another process sharing the inbox
        httpx.Client(base_url=api, timeout=30) as http,
    ):
        sandbox.webhooks.url = first + PATH
        created = http.post(
            "/external/orders",
            headers=EXT,
            json={"items": [{"ps_id": "ps_1234567890", "quantity": 1}]},
        )
        assert created.status_code == 200, created.text
        number = created.json()["data"]["orders"][0]["orderNumber"]
        paid = http.put(f"/external/orders/{number}/status", headers=EXT, json={"status": "paid"})
        assert paid.status_code == 200, paid.text
        log.wait_for(lambda lines: sum(m.startswith("handled") for m in lines) == 2, "2 events")
        assert f"handled order.status_changed {number}: created -> paid" in log.messages

        sandbox.webhooks.url = second + PATH  # a redelivery may reach any process
        original = sandbox.webhook_deliveries[0]
        resent = http.post(f"/_sandbox/webhooks/{original.id}/resend")
        assert resent.status_code in (200, 201, 202), resent.text
        log.wait_for(lambda lines: any(m.startswith("duplicate") for m in lines), "duplicate")

        forged = httpx.post(
            second + PATH, content=original.body, headers=webhooks.sign(original.body, "whsec_x")
        )
        assert forged.status_code == 400
    assert sum(m.startswith("handled") for m in log.messages) == 2
    assert [handled for _, handled in rows(inbox)] == [True, True]


def test_an_event_kept_before_a_stop_is_handled_at_the_next_start(inbox: Path) -> None:
    body = json.dumps(
        {
            "event": "order.cancelled",
            "timestamp": "2025-01-14T12:00:00Z",
            "data": {"orderId": 7, "orderNumber": "ORD-2025-000124", "reason": "duplicate"},
        }
    ).encode()
    event = webhooks.construct_event(
        body, webhooks.sign(body, DEMO_WEBHOOK_SECRET), [DEMO_WEBHOOK_SECRET]
    )
    receiver.Inbox(str(inbox)).add(webhooks.dedupe_key(event), body)  # kept, then a crash
    with watching("examples.webhook_receiver") as log, serve(receiver.app, path=""):
        log.wait_for(lambda lines: "handled order.cancelled ORD-2025-000124" in lines, "it")
    assert rows(inbox) == [(webhooks.dedupe_key(event), True)]
