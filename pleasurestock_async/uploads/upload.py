"""``sales.upload``: an append-only stream of sales, sent in concurrent 1000-record batches,
with an exact account of what the server has and an optional journal for exactly-once reruns.

``POST /sales`` is not idempotent (the server sums quantities of a product and day across
requests), so a batch whose fate is unknown is reported, never silently resent.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
import anyio.to_thread

from ..errors import InputError, InputErrorDetail, SalesUploadError, UploadStopReason
from ..types.sales import SaleRecord, SaleRow
from ..types.shared import RecordError
from ..types.uploads import (
    BatchOutcome,
    FailedBatch,
    SalesUploadResult,
    ServerRecordError,
    UploadProgress,
)
from ._sqlite import JOURNAL
from .batcher import InputBatch, PartialInputError, merged, read_batches
from .codec import canonical
from .journal import (
    INVALID,
    MAY_BE_STORED,
    NOT_SENT,
    NOT_STORED,
    PLANNED,
    REFUSED,
    SENDING,
    SENT,
    STORED,
    UNKNOWN,
    Journal,
    JournalRange,
    NullJournal,
    Resolution,
    create_journal,
    digest_of,
)
from .lock import FileLock
from .options import MAX_CONCURRENCY, OnInvalid, ProgressCallback, UploadOptions
from .runner import Flight, Runner
from .sender import BatchHooks, Outcome, SendBatch, Sender, StopSendingError
from .spill import Spill

__all__ = [
    "MAX_CONCURRENCY",
    "OnInvalid",
    "ProgressCallback",
    "SaleInput",
    "check_records",
    "upload_sales",
]

SaleInput = SaleRecord | Mapping[str, Any]
DEFAULT_JOB = "default"


class _StopUploadError(Exception):
    def __init__(
        self, reason: UploadStopReason, message: str, errors: Sequence[InputErrorDetail] = ()
    ) -> None:
        self.reason: UploadStopReason = reason
        self.errors = list(errors)
        super().__init__(message)


@dataclass(slots=True)
class _Plan:
    """One range's positions to send now, merged into rows when asked: row ``r`` carries the
    positions ``groups[r]``, or ``positions[r]`` alone when nothing was merged (``groups``
    None, so that the common case builds no list per record)."""

    rows: list[SaleRow]
    positions: list[int]
    groups: list[list[int]] | None = None

    def group(self, row: int) -> list[int]:
        """The positions row ``row`` carries."""
        return [self.positions[row]] if self.groups is None else self.groups[row]

    def positions_of(self, rows: Iterable[int]) -> list[int]:
        """The positions the rows ``rows`` carry, in their order."""
        if self.groups is None:
            positions = self.positions
            return [positions[r] for r in rows]
        groups = self.groups
        return [i for r in rows for i in groups[r]]


class _Upload:
    def __init__(
        self, sender: Sender, journal: Journal | NullJournal, options: UploadOptions
    ) -> None:
        self.sender = sender
        self.journal = journal
        # the journal's SQLite work runs in a worker thread, one call at a time
        self._limiter = anyio.CapacityLimiter(1)
        self.job = options.job or DEFAULT_JOB
        self.on_invalid = options.on_invalid
        self.merge = options.merge_duplicates
        self.resolve: Mapping[int, Resolution] = options.resolve or {}
        self.resend_unknown = options.resend_unknown
        self.progress = options.progress
        self.result = SalesUploadResult()
        self.runner: Runner[InputBatch] = Runner(self.handle, concurrency=1)
        self.abort: _StopUploadError | None = None
        self.spill = Spill()
        self.placed = 0  # records given their category in the result so far
        self._done = 0

    def stop(self, abort: _StopUploadError) -> None:
        """Stop taking batches, remembering the first reason."""
        self.abort = self.abort or abort
        self.runner.stop()

    # -- the input ---------------------------------------------------------------------------

    async def batches(
        self, records: Iterable[Any] | AsyncIterable[Any], size: int
    ) -> AsyncIterator[InputBatch]:
        """The input's ranges, counted as read; ends at an invalid record when asked."""
        try:
            async with contextlib.aclosing(read_batches(records, chunk_size=size)) as batches:
                async for batch in batches:
                    self.result.read += batch.size
                    if batch.invalid and self.on_invalid == "raise":
                        self._stop_at_invalid(batch)
                        return  # the batches before this one still go out
                    yield batch
        except PartialInputError as partial:
            self.result.read += partial.consumed
            self.result.not_sent += partial.consumed
            self.placed += partial.consumed
            raise partial.__cause__ or partial from None

    def _stop_at_invalid(self, batch: InputBatch) -> None:
        first = min(batch.invalid_positions)
        details = [e for e in batch.invalid if e.index == batch.first_index + first]
        self._count_invalid(batch)
        self.result.not_sent += batch.size - len(batch.invalid_positions)
        self.placed += batch.size
        self.abort = self.abort or _StopUploadError(
            "invalid_record",
            f"invalid sale record at index {batch.first_index + first}: "
            + "; ".join(str(e) for e in details)
            + " (nothing from this record's batch on was sent)",
            details,
        )

    def _count_invalid(self, batch: InputBatch) -> None:
        self.result.invalid_records += len(batch.invalid_positions)
        self.result.input_errors.extend(batch.invalid)

    # -- one range ---------------------------------------------------------------------------

    async def handle(self, batch: InputBatch, flight: Flight) -> None:
        try:
            entry, before = await self._entry(batch)
        except _StopUploadError as abort:
            self.stop(abort)
            return  # not handled: its records count as not sent
        self.placed += batch.size
        self._count_invalid(batch)
        marks = entry.marks
        if before is None:  # a range never seen: every valid record (in order) is to send
            sendable = list(batch.records)
        else:
            self.result.already_stored += marks.count(STORED)
            uncertain = [i for i, m in enumerate(marks) if m in MAY_BE_STORED]
            if uncertain:
                unresolved = entry.unresolved()
                assert unresolved is not None
                self.result.unresolved_batches.append(unresolved)
                self.result.unresolved_records += len(uncertain)
            sendable = [i for i, m in enumerate(marks) if m in NOT_STORED and i in batch.records]
        if not sendable:
            if marks.count(STORED) == batch.size:
                self.result.skipped_batches += 1
            await self._save(entry, batch, before)
            self._report()
            return
        plan = self._plan(batch, sendable)
        for i in sendable:
            marks[i] = PLANNED
        await self._save(entry, batch, before)
        # Recording is shielded: once an answer is in, it is written whatever else happens.
        try:
            outcome = await self.sender.send(plan.rows, _Hooks(self, entry, batch, plan, flight))
        except StopSendingError:
            with anyio.CancelScope(shield=True):
                await self._unsent(entry, batch, sendable)
            return
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cut_off(entry, batch, plan)
            raise
        with anyio.CancelScope(shield=True):
            await self._apply(entry, batch, plan, outcome)

    async def _entry(self, batch: InputBatch) -> tuple[JournalRange, list[str] | None]:
        """The journal's range (checked against this input, with resolutions applied) and its
        marks as recorded; or a fresh range and None."""
        found = None
        if self.journal.path is not None:
            found = await anyio.to_thread.run_sync(
                self.journal.get, self.job, batch.seq, limiter=self._limiter
            )
        if found is None:
            marks = [NOT_SENT] * batch.size
            for i in batch.invalid_positions:
                marks[i] = INVALID
            fresh = JournalRange(self.job, batch.seq, batch.first_index, marks, digest_of(()), None)
            return fresh, None
        recorded = list(found.marks)
        sent = [i for i, m in enumerate(found.marks) if m in SENT]
        if (
            found.first_index != batch.first_index
            or len(found.marks) != batch.size
            or any(i not in batch.records for i in sent)
            or found.digest != digest_of(canonical(batch.records[i]) for i in sent)
        ):
            raise _StopUploadError(
                "journal_mismatch",
                f"the journal {self.journal.path} holds another input under job {self.job!r}: "
                f"records {batch.first_index}-{batch.last_index} differ from those it sent. "
                "Rerun with the same input (in the same order, same chunk size), or use another "
                "job name; sending this could double-count.",
            )
        how = self.resolve.get(batch.seq) or ("not_stored" if self.resend_unknown else None)
        for i, mark in enumerate(found.marks):
            if mark in MAY_BE_STORED and how is not None:
                found.marks[i] = STORED if how == "stored" and i in batch.records else NOT_SENT
            elif mark == PLANNED:  # recorded, but its request never left
                found.marks[i] = NOT_SENT
            elif mark in NOT_STORED:
                found.marks[i] = INVALID if i in batch.invalid_positions else mark
        return found, recorded

    def _plan(self, batch: InputBatch, positions: list[int]) -> _Plan:
        records = batch.records
        # positions are some of the range's valid ones, in order: all of them, usually
        rows = (
            list(records.values())
            if len(positions) == len(records)
            else [records[i] for i in positions]
        )
        if self.merge:
            rows, groups = merged(rows, positions)
            return _Plan(rows, positions, groups)
        return _Plan(rows, positions)

    async def _save(
        self,
        entry: JournalRange,
        batch: InputBatch,
        before: list[str] | None = None,
        marks: list[str] | None = None,
    ) -> None:
        """Write the range (with ``marks`` instead of its own, when given) to the journal, in
        a worker thread."""
        marks = entry.marks if marks is None else marks
        if self.journal.path is None or (before is not None and marks == before):
            return  # no journal keeps it, or nothing changed
        digest = digest_of(canonical(batch.records[i]) for i, m in enumerate(marks) if m in SENT)
        snapshot = replace(entry, marks=list(marks), digest=digest)  # what this moment holds
        await anyio.to_thread.run_sync(self.journal.save, snapshot, limiter=self._limiter)
        entry.digest = digest

    async def _unsent(self, entry: JournalRange, batch: InputBatch, positions: list[int]) -> None:
        for i in positions:
            if entry.marks[i] == PLANNED:
                entry.marks[i] = NOT_SENT
        await self._save(entry, batch)
        self.result.not_sent += len(positions)
        self._report()

    async def _cut_off(self, entry: JournalRange, batch: InputBatch, plan: _Plan) -> None:
        """The grace ran out: what was in flight may be stored; what was not, was not sent."""
        positions = plan.positions_of(range(len(plan.rows)))
        inflight = [i for i in positions if entry.marks[i] == SENDING]
        for i in positions:
            if entry.marks[i] == SENDING:
                entry.marks[i] = UNKNOWN
            elif entry.marks[i] == PLANNED:
                entry.marks[i] = NOT_SENT
        entry.error = "stopped while the request was in flight: it may be stored"
        await self._save(entry, batch)
        if inflight:
            self._fail(batch, inflight, "unknown", entry.error, None, (), b"")
        self.result.not_sent += len(positions) - len(inflight)
        self._report()

    async def _apply(
        self, entry: JournalRange, batch: InputBatch, plan: _Plan, outcome: Outcome
    ) -> None:
        marks = entry.marks
        self.result.batches += outcome.requests
        self.result.processed += outcome.processed
        stored = plan.positions_of(outcome.stored)
        for i in stored:
            marks[i] = STORED
        self.result.stored += len(stored)
        refused_rows = {row for row, _ in outcome.refused}
        stored_rows = set(outcome.stored)
        for row, error in outcome.refused:
            for i in plan.group(row):
                marks[i] = REFUSED
                self.result.refused.append(_server_error(batch.first_index + i, error))
        done = refused_rows | stored_rows
        left = (
            []
            if len(done) == len(plan.rows)
            else plan.positions_of(r for r in range(len(plan.rows)) if r not in done)
        )
        message = None if outcome.error is None else str(outcome.error)
        if left:
            fate, mark = _FATES[outcome.kind]
            for i in left:
                marks[i] = mark
            named = tuple(
                _server_error(batch.first_index + plan.group(row)[0], e)
                for row, e in outcome.refused
            )
            self._fail(batch, left, fate, message or fate, outcome.status_code, named, outcome.body)
        entry.error = message
        await self._save(entry, batch)
        if outcome.kind == "auth":
            self.stop(_StopUploadError("authentication", f"upload stopped: {outcome.error}"))
        self._report()

    def _fail(
        self,
        batch: InputBatch,
        positions: list[int],
        outcome: BatchOutcome,
        error: str,
        status: int | None,
        record_errors: tuple[ServerRecordError, ...],
        body: bytes,
    ) -> None:
        # merged rows list their positions row by row, not in input order
        self.result.failed_batches.append(
            FailedBatch(
                batch.seq,
                batch.first_index + min(positions),
                batch.first_index + max(positions),
                len(positions),
                outcome,
                error,
                status,
                record_errors,
                self.spill.keep(body) if body else None,
            )
        )
        self.result.failed_records += len(positions)

    def _report(self) -> None:
        self._done += 1
        if self.progress is None:
            return
        try:
            self.progress(
                UploadProgress(
                    read=self.result.read,
                    accepted=self.result.stored + self.result.already_stored,
                    failed=self.result.failed_records,
                    invalid=self.result.invalid_records,
                    batches_done=self._done,
                )
            )
        except Exception as exc:  # the caller's callback: stop, keep the account exact
            self.progress = None
            self.stop(_StopUploadError("progress_error", f"the progress callback raised {exc!r}"))


