"""High-volume sales upload: streamed validation, 1000-record batches sent concurrently, an
exact account of what the server has, and an optional journal for exactly-once reruns.

``POST /sales`` is not idempotent (the server sums quantities of a product and day across
requests), so a batch whose fate is unknown is reported, never silently resent.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._journal import BatchState, Journal, JournalEntry
from ._sales_codec import MAX_BATCH, SaleRow, encode_sales, validate_rows
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InputErrorDetail,
    PermissionDeniedError,
    PleasureStockError,
    SalesUploadError,
)
from .types.sales import SaleRecord

if TYPE_CHECKING:
    from .resources.sales import Sales

__all__ = [
    "BatchOutcome",
    "FailedBatch",
    "OnInvalid",
    "SalesUploadResult",
    "ServerRecordError",
    "UploadProgress",
    "upload_sales",
]

OnInvalid = Literal["raise", "skip"]
BatchOutcome = Literal["not_sent", "rejected_by_server", "unknown"]
SaleInput = SaleRecord | Mapping[str, Any]
ProgressCallback = Callable[["UploadProgress"], None]

MAX_CONCURRENCY = 64


@dataclass(frozen=True, slots=True)
class ServerRecordError:
    """A record the server rejected, with ``index`` mapped back to the caller's input."""

    index: int
    error: str
    expected: str | None
    received: Any


