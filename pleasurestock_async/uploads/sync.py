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

A state is bound to the destination it was first used with (base URL and a hash of the key):
any other is refused before anything is sent. A product named by its UUID is looked up once
(``GET /products?ids=``) and counted under its ``ps_`` id, so both forms never count twice.
Ids the server refuses as unknown go into the state's quarantine: held, not resent, until
their retry day or ``retry_refused``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, replace
from typing import Any, Literal, NoReturn, cast

import anyio
import anyio.lowlevel

from ..errors import (
    AuthenticationError,
    InputError,
    InputErrorDetail,
    PermissionDeniedError,
    PleasureStockError,
    SalesSyncError,
    StateDestinationError,
    UploadStopReason,
)
from ..types.sales import SaleRow
from ..types.shared import RecordError, is_uuid
from ..types.uploads import (
    BatchOutcome,
    Discrepancy,
    FailedBatch,
    SalesSyncResult,
    ServerRecordError,
    StateDestination,
    SyncDay,
    SyncProgress,
)
from ._rows import InputRow, Noted, PendingRow, PlanRow
from .batcher import PartialInputError, chunked
from .codec import MAX_BATCH, validate_rows
from .journal import Resolution
from .options import StockPolicy, SyncOptions, SyncProgressCallback
from .runner import Flight, Runner
from .sender import BatchHooks, Outcome, SendBatch, Sender, StopSendingError
from .spill import Spill
from .store import StateStore, open_state, quarantined_id
from .upload import check_records

__all__ = ["Lookup", "StockPolicy", "SyncProgressCallback", "settle", "sync_sales"]

Lookup = Callable[[list[str]], Awaitable[tuple[dict[str, str], list[str]]]]
"""Resolves lower-case product UUIDs: their ``ps_`` ids, and the UUIDs the server does not know."""

_UNKNOWN_UUID = "not found by GET /products (an id the catalogue does not know)"
_SLICE = 250
"""Rows planned between two turns of the event loop (about half a millisecond of work)."""


def _seen(plan: PlanRow) -> SyncDay:
    product, day, quantity, stock, first, stored_q, stored_s, _, batch, _ = plan
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


def _product(internal_id: str) -> str:
    """The state's key of a product as given: UUIDs in lower case (the API accepts any case)."""
    return internal_id.lower() if is_uuid(internal_id) else internal_id


def _input_rows(
    rows: Sequence[SaleRow], positions: Sequence[int], first: int
) -> tuple[list[InputRow], set[str]]:
    """The input rows of a chunk, and the UUIDs they name (lower case)."""
    out: list[InputRow] = []
    uuids: set[str] = set()
    for row, pos in zip(rows, positions, strict=True):
        product = row["internal_id"]
        if is_uuid(product):  # looked up; any other form (ps_, pl_, ...) is sent as given
            product = product.lower()
            uuids.add(product)
        day = row["date"]
        out.append(
            (
                product,
                day if isinstance(day, str) else day.isoformat(),
                row["quantity"],
                row.get("stock_on_hand"),
                first + pos,
            )
        )
    return out, uuids


def _refuses_id(error: RecordError, product: str) -> bool:
    """Whether a per-record refusal is about the product id itself (an id the server does not
    know): it names the id as what it received, or says the product was not found."""
    received = error.received
    if isinstance(received, str) and _product(received) == product:
        return True
    text = error.error.lower()
    return "not found" in text or "unknown product" in text


class _StoppedError(Exception):
    """The stop event was set while the input was being read."""