_FATES: dict[str, tuple[BatchOutcome, str]] = {
    "rejected": ("rejected_by_server", REFUSED),
    "not_stored": ("not_sent", NOT_SENT),
    "auth": ("not_sent", NOT_SENT),
    "unknown": ("unknown", UNKNOWN),
    "stored": ("unknown", UNKNOWN),  # a stored outcome leaves no row behind
}


def _server_error(index: int, error: RecordError) -> ServerRecordError:
    return ServerRecordError(index, error.error, error.expected, error.received)


class _Hooks(BatchHooks):
    """Journals each attempt: in flight before it leaves, back to planned when it certainly
    stored nothing (a 429 or a connection that never opened)."""

    def __init__(
        self, upload: _Upload, entry: JournalRange, batch: InputBatch, plan: _Plan, flight: Flight
    ) -> None:
        self._upload = upload
        self._entry = entry
        self._batch = batch
        self._plan = plan
        self._flight = flight

    async def _mark(self, rows: Sequence[int], mark: str) -> None:
        # The range takes the marks only once they are written: a run cancelled while they
        # were written never sent this attempt, and its cut-off must not think so.
        marks = list(self._entry.marks)
        for i in self._plan.positions_of(rows):
            marks[i] = mark
        await self._upload._save(self._entry, self._batch, marks=marks)
        if mark == SENDING and self._upload.runner.stopping:
            raise StopSendingError  # told to stop while it was written: it never leaves
        self._entry.marks[:] = marks

    async def before_send(self, rows: Sequence[int]) -> None:
        if self._upload.runner.stopping:
            raise StopSendingError
        await self._mark(rows, SENDING)
        self._flight.sent = True

    async def not_stored(self, rows: Sequence[int]) -> None:
        with anyio.CancelScope(shield=True):
            await self._mark(rows, PLANNED)
        self._flight.sent = False


