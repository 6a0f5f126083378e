"""A PleasureStock webhook receiver with a durable inbox (Starlette, SQLite).

Every verified event is written to an SQLite inbox under its dedupe key before the delivery is
answered, so an event is never lost (a crash after the answer finds it in the inbox on restart)
and never handled twice: PleasureStock redelivers after 2, 4 and 8 s when an answer is slow or
lost, and a redelivery finds its key taken. Several processes (``uvicorn --workers 4``, or
hosts sharing the file) share one inbox: a row is claimed by one worker before it is handled.
For hosts without a shared disk, the same unique key works in PostgreSQL or as Redis ``SET
NX``.

Run it::

    export PLEASURESTOCK_WEBHOOK_SECRET=whsec_...     # two, comma-separated, during a rotation
    export WEBHOOK_INBOX=/var/lib/receiver/inbox.db
    uvicorn examples.webhook_receiver.app:app --port 8000

and try it with ``pleasurestock webhook trigger order.created --forward-to
http://127.0.0.1:8000/webhooks/pleasurestock``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, closing, suppress

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import webhooks
from pleasurestock_async.types.webhooks import parse_event

__all__ = ["Inbox", "app", "handle"]

log = logging.getLogger("examples.webhook_receiver")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY,          -- webhooks.dedupe_key: the same for every redelivery
    body BLOB NOT NULL,            -- the verified payload, as received
    received_at REAL NOT NULL,
    claimed_by TEXT,               -- the worker handling it
    handled_at REAL
)
"""


class Inbox:
    """The events received, in an SQLite file any number of processes share."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.worker = uuid.uuid4().hex
        """This process's name in ``claimed_by``."""
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def add(self, key: str, body: bytes) -> bool:
        """Keep an event; False when its key is there already (a redelivery)."""
        with closing(self._connect()) as db:
            added = db.execute(
                "INSERT OR IGNORE INTO events (key, body, received_at) VALUES (?, ?, ?)",
                (key, body, time.time()),
            )
            return added.rowcount == 1

    def claim(self) -> tuple[str, bytes] | None:
        """The oldest event no worker has claimed, now claimed by this one; None when none."""
        with closing(self._connect()) as db:
            while True:
                row = db.execute(
                    "SELECT key, body FROM events WHERE claimed_by IS NULL "
                    "ORDER BY received_at LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                key, body = str(row[0]), bytes(row[1])
                won = db.execute(
                    "UPDATE events SET claimed_by = ? WHERE key = ? AND claimed_by IS NULL",
                    (self.worker, key),
                )
                if won.rowcount == 1:
                    return key, body

    def done(self, key: str) -> None:
        """Mark a claimed event handled."""
        with closing(self._connect()) as db:
            db.execute("UPDATE events SET handled_at = ? WHERE key = ?", (time.time(), key))


def secrets() -> list[str]:
    """The signing secrets: one, or two during a rotation (``old,new``)."""
    return [s.strip() for s in os.environ["PLEASURESTOCK_WEBHOOK_SECRET"].split(",") if s.strip()]


async def handle(event: webhooks.WebhookEvent) -> None:
    """What your integration does with an event (here: it logs it). Narrow the union with
    ``isinstance`` to read each type's ``data``."""
    if isinstance(event, webhooks.OrderStatusChangedEvent):
        log.info(
            "handled %s %s: %s -> %s",
            event.event,
            event.data.order_number,
            event.data.old_status,
            event.data.new_status,
        )
    elif isinstance(event, webhooks.OrderCreatedEvent | webhooks.OrderCancelledEvent):
        log.info("handled %s %s", event.event, event.data.order_number)
    else:  # a type this SDK does not know yet (GenericEvent): kept, not acted on
        log.info("handled %s (unknown type)", event.event)


async def work(inbox: Inbox, doorbell: MemoryObjectReceiveStream[None]) -> None:
    """Handle every unclaimed event: those left by an earlier run, then each new one."""
    async with doorbell:
        while True:
            while (claimed := await anyio.to_thread.run_sync(inbox.claim)) is not None:
                key, body = claimed
                await handle(parse_event(body))  # verified when it was received
                await anyio.to_thread.run_sync(inbox.done, key)
            try:
                await doorbell.receive()  # until a new event arrives
            except anyio.EndOfStream:
                return


async def receive(request: Request) -> Response:
    """``POST /webhooks/pleasurestock``: verify, keep, answer; handled by :func:`work`."""
    body = await request.body()  # the raw bytes: the signature covers them
    try:
        event = webhooks.construct_event(body, request.headers, secrets())
    except webhooks.WebhookVerificationError as exc:
        log.warning("refused a delivery: %s", exc)
        return Response(status_code=400)
    inbox: Inbox = request.app.state.inbox
    doorbell: MemoryObjectSendStream[None] = request.app.state.doorbell
    if await anyio.to_thread.run_sync(inbox.add, webhooks.dedupe_key(event), body):
        with suppress(anyio.WouldBlock):  # when full, the worker is awake already
            doorbell.send_nowait(None)
    else:
        log.info("duplicate %s, answered and not handled again", webhooks.dedupe_key(event))
    return Response(status_code=204)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncGenerator[None, None]:
    """The inbox, and one worker handling it, for the application's lifetime."""
    inbox = Inbox(os.environ.get("WEBHOOK_INBOX", "webhook-inbox.db"))
    ring, doorbell = anyio.create_memory_object_stream[None](1)
    app.state.inbox, app.state.doorbell = inbox, ring
    async with anyio.create_task_group() as workers:
        workers.start_soon(work, inbox, doorbell)
        try:
            yield
        finally:
            ring.close()  # the worker finishes the event in hand, then ends


app = Starlette(
    routes=[Route("/webhooks/pleasurestock", receive, methods=["POST"])], lifespan=lifespan
)
