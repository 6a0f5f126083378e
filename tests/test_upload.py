"""sales.upload: batching, validation modes, failure accounting, journal, memory."""

from __future__ import annotations

import json
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import InputError, SalesUploadError
from pleasurestock_async.sales_files import read_sales_csv
from pleasurestock_async.types import SaleRecord
from pleasurestock_async.uploads import UploadProgress, runner

from .collector import left_for_the_collector
from .conftest import BASE, KEY

pytestmark = pytest.mark.concurrency

Sent = list[list[dict[str, Any]]]


def record(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "internal_id": f"ps_{n % 10_000:010d}",
        "date": (date(2025, 1, 1) + timedelta(days=n // 10_000)).isoformat(),
        "quantity": n % 13,
        "stock_on_hand": n % 50,
    }
    row.update(over)
    return row


def recording(
    sent: Sent, respond: Callable[[int, list[dict[str, Any]]], httpx.Response] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["sales"]
        sent.append(batch)
        if respond is not None:
            return respond(len(sent) - 1, batch)
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    return handler


async def test_2500_records_make_batches_of_1000_1000_500(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent))
    records = [record(n) for n in range(2500)]
    result = await ps.sales.upload(records)
    assert sorted(len(b) for b in sent) == [500, 1000, 1000]
    flat = Counter(json.dumps(r, sort_keys=True) for b in sent for r in b)
    assert flat == Counter(json.dumps(r, sort_keys=True) for r in records)
    assert result.ok and result.processed == 2500 and result.stored == 2500
    assert result.batches == 3 and result.read == 2500


async def test_models_dicts_and_async_iterables(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent))

    async def source() -> AsyncIterator[SaleRecord | dict[str, Any]]:
        for n in range(30):
            yield (
                SaleRecord.model_validate(record(n)) if n % 2 else record(n, date=date(2025, 2, 1))
            )

    result = await ps.sales.upload(source(), chunk_size=7, concurrency=2)
    assert result.ok and result.batches == 5
    assert sorted(len(b) for b in sent) == [2, 7, 7, 7, 7]
    assert all(r["date"] in ("2025-01-01", "2025-02-01") for b in sent for r in b)


async def test_chunking_is_deterministic(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    first: Sent = []
    second: Sent = []
    route = mock.post("/sales").mock(side_effect=recording(first))
    records = [record(n) for n in range(95)]
    await ps.sales.upload(records, chunk_size=10, concurrency=4)
    route.side_effect = recording(second)
    await ps.sales.upload(records, chunk_size=10, concurrency=4)
    assert sorted(map(json.dumps, first)) == sorted(map(json.dumps, second))


async def test_invalid_record_raise_stops_before_its_batch(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent))
    records = [record(n) for n in range(50)]
    records[23] = record(23, quantity=-4)
    with pytest.raises(SalesUploadError) as info:
        await ps.sales.upload(records, chunk_size=10, concurrency=2)
    err = info.value
    assert err.reason == "invalid_record"
    assert [(e.index, e.field) for e in err.errors] == [(23, "quantity")]
    assert "index 23" in str(err) and "quantity" in str(err)
    # batches 0-9 and 10-19 went; the batch holding record 23 and everything after did not
    assert sorted(r["quantity"] for b in sent for r in b) == sorted(n % 13 for n in range(20))
    assert err.result.stored == 20 and err.result.batches == 2


async def test_invalid_records_skip_mode(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent))
    records = [record(n) for n in range(30)]
    records[3] = record(3, internal_id="b/ad")
    records[17] = record(17, date="2025-02-30", quantity=True)
    records[29] = "not even a mapping"  # type: ignore[call-overload]
    result = await ps.sales.upload(records, chunk_size=10, on_invalid="skip")
    assert sorted((e.index, e.field) for e in result.input_errors) == [
        (3, "internal_id"),
        (17, "date"),
        (17, "quantity"),
        (29, "value"),
    ]
    assert all(e.message for e in result.input_errors)
    assert sum(len(b) for b in sent) == 27 and result.stored == 27
    # a batch is a range of the input: its invalid records leave gaps, later ones stay put
    assert sorted(len(b) for b in sent) == [9, 9, 9]
    assert result.invalid_records == 3 and result.accounted() == result.read == 30
    assert not result.ok


