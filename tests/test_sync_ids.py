"""One product is counted once, whether an export names it by its ps_ id or its UUID: UUIDs are
looked up once with the batch product query and kept in the state (issue 19, point 8); and the
state's SQLite work never runs on the event loop (point 7)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox
from pleasurestock_async.sandbox import IN_PROCESS_BASE_URL as SANDBOX_URL
from pleasurestock_async.uploads import SyncState

TODAY = date(2025, 11, 10)
DAY = "2025-11-03"
GHOST = "0a0b0c0d-0000-4000-8000-00000000dead"


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: Counter[str] = Counter()
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests[request.method] += 1
        if request.method == "POST":
            self.bodies.append(request.content)
        return await self.inner.handle_async_request(request)


def client(sandbox: Sandbox, wire: Counting) -> AsyncPleasureStock:
    return AsyncPleasureStock(
        DEMO_API_KEY,
        base_url=SANDBOX_URL,
        rate_limits=None,
        http_client=httpx.AsyncClient(transport=wire),
    )


def row(product: str, quantity: int, stock: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"internal_id": product, "date": DAY, "quantity": quantity}
    if stock is not None:
        found["stock_on_hand"] = stock
    return found


async def test_a_product_by_ps_id_then_by_uuid_is_counted_once(tmp_path: Path) -> None:
    """A run with ps_X then a run with the product's UUID double-counted every row."""
    sandbox = Sandbox(rate_limits=None, products=30)
    wire = Counting(sandbox.transport())
    products = sandbox.products
    state = tmp_path / "s.db"
    async with client(sandbox, wire) as ps:
        by_ps = await ps.sales.sync([row(p.internal_id, 5) for p in products], state=state)
        by_uuid = await ps.sales.sync([row(p.id.upper(), 5) for p in products], state=state)
        lookups = wire.requests["GET"]
        again = await ps.sales.sync([row(p.id, 6) for p in products], state=state)
    assert by_ps.stored == 30 and by_uuid.sent == 0 and by_uuid.unchanged == 30
    assert by_uuid.looked_up == 30 and lookups > 0
    assert again.looked_up == 0 and wire.requests["GET"] == lookups  # kept in the state
    assert again.sent == 30  # the one more unit each, under the ps_ id
    assert {s.quantity for s in sandbox.stored_sales().values()} == {6}


async def test_a_mixed_export_stores_each_product_day_once(tmp_path: Path) -> None:
    """Warehouse A exports UUIDs, warehouse B ps_ ids: one product-day, summed as the server
    does; later runs with ps_ ids only send nothing."""
    sandbox = Sandbox(rate_limits=None, products=50)
    wire = Counting(sandbox.transport())
    state = tmp_path / "s.db"
    mixed = [row(p.id, 3, 40) for p in sandbox.products] + [
        row(p.internal_id, 4, 70) for p in sandbox.products
    ]
    async with client(sandbox, wire) as ps:
        first = await ps.sales.sync(mixed, state=state, today=TODAY)
        later = await ps.sales.sync(
            [row(p.internal_id, 7, 70) for p in sandbox.products], state=state, today=TODAY
        )
    assert first.product_days == 50 and first.stored == 50 and later.sent == 0
    stored = sandbox.stored_sales()
    assert len(stored) == 50
    assert {(s.quantity, s.stock_on_hand) for s in stored.values()} == {(7, 70)}
    for body in wire.bodies:  # everything went under ps_ ids
        assert b'"internal_id": "ps_' in body or b'"internal_id":"ps_' in body
        assert not any(p.id.encode() in body for p in sandbox.products)


async def test_a_uuid_the_server_does_not_know_is_held_not_sent(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    wire = Counting(sandbox.transport())
    known = [row(p.internal_id, 2) for p in sandbox.products]
    state = tmp_path / "s.db"
    async with client(sandbox, wire) as ps:
        first = await ps.sales.sync([*known, row(GHOST, 9)], state=state, today=TODAY)
        gets = wire.requests["GET"]
        second = await ps.sales.sync([*known, row(GHOST, 9)], state=state, today=TODAY)
    assert first.stored == 5 and first.quarantined == 1 and first.needs_attention
    assert [(q.internal_id, q.new) for q in first.quarantine] == [(GHOST, True)]
    assert second.quarantined == 1 and not second.needs_attention
    assert wire.requests["GET"] == gets  # not looked up again before its retry day
    assert not any(GHOST.encode() in body for body in wire.bodies)  # never sent blindly


async def test_a_state_of_0_2_keyed_by_uuid_is_merged_on_upgrade(tmp_path: Path) -> None:
    """0.2 kept a product under each form it was sent with; the server summed both. Merged:
    the quantities add up, the stock is the highest, and nothing is sent again."""
    sandbox = Sandbox(rate_limits=None, products=3)
    product = sandbox.products[0]
    wire = Counting(sandbox.transport())
    async with client(sandbox, wire) as ps:  # what 0.2 sent, under both forms
        await ps.sales.upload([row(product.id, 5, 40), row(product.internal_id, 3, 60)])
    state = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('version', '2');"
            "CREATE TABLE days (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER "
            "NOT NULL, stock INTEGER, PRIMARY KEY (day, product)) WITHOUT ROWID;"
            "CREATE TABLE pending (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER "
            "NOT NULL, stock INTEGER, state TEXT NOT NULL, batch TEXT NOT NULL, error TEXT, "
            "updated_at REAL NOT NULL, PRIMARY KEY (product, day)) WITHOUT ROWID;"
        )
        db.executemany(
            "INSERT INTO days VALUES (?, ?, ?, ?)",
            [(product.id, DAY, 5, 40), (product.internal_id, DAY, 3, 60)],
        )
        db.commit()
    posts = wire.requests["POST"]
    async with client(sandbox, wire) as ps:
        result = await ps.sales.sync([row(product.internal_id, 8, 60)], state=state, today=TODAY)
    assert result.sent == 0 and result.unchanged == 1 and wire.requests["POST"] == posts
    book = SyncState(state, read_only=True)
    try:
        assert book.stored() == {(product.internal_id, DAY): (8, 60)}
    finally:
        book.close()
    held = sandbox.daily_sales(product.internal_id)[date(2025, 11, 3)]
    assert (held.quantity, held.stock_on_hand) == (8, 60)


async def test_the_state_is_never_read_or_written_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``synchronous=FULL`` every commit waits for the disk: on the loop, a 30,000-row sync
    held it up to 56 ms. Every statement of a sync's state runs in a worker thread."""
    threads: set[int] = set()
    connect = sqlite3.connect

    def watched(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db: sqlite3.Connection = connect(*args, **kwargs)
        db.set_trace_callback(lambda _: threads.add(threading.get_ident()))
        return db

    monkeypatch.setattr(sqlite3, "connect", watched)
    sandbox = Sandbox(rate_limits=None, products=40)
    loop_thread = threading.get_ident()
    rows = [row(p.internal_id, 2) for p in sandbox.products]
    async with sandbox.client() as ps:
        await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY)
        await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY, dry_run=True)
    assert threads and loop_thread not in threads