@dataclass(slots=True)
class FailedBatch:
    """A batch the server did not acknowledge.

    ``outcome`` is ``not_sent`` (certainly not stored: safe to resend),
    ``rejected_by_server`` (a 400; ``record_errors`` say which records and why) or ``unknown``
    (a read timeout or 5xx after sending: the server may have stored it, so a resend could
    double-count). ``first_index``/``last_index`` bound the records' positions in the input.
    """

    seq: int
    first_index: int
    last_index: int
    records: list[SaleRow]
    error: PleasureStockError
    outcome: BatchOutcome
    record_errors: list[ServerRecordError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Counts so far, for a progress bar: records read from the input, accepted by the server,
    in failed batches, and invalid (left out before sending)."""

    read: int
    accepted: int
    failed: int
    invalid: int
    batches_done: int


@dataclass(slots=True)
class SalesUploadResult:
    """Exactly what an upload did.

    ``processed`` sums the server's ``processed`` counts; ``accepted`` counts the records in
    acknowledged batches; ``batches`` the batches sent in this run; ``skipped_batches`` those a
    journal showed as acknowledged by an earlier run; ``rejected`` the invalid input records
    left out (index, field, reason); ``failed_batches`` the batches not acknowledged;
    ``unresolved_batches`` journal entries that may already be stored and were not resent.
    """

    read: int = 0
    processed: int = 0
    accepted: int = 0
    batches: int = 0
    skipped_batches: int = 0
    rejected: list[InputErrorDetail] = field(default_factory=list)
    failed_batches: list[FailedBatch] = field(default_factory=list)
    unresolved_batches: list[JournalEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every input record is certainly stored by the server."""
        return not (self.rejected or self.failed_batches or self.unresolved_batches)

    @property
    def failed_records(self) -> int:
        """Records in failed batches."""
        return sum(len(b.records) for b in self.failed_batches)


@dataclass(slots=True)
class _Batch:
    seq: int
    rows: list[SaleRow]
    sources: list[int]  # input index of each row (of the first row merged into it)


class _Pending:
    """Valid rows waiting to fill a batch, with each row's input index; merges rows of one
    product and day within a batch when asked."""

    def __init__(self, size: int, merge: bool) -> None:
        self.size = size
        self.merge = merge
        self.rows: list[SaleRow] = []
        self.sources: list[int] = []
        self.keys: dict[tuple[str, str], int] = {}

    def add(
        self, rows: list[SaleRow], positions: list[int], start: int, contiguous: bool
    ) -> Iterator[tuple[list[SaleRow], list[int]]]:
        """Take rows (at ``start`` + ``positions`` in the input); yield every batch filled."""
        if not self.merge:
            self.rows.extend(rows)
            if contiguous:
                self.sources.extend(range(start, start + len(rows)))
            else:
                self.sources.extend(start + p for p in positions)
            while len(self.rows) >= self.size:
                yield self.rows[: self.size], self.sources[: self.size]
                del self.rows[: self.size], self.sources[: self.size]
            return
        for row, pos in zip(rows, positions, strict=True):
            key = (row["internal_id"], str(row["date"]))  # a date or its ISO string
            at = self.keys.get(key)
            if at is not None:
                _merge(self.rows[at], row)
                continue
            self.keys[key] = len(self.rows)
            self.rows.append(cast(SaleRow, dict(row)))  # a copy: merging must not touch input
            self.sources.append(start + pos)
            if len(self.rows) == self.size:
                yield self.rest()

    def rest(self) -> tuple[list[SaleRow], list[int]]:
        """The rows not yet in a batch (and start afresh)."""
        rows, sources = self.rows, self.sources
        self.rows, self.sources, self.keys = [], [], {}
        return rows, sources


class _StopSendingError(Exception):
    """Raised by the pre-send hook once the upload is stopping: the request stays unsent."""


def _merge(into: SaleRow, row: SaleRow) -> None:
    into["quantity"] += row["quantity"]
    stocks = [s for s in (into.get("stock_on_hand"), row.get("stock_on_hand")) if s is not None]
    if stocks:
        into["stock_on_hand"] = max(stocks)


async def chunked(
    records: Iterable[Any] | AsyncIterable[Any], size: int
) -> AsyncIterator[list[Any]]:
    """``records`` (sync or async) in lists of ``size``; the last may be shorter."""
    if isinstance(records, AsyncIterable):
        chunk: list[Any] = []
        async for record in records:
            chunk.append(record)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        await anyio.lowlevel.checkpoint()


class _Upload:
    def __init__(
        self,
        sales: Sales,
        *,
        chunk_size: int,
        on_invalid: OnInvalid,
        progress: ProgressCallback | None,
        journal: Journal | None,
        resend_unknown: bool,
        merge_duplicates: bool,
    ) -> None:
        self.sales = sales
        self.chunk_size = chunk_size
        self.on_invalid = on_invalid
        self.progress = progress
        self.journal = journal
        self.resend_unknown = resend_unknown
        self.merge_duplicates = merge_duplicates
        self.result = SalesUploadResult()
        self.stopping = False  # set by auth failures and journal mismatches: send nothing more
        self.abort: SalesUploadError | None = None
        self._seq = itertools.count()
        self._done = 0
        self._invalid = 0

    # -- producing batches -------------------------------------------------------------------

    async def produce(
        self, records: Iterable[Any] | AsyncIterable[Any], out: MemoryObjectSendStream[_Batch]
    ) -> None:
        pending = _Pending(self.chunk_size, self.merge_duplicates)
        async with out:
            try:
                async for chunk in chunked(records, self.chunk_size):
                    if self.stopping:
                        return
                    start = self.result.read
                    self.result.read += len(chunk)
                    valid, positions, bad = validate_rows(chunk, start)
                    stop_at = None
                    if bad and self.on_invalid == "raise":
                        stop_at = min(e.index for e in bad if e.index is not None) - start
                        keep = bisect.bisect_left(positions, stop_at)
                        valid, positions = valid[:keep], positions[:keep]
                    elif bad:
                        self.result.rejected.extend(bad)
                        self._invalid += len({e.index for e in bad})
                    for rows, sources in pending.add(valid, positions, start, not bad):
                        await out.send(_Batch(next(self._seq), rows, sources))
                    if stop_at is not None:
                        # Only now: the full batches before the bad record went out first.
                        self._stop_invalid(bad, start + stop_at)
                        return
                rows, sources = pending.rest()
                if rows and not self.stopping:
                    await out.send(_Batch(next(self._seq), rows, sources))
            except (PleasureStockError, ValueError, OSError) as exc:
                # The input itself failed (a reader's error): stop reading; the batches already
                # cut from the records before it are valid and still go out.
                self.abort = SalesUploadError(
                    f"reading the input failed after {self.result.read} records: {exc}",
                    reason="input_error",
                    result=self.result,
                )
                self.abort.__cause__ = exc

    def _stop_invalid(self, bad: list[InputErrorDetail], first_bad: int) -> None:
        first = [e for e in bad if e.index == first_bad]
        self.abort = SalesUploadError(
            f"invalid sale record at index {first_bad}: "
            + "; ".join(f"{e.field}: {e.message} (got {e.value!r})" for e in first)
            + " (nothing from this record's batch on was sent)",
            reason="invalid_record",
            result=self.result,
            errors=first,
        )

    # -- sending batches ---------------------------------------------------------------------

    async def consume(self, batches: MemoryObjectReceiveStream[_Batch]) -> None:
        async with batches:
            async for batch in batches:
                await self.send(batch)

    async def send(self, batch: _Batch) -> None:
        body = encode_sales(batch.rows)
        if self.journal is not None and not self._journal_allows(
            batch, hashlib.sha256(body).hexdigest()
        ):
            return
        if self.stopping:
            self._fail(batch, _not_sent_error(), "not_sent", BatchState.NOT_SENT)
            return
        sent = False

        def before_send() -> None:
            nonlocal sent
            if self.stopping:
                raise _StopSendingError
            if not sent:
                self.result.batches += 1
                sent = True
            if self.journal is not None:
                self.journal.mark(batch.seq, BatchState.SENDING)

        try:
            answer = await self.sales._send_batch(body, before_send=before_send)
        except _StopSendingError:
            self._fail(batch, _not_sent_error(), "not_sent", BatchState.NOT_SENT)
        except (AuthenticationError, PermissionDeniedError) as exc:
            self.stopping = True
            self.abort = self.abort or SalesUploadError(
                f"upload stopped: {exc}", reason="authentication", result=self.result
            )
            self.abort.__cause__ = exc
            self._fail(batch, exc, "not_sent", BatchState.NOT_SENT)
        except BadRequestError as exc:
            record_errors = [
                ServerRecordError(
                    batch.sources[e.index] if 0 <= e.index < len(batch.sources) else -1,
                    e.error,
                    e.expected,
                    e.received,
                )
                for e in exc.errors
            ]
            partial = bool(exc.processed)
            self._fail(
                batch,
                exc,
                "unknown" if partial else "rejected_by_server",
                BatchState.UNKNOWN if partial else BatchState.REJECTED,
                record_errors,
            )
        except (APIStatusError, APIConnectionError) as exc:
            unknown = exc.outcome_unknown
            self._fail(
                batch,
                exc,
                "unknown" if unknown else "not_sent",
                BatchState.UNKNOWN if unknown else BatchState.NOT_SENT,
            )
        except APIResponseValidationError as exc:
            # A 2xx whose body we cannot read: the server most likely stored the batch.
            self._fail(batch, exc, "unknown", BatchState.UNKNOWN)
        else:
            self.result.processed += answer.processed
            self.result.accepted += len(batch.rows)
            if self.journal is not None:
                self.journal.mark(batch.seq, BatchState.ACKNOWLEDGED, processed=answer.processed)
            self._report()

    def _journal_allows(self, batch: _Batch, digest: str) -> bool:
        assert self.journal is not None
        entry = self.journal.get(batch.seq)
        if entry is not None and entry.digest != digest:
            self.stopping = True
            self.abort = self.abort or SalesUploadError(
                f"the journal {self.journal.path} belongs to another input: batch {batch.seq} "
                "differs from the one recorded. Rerun with the same input (in the same order) "
                "or use a new journal; resending could double-count.",
                reason="journal_mismatch",
                result=self.result,
            )
            return False
        if entry is not None and entry.state is BatchState.ACKNOWLEDGED:
            self.result.skipped_batches += 1
            self.result.processed += entry.processed or 0
            self._report()
            return False
        if entry is not None and entry.state.may_be_stored and not self.resend_unknown:
            self.result.unresolved_batches.append(entry)
            self._report()
            return False
        self.journal.plan(
            batch.seq, digest, min(batch.sources), max(batch.sources), len(batch.rows)
        )
        return True

    def _fail(
        self,
        batch: _Batch,
        error: PleasureStockError,
        outcome: BatchOutcome,
        state: BatchState,
        record_errors: list[ServerRecordError] | None = None,
    ) -> None:
        self.result.failed_batches.append(
            FailedBatch(
                batch.seq,
                min(batch.sources),
                max(batch.sources),
                batch.rows,
                error,
                outcome,
                record_errors or [],
            )
        )
        if self.journal is not None:
            self.journal.mark(batch.seq, state, error=str(error))
        self._report()

    def _report(self) -> None:
        self._done += 1
        if self.progress is not None:
            self.progress(
                UploadProgress(
                    read=self.result.read,
                    accepted=self.result.accepted,
                    failed=self.result.failed_records,
                    invalid=self._invalid,
                    batches_done=self._done,
                )
            )


def _not_sent_error() -> PleasureStockError:
    return PleasureStockError("not sent: the upload was stopping")


async def upload_sales(
    sales: Sales,
    records: Iterable[SaleInput] | AsyncIterable[SaleInput],
    *,
    chunk_size: int = MAX_BATCH,
    concurrency: int = 4,
    on_invalid: OnInvalid = "raise",
    progress: ProgressCallback | None = None,
    journal: str | PathLike[str] | None = None,
    resend_unknown: bool = False,
    merge_duplicates: bool = False,
) -> SalesUploadResult:
    """Upload any number of records: validated as read, sent in batches of ``chunk_size``
    by ``concurrency`` tasks, memory bounded by about ``concurrency * chunk_size`` records.

    ``records`` is a list, iterable or async iterable of :class:`SaleRecord` or dicts.
    ``on_invalid="raise"`` stops before the batch holding an invalid record is sent and
    raises :class:`SalesUploadError` (with ``.result``); ``"skip"`` leaves it out and lists
    it in ``result.rejected``. ``progress`` is called as batches finish.

    ``journal`` names an SQLite file that makes reruns exactly-once: batches the server
    acknowledged are skipped, those never sent are sent, and those that may have arrived
    (a crash or timeout mid-request) are listed in ``unresolved_batches`` and resent only
    with ``resend_unknown=True``. Rerun with the same input in the same order.

    ``merge_duplicates`` combines rows of one product and day within a batch as the server
    would (quantity summed, stock_on_hand maximum): fewer records, same stored result; the
    server's per-record errors then point at the first merged row.

    Called as ``ps.sales.upload(records, ...)``.
    """
    if not 1 <= chunk_size <= MAX_BATCH:
        raise ValueError(f"chunk_size must be between 1 and {MAX_BATCH}, got {chunk_size}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}")
    if on_invalid not in ("raise", "skip"):
        raise ValueError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
    book = Journal(journal) if journal is not None else None
    upload = _Upload(
        sales,
        chunk_size=chunk_size,
        on_invalid=on_invalid,
        progress=progress,
        journal=book,
        resend_unknown=resend_unknown,
        merge_duplicates=merge_duplicates,
    )
    try:
        send, receive = anyio.create_memory_object_stream[_Batch](0)
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(upload.consume, receive.clone())
            receive.close()
            await upload.produce(records, send)
    finally:
        if book is not None:
            book.close()
    if upload.abort is not None:
        raise upload.abort
    return upload.result