def rejecting(bad_ids: set[str]) -> Callable[[int, list[dict[str, Any]]], httpx.Response]:
    """A server that refuses a whole batch (400, nothing stored) naming its unknown products."""

    def respond(i: int, batch: list[dict[str, Any]]) -> httpx.Response:
        errors = [
            {
                "index": n,
                "error": "Product not found",
                "expected": "a known id",
                "received": row["internal_id"],
            }
            for n, row in enumerate(batch)
            if row["internal_id"] in bad_ids
        ]
        if errors:
            return httpx.Response(
                400, json={"error": "Validation errors", "errors": errors, "processed": 0}
            )
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    return respond


async def test_a_rejected_batch_is_healed_without_the_named_records(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    sent: Sent = []
    records = [record(n) for n in range(30)]
    records[14] = record(14, internal_id="ps_unknown000")
    mock.post("/sales").mock(side_effect=recording(sent, rejecting({"ps_unknown000"})))
    result = await ps.sales.upload(records, chunk_size=10, concurrency=1)
    # one unknown id costs one row: its batch went again without it
    assert [len(b) for b in sent] == [10, 10, 9, 10]
    assert [(e.index, e.error) for e in result.refused] == [(14, "Product not found")]
    assert result.refused[0].received == "ps_unknown000"
    assert result.stored == 29 and result.processed == 29 and result.batches == 4
    assert not result.failed_batches and not result.ok
    assert result.accounted() == result.read == 30


async def test_healing_can_be_turned_off(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    sent: Sent = []
    records = [record(n) for n in range(30)]
    records[14] = record(14, internal_id="ps_unknown000")
    mock.post("/sales").mock(side_effect=recording(sent, rejecting({"ps_unknown000"})))
    result = await ps.sales.upload(records, chunk_size=10, heal_rejections=False)
    (failed,) = result.failed_batches
    assert failed.outcome == "rejected_by_server" and failed.status_code == 400
    assert (failed.first_index, failed.last_index) == (10, 19)
    assert [(e.index, e.error) for e in failed.record_errors] == [(14, "Product not found")]
    assert len(failed.rows()) == 10 and failed.size == 9
    assert result.stored == 20 and len(result.refused) == 1


async def test_a_second_rejection_is_reported_not_retried(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    answers = iter(
        [
            {"index": 1, "error": "Product not found", "expected": None, "received": "x"},
            {"index": 0, "error": "Product not found", "expected": None, "received": "y"},
        ]
    )

    def respond(i: int, batch: list[dict[str, Any]]) -> httpx.Response:
        error = next(answers)
        body = {"error": "Validation errors", "errors": [error], "processed": 0}
        return httpx.Response(400, json=body)

    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent, respond))
    result = await ps.sales.upload([record(n) for n in range(3)])
    assert [len(b) for b in sent] == [3, 2]
    assert sorted(e.index for e in result.refused) == [0, 1]
    (failed,) = result.failed_batches
    assert failed.outcome == "rejected_by_server" and failed.size == 1
    assert result.accounted() == 3 and result.stored == 0


async def test_server_400_indices_skip_left_out_records(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    def respond(i: int, batch: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": "Validation errors",
                "processed": 0,
                "errors": [
                    {"index": 2, "error": "Product not found", "expected": None, "received": None}
                ],
            },
        )

    mock.post("/sales").mock(side_effect=recording([], respond))
    records = [record(n) for n in range(5)]
    records[1] = record(1, quantity=-1)  # left out: batch position 2 is input index 3
    result = await ps.sales.upload(records, on_invalid="skip", heal_rejections=False)
    assert result.failed_batches[0].record_errors[0].index == 3


async def test_500_on_one_batch_others_succeed(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    def respond(i: int, batch: list[dict[str, Any]]) -> httpx.Response:
        if batch[0]["quantity"] == 20 % 13:
            return httpx.Response(500, json={"error": "boom"})
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent, respond))
    result = await ps.with_options(max_retries=3).sales.upload(
        [record(n) for n in range(50)], chunk_size=10
    )
    assert len(sent) == 5  # the failed batch was not resent
    (failed,) = result.failed_batches
    assert failed.outcome == "unknown" and failed.status_code == 500
    assert "may have processed" in failed.error
    assert (failed.first_index, failed.last_index) == (20, 29)
    assert [r["quantity"] for r in failed.rows()] == [n % 13 for n in range(20, 30)]
    assert result.stored == 40 and result.failed_records == 10 and not result.ok