class _Sync:
    def __init__(
        self,
        store: StateStore,
        sender: Sender,
        options: SyncOptions,
        *,
        today: str,
        run: int,
        lookup: Lookup | None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.options = options
        self.today = today
        self.run = run
        self.lookup = lookup
        self.stock: StockPolicy = options.stock
        self.progress: SyncProgressCallback | None = options.progress
        self.result = SalesSyncResult(dry_run=options.dry_run)
        self.runner: Runner[_Batch] = Runner(self.handle, concurrency=1)
        self.spill = Spill()
        self.failed = 0
        self.abort: tuple[UploadStopReason, str] | None = None
        self.quarantined: dict[str, Any] = {}  # product -> its quarantine entry
        self.held: Counter[str] = Counter()  # rows held per quarantined product
        self.refused: set[str] = set()  # products refused as unknown by this run
        self.noted: list[tuple[Literal["quantity", "stock"], PlanRow]] = []
        self._ids: dict[str, str | None] = {}  # UUID -> ps_ id (None: held, unknown)
        self._done = 0

    # -- reading the input ---------------------------------------------------------------------

    async def read(self, records: Iterable[Any] | AsyncIterable[Any]) -> None:
        await self.store.begin_input()
        stop = self.options.stop
        async with contextlib.aclosing(chunked(records, MAX_BATCH)) as chunks:
            async for chunk in chunks:
                if stop is not None and stop.is_set():
                    raise _StoppedError
                first = self.result.read
                rows, positions, bad = validate_rows(chunk, first)
                if bad:
                    self.result.input_errors.extend(bad)
                    self.result.invalid_records += len({e.index for e in bad})
                inputs, uuids = _input_rows(rows, positions, first)
                if uuids:
                    ids = await self._ps_ids(uuids)
                    inputs = [(ids.get(p) or p, d, q, s, i) for p, d, q, s, i in inputs]
                await self.store.add_input(inputs)
                self.result.read += len(chunk)
                self._report("reading")
        self.result.product_days = await self.store.input_days()

    async def _ps_ids(self, uuids: set[str]) -> dict[str, str | None]:
        """The ``ps_`` ids of these UUIDs: from this run's memory, then the state, then the
        server (only for those never looked up, or held in quarantine and due again)."""
        unknown = [u for u in uuids if u not in self._ids]
        if unknown:
            known = await self.store.product_ids(unknown)
            self._ids.update(known)
            ask = []
            for uuid in unknown:
                if uuid in known:
                    continue
                if uuid in self.quarantined and not self._due(uuid):
                    self._ids[uuid] = None  # held: its rows wait in quarantine
                elif self.lookup is None:
                    self._ids[uuid] = None  # a dry run asks nothing: counted as is
                else:
                    ask.append(uuid)
            if ask:
                await self._look_up(ask)
        return {u: self._ids.get(u) for u in uuids}

    async def _look_up(self, uuids: list[str]) -> None:
        assert self.lookup is not None
        found, missing = await self.lookup(uuids)
        found = {u.lower(): p for u, p in found.items()}
        self.result.looked_up += len(found)
        if found:
            await self.store.remember_ids(found)
            back = [u for u in found if u in self.quarantined]
            if back:
                await self.store.release(back)
                for uuid in back:
                    self.quarantined.pop(uuid, None)
        self._ids.update(found)
        gone = {u.lower(): _UNKNOWN_UUID for u in missing}
        if gone:
            await self.store.quarantine(gone, self.today, self.run)
            self.refused.update(gone)
            await self._load_quarantine()
        for uuid in gone:
            self._ids[uuid] = None

    def _due(self, product: str) -> bool:
        """Whether a quarantined product is tried again by this run."""
        entry = self.quarantined[product]
        return bool(self.options.retry_refused or entry[4] <= self.today)

    async def _load_quarantine(self) -> None:
        self.quarantined = {entry[0]: entry for entry in await self.store.quarantined()}

    async def merge_legacy_keys(self) -> None:
        """A 0.2 state keyed rows by UUID: look those up once and merge them into ``ps_`` ids."""
        keys = await self.store.legacy_keys()
        if not keys or self.lookup is None:
            return
        found, _ = await self.lookup(keys)
        if found:
            await self.store.remember_ids({u.lower(): p for u, p in found.items()})
            self.result.looked_up += len(found)
        await self.store.merge_keys(done=True)

    # -- planning ------------------------------------------------------------------------------

    def _item(self, plan: PlanRow) -> _Item | None:
        """What to send for one product and day (None: nothing), recording the rest."""
        product, day, quantity, stock, _, stored_q, stored_s, pending, _, held = plan
        result = self.result
        if pending is not None:
            result.uncertain.append(_seen(plan))
            return None
        closed = day < self.today
        stock_now = stock is not None and (self.stock == "always" or closed)
        delta = quantity - (stored_q or 0)
        if stored_q is not None and delta < 0:
            self.noted.append(("quantity", plan))
            delta = 0
        quiet = stored_q is None or delta > 0 or quantity == stored_q
        send_stock: int | None = None
        if stock is not None:
            higher = stored_s is None or stock > stored_s
            if stock_now and higher:
                send_stock = stock
            elif stock_now and stock < (stored_s or 0):
                self.noted.append(("stock", plan))
                quiet = False
            elif not stock_now and higher:
                result.deferred_stock += 1
                quiet = False
        if stored_q is not None and delta == 0 and send_stock is None:
            result.unchanged += quiet
            return None
        if held:
            self.held[product] += 1
            result.quarantined += 1
            return None
        row: SaleRow = {"internal_id": product, "date": day, "quantity": delta}
        if send_stock is not None:
            row["stock_on_hand"] = send_stock
        return _Item(plan, row, (product, day, delta, send_stock))

    async def batches(self) -> AsyncGenerator[_Batch, None]:
        items: list[_Item] = []
        seq = 0
        result = self.result
        plans = self.store.plan(
            MAX_BATCH,
            today=self.today,
            stock_always=self.stock == "always",
            retry=self.options.retry_refused,
        )
        async with contextlib.aclosing(plans):
            async for quiet, chunk in plans:
                result.unchanged += quiet  # rows with nothing to do, told apart in SQL
                for n, plan in enumerate(chunk, 1):
                    if not n % _SLICE:  # let the event loop run between slices of a page
                        await anyio.lowlevel.checkpoint()
                    item = self._item(plan)
                    if item is None:
                        continue
                    items.append(item)
                    if len(items) == MAX_BATCH:
                        yield _Batch(seq, f"r{self.run}b{seq}", items)
                        seq, items = seq + 1, []
        if items:
            yield _Batch(seq, f"r{self.run}b{seq}", items)

    async def plan_only(self) -> None:
        """A dry run: plan every batch, send none."""
        async with contextlib.aclosing(self.batches()) as batches:
            async for batch in batches:
                self.result.batches += 1
                self.result.to_send += len(batch.items)

    async def note(self) -> None:
        """Record the discrepancies found and which are acknowledged."""
        if not self.noted:
            return
        found: list[Noted] = [
            (plan[1], plan[0], kind, plan[2], plan[3], plan[5], plan[6], plan[4])
            for kind, plan in self.noted
        ]
        accept = cast("Literal['all'] | frozenset[tuple[str, str]] | None", self.options.accept)
        flags = await self.store.note_discrepancies(found, self.run, accept)
        self.result.discrepancies = [
            Discrepancy(kind, _seen(plan), flag)
            for (kind, plan), flag in zip(self.noted, flags, strict=True)
        ]

    async def report_quarantine(self) -> None:
        """The ids in quarantine this run met: refused now, or holding rows back."""
        involved = set(self.held) | self.refused
        if not involved:
            return
        await self._load_quarantine()
        self.result.quarantine = [
            quarantined_id(entry, new=entry[5] == self.run, rows=self.held.get(product, 0))
            for product, entry in sorted(self.quarantined.items())
            if product in involved
        ]

    # -- sending -------------------------------------------------------------------------------

    async def handle(self, batch: _Batch, flight: Flight) -> None:
        # Rows are recorded when their request is about to leave (``sending``); until then
        # they are not in the state at all, which is what ``planned`` rows come to anyway
        # (dropped at the next start). Recording is shielded: once an answer is in, it is
        # written whatever else happens.
        pending = [item.pending for item in batch.items]
        hooks = _Hooks(self, pending, batch.name, flight)
        try:
            outcome = await self.sender.send([item.row for item in batch.items], hooks)
        except StopSendingError:
            with anyio.CancelScope(shield=True):
                await self.store.forget(pending)
            return
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cut_off(batch, hooks)
            raise
        with anyio.CancelScope(shield=True):
            await self._apply(batch, outcome)

    async def _cut_off(self, batch: _Batch, hooks: _Hooks) -> None:
        """The grace ran out: what was in flight may be stored; what was not, was not sent."""
        inflight = [batch.items[r] for r in sorted(hooks.in_flight)]
        await self.store.mark(
            [i.pending for i in inflight], "unknown", batch.name, "stopped while in flight"
        )
        waiting = [item.pending for r, item in enumerate(batch.items) if r not in hooks.in_flight]
        await self.store.forget(waiting)
        self.result.uncertain.extend(replace(i.day, batch=batch.name) for i in inflight)
        if inflight:
            self._fail(batch.seq, inflight, "unknown", "stopped while in flight", None, b"")

    async def _apply(self, batch: _Batch, outcome: Outcome) -> None:
        items = batch.items
        result = self.result
        result.batches += outcome.requests
        result.sent += len(items)
        stored = [items[r] for r in outcome.stored]
        whole = batch.name if len(stored) == len(items) else None
        await self.store.acknowledge([i.pending for i in stored], whole)
        result.stored += len(stored)
        back = {i.pending[0] for i in stored if i.pending[0] in self.quarantined}
        if back:  # retried after its quarantine, and taken
            await self.store.release(back)
            for product in back:
                self.quarantined.pop(product, None)
        refused = {r for r, _ in outcome.refused}
        await self.store.forget([items[r].pending for r in refused])
        unknown_ids: dict[str, str] = {}
        for r, error in outcome.refused:
            day = items[r].day
            result.refused.append(
                ServerRecordError(day.index, error.error, error.expected, error.received, day)
            )
            if _refuses_id(error, day.internal_id):
                unknown_ids[day.internal_id] = error.error
        if unknown_ids:
            await self.store.quarantine(unknown_ids, self.today, self.run)
            self.refused.update(unknown_ids)
        done = refused | set(outcome.stored)
        left = [item for r, item in enumerate(items) if r not in done]
        self.failed += len(refused)
        if left:
            message = str(outcome.error) if outcome.error is not None else outcome.kind
            if outcome.kind == "unknown":
                await self.store.mark([i.pending for i in left], "unknown", batch.name, message)
                result.uncertain.extend(replace(i.day, batch=batch.name) for i in left)
                fate: BatchOutcome = "unknown"
            else:
                await self.store.forget([i.pending for i in left])
                fate = "rejected_by_server" if outcome.kind == "rejected" else "not_sent"
            self._fail(batch.seq, left, fate, message, outcome.status_code, outcome.body)
        if outcome.kind == "auth":
            self.stop("authentication", f"sync stopped: {outcome.error}")
        self._report("sending", batch_done=True)

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

    def _report(self, phase: Literal["reading", "sending"], *, batch_done: bool = False) -> None:
        self._done += batch_done
        if self.progress is None:
            return
        try:
            self.progress(
                SyncProgress(
                    phase,
                    self.result.read,
                    self.result.invalid_records,
                    self.result.to_send,
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

    async def before_send(self, rows: Sequence[int]) -> None:
        if self._sync.runner.stopping:
            raise StopSendingError
        await self._sync.store.mark([self._pending[r] for r in rows], "sending", self._batch)
        if self._sync.runner.stopping:
            raise StopSendingError  # told to stop while it was written: it never leaves
        self.in_flight.update(rows)
        self._flight.sent = True

    async def not_stored(self, rows: Sequence[int]) -> None:
        with anyio.CancelScope(shield=True):
            await self._sync.store.mark([self._pending[r] for r in rows], "planned", self._batch)
        self.in_flight.difference_update(rows)
        self._flight.sent = False


async def sync_sales(
    send: SendBatch,
    records: Iterable[Any] | AsyncIterable[Any],
    options: SyncOptions,
    *,
    destination: StateDestination,
    lookup: Lookup | None = None,
) -> SalesSyncResult:
    """Sync ``records`` through ``send`` as ``options`` say, for ``destination`` (the client's
    base URL and key); ``lookup`` resolves product UUIDs. See :meth:`Sales.sync`."""
    check_records(records)
    today = options.day().isoformat()
    dry = options.dry_run
    async with open_state(options.state, read_only=dry, wait=options.lock_wait) as store:
        bound = await store.destination()
        if bound is not None and not bound.same_as(destination):
            raise StateDestinationError(store.name, bound=bound, current=destination)
        resolved = 0
        if dry:
            run = await store.next_run()
        else:
            await store.drop_planned()
            resolved = await settle(store, options.assume_unknown, options.resolve)
            if bound is None:  # its first run (a state of 0.2 too): bound from now on
                await store.bind(destination)
            run = await store.begin_run(today)
        sync = _Sync(
            store,
            Sender(send, heal=options.heal_rejections),
            options,
            today=today,
            run=run,
            lookup=None if dry else lookup,
        )
        sync.result.resolved = resolved
        try:
            await _run(sync, records)
        finally:
            if not dry:
                with anyio.CancelScope(shield=True):
                    await _record(sync)
    return sync.result


async def _run(sync: _Sync, records: Iterable[Any] | AsyncIterable[Any]) -> None:
    store, options, result = sync.store, sync.options, sync.result
    await sync._load_quarantine()
    try:
        await sync.merge_legacy_keys()
        await sync.read(records)
    except anyio.get_cancelled_exc_class():
        raise
    except _StoppedError:
        _raise(
            sync, "interrupted", "the sync was stopped while reading its input (nothing was sent)"
        )
    except PartialInputError as partial:
        result.read += partial.consumed
        _raise(
            sync,
            "input_error",
            f"reading the input failed after {result.read} records (nothing was sent): "
            f"{partial.__cause__}",
            cause=partial.__cause__,
        )
    except (AuthenticationError, PermissionDeniedError) as exc:
        _raise(sync, "authentication", f"looking up product ids failed: {exc}", cause=exc)
    except PleasureStockError as exc:
        if isinstance(exc, SalesSyncError):
            raise
        _raise(
            sync,
            "unexpected_error",
            f"looking up product UUIDs failed (nothing was sent): {exc}",
            cause=exc,
        )
    except Exception as exc:
        _raise(
            sync,
            "input_error",
            f"reading the input failed after {result.read} records (nothing was sent): {exc}",
            cause=exc,
        )
    if result.input_errors and options.on_invalid == "raise":
        first = result.input_errors[0]
        _raise(
            sync,
            "invalid_record",
            f"invalid sale record at index {first.index}: {first} (nothing was sent; "
            "fix it, or pass on_invalid='skip' to sync the valid records)",
            errors=[e for e in result.input_errors if e.index == first.index],
        )
    if sync.abort is not None:  # the progress callback failed while reading
        _raise(sync, *sync.abort)
    if options.mark_stored:
        result.declared = await store.declare_input()
        return
    needs, to_send, _held = await store.counts(
        today=sync.today,
        stock_always=sync.stock == "always",
        retry=options.retry_refused,
    )
    if not needs:  # nothing to send, report or wait for: no plan to walk
        result.unchanged = result.product_days
    elif options.dry_run:
        await sync.plan_only()
    else:
        result.to_send = to_send
        sync._report("sending")
        sync.runner = Runner(sync.handle, concurrency=options.concurrency)
        await sync.runner.run(sync.batches(), options.stop)
    await sync.note()
    await sync.report_quarantine()
    _finish(sync)


def _finish(sync: _Sync) -> None:
    runner, stop = sync.runner, sync.options.stop
    cause: BaseException | None = None
    if runner.handler_error is not None and sync.abort is None:
        cause = runner.handler_error
        sync.abort = ("unexpected_error", f"the sync stopped: recording a batch failed: {cause!r}")
    if runner.source_error is not None and sync.abort is None:
        sync.abort = ("input_error", f"planning failed: {runner.source_error}")
    if sync.abort is None and stop is not None and stop.is_set() and not sync.options.dry_run:
        sync.abort = ("interrupted", "the sync was stopped: see the result for what was stored")
    if sync.abort is not None:
        _raise(sync, *sync.abort, cause=cause)


async def _record(sync: _Sync) -> None:
    """Record how the run ended (in the state's list of runs)."""
    result = sync.result
    outcome = (
        f"stopped:{result.stopped}"
        if result.stopped
        else "attention"
        if result.needs_attention
        else "done"
    )
    await sync.store.end_run(sync.run, result.read, result.sent, result.stored, outcome)


async def settle(
    store: StateStore,
    assume_unknown: Resolution | None = None,
    resolve: Mapping[str, Resolution] | None = None,
) -> int:
    """Settle uncertain rows of earlier runs as the caller says they ended (the named batches
    as ``resolve`` says, the rest as ``assume_unknown``); returns how many."""
    settled = 0
    if resolve:
        known = await store.uncertain_batches()
        strangers = sorted(set(resolve) - set(known))
        if strangers:
            raise InputError.single(
                "resolve",
                f"no uncertain batch {', '.join(strangers)} in this state (it holds "
                f"{', '.join(known) or 'none'})",
                dict(resolve),
            )
        for batch, ended in resolve.items():
            settled += await store.resolve_uncertain(ended, [batch])
    if assume_unknown is not None:
        settled += await store.resolve_uncertain(assume_unknown)
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