def check_records(records: object) -> None:
    """Refuse an input that is not a list, iterable or async iterable of records."""
    if isinstance(records, str | bytes | Mapping) or not isinstance(
        records, Iterable | AsyncIterable
    ):
        raise InputError.single(
            "records", "must be a list, iterable or async iterable of sales records", records
        )


async def upload_sales(
    send: SendBatch,
    records: Iterable[SaleInput] | AsyncIterable[SaleInput],
    options: UploadOptions | None = None,
    **settings: Any,
) -> SalesUploadResult:
    """Upload ``records`` through ``send`` as ``options`` say (see :meth:`Sales.upload`).

    The settings given as keywords instead of ``options`` are deprecated (they go in 0.4)."""
    if options is None:
        warnings.warn(
            "upload_sales(send, records, **settings) is deprecated and goes in 0.4: pass "
            "UploadOptions(**settings)",
            DeprecationWarning,
            stacklevel=2,
        )
        options = UploadOptions(**settings)
    elif settings:
        raise InputError.single("options", "pass the settings in options only", sorted(settings))
    check_records(records)
    path = None
    if options.journal is not None:
        path = await anyio.to_thread.run_sync(create_journal, options.journal)
    lock = FileLock(path, wait=options.lock_wait, kind=JOURNAL) if path is not None else None
    upload: _Upload | None = None
    async with lock or contextlib.nullcontext():
        book: Journal | NullJournal = NullJournal()
        if path is not None:  # opened (and checked) only once the file itself is locked
            book = await anyio.to_thread.run_sync(Journal, path)
        try:
            upload = _Upload(Sender(send, heal=options.heal_rejections), book, options)
            upload.runner = Runner(upload.handle, concurrency=options.concurrency)
            await upload.runner.run(upload.batches(records, options.chunk_size), options.stop)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(book.close)
    assert upload is not None
    result = upload.result
    # ranges read but never handled (the run stopped before a worker took them): not sent
    result.not_sent += result.read - upload.placed
    abort = upload.abort
    if upload.runner.handler_error is not None and abort is None:
        exc = upload.runner.handler_error
        abort = _StopUploadError(
            "unexpected_error", f"the upload stopped: recording a batch failed: {exc!r}"
        )
        abort.__cause__ = exc
    if upload.runner.source_error is not None and abort is None:
        exc = upload.runner.source_error
        abort = _StopUploadError(
            "input_error", f"reading the input failed after {result.read} records: {exc}"
        )
        abort.__cause__ = exc
    if abort is None and options.stop is not None and options.stop.is_set():
        abort = _StopUploadError(
            "interrupted", "the upload was stopped: see the result for what was stored"
        )
    if abort is None:
        return result
    result.stopped = abort.reason
    error = SalesUploadError(str(abort), reason=abort.reason, result=result, errors=abort.errors)
    raise error from abort.__cause__