async def test_unreadable_success_is_unknown(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.post("/sales").respond(200, text="<html>ok</html>")
    result = await ps.sales.upload([record(n) for n in range(5)])
    (failed,) = result.failed_batches
    assert failed.outcome == "unknown"
    assert result.stored == 0


async def test_401_stops_everything(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    sent: Sent = []
    mock.post("/sales").mock(
        side_effect=recording(sent, lambda i, b: httpx.Response(401, json={"error": "nope"}))
    )
    with pytest.raises(SalesUploadError) as info:
        await ps.sales.upload([record(n) for n in range(10_000)], chunk_size=100, concurrency=4)
    assert info.value.reason == "authentication"
    assert len(sent) <= 4  # at most the requests already in flight
    result = info.value.result
    assert result.stored == 0
    assert all(f.outcome == "not_sent" for f in result.failed_batches)
    assert result.read < 10_000


async def test_progress_reports(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    mock.post("/sales").mock(side_effect=recording([]))
    seen: list[UploadProgress] = []
    await ps.sales.upload([record(n) for n in range(45)], chunk_size=10, progress=seen.append)
    assert len(seen) == 5
    assert seen[-1].accepted == 45 and seen[-1].read == 45 and seen[-1].batches_done == 5
    assert [p.accepted for p in seen] == sorted(p.accepted for p in seen)


async def test_merge_duplicates(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    sent: Sent = []
    mock.post("/sales").mock(side_effect=recording(sent))
    a = {"internal_id": "ps_abcdefghij", "date": "2025-11-03"}
    records = [
        {**a, "quantity": 10, "stock_on_hand": 500},
        {"internal_id": "ps_0123456789", "date": "2025-11-03", "quantity": 1},
        {**a, "quantity": 5, "stock_on_hand": 300},
        {**a, "quantity": 1},
    ]
    result = await ps.sales.upload(records, merge_duplicates=True)
    assert sent == [
        [
            {**a, "quantity": 16, "stock_on_hand": 500},
            {"internal_id": "ps_0123456789", "date": "2025-11-03", "quantity": 1},
        ]
    ]
    assert result.stored == 4 and result.processed == 2 and result.read == 4


@pytest.mark.parametrize(
    "kwargs",
    [{"chunk_size": 0}, {"chunk_size": 1001}, {"concurrency": 0}, {"on_invalid": "ignore"}],
)
async def test_bad_options(ps: AsyncPleasureStock, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        await ps.sales.upload([record(1)], **kwargs)


# -- journal --------------------------------------------------------------------------------------


async def test_journal_makes_a_cancelled_upload_exactly_once(tmp_path: Path) -> None:
    journal = tmp_path / "upload.sqlite"
    received: Counter[str] = Counter()
    cancel_after = anyio.Event()
    answer = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["sales"]
        received[json.dumps(batch)] += 1
        if sum(received.values()) >= 4:
            cancel_after.set()
            await answer.wait()  # the cancel lands while these requests are in flight
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    records = [record(n) for n in range(1000)]
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await ps.sales.upload(records, chunk_size=50, concurrency=3, journal=journal)

            tg.start_soon(run)
            await cancel_after.wait()
            tg.cancel_scope.cancel()
            answer.set()
        first_run = sum(received.values())
        assert 0 < first_run < 20

        second = await ps.sales.upload(records, chunk_size=50, concurrency=3, journal=journal)
        third = await ps.sales.upload(records, chunk_size=50, concurrency=3, journal=journal)
    await http.aclose()

    # The requests in flight at the cancel got their answers (a bounded grace) and were
    # recorded, so every batch reached the server exactly once over both runs.
    assert len(received) == 20 and max(received.values()) == 1
    assert second.ok and not second.unresolved_batches
    assert second.skipped_batches == first_run and second.batches == 20 - first_run
    assert third.batches == 0 and third.skipped_batches == 20 and third.already_stored == 1000


async def test_journal_holds_back_what_was_cut_off_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STOP_GRACE", 0.05)
    journal = tmp_path / "upload.sqlite"
    received: Counter[str] = Counter()
    in_flight = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["sales"]
        received[json.dumps(batch)] += 1
        if batch[0] == record(100):
            in_flight.set()
            await anyio.sleep(5)  # longer than the grace: its fate stays unknown
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    records = [record(n) for n in range(300)]
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        with anyio.move_on_after(3):
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: ps.sales.upload(records, chunk_size=100, concurrency=1, journal=journal)
                )
                await in_flight.wait()
                tg.cancel_scope.cancel()
        again = await ps.sales.upload(records, chunk_size=100, concurrency=1, journal=journal)
        (unresolved,) = again.unresolved_batches
        assert (unresolved.seq, unresolved.first_index, unresolved.size) == (1, 100, 100)
        assert again.already_stored == 100 and again.stored == 100 and not again.ok
        settled = await ps.sales.upload(
            records, chunk_size=100, journal=journal, resolve={1: "stored"}
        )
        assert settled.ok and settled.batches == 0 and settled.already_stored == 300
    await http.aclose()
    assert max(received.values()) == 1 and len(received) == 3


async def test_journal_resend_unknown_and_not_sent(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["sales"]
        calls.append(len(batch))
        if len(calls) == 2:
            raise httpx.ReadTimeout("slow", request=request)  # outcome unknown
        return httpx.Response(200, json={"success": True, "processed": len(batch)})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        records = [record(n) for n in range(30)]
        first = await ps.sales.upload(records, chunk_size=10, concurrency=1, journal=journal)
        assert [f.outcome for f in first.failed_batches] == ["unknown"]
        again = await ps.sales.upload(records, chunk_size=10, concurrency=1, journal=journal)
        assert again.batches == 0 and len(again.unresolved_batches) == 1
        assert again.skipped_batches == 2 and again.already_stored == 20
        assert again.unresolved_records == 10 and again.accounted() == 30
        forced = await ps.sales.upload(
            records, chunk_size=10, concurrency=1, journal=journal, resend_unknown=True
        )
        assert forced.batches == 1 and forced.ok and forced.processed == 10
    await http.aclose()
    assert len(calls) == 4


async def test_journal_refuses_another_input(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"success": True, "processed": 10})
        )
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        await ps.sales.upload([record(n) for n in range(10)], journal=journal)
        with pytest.raises(SalesUploadError) as info:
            await ps.sales.upload([record(n + 1) for n in range(10)], journal=journal)
    await http.aclose()
    assert info.value.reason == "journal_mismatch"


# -- properties -----------------------------------------------------------------------------------


_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "internal_id": st.sampled_from(
                ["ps_abcdefghij", "ps_0123456789", "no pe", "db57e260-b151-4bf1-ac63-175baef9f96d"]
            ),
            "date": st.sampled_from(["2025-11-03", "2025-11-04", "2025-13-01"]),
            "quantity": st.integers(-1, 20),
        }
    ),
    max_size=60,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_ROWS, chunk=st.integers(1, 17), workers=st.integers(1, 5))
