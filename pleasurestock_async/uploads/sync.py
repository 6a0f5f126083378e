"""``sales.sync``: make the platform hold exactly the export's totals, however often it is sent.

The input says what the totals ARE per product and day (rows of one product and day, one per
warehouse say, combine as the server combines them: quantity summed, stock the maximum). The
state remembers what the server acknowledged; a run sends only the difference: new days,
increased quantities (as a positive delta), and a higher stock once a day is closed.

What ``POST /sales`` cannot express is reported, never sent as something else: a quantity that
went down (a return, a correction), and a closed day whose stored stock is above the export's.
Stock is a level, not a flow, and the server keeps a day's maximum: a morning's stock sent
while the day is open would hide the afternoon's stock-out, so by default a day's stock is
sent once the day is closed (its date before today in ``timezone``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio

from ..errors import InputError, InputErrorDetail, SalesSyncError, UploadStopReason
from ..types.sales import SaleRow
from ..types.uploads import (
    BatchOutcome,
    Discrepancy,
    FailedBatch,
    SalesSyncResult,
    ServerRecordError,
    SyncDay,
    SyncProgress,
)
from .batcher import PartialInputError, chunked
from .codec import MAX_BATCH, validate_rows
from .journal import Resolution
from .lock import FileLock
from .runner import Flight, Runner
from .sender import BatchHooks, Outcome, SendBatch, Sender, StopSendingError
from .spill import Spill
from .state import InputRow, PendingRow, PlanRow, SyncState
from .upload import OnInvalid, SaleInput, check_arguments

__all__ = ["StockPolicy", "SyncProgressCallback", "sync_sales"]

StockPolicy = Literal["closed", "always"]
"""When a day's stock is sent: once the day is closed (the default), or whenever it rises."""

SyncProgressCallback = Callable[[SyncProgress], None]


def _seen(plan: PlanRow) -> SyncDay:
    product, day, quantity, stock, first, stored_q, stored_s, _, batch = plan
    return SyncDay(
        product, dt.date.fromisoformat(day), quantity, stock, stored_q, stored_s, first, batch
    )


@dataclass(slots=True)
class _Item:
    plan: PlanRow
    row: SaleRow
    pending: PendingRow

    @property
    def day(self) -> SyncDay:
        """The product and day as the sync saw it (built when a result needs it)."""
        return _seen(self.plan)

    @property
    def index(self) -> int:
        """The input index of the day's first record."""
        return self.plan[4]


@dataclass(slots=True)
class _Batch:
    seq: int
    name: str  # r<run>b<seq>, unique in the state: how uncertain rows are settled
    items: list[_Item]


def _today(today: dt.date | None, timezone: str | dt.tzinfo | None) -> dt.date:
    if today is not None:
        return today
    if timezone is None:
        return dt.datetime.now().astimezone().date()
    if isinstance(timezone, str):
        try:
            timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError.single("timezone", "is not a known time zone", timezone) from None
    return dt.datetime.now(timezone).date()


def _product(internal_id: str) -> str:
    """The state's key of a product: UUIDs in lower case (the API accepts any case)."""
    return internal_id if internal_id.startswith("ps_") else internal_id.lower()


def _input_rows(rows: Sequence[SaleRow], positions: Sequence[int], first: int) -> list[InputRow]:
    return [
        (
            _product(product),
            day if isinstance(day, str) else day.isoformat(),
            row["quantity"],
            row.get("stock_on_hand"),
            first + pos,
        )
        for row, pos in zip(rows, positions, strict=True)
        for product, day in ((row["internal_id"], row["date"]),)
    ]


