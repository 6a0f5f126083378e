"""Sales upload: CPU per record, encoding, validation, failed batches, and peak memory.

- CPU per record of ``sales.upload`` (validation included, 4 concurrent senders) against an
  in-process transport that answers at once, beside two baselines a user would write with
  the same 4 senders: raw httpx posting ``orjson.dumps`` of the dicts (no validation), and
  orjson after an equivalent pydantic ``TypeAdapter`` (the same rules: id pattern, a real
  date, strict non-negative counts, no unknown keys). Process CPU time, interleaved runs.
- Encoding a 1000-row body: ``pydantic_core.to_json`` (what the SDK uses) against orjson.
- Validation and encoding of 1000 rows as now (date strings stay strings) against the way
  before (a validated copy with parsed dates, then encoded).
- 20,000 failed batches with a progress callback: time per batch against 5,000 (the failed
  count is a running counter, so it must stay flat, not grow with the batches).
- Peak RSS of a fresh process streaming N generated records, all stored or all failing.

Run alone: ``python -m benchmarks.bench_upload``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, NotRequired

import anyio
import httpx
import orjson
import pydantic
import pydantic_core
from pydantic import Field, StrictInt, StringConstraints
from typing_extensions import TypedDict

from pleasurestock_async import AsyncPleasureStock, SalesUploadError, UploadProgress
from pleasurestock_async.types.shared import MAX_COUNT, PRODUCT_ID_PATTERN, SaleDate
from pleasurestock_async.uploads.codec import encode_sales, validate_rows

from ._common import Row, hold_for_measure, interleaved, median, peak_rss_many, ratio_row

BASE = "https://bench.invalid/api/v1"
HEADERS = {"X-API-Key": "pk_bench", "Content-Type": "application/json"}
_STORED = b'{"success":true,"processed":1000}'


def records(count: int) -> Iterator[dict[str, Any]]:
    """Plausible sales rows: 100,000 products, dates as ISO strings, numbers as ints."""
    for n in range(count):
        yield {
            "internal_id": f"ps_{n % 100_000:010d}",
            "date": f"2025-{1 + n // 1_000_000 % 12:02d}-{1 + n // 100_000 % 28:02d}",
            "quantity": n % 17,
            "stock_on_hand": n % 300,
        }


def _stored(request: httpx.Request) -> httpx.Response:
    # the server's count must match the batch's, or the SDK reports the batch as uncertain
    count = request.content.count(b'"internal_id"')
    body = _STORED if count == 1000 else b'{"success":true,"processed":%d}' % count
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def _failing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        500, content=b'{"success":false,"message":"down"}', headers={"Content-Type": "json"}
    )


# -- the user's equivalent of the SDK's validation ------------------------------------------


class _UserRow(TypedDict):
    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")  # type: ignore[misc]

    internal_id: Annotated[str, StringConstraints(pattern=PRODUCT_ID_PATTERN, strict=True)]
    date: dt.date
    quantity: Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
    stock_on_hand: NotRequired[Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]]


_USER_ROWS = pydantic.TypeAdapter(list[_UserRow])


class _BeforeRow(TypedDict):
    """The codec before 0.2: a validated copy of every row, dates parsed."""

    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")  # type: ignore[misc]

    internal_id: Annotated[str, StringConstraints(pattern=PRODUCT_ID_PATTERN, strict=True)]
    date: SaleDate
    quantity: Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
    stock_on_hand: NotRequired[Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]]


_BEFORE_ROWS = pydantic.TypeAdapter(list[_BeforeRow])


# -- CPU per record -------------------------------------------------------------------------


async def _sdk(rows: list[dict[str, Any]]) -> float:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_stored))
    async with AsyncPleasureStock(
        "pk_bench", base_url=BASE, rate_limits=None, http_client=http
    ) as ps:
        start = time.process_time()
        result = await ps.sales.upload(rows, concurrency=4)
        elapsed = time.process_time() - start
    await http.aclose()
    assert result.ok and result.stored == len(rows), result
    return elapsed


async def _raw(rows: list[dict[str, Any]], validate: bool) -> float:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_stored))
    send, receive = anyio.create_memory_object_stream[bytes](0)

    async def worker(stream: Any) -> None:
        async with stream:
            async for body in stream:
                response = await http.post(BASE + "/sales", content=body, headers=HEADERS)
                response.raise_for_status()
                assert response.json()["success"] is True

    start = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker, receive.clone())
        receive.close()
        async with send:
            for i in range(0, len(rows), 1000):
                chunk = rows[i : i + 1000]
                if validate:
                    chunk = _USER_ROWS.validate_python(chunk)  # type: ignore[assignment]
                await send.send(orjson.dumps({"sales": chunk}))
    elapsed = time.process_time() - start
    await http.aclose()
    return elapsed


def cpu_rows(count: int, n: int) -> list[Row]:
    rows = list(records(count))
    times = interleaved(
        {
            "sdk": lambda: anyio.run(_sdk, rows),
            "raw": lambda: anyio.run(_raw, rows, False),
            "adapter": lambda: anyio.run(_raw, rows, True),
        },
        n,
    )
    sdk, raw, adapter = (median(times[k]) / count for k in ("sdk", "raw", "adapter"))
    what = f"upload CPU per record ({count:,} records, 4 senders)"
    return [
        ratio_row(
            what,
            sdk,
            raw,
            "raw httpx + orjson, no validation",
            unit="us",
            scale=1e6,
            limit=2.0,
            n=n,
        ),
        ratio_row(
            what,
            sdk,
            adapter,
            "httpx + TypeAdapter + orjson",
            unit="us",
            scale=1e6,
            limit=1.3,
            n=n,
        ),
    ]


# -- encoding and validation ------------------------------------------------------------------


def _timed(work: Any, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - start) / rounds


def codec_rows(n: int) -> list[Row]:
    chunk = list(records(1000))
    rows, _, errors = validate_rows(chunk)
    assert not errors
    assert orjson.loads(encode_sales(rows)) == orjson.loads(orjson.dumps({"sales": rows}))

    def now() -> None:
        valid, _, _ = validate_rows(chunk)
        encode_sales(valid)

    def before() -> None:
        copy = _BEFORE_ROWS.validate_python(chunk)
        b'{"sales":' + pydantic_core.to_json(copy) + b"}"

    encode = interleaved(
        {
            "to_json": lambda: _timed(lambda: encode_sales(rows), 200),
            "orjson": lambda: _timed(lambda: orjson.dumps({"sales": rows}), 200),
        },
        n,
    )
    codec = interleaved({"now": lambda: _timed(now, 50), "before": lambda: _timed(before, 50)}, n)
    return [
        ratio_row(
            "encode a 1000-row body: pydantic_core.to_json",
            median(encode["to_json"]),
            median(encode["orjson"]),
            "orjson.dumps",
            unit="us",
            scale=1e6,
            limit=None,
            n=n,
            digits=0,
            note="orjson would save this difference per 1000 records (a fraction of a "
            "microsecond a record, of an upload costing microseconds a record): not worth a "
            "dependency",
        ),
        ratio_row(
            "validate + encode 1000 rows, date strings kept",
            median(codec["now"]),
            median(codec["before"]),
            "before: validated copy, dates parsed",
            unit="us",
            scale=1e6,
            limit=1.0,
            n=n,
            digits=0,
        ),
    ]


# -- failed batches with a progress callback -------------------------------------------------


async def _failing_upload(batches: int) -> float:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_failing))
    seen: list[int] = []

    def progress(p: UploadProgress) -> None:
        seen.append(p.failed)

    async with AsyncPleasureStock(
        "pk_bench", base_url=BASE, rate_limits=None, http_client=http, max_retries=0
    ) as ps:
        start = time.process_time()
        result = await ps.sales.upload(
            records(batches * 10), chunk_size=10, concurrency=4, progress=progress
        )
        elapsed = time.process_time() - start
    await http.aclose()
    assert len(result.failed_batches) == batches and seen[-1] == batches * 10
    return elapsed / batches


def failed_rows(n: int) -> list[Row]:
    times = interleaved(
        {
            "20k": lambda: anyio.run(_failing_upload, 20_000),
            "5k": lambda: anyio.run(_failing_upload, 5_000),
        },
        n,
        warm_up=False,
    )
    return [
        ratio_row(
            "20,000 failed batches with progress: CPU per batch",
            median(times["20k"]),
            median(times["5k"]),
            "5,000 batches",
            unit="us",
            scale=1e6,
            limit=1.2,
            n=n,
            digits=0,
            note="flat: the failed count is kept, not summed per report",
        )
    ]


# -- peak memory -------------------------------------------------------------------------------


async def _generated(count: int) -> AsyncIterator[dict[str, Any]]:
    for row in records(count):
        yield row


async def _stream(count: int, fail: bool) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_failing if fail else _stored))
    async with AsyncPleasureStock(
        "pk_bench", base_url=BASE, rate_limits=None, http_client=http, max_retries=0
    ) as ps:
        try:
            result = await ps.sales.upload(_generated(count), concurrency=4)
        except SalesUploadError as exc:
            result = exc.result
    await http.aclose()
    if fail:
        assert result.failed_records == count and len(result.failed_batches) == count // 1000
        assert not count or len(result.failed_batches[-1].rows()) == 1000  # rows on disk
    else:
        assert result.stored == count, result


def rss_rows(counts: list[int]) -> list[Row]:
    def stream(count: int, fail: bool) -> list[str]:
        return ["benchmarks.bench_upload", "--stream", str(count), *(["--fail"] * fail)]

    runs = [stream(0, False)] + [stream(c, fail) for fail in (False, True) for c in counts]
    empty, *peaks = peak_rss_many(runs)
    stored, failing = peaks[: len(counts)], peaks[len(counts) :]
    sizes = " / ".join(f"{c / 1e6:g}M" for c in counts)
    baseline = f"{empty:.0f} MB (interpreter + imports)"
    # A failed batch keeps its range and error in memory (its rows go to disk): the growth
    # per failed batch says whether rows are held (a batch's rows are about 80 KB).
    per_batch = (failing[-1] - failing[0]) * 1024 / ((counts[-1] - counts[0]) / 1000)
    return [
        Row(
            f"peak RSS streaming {sizes} records through upload",
            " / ".join(f"{p:.0f} MB" for p in stored),
            baseline,
            None,
            "< 200 MB, flat",
            max(stored) < 200 and max(stored) <= min(stored) * 1.1,
            1,
        ),
        Row(
            f"peak RSS streaming {sizes} records, every batch failing",
            " / ".join(f"{p:.0f} MB" for p in failing),
            baseline,
            None,
            "< 100 MB, rows not kept",
            max(failing) < 100 and per_batch < 8,
            1,
            f"{per_batch:.1f} KB more per failed batch (its range and error; rows on disk)",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    """Every figure of this module, as table rows."""
    rows = cpu_rows(100_000, 3 if quick else 5)
    rows += codec_rows(5 if quick else 7)
    rows += failed_rows(1)
    rows += rss_rows([200_000, 1_000_000] if quick else [1_000_000, 5_000_000])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fail", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream is not None:
        anyio.run(_stream, args.stream, args.fail)
        hold_for_measure()
        return
    from ._common import print_table

    print_table(run(args.quick))


if __name__ == "__main__":
    main()