async def test_sent_multiset_equals_valid_input(
    rows: list[dict[str, Any]], chunk: int, workers: int
) -> None:
    sent: Sent = []
    http = httpx.AsyncClient(transport=httpx.MockTransport(recording(sent)))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        result = await ps.sales.upload(
            rows, chunk_size=chunk, concurrency=workers, on_invalid="skip"
        )
    await http.aclose()
    valid = [
        r
        for r in rows
        if r["internal_id"] != "no pe" and r["date"] != "2025-13-01" and r["quantity"] >= 0
    ]
    assert Counter(json.dumps(r, sort_keys=True) for b in sent for r in b) == Counter(
        json.dumps(r, sort_keys=True) for r in valid
    )
    assert all(len(b) <= chunk for b in sent)
    assert result.stored == len(valid) and len({e.index for e in result.input_errors}) == len(
        rows
    ) - len(valid)
    assert result.accounted() == result.read == len(rows)


# -- memory ----------------------------------------------------------------------------------------


async def _peak_for(count: int) -> int:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for n in range(count):
            yield {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": n % 7}

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"success": True, "processed": 1000})
        )
    )
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, http_client=http) as ps:
        tracemalloc.start()
        try:
            result = await ps.sales.upload(source(), concurrency=4)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    await http.aclose()
    assert result.read == count and result.batches == -(-count // 1000)
    return peak


@pytest.mark.slow  # 550,000 records under tracemalloc: about 5 s on an idle machine
async def test_memory_stays_flat_as_records_grow(anyio_backend: str) -> None:
    """Streaming, not buffering (the figures from outside the process are in benchmarks/)."""
    if anyio_backend != "asyncio":
        pytest.skip("the same code on either backend; once is enough for this slow check")
    small = await _peak_for(50_000)
    large = await _peak_for(500_000)
    assert large < 30 * 1024 * 1024
    assert large < small * 1.5  # flat: ten times the records, not ten times the memory


async def test_a_journal_that_is_not_one_is_an_input_error(
    ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("these are my notes, not a journal\n" * 100)
    with pytest.raises(InputError) as info:
        await ps.sales.upload([record(1)], journal=bogus)
    assert info.value.errors[0].field == "journal" and "not a journal file" in str(info.value)
    with pytest.raises(InputError, match="not a sync state file"):
        await ps.sales.sync([record(1)], state=bogus)


async def test_a_lock_wait_cancelled_leaves_nothing_open(tmp_path: Path) -> None:
    from pleasurestock_async.uploads.lock import FileLock

    journal = tmp_path / "j.db"
    journal.touch()  # the lock is on the file itself
    async with FileLock(journal):
        with anyio.move_on_after(0.15) as scope:  # a second run waits for the first, then gives up
            async with FileLock(journal, wait=30):
                pass  # pragma: no cover - never entered
    assert scope.cancelled_caught  # and no unclosed lock file is left behind (warnings are errors)


@pytest.mark.parametrize("status", [500, 400])
async def test_a_failed_batch_is_freed_when_done_not_by_the_garbage_collector(status: int) -> None:
    """A failed batch's error kept its traceback, whose frame held the outcome that held the
    error: a cycle keeping every failed batch's rows until the collector ran (25 MB more at
    1M records all failing)."""
    from pleasurestock_async.uploads.batcher import InputBatch

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(status, json={"success": False, "message": "no"})
        )
    )
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, http_client=http, max_retries=0
    ) as ps:
        with left_for_the_collector() as left:
            try:
                result = await ps.sales.upload((record(n) for n in range(5000)), concurrency=2)
            except SalesUploadError as exc:
                result = exc.result
    await http.aclose()
    assert len(result.failed_batches) == 5
    assert [o for o in left if isinstance(o, InputBatch)] == []


@pytest.mark.parametrize("day", ["2025-11-0x", "2025-02-30", "2025/11/01", "20251101", ""])
async def test_a_bad_day_is_one_error_however_it_is_bad(
    ps: AsyncPleasureStock, mock: respx.MockRouter, tmp_path: Path, day: str
) -> None:
    # A day shaped like a date but not made of digits was reported twice: once for its shape,
    # once more as no calendar day.
    route = mock.post("/sales").respond(json={"success": True, "processed": 1})
    csv = tmp_path / "sales.csv"
    csv.write_text(
        f"internal_id,date,quantity\nps_abcdefghij,2025-11-01,1\nps_abcdefghij,{day},1\n"
    )
    for records in ([record(0), record(1, date=day)], read_sales_csv(csv)):
        result = await ps.sales.upload(records, on_invalid="skip")
        assert [(e.index, e.field) for e in result.input_errors] == [(1, "date")]
        assert (result.invalid_records, result.stored) == (1, 1)
    assert route.call_count == 2