class _Sync:
    def __init__(
        self,
        state: SyncState,
        sender: Sender,
        *,
        today: str,
        stock: StockPolicy,
        progress: SyncProgressCallback | None,
    ) -> None:
        self.state = state
        self.sender = sender
        self.today = today
        self.stock = stock
        self.progress = progress
        self.result = SalesSyncResult()
        self.runner: Runner[_Batch] = Runner(self.handle, concurrency=1)
        self.spill = Spill()
        self.to_send = 0
        self.failed = 0
        self.abort: tuple[UploadStopReason, str] | None = None
        self.run = state.next_run()
        self._done = 0

    # -- reading the input ---------------------------------------------------------------------

    async def read(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        self.state.begin_input()
        async with contextlib.aclosing(chunked(records, MAX_BATCH)) as chunks:
            async for chunk in chunks:
                first = self.result.read
                rows, positions, bad = validate_rows(chunk, first)
                self.result.invalid.extend(bad)
                self.state.add_input(_input_rows(rows, positions, first))
                self.result.read += len(chunk)
                self._report("reading")
        self.result.product_days = self.state.input_days()

    # -- planning ------------------------------------------------------------------------------

    def _item(self, plan: PlanRow) -> _Item | None:
        """What to send for one product and day (None: nothing), recording the rest."""
        product, day, quantity, stock, _, stored_q, stored_s, pending, _ = plan
        result = self.result
        if pending is not None:
            result.uncertain.append(_seen(plan))
            return None
        closed = day < self.today
        stock_now = stock is not None and (self.stock == "always" or closed)
        delta = quantity - (stored_q or 0)
        if stored_q is not None and delta < 0:
            result.discrepancies.append(Discrepancy("quantity", _seen(plan)))
            delta = 0
        quiet = stored_q is None or delta > 0 or quantity == stored_q
        send_stock: int | None = None
        if stock is not None:
            higher = stored_s is None or stock > stored_s
            if stock_now and higher:
                send_stock = stock
            elif stock_now and stock < (stored_s or 0):
                result.discrepancies.append(Discrepancy("stock", _seen(plan)))
                quiet = False
            elif not stock_now and higher:
                result.deferred_stock += 1
                quiet = False
        if stored_q is not None and delta == 0 and send_stock is None:
            result.unchanged += quiet
            return None
        row: SaleRow = {"internal_id": product, "date": day, "quantity": delta}
        if send_stock is not None:
            row["stock_on_hand"] = send_stock
        return _Item(plan, row, (product, day, delta, send_stock))

    async def batches(self) -> AsyncIterator[_Batch]:
        items: list[_Item] = []
        seq = 0
        result = self.result
        plans = self.state.plan(MAX_BATCH, today=self.today, stock_always=self.stock == "always")
        for quiet, chunk in plans:
            result.unchanged += quiet  # rows with nothing to do, told apart in SQL
            for plan in chunk:
                item = self._item(plan)
                if item is None:
                    continue
                items.append(item)
                if len(items) == MAX_BATCH:
                    self.to_send += len(items)
                    yield _Batch(seq, f"r{self.run}b{seq}", items)
                    seq, items = seq + 1, []
            await anyio.lowlevel.checkpoint()
        if items:
            self.to_send += len(items)
            yield _Batch(seq, f"r{self.run}b{seq}", items)

    # -- sending -------------------------------------------------------------------------------

    async def handle(self, batch: _Batch, flight: Flight) -> None:
        # Rows are recorded when their request is about to leave (``sending``); until then
        # they are not in the state at all, which is what ``planned`` rows come to anyway
        # (dropped at the next start).
        pending = [item.pending for item in batch.items]
        hooks = _Hooks(self, pending, batch.name, flight)
        try:
            outcome = await self.sender.send([item.row for item in batch.items], hooks)
        except StopSendingError:
            self.state.forget(pending)
            return
        except anyio.get_cancelled_exc_class():
            self._cut_off(batch, hooks)
            raise
        self._apply(batch, outcome)

    def _cut_off(self, batch: _Batch, hooks: _Hooks) -> None:
        """The grace ran out: what was in flight may be stored; what was not, was not sent."""
        inflight = [batch.items[r] for r in sorted(hooks.in_flight)]
        self.state.mark(
            [i.pending for i in inflight], "unknown", batch.name, "stopped while in flight"
        )
        waiting = [item.pending for r, item in enumerate(batch.items) if r not in hooks.in_flight]
        self.state.forget(waiting)
        self.result.uncertain.extend(replace(i.day, batch=batch.name) for i in inflight)
        if inflight:
            self._fail(batch.seq, inflight, "unknown", "stopped while in flight", None, b"")

    def _apply(self, batch: _Batch, outcome: Outcome) -> None:
        items = batch.items
        result = self.result
        result.batches += outcome.requests
        result.sent += len(items)
        stored = [items[r] for r in outcome.stored]
        whole = batch.name if len(stored) == len(items) else None
        self.state.acknowledge([i.pending for i in stored], whole)
        result.stored += len(stored)
        refused = {r for r, _ in outcome.refused}
        self.state.forget([items[r].pending for r in refused])
        for r, error in outcome.refused:
            day = items[r].day
            result.server_rejected.append(
                (day, ServerRecordError(day.index, error.error, error.expected, error.received))
            )
        done = refused | set(outcome.stored)
        left = [item for r, item in enumerate(items) if r not in done]
        if left:
            message = str(outcome.error) if outcome.error is not None else outcome.kind
            if outcome.kind == "unknown":
                self.state.mark([i.pending for i in left], "unknown", batch.name, message)
                result.uncertain.extend(replace(i.day, batch=batch.name) for i in left)
                fate: BatchOutcome = "unknown"
            else:
                self.state.forget([i.pending for i in left])
                fate = "rejected_by_server" if outcome.kind == "rejected" else "not_sent"
            self._fail(batch.seq, left, fate, message, outcome.status_code, outcome.body)
        if outcome.kind == "auth":
            self.stop("authentication", f"sync stopped: {outcome.error}")
        self._report("sending")

    def _fail(
        self,
        seq: int,
        items: list[_Item],
        fate: BatchOutcome,
        error: str,
        status: int | None,
        body: bytes,
    ) -> None:
        indices = [i.index for i in items]
        self.result.failed_batches.append(
            FailedBatch(
                seq,
                min(indices),
                max(indices),
                len(items),
                fate,
                error,
                status,
                (),
                self.spill.keep(body) if body else None,
            )
        )
        self.failed += len(items)

    def stop(self, reason: UploadStopReason, message: str) -> None:
        self.abort = self.abort or (reason, message)
        self.runner.stop()

    def _report(self, phase: Literal["reading", "sending"]) -> None:
        self._done += phase == "sending"
        if self.progress is None:
            return
        try:
            self.progress(
                SyncProgress(
                    phase,
                    self.result.read,
                    len(self.result.invalid),
                    self.to_send,
                    self.result.stored,
                    self.failed,
                    self._done,
                )
            )
        except Exception as exc:  # the caller's callback: stop, keep the state exact
            self.progress = None
            self.stop("progress_error", f"the progress callback raised {exc!r}")


class _Hooks(BatchHooks):
    """Records each attempt in the state: in flight before it leaves, back to planned when
    it certainly stored nothing."""

    def __init__(self, sync: _Sync, pending: list[PendingRow], batch: str, flight: Flight) -> None:
        self._sync = sync
        self._pending = pending
        self._batch = batch
        self._flight = flight
        self.in_flight: set[int] = set()

    def before_send(self, rows: Sequence[int]) -> None:
        if self._sync.runner.stopping:
            raise StopSendingError
        self._sync.state.mark([self._pending[r] for r in rows], "sending", self._batch)
        self.in_flight.update(rows)
        self._flight.sent = True

    def not_stored(self, rows: Sequence[int]) -> None:
        self._sync.state.mark([self._pending[r] for r in rows], "planned", self._batch)
        self.in_flight.difference_update(rows)
        self._flight.sent = False


async def sync_sales(
    send: SendBatch,
    records: Iterable[SaleInput] | AsyncIterable[SaleInput],
    *,
    state: str | PathLike[str],
    today: dt.date | None = None,
    timezone: str | dt.tzinfo | None = None,
    stock: StockPolicy = "closed",
    assume_unknown: Resolution | None = None,
    resolve: Mapping[str, Resolution] | None = None,
    mark_stored: bool = False,
    on_invalid: OnInvalid = "raise",
    concurrency: int = 4,
    heal_rejections: bool = True,
    progress: SyncProgressCallback | None = None,
    lock_wait: float = 0.0,
    stop: anyio.Event | None = None,
) -> SalesSyncResult:
    """Sync ``records`` through ``send``; see :meth:`Sales.sync` for the arguments."""
    check_arguments(records, MAX_BATCH, concurrency, on_invalid)
    if stock not in ("closed", "always"):
        raise InputError.single("stock", "must be 'closed' or 'always'", stock)
    _check_resolution(assume_unknown, resolve)
    day = _today(today, timezone).isoformat()
    async with FileLock(state, wait=lock_wait):
        book = SyncState(state)
        try:
            book.drop_planned()
            resolved = _settle(book, assume_unknown, resolve)
            sync = _Sync(
                book,
                Sender(send, heal=heal_rejections),
                today=day,
                stock=stock,
                progress=progress,
            )
            sync.result.resolved = resolved
            try:
                await sync.read(records)
            except anyio.get_cancelled_exc_class():
                raise
            except PartialInputError as partial:
                sync.result.read += partial.consumed
                _raise(
                    sync,
                    "input_error",
                    f"reading the input failed after {sync.result.read} records (nothing was "
                    f"sent): {partial.__cause__}",
                    cause=partial.__cause__,
                )
            except Exception as exc:
                _raise(
                    sync,
                    "input_error",
                    f"reading the input failed after {sync.result.read} records (nothing was "
                    f"sent): {exc}",
                    cause=exc,
                )
            if sync.result.invalid and on_invalid == "raise":
                first = sync.result.invalid[0]
                _raise(
                    sync,
                    "invalid_record",
                    f"invalid sale record at index {first.index}: {first} (nothing was sent; "
                    "fix it, or pass on_invalid='skip' to sync the valid records)",
                    errors=[e for e in sync.result.invalid if e.index == first.index],
                )
            if sync.abort is not None:  # the progress callback failed while reading
                _raise(sync, *sync.abort)
            if mark_stored:
                sync.result.declared = book.declare_input()
                return sync.result
            sync.runner = Runner(sync.handle, concurrency=concurrency)
            await sync.runner.run(sync.batches(), stop)
        finally:
            book.close()
    if sync.runner.handler_error is not None and sync.abort is None:
        cause: BaseException | None = sync.runner.handler_error
        sync.abort = ("unexpected_error", f"the sync stopped: recording a batch failed: {cause!r}")
    else:
        cause = None
    if sync.runner.source_error is not None and sync.abort is None:
        sync.abort = ("input_error", f"planning failed: {sync.runner.source_error}")
    if sync.abort is None and stop is not None and stop.is_set():
        sync.abort = ("interrupted", "the sync was stopped: see the result for what was stored")
    if sync.abort is not None:
        _raise(sync, *sync.abort, cause=cause)
    return sync.result


def _check_resolution(assume_unknown: object, resolve: object) -> None:
    if assume_unknown not in (None, "stored", "not_stored"):
        raise InputError.single(
            "assume_unknown", "must be 'stored' or 'not_stored'", assume_unknown
        )
    if resolve is not None and not (
        isinstance(resolve, Mapping)
        and all(isinstance(k, str) and v in ("stored", "not_stored") for k, v in resolve.items())
    ):
        raise InputError.single(
            "resolve", "must map batch names to 'stored' or 'not_stored'", resolve
        )


def _settle(
    book: SyncState, assume_unknown: Resolution | None, resolve: Mapping[str, Resolution] | None
) -> int:
    """Settle uncertain rows of earlier runs as the caller says they ended (the named batches
    as ``resolve`` says, the rest as ``assume_unknown``); returns how many."""
    settled = 0
    if resolve:
        known = book.uncertain_batches()
        strangers = sorted(set(resolve) - set(known))
        if strangers:
            raise InputError.single(
                "resolve",
                f"no uncertain batch {', '.join(strangers)} in this state (it holds "
                f"{', '.join(known) or 'none'})",
                dict(resolve),
            )
        settled = sum(book.resolve_uncertain(ended, [batch]) for batch, ended in resolve.items())
    if assume_unknown is not None:
        settled += book.resolve_uncertain(assume_unknown)
    return settled


def _raise(
    sync: _Sync,
    reason: UploadStopReason,
    message: str,
    *,
    errors: Sequence[InputErrorDetail] = (),
    cause: BaseException | None = None,
) -> NoReturn:
    sync.result.stopped = reason
    raise SalesSyncError(message, reason=reason, result=sync.result, errors=errors) from cause
