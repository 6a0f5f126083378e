"""sales.sync: the server ends up with exactly the latest export's totals, however operators
resend, and what POST /sales cannot express is reported (issue 11)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pleasurestock_async import AsyncPleasureStock, SalesSyncError, StateLockedError
from pleasurestock_async.errors import InputError
from pleasurestock_async.sandbox import Faults, Sandbox
from pleasurestock_async.uploads import SyncState, runner

pytestmark = pytest.mark.concurrency

TODAY = date(2025, 11, 10)
Totals = dict[tuple[str, date], tuple[int, int | None]]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(rate_limits=None, products=40)


@pytest.fixture
async def ps(sandbox: Sandbox) -> AsyncIterator[AsyncPleasureStock]:
    async with sandbox.client() as client:
        yield client


def ids(sandbox: Sandbox, n: int) -> list[str]:
    return [p.internal_id for p in sandbox.products[:n]]


def row(pid: str, day: date, quantity: int, stock: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"internal_id": pid, "date": day.isoformat(), "quantity": quantity}
    if stock is not None:
        out["stock_on_hand"] = stock
    return out


def server_totals(sandbox: Sandbox) -> Totals:
    return {
        (pid, day): (s.quantity, s.stock_on_hand) for (pid, day), s in sandbox_days(sandbox).items()
    }


def sandbox_days(sandbox: Sandbox) -> dict[tuple[str, date], Any]:
    found = {}
    for product in sandbox.products:
        for day, stored in sandbox.daily_sales(product.internal_id).items():
            found[(product.internal_id, day)] = stored
    return found


def export_totals(rows: list[dict[str, Any]]) -> dict[tuple[str, date], int]:
    totals: dict[tuple[str, date], int] = defaultdict(int)
    for r in rows:
        totals[(r["internal_id"], date.fromisoformat(r["date"]))] += r["quantity"]
    return dict(totals)


async def test_the_same_export_twice_sends_nothing_the_second_time(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    rows = [
        row(pid, TODAY - timedelta(days=d), d + 1, 10) for pid in ids(sandbox, 5) for d in range(3)
    ]
    first = await ps.sales.sync(rows, state=state, today=TODAY)
    second = await ps.sales.sync(rows, state=state, today=TODAY)
    assert first.ok and first.sent == first.stored == 15 and first.batches == 1
    assert second.ok and second.sent == 0 and second.batches == 0
    assert second.unchanged == 10 and second.deferred_stock == 5  # today's stock waits
    assert sandbox.request_counts["POST /sales"] == 1
    assert {k: v[0] for k, v in server_totals(sandbox).items()} == export_totals(rows)


async def test_a_cumulative_export_resent_every_three_hours_counts_once(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    pid = ids(sandbox, 1)[0]
    for so_far in (3, 7, 7, 12):  # today's sales so far, as the reference advises resending
        result = await ps.sales.sync([row(pid, TODAY, so_far)], state=state, today=TODAY)
        assert result.ok
    assert sandbox.daily_sales(pid)[TODAY].quantity == 12  # not 3 + 7 + 7 + 12
    sent = sandbox.request_counts["POST /sales"]
    assert sent == 3  # the unchanged resend cost no request


async def test_warehouse_rows_combine_as_the_server_does(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    pid = ids(sandbox, 1)[0]
    day = TODAY - timedelta(days=1)
    rows = [row(pid, day, 10, 500), row(pid, day, 5, 300)]  # warehouses A and B
    result = await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY)
    assert result.product_days == 1 and result.sent == 1
    stored = sandbox.daily_sales(pid)[day]
    assert (stored.quantity, stored.stock_on_hand) == (15, 500)


async def test_a_rolling_week_every_three_hours_ends_equal_to_the_latest_export(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    products = ids(sandbox, 6)
    sold: dict[tuple[str, date], int] = defaultdict(int)
    start = date(2025, 11, 1)
    latest: list[dict[str, Any]] = []
    for hour in range(0, 7 * 24, 3):
        today = start + timedelta(days=hour // 24)
        for n, pid in enumerate(products):
            sold[(pid, today)] += (hour + n) % 4
        window = [today - timedelta(days=d) for d in range(7) if today - timedelta(days=d) >= start]
        latest = [
            row(pid, day, sold[(pid, day)], 100 - sold[(pid, day)])
            for day in window
            for pid in products
        ]
        result = await ps.sales.sync(latest, state=state, today=today)
        assert result.ok, result
    on_server = server_totals(sandbox)
    for r in latest:
        key = (r["internal_id"], date.fromisoformat(r["date"]))
        assert on_server[key][0] == r["quantity"]
        if key[1] < start + timedelta(days=6):  # closed days carry their final stock
            assert on_server[key][1] == r["stock_on_hand"]
        else:
            assert on_server[key][1] is None  # today's stock waits for the day to close


async def test_a_lower_quantity_is_reported_never_sent(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    pid = ids(sandbox, 1)[0]
    day = TODAY - timedelta(days=2)
    await ps.sales.sync([row(pid, day, 9, 40)], state=state, today=TODAY)
    before = sandbox.request_counts["POST /sales"]
    result = await ps.sales.sync([row(pid, day, 7, 40)], state=state, today=TODAY)  # a return
    assert not result.ok and result.sent == 0
    (found,) = result.discrepancies
    assert found.kind == "quantity"
    assert (found.day.stored_quantity, found.day.export_quantity) == (9, 7)
    assert found.day.internal_id == pid and found.day.date == day and found.day.index == 0
    assert sandbox.request_counts["POST /sales"] == before
    assert sandbox.daily_sales(pid)[day].quantity == 9


async def test_stock_waits_for_the_day_to_close(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    pid = ids(sandbox, 1)[0]
    morning = await ps.sales.sync([row(pid, TODAY, 2, 100)], state=state, today=TODAY)
    assert morning.deferred_stock == 1
    evening = await ps.sales.sync([row(pid, TODAY, 9, 0)], state=state, today=TODAY)  # sold out
    assert sandbox.daily_sales(pid)[TODAY].stock_on_hand is None  # the morning's 100 never sent
    closed = await ps.sales.sync(
        [row(pid, TODAY, 9, 0)], state=state, today=TODAY + timedelta(days=1)
    )
    stored = sandbox.daily_sales(pid)[TODAY]
    assert (stored.quantity, stored.stock_on_hand) == (9, 0)  # the out-of-stock day is seen
    assert evening.ok and closed.ok and closed.sent == 1


async def test_a_closed_days_lower_stock_is_reported(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    pid = ids(sandbox, 1)[0]
    day = TODAY - timedelta(days=3)
    await ps.sales.sync([row(pid, day, 1, 50)], state=state, today=TODAY)
    result = await ps.sales.sync([row(pid, day, 1, 20)], state=state, today=TODAY)
    assert [d.kind for d in result.discrepancies] == ["stock"] and result.sent == 0


async def test_stock_always_sends_it_while_the_day_is_open(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    pid = ids(sandbox, 1)[0]
    await ps.sales.sync(
        [row(pid, TODAY, 2, 100)], state=tmp_path / "s.db", today=TODAY, stock="always"
    )
    assert sandbox.daily_sales(pid)[TODAY].stock_on_hand == 100


async def test_mark_stored_adopts_history_without_resending_it(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    history = [row(pid, TODAY - timedelta(days=5), 4, 9) for pid in ids(sandbox, 3)]
    await ps.sales.upload(history)  # sent before the state existed
    declared = await ps.sales.sync(history, state=state, today=TODAY, mark_stored=True)
    assert declared.declared == 3 and declared.sent == 0
    later = await ps.sales.sync(history, state=state, today=TODAY)
    assert later.sent == 0 and later.unchanged == 3
    assert all(v == (4, 9) for v in server_totals(sandbox).values())


async def test_one_unknown_product_costs_one_row(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    rows = [row(pid, TODAY - timedelta(days=1), 3) for pid in ids(sandbox, 30)]
    rows.insert(7, row("ps_zzzzzzzzzz", TODAY - timedelta(days=1), 3))
    state = tmp_path / "state.db"
    result = await ps.sales.sync(rows, state=state, today=TODAY)
    (error,) = result.refused
    day = error.day
    assert day is not None and day.internal_id == "ps_zzzzzzzzzz" and day.index == 7
    assert error.error == "Product not found"
    assert result.stored == 30 and not result.failed_batches
    assert [(q.internal_id, q.new) for q in result.quarantine] == [("ps_zzzzzzzzzz", True)]
    assert result.needs_attention  # a new refusal is news
    again = await ps.sales.sync(rows, state=state, today=TODAY)  # held in quarantine
    assert again.sent == 0 and again.refused == [] and again.quarantined == 1
    assert [(q.internal_id, q.new, q.rows) for q in again.quarantine] == [
        ("ps_zzzzzzzzzz", False, 1)
    ]
    assert not again.needs_attention and not again.ok  # known and held: no news
    retried = await ps.sales.sync(rows, state=state, today=TODAY, retry_refused=True)
    assert retried.sent == 1 and len(retried.refused) == 1
    assert sandbox.request_counts["POST /sales"] == 3  # two for the first run, one retry


async def test_an_unknown_outcome_is_held_until_resolved(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0))
    state = tmp_path / "state.db"
    rows = [row(pid, TODAY - timedelta(days=1), 5) for pid in ids(sandbox, 4)]
    async with sandbox.client() as ps:
        first = await ps.sales.sync(rows, state=state, today=TODAY)
        assert len(first.uncertain) == 4 and [b.outcome for b in first.failed_batches] == [
            "unknown"
        ]
        held = await ps.sales.sync(rows, state=state, today=TODAY)
        assert held.sent == 0 and len(held.uncertain) == 4  # never resent on doubt
        settled = await ps.sales.sync(rows, state=state, today=TODAY, assume_unknown="stored")
    assert settled.resolved == 4 and settled.sent == 0 and settled.ok
    assert sandbox.request_counts["POST /sales"] == 1
    assert all(v[0] == 5 for v in server_totals(sandbox).values())  # stored once, not twice


async def test_not_stored_resolution_sends_again(tmp_path: Path) -> None:
    failing = Sandbox(rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0))
    state = tmp_path / "state.db"
    rows = [row(pid, TODAY - timedelta(days=1), 5) for pid in ids(failing, 2)]
    async with failing.client() as ps:
        await ps.sales.sync(rows, state=state, today=TODAY)
    healthy = Sandbox(rate_limits=None, products=10)
    async with healthy.client() as ps:
        result = await ps.sales.sync(rows, state=state, today=TODAY, assume_unknown="not_stored")
    assert result.resolved == 2 and result.stored == 2
    assert all(v[0] == 5 for v in server_totals(healthy).values())


async def test_uncertain_batches_are_settled_one_by_one(tmp_path: Path) -> None:
    """Two runs leave a batch each in doubt; one was stored, the other was not. Settling
    them differently sends exactly the one that is missing (a single answer for both would
    double-count one batch or lose the other)."""
    stores_then_fails = Sandbox(
        rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0)
    )
    fails_first = Sandbox(rate_limits=None, products=10, faults=Faults(error_rate=1.0))
    state = tmp_path / "state.db"
    a = [row(pid, TODAY - timedelta(days=1), 5) for pid in ids(stores_then_fails, 3)]
    b = [row(pid, TODAY - timedelta(days=2), 7) for pid in ids(stores_then_fails, 2)]
    async with stores_then_fails.client() as ps:
        first = await ps.sales.sync(a, state=state, today=TODAY)
    async with fails_first.client() as ps:
        second = await ps.sales.sync(a + b, state=state, today=TODAY)
    (stored_batch,) = first.uncertain_batches
    assert first.uncertain_batches == {stored_batch: 3}
    assert second.uncertain_batches == {stored_batch: 3, "r2b0": 2}  # a held, b in doubt
    assert {d.batch for d in second.uncertain if d.date == TODAY - timedelta(days=2)} == {"r2b0"}
    async with stores_then_fails.client() as ps:
        with pytest.raises(InputError, match="no uncertain batch r9b9"):
            await ps.sales.sync(a + b, state=state, today=TODAY, resolve={"r9b9": "stored"})
        third = await ps.sales.sync(
            a + b,
            state=state,
            today=TODAY,
            resolve={stored_batch: "stored", "r2b0": "not_stored"},
        )
        assert third.resolved == 5 and third.sent == 2 and third.unchanged == 3
        fourth = await ps.sales.sync(a + b, state=state, today=TODAY, resolve={"r3b0": "stored"})
    assert fourth.ok and fourth.sent == 0 and fourth.resolved == 2
    totals = server_totals(stores_then_fails)
    assert sorted(q for q, _ in totals.values()) == [5, 5, 5, 7, 7]  # each day once, none lost


async def test_invalid_records_stop_before_anything_is_sent(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    rows = [row(pid, TODAY, 1) for pid in ids(sandbox, 3)]
    rows[1]["quantity"] = -2
    with pytest.raises(SalesSyncError) as info:
        await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY)
    assert info.value.reason == "invalid_record" and info.value.errors[0].index == 1
    assert sandbox.request_counts["POST /sales"] == 0
    skipped = await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY, on_invalid="skip")
    assert skipped.stored == 2 and [e.index for e in skipped.input_errors] == [1]


async def test_a_state_in_use_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    entered = anyio.Event()
    release = anyio.Event()

    async def slow_rows() -> AsyncIterator[dict[str, Any]]:
        yield row(ids(sandbox, 1)[0], TODAY, 1)
        entered.set()
        await release.wait()  # the first run holds the state until the second was refused

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: ps.sales.sync(slow_rows(), state=state, today=TODAY))
        await entered.wait()
        try:
            with pytest.raises(StateLockedError, match="in use by another run"):
                await ps.sales.sync([], state=state, today=TODAY)
        finally:
            release.set()
    assert sandbox.daily_sales(ids(sandbox, 1)[0])[TODAY].quantity == 1


async def test_the_state_holds_no_key_and_grows_with_days_not_runs(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    rows = [row(pid, TODAY - timedelta(days=1), 2) for pid in ids(sandbox, 20)]
    for _ in range(5):
        await ps.sales.sync(rows, state=state, today=TODAY)
    with contextlib.closing(sqlite3.connect(state)) as db:
        (days,) = db.execute("SELECT count(*) FROM days").fetchone()
        (pending,) = db.execute("SELECT count(*) FROM pending").fetchone()
    assert (days, pending) == (20, 0)
    assert b"pk_" not in state.read_bytes()


async def test_bad_sync_arguments(ps: AsyncPleasureStock, tmp_path: Path) -> None:
    wrong: list[dict[str, Any]] = [
        {"stock": "sometimes"},
        {"assume_unknown": "maybe"},
        {"assume_unknown": {"r1b0": "stored"}},
        {"resolve": {"r1b0": "maybe"}},
        {"resolve": {1: "stored"}},
        {"resolve": "stored"},
        {"timezone": "Mars/Base"},
    ]
    for kwargs in wrong:
        with pytest.raises(InputError):
            await ps.sales.sync([], state=tmp_path / "s.db", **kwargs)


async def test_a_stop_records_what_was_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STOP_GRACE", 5)
    sandbox = Sandbox(rate_limits=None, products=40)
    state = tmp_path / "state.db"
    rows = [
        row(pid, TODAY - timedelta(days=d), 1) for d in range(60) for pid in ids(sandbox, 40)
    ]  # 2,400 product-days: 3 batches
    stop = anyio.Event()

    class StopOnFirstRequest(httpx.AsyncBaseTransport):
        """The stop lands while the first batch is in flight."""

        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            stop.set()
            return await self.inner.handle_async_request(request)

    http = httpx.AsyncClient(transport=StopOnFirstRequest(sandbox.transport()))
    async with http, sandbox.client(http_client=http) as ps:
        with pytest.raises(SalesSyncError) as info:
            await ps.sales.sync(rows, state=state, today=TODAY, concurrency=1, stop=stop)
        result = info.value.result
        assert info.value.reason == "interrupted" and result.stored == 1000
    async with sandbox.client() as ps:
        rest = await ps.sales.sync(rows, state=state, today=TODAY)
    assert rest.stored == 1400 and rest.ok
    assert sum(v[0] for v in server_totals(sandbox).values()) == 2400


# -- the property ----------------------------------------------------------------------------------

_EXPORTS = st.lists(
    st.dictionaries(
        st.tuples(st.integers(0, 3), st.integers(0, 4)),  # (product, days before today)
        st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 60))),
        max_size=12,
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(exports=_EXPORTS)
async def test_server_totals_are_the_most_any_export_said_and_decreases_are_reported(
    exports: list[dict[tuple[int, int], tuple[int, int | None]]], tmp_path_factory: Any
) -> None:
    sandbox = Sandbox(rate_limits=None, products=4)
    pids = ids(sandbox, 4)
    state = tmp_path_factory.mktemp("sync") / "state.db"
    most: dict[tuple[str, date], int] = {}
    stock: dict[tuple[str, date], int] = {}
    decreases = 0
    async with sandbox.client() as ps:
        for export in exports:
            rows = []
            for (p, ago), (quantity, on_hand) in sorted(export.items()):
                key = (pids[p], TODAY - timedelta(days=ago))
                if key in most and quantity < most[key]:
                    decreases += 1
                most[key] = max(most.get(key, 0), quantity)
                if on_hand is not None and ago > 0:  # closed days send their stock
                    stock[key] = max(stock.get(key, 0), on_hand)
                rows.append(row(key[0], key[1], quantity, on_hand))
            result = await ps.sales.sync(rows, state=state, today=TODAY)
            assert not result.uncertain and not result.failed_batches
            decreases -= sum(d.kind == "quantity" for d in result.discrepancies)
    on_server = server_totals(sandbox)
    assert {k: v[0] for k, v in on_server.items()} == most
    assert {k: v[1] for k, v in on_server.items() if v[1] is not None} == stock
    assert decreases == 0  # every decrease was reported, once per export that showed it


def test_the_state_reads_back_what_it_stored(tmp_path: Path) -> None:
    state = SyncState(tmp_path / "s.db")
    try:
        state.begin_input()
        state.add_input([("ps_a", "2025-11-01", 3, None, 0), ("ps_a", "2025-11-01", 2, 7, 1)])
        assert state.input_days() == 1
        assert state.declare_input() == 1
        assert state.stored() == {("ps_a", "2025-11-01"): (5, 7)}
    finally:
        state.close()


async def test_a_failing_progress_callback_while_reading_sends_nothing(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    def progress(snapshot: Any) -> None:
        if snapshot.phase == "reading":
            raise ZeroDivisionError("the caller's bar broke")

    rows = [row(pid, TODAY - timedelta(days=1), 1) for pid in ids(sandbox, 5)]
    with pytest.raises(SalesSyncError) as info:
        await ps.sales.sync(rows, state=tmp_path / "s.db", today=TODAY, progress=progress)
    assert info.value.reason == "progress_error"
    assert sandbox.request_counts["POST /sales"] == 0


async def test_declaring_history_never_lowers_what_was_acknowledged(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "s.db"
    pid = ids(sandbox, 1)[0]
    day = TODAY - timedelta(days=2)
    await ps.sales.sync([row(pid, day, 13, 50)], state=state, today=TODAY)
    await ps.sales.sync([row(pid, day, 10, 40)], state=state, today=TODAY, mark_stored=True)
    again = await ps.sales.sync([row(pid, day, 13, 50)], state=state, today=TODAY)
    assert again.sent == 0  # the state still knows 13 and 50 are there
    assert sandbox.daily_sales(pid)[day].quantity == 13
