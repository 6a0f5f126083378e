"""One contract for every sync-state store: the SQLite file and the PostgreSQL database pass the
same tests (issue 23): rows recorded before their request leaves and settled only after the
server's 2xx, batches in doubt held until resolved, acknowledged discrepancies, the quarantine,
the UUID map, one run at a time, the destination binding, the status, a dry run that changes
nothing, and a copy from each store to the other that adds up."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import (
    StateDestinationError,
    StateFileError,
    StateLockedError,
)
from pleasurestock_async.sandbox import Faults, Sandbox
from pleasurestock_async.uploads.copy import copy_state
from pleasurestock_async.uploads.store import COPY_TABLES, open_state, read_status

from . import postgres_server as pg
from .postgres_server import PostgresServer, unique_name

postgres_server = pg.postgres_server

TODAY = date(2025, 11, 10)
DAY = TODAY - timedelta(days=1)


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def new_state(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A state of ``kind`` no other test uses (not created yet)."""
    if kind == "sqlite":
        return str(tmp_path / f"{unique_name()}.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(state=unique_name())


@pytest.fixture
def state(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return new_state(kind, tmp_path, request)


def rows(sandbox: Sandbox, n: int, quantity: int = 5, day: date = DAY) -> list[dict[str, Any]]:
    return [
        {"internal_id": p.internal_id, "date": day.isoformat(), "quantity": quantity + k % 3}
        for k, p in enumerate(sandbox.products[:n])
    ]


def totals(sandbox: Sandbox) -> dict[tuple[str, date], int]:
    return {k: v.quantity for k, v in sandbox.stored_sales().items()}


def expected(export: list[dict[str, Any]]) -> dict[tuple[str, date], int]:
    return {(r["internal_id"], date.fromisoformat(r["date"])): r["quantity"] for r in export}


async def snapshot(state: str) -> dict[str, Any]:
    """Everything a state holds, read through the store (its meta and every table)."""
    async with open_state(state, read_only=True, peek=True, must_exist=True) as store:
        meta = await store.export_meta()
        tables = {}
        for table in COPY_TABLES:
            tables[table] = [row async for page in store.export_rows(table) for row in page]
        bound = meta.destination
        return {
            "destination": None if bound is None else (bound.base_url, bound.key_hash),
            "runs": meta.runs,
            "tables": tables,
        }


class Watching(httpx.AsyncBaseTransport):
    """A sandbox's transport that reads the state's status while each POST /sales is in
    flight (from outside the run, as another process would)."""

    def __init__(self, sandbox: Sandbox, state: str) -> None:
        self.inner = sandbox.transport()
        self.state = state
        self.seen: list[tuple[int, tuple[str, ...]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            status = await read_status(self.state)
            self.seen.append((status.pending_rows, tuple(b.state for b in status.held_batches)))
        return await self.inner.handle_async_request(request)


@pytest.mark.concurrency
async def test_rows_are_recorded_before_their_request_leaves_and_settled_after_the_2xx(
    state: str,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=30)
    export = rows(sandbox, 30)
    watching = Watching(sandbox, state)
    async with sandbox.client(http_client=httpx.AsyncClient(transport=watching)) as ps:
        first = await ps.sales.sync(export, state=state, today=TODAY, concurrency=1)
    assert first.ok and first.stored == 30
    assert watching.seen == [(30, ("sending",))]  # in the state, in flight, before it left
    status = await read_status(state)
    assert status.pending_rows == 0 and status.product_days == 30
    assert totals(sandbox) == expected(export)


async def test_a_lost_answer_is_held_until_resolved_and_counts_once(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0))
    export = rows(sandbox, 4)
    async with sandbox.client() as ps:
        first = await ps.sales.sync(export, state=state, today=TODAY)
        assert len(first.uncertain) == 4 and first.uncertain_batches == {"r1b0": 4}
        status = await read_status(state)
        assert [(b.batch, b.rows, b.state) for b in status.held_batches] == [("r1b0", 4, "unknown")]
        held = await ps.sales.sync(export, state=state, today=TODAY)
        assert held.sent == 0 and len(held.uncertain) == 4  # never resent on doubt
        settled = await ps.sales.sync(export, state=state, today=TODAY, resolve={"r1b0": "stored"})
    assert settled.resolved == 4 and settled.sent == 0 and settled.ok
    assert sandbox.request_counts["POST /sales"] == 1
    assert totals(sandbox) == expected(export)
    assert (await read_status(state)).pending_rows == 0


async def test_not_stored_sends_again(state: str) -> None:
    failing = Sandbox(rate_limits=None, products=10, faults=Faults(error_after_store_rate=1.0))
    export = rows(failing, 3)
    async with failing.client() as ps:
        await ps.sales.sync(export, state=state, today=TODAY)
    healthy = Sandbox(rate_limits=None, products=10)
    async with healthy.client() as ps:
        await ps.sales.rebind_state(state)
        again = await ps.sales.sync(export, state=state, today=TODAY, assume_unknown="not_stored")
    assert again.resolved == 3 and again.stored == 3
    assert totals(healthy) == expected(export)


async def test_the_same_export_twice_sends_nothing_and_a_rise_sends_the_difference(
    state: str,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=20)
    export = rows(sandbox, 20)
    async with sandbox.client() as ps:
        await ps.sales.sync(export, state=state, today=TODAY)
        again = await ps.sales.sync(export, state=state, today=TODAY)
        export[0]["quantity"] += 4
        export.append(
            {"internal_id": export[1]["internal_id"], "date": DAY.isoformat(), "quantity": 2}
        )
        rise = await ps.sales.sync(export, state=state, today=TODAY)
    assert again.sent == 0 and again.unchanged == 20
    assert rise.sent == 2 and rise.unchanged == 18
    combined = expected(export[:-1])
    combined[(export[1]["internal_id"], DAY)] += 2  # a second warehouse's row adds up
    assert totals(sandbox) == combined


async def test_discrepancies_are_reported_acknowledged_and_new_again_when_they_change(
    state: str,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    export = rows(sandbox, 2, quantity=10)
    pid = export[0]["internal_id"]
    async with sandbox.client() as ps:
        await ps.sales.sync(export, state=state, today=TODAY)
        export[0]["quantity"] = 8
        lower = await ps.sales.sync(export, state=state, today=TODAY)
        accepted = await ps.sales.sync(export, state=state, today=TODAY, accept=[(pid, DAY)])
        quiet = await ps.sales.sync(export, state=state, today=TODAY)
        export[0]["quantity"] = 7
        changed = await ps.sales.sync(export, state=state, today=TODAY)
    assert [(d.day.internal_id, d.acknowledged) for d in lower.discrepancies] == [(pid, False)]
    assert [d.acknowledged for d in accepted.discrepancies] == [True]
    assert [d.acknowledged for d in quiet.discrepancies] == [True] and not quiet.needs_attention
    assert [d.acknowledged for d in changed.discrepancies] == [False]
    status = await read_status(state)
    assert [(d.day.internal_id, d.acknowledged) for d in status.discrepancies] == [(pid, False)]
    assert sandbox.daily_sales(pid)[DAY].quantity == 10  # never "fixed" by sending anything


async def test_an_unknown_id_is_quarantined_and_retried_when_asked(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    export = [
        *rows(sandbox, 3),
        {"internal_id": "ps_zzzzzzzzzz", "date": "2025-11-09", "quantity": 1},
    ]
    async with sandbox.client() as ps:
        first = await ps.sales.sync(export, state=state, today=TODAY)
        again = await ps.sales.sync(export, state=state, today=TODAY)
        retried = await ps.sales.sync(export, state=state, today=TODAY, retry_refused=True)
    assert [(q.internal_id, q.new) for q in first.quarantine] == [("ps_zzzzzzzzzz", True)]
    assert again.sent == 0 and again.quarantined == 1 and not again.needs_attention
    assert retried.sent == 1
    status = await read_status(state)
    (held,) = status.quarantined
    assert held.internal_id == "ps_zzzzzzzzzz" and held.retry_on == TODAY + timedelta(days=7)


async def test_a_product_by_uuid_then_by_ps_id_is_counted_once(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    product = sandbox.products[1]
    by_uuid = [{"internal_id": str(product.id).upper(), "date": DAY.isoformat(), "quantity": 4}]
    by_ps = [{"internal_id": product.internal_id, "date": DAY.isoformat(), "quantity": 4}]
    async with sandbox.client() as ps:
        first = await ps.sales.sync(by_uuid, state=state, today=TODAY)
        second = await ps.sales.sync(by_ps, state=state, today=TODAY)
    assert first.looked_up == 1 and first.stored == 1 and second.sent == 0
    assert sandbox.daily_sales(product.internal_id)[DAY].quantity == 4


async def test_declared_history_is_not_sent(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    export = rows(sandbox, 10)
    async with sandbox.client() as ps:
        declared = await ps.sales.sync(export, state=state, today=TODAY, mark_stored=True)
        after = await ps.sales.sync(export, state=state, today=TODAY)
    assert declared.declared == 10 and after.sent == 0
    assert sandbox.request_counts["POST /sales"] == 0


@pytest.mark.concurrency
async def test_one_run_at_a_time_and_a_second_waits_or_is_refused(
    state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A waiting run retries its lock every 0.1 s: on a busy machine the holder's release can
    # miss a retry and cost a second one, in real time. Retried more often here, the wait ends
    # soon after the release, whatever the machine's speed.
    from pleasurestock_async.uploads import lock, postgres

    monkeypatch.setattr(lock, "_POLL", 0.005)
    monkeypatch.setattr(postgres, "_POLL", 0.005)
    sandbox = Sandbox(rate_limits=None, products=5)
    export = rows(sandbox, 5)
    async with sandbox.client() as ps:
        async with open_state(state) as holder:
            with pytest.raises(StateLockedError, match="in use by another run"):
                await ps.sales.sync(export, state=state, today=TODAY)
            with pytest.raises(StateLockedError):  # a dry run reads under a shared lock
                await ps.sales.sync(export, state=state, today=TODAY, dry_run=True)
            status = await read_status(state)  # a status looks anyway
            assert status.state == holder.name
        assert sandbox.request_counts["POST /sales"] == 0
        waited: list[Any] = []
        release = anyio.Event()

        async def hold(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            async with open_state(state):
                task_status.started()
                await release.wait()

        async def second() -> None:
            waited.append(await ps.sales.sync(export, state=state, today=TODAY, lock_wait=30))

        async with anyio.create_task_group() as tg:
            await tg.start(hold)
            tg.start_soon(second)
            await anyio.sleep(0.02)
            assert not waited and sandbox.request_counts["POST /sales"] == 0
            release.set()
    assert waited[0].stored == 5


async def test_a_state_refuses_another_destination_until_rebound(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    export = rows(sandbox, 3)
    async with sandbox.client(base_url="http://first.localhost/api/v1") as ps:
        await ps.sales.sync(export, state=state, today=TODAY)
    before = await snapshot(state)
    async with sandbox.client(base_url="http://second.localhost/api/v1") as ps:
        with pytest.raises(StateDestinationError) as info:
            await ps.sales.sync(export, state=state, today=TODAY)
        assert info.value.bound.base_url == "http://first.localhost/api/v1"
        assert await snapshot(state) == before  # nothing changed, nothing sent
        old, new = await ps.sales.rebind_state(state)
        moved = await ps.sales.sync(export, state=state, today=TODAY)
    assert old is not None and old.base_url == "http://first.localhost/api/v1"
    assert new.base_url == "http://second.localhost/api/v1" and moved.sent == 0
    assert sandbox.request_counts["POST /sales"] == 1


async def test_a_dry_run_changes_nothing_and_creates_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    export = rows(sandbox, 10)
    missing = new_state(kind, tmp_path, request)
    async with sandbox.client() as ps:
        planned = await ps.sales.sync(export, state=missing, today=TODAY, dry_run=True)
        assert planned.to_send == 10 and planned.batches == 1
        with pytest.raises(StateFileError, match="does not exist"):
            await read_status(missing)  # the dry run created nothing
        state = new_state(kind, tmp_path, request)
        await ps.sales.sync(export[:5], state=state, today=TODAY)
        before = await snapshot(state)
        export[0]["quantity"] = 0
        dry = await ps.sales.sync(export, state=state, today=TODAY, dry_run=True)
    assert dry.to_send == 5 and len(dry.discrepancies) == 1 and dry.sent == 0
    assert await snapshot(state) == before
    assert sandbox.request_counts["POST /sales"] == 1


async def test_status_reports_what_the_state_holds(state: str) -> None:
    sandbox = Sandbox(rate_limits=None, products=10)
    async with sandbox.client() as ps:
        await ps.sales.sync(rows(sandbox, 6, day=DAY), state=state, today=TODAY)
        await ps.sales.sync(
            rows(sandbox, 6, day=DAY) + rows(sandbox, 4, day=DAY - timedelta(days=1)),
            state=state,
            today=TODAY,
        )
        status = await ps.sales.state_status(state)
    assert status.product_days == 10 and status.products == 6
    assert (status.first_day, status.last_day) == (DAY - timedelta(days=1), DAY)
    assert [(r.run, r.sent, r.outcome) for r in status.runs] == [(2, 4, "done"), (1, 6, "done")]
    assert status.destination is not None and status.destination.since is not None
    assert status.pending_rows == 0 and not status.held_batches and not status.quarantined


async def states_to_copy(
    ps: AsyncPleasureStock, sandbox: Sandbox, state: str
) -> list[dict[str, Any]]:
    """A state with something in every table: days, a batch in doubt, a UUID, a quarantined
    id, a discrepancy and runs."""
    export = rows(sandbox, 8)
    export.append({"internal_id": str(sandbox.products[9].id), "date": "2025-11-08", "quantity": 3})
    export.append({"internal_id": "ps_zzzzzzzzzz", "date": "2025-11-08", "quantity": 1})
    await ps.sales.sync(export, state=state, today=TODAY)
    export[0]["quantity"] -= 1
    await ps.sales.sync(export, state=state, today=TODAY)
    return export


@pytest.mark.parametrize("target_kind", ["sqlite", "postgres"])
async def test_a_copy_to_either_store_is_exact_and_syncs_on(
    state: str, target_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sandbox = Sandbox(rate_limits=None, products=12)
    async with sandbox.client() as ps:
        export = await states_to_copy(ps, sandbox, state)
        target = new_state(target_kind, tmp_path, request)
        report = await copy_state(state, target)
        assert await snapshot(target) == await snapshot(state)
        assert report.rows["days"] == 9 and report.rows["quarantine"] == 1
        assert report.rows["product_ids"] == 1 and report.rows["runs"] == 2
        assert report.quantity == sum(totals(sandbox).values())
        again = await ps.sales.sync(export, state=target, today=TODAY)
        back = new_state("postgres" if target_kind == "sqlite" else "sqlite", tmp_path, request)
        await copy_state(target, back)
    assert again.sent == 0
    assert len(again.discrepancies) == 1 and again.quarantined == 1
    assert (await read_status(back)).runs[0].run == 3


async def test_a_copy_refuses_a_held_state_and_a_target_in_use(
    state: str, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    sandbox = Sandbox(rate_limits=None, products=5)
    async with sandbox.client() as ps:
        await ps.sales.sync(rows(sandbox, 3), state=state, today=TODAY)
        used = new_state("postgres" if kind == "sqlite" else "sqlite", tmp_path, request)
        await ps.sales.sync(rows(sandbox, 2), state=used, today=TODAY)
    target = new_state(kind, tmp_path, request)
    async with open_state(state):
        with pytest.raises(StateLockedError):
            await copy_state(state, target)
    async with open_state(target):
        with pytest.raises(StateLockedError):
            await copy_state(state, target)
    before = await snapshot(used)
    with pytest.raises(StateFileError, match="already holds a state"):
        await copy_state(state, used)
    assert await snapshot(used) == before
    with pytest.raises(StateFileError, match="does not exist"):
        await copy_state(new_state(kind, tmp_path, request), target)
