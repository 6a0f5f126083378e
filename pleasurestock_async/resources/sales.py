"""``POST /sales``: one request, an upload of any size, or a sync of an export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, ClassVar, cast

import anyio

from .._http import AttemptHooks, standard
from .._options import RequestOptions
from .._response import raw_response_wrapper
from .._validation import check_sequence
from ..errors import InputError, InputErrorDetail
from ..types.sales import MAX_BATCH, SaleRecord, SalesSubmitResult
from ._base import Resource

if TYPE_CHECKING:  # the upload package loads on first use (codec, SQLite, time zones, workers)
    from ..types.uploads import SalesSyncResult, SalesUploadResult, StateDestination, StateStatus
    from ..uploads.journal import Resolution
    from ..uploads.options import (
        Accept,
        OnInvalid,
        ProgressCallback,
        StockPolicy,
        SyncOptions,
        SyncProgressCallback,
        UploadOptions,
    )
    from ..uploads.sender import SendBatch
    from ..uploads.sync import Lookup
    from ..uploads.upload import SaleInput

__all__ = ["Sales", "SalesWithRawResponse"]

_SUBMIT = standard(
    "POST",
    "/sales",
    body=(
        "sales",
        *(f"sales[].{name}" for name in ("internal_id", "date", "quantity", "stock_on_hand")),
    ),
)


class Sales(Resource):
    """Sales history, the input of smart reordering (standard API).

    The server adds every row to what it has (quantity summed, stock the maximum), across
    requests: sending the same sale twice counts it twice. :meth:`sync` is the safe way to send
    exports that repeat what was sent before; :meth:`upload` streams new sales exactly once.
    """

    async def submit(
        self,
        records: Sequence[SaleRecord | Mapping[str, Any]] | Sequence[object],
        *,
        options: RequestOptions | None = None,
    ) -> SalesSubmitResult:
        """Send at most 1000 records in one ``POST /sales``; every record is validated first.

        Not idempotent: an attempt whose answer was lost is never resent (the error says
        ``outcome_unknown``). Use :meth:`upload` or :meth:`sync` for more records.

        Args:
            records: :class:`SaleRecord` or dicts with ``internal_id`` (``ps_`` id or UUID),
                ``date`` (a date or ``"YYYY-MM-DD"``), ``quantity`` and optional
                ``stock_on_hand`` (ints from 0). A list mixing both (which mypy infers as
                ``list[object]``) is taken as it is: every record is validated.
            options: Per-call settings.

        Returns:
            :class:`SalesSubmitResult` (``processed``: how many records the server stored).

        Raises:
            InputError: A record is invalid (its index and field are named), there are none,
                or more than 1000.
            BadRequestError: The server refused records (``errors`` names them).

        Example::

            await ps.sales.submit([SaleRecord(internal_id="ps_uypjz2vraa",
                                              date="2025-11-03", quantity=15)])
        """
        from ..uploads.codec import encode_sales, validate_rows

        check_sequence("records", records)
        if len(records) > MAX_BATCH:
            raise InputError(
                "sales",
                [
                    InputErrorDetail(
                        None,
                        "records",
                        f"one request carries at most {MAX_BATCH} records; "
                        "use sales.upload() or sales.sync() for more",
                        len(records),
                    )
                ],
            )
        rows, _, bad = validate_rows(records)
        if bad:
            raise InputError("sales", bad)
        if not rows:
            raise InputError.single("records", "is empty", [])
        return await self._http.request(
            _SUBMIT, SalesSubmitResult, body=encode_sales(rows), options=options
        )

    def _sender(self, options: RequestOptions | None) -> SendBatch:
        self._http.check_options(options)  # before anything starts, not inside a worker

        async def send(body: bytes, hooks: AttemptHooks) -> SalesSubmitResult:
            return await self._http.request(
                _SUBMIT, SalesSubmitResult, body=body, hooks=hooks, options=options
            )

        return send

    async def upload(
        self,
        records: Iterable[SaleInput] | AsyncIterable[SaleInput] | Iterable[object],
        *,
        chunk_size: int = MAX_BATCH,
        concurrency: int = 4,
        on_invalid: OnInvalid = "raise",
        progress: ProgressCallback | None = None,
        journal: str | PathLike[str] | None = None,
        job: str | None = None,
        resend_unknown: bool = False,
        resolve: Mapping[int, Resolution] | None = None,
        merge_duplicates: bool = False,
        heal_rejections: bool = True,
        lock_wait: float = 0.0,
        stop: anyio.Event | None = None,
        settings: UploadOptions | None = None,
        options: RequestOptions | None = None,
    ) -> SalesUploadResult:
        """Upload any number of new sales: validated as read, sent in batches of
        ``chunk_size`` by ``concurrency`` tasks; memory stays around ``concurrency *
        chunk_size`` records (failed batches' rows go to a temporary file).

        Every record is sent once per run. For exports that repeat earlier sales (a daily
        cumulative file, a rolling window), use :meth:`sync` instead.

        Args:
            records: A list, iterable or async iterable of :class:`SaleRecord` or dicts
                (mixed too: every record is validated as it is read).
            chunk_size: Records per batch (1 to 1000). A batch is a range of the input, so
                invalid records make it smaller rather than pulling later records in.
            concurrency: Batches in flight at once (1 to 64).
            on_invalid: ``"raise"``: stop before the batch holding an invalid record is sent
                (:class:`SalesUploadError` with ``reason="invalid_record"``); ``"skip"``:
                leave it out and list it in ``result.input_errors``.
            progress: Called with an :class:`UploadProgress` as batches finish.
            journal: An SQLite file that makes reruns exactly-once: what the server stored is
                skipped, what it certainly did not is sent (a fixed line too), what may have
                arrived is held back (``unresolved_batches``). One run at a time per file.
            job: The input's name within the journal (default ``"default"``); one journal
                can hold many jobs (one per daily file, say).
            resend_unknown: Resend every held-back batch (it may double-count).
            resolve: How held-back batches ended, by batch number: ``"stored"`` or
                ``"not_stored"`` (the latter are sent again).
            merge_duplicates: Combine rows of one product and day within a batch as the
                server would (quantity summed, stock the maximum): fewer rows, same totals.
            heal_rejections: When the server refuses a batch for some of its records (400,
                nothing stored), send it again once without them; they are reported in
                ``result.refused``.
            lock_wait: Seconds to wait for another run holding the journal (default: refuse
                at once with :class:`StateLockedError`).
            stop: Set this event to stop cleanly: no new batch; requests in flight get up to
                30 s for their answer; then :class:`SalesUploadError` (``reason=
                "interrupted"``) carries the result.
            settings: All of the above in one :class:`UploadOptions` (built once, e.g. by a
                command line); then pass none of them separately.
            options: Per-call settings for each request.

        Returns:
            :class:`SalesUploadResult`: every record read, accounted for once.

        Raises:
            InputError: An argument is invalid (nothing was sent).
            SalesUploadError: The upload stopped early; ``.result`` says what was stored.
            StateLockedError: Another run holds the journal.

        Example::

            result = await ps.sales.upload(read_sales_csv("sales.csv"), journal="sales.db",
                                           job="sales-2025-11-03")
        """
        given = dict(locals())  # the keyword settings, by their UploadOptions names
        from ..uploads.options import UploadOptions, settings_from
        from ..uploads.upload import upload_sales

        chosen = settings_from(UploadOptions, settings, given)
        records = cast("Iterable[SaleInput] | AsyncIterable[SaleInput]", records)  # checked as read
        return await upload_sales(self._sender(options), records, chosen)

    async def sync(
        self,
        records: Iterable[SaleInput] | AsyncIterable[SaleInput] | Iterable[object],
        *,
        state: str | PathLike[str] | None = None,
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
        dry_run: bool = False,
        accept: Accept | None = None,
        retry_refused: bool = False,
        settings: SyncOptions | None = None,
        options: RequestOptions | None = None,
    ) -> SalesSyncResult:
        """Make the platform hold exactly the export's totals, sending only the difference.

        ``records`` say what the totals ARE per product and day (rows of one product and day,
        one per warehouse say, are combined as the server does: quantity summed, stock the
        maximum). ``state`` remembers what the server acknowledged. So the same export twice
        sends nothing; yesterday's plus today's, or a rolling 7-day export every 3 hours,
        leaves the server with the latest export's totals. What ``POST /sales`` cannot express
        (a quantity that went down, a closed day's stock below what is stored) is reported in
        ``result.discrepancies``, never sent as something else.

        A state is bound to where it was first used (this client's base URL and a hash of its
        key): another destination raises :class:`StateDestinationError` before anything is
        sent (see :meth:`rebind_state`). Products named by UUID are looked up once (their
        ``ps_`` ids are kept in the state), so one product is counted once whichever form the
        export uses. Ids the server refuses as unknown are held in the state's quarantine and
        not resent, until a week after their last refusal or ``retry_refused``.

        Args:
            records: A list, iterable or async iterable of :class:`SaleRecord` or dicts: one
                export (pass the files that together make it, e.g. one per warehouse).
            state: Where what the server acknowledged is kept: an SQLite file (created only
                where no file exists, atomically; an existing file is used only if it is a
                whole sync state of this SDK; 0.2 states are upgraded in place), or a
                ``postgresql://user@host/db?state=NAME`` URL (the ``postgres`` extra: many
                named states in one database, for containers and fleets; its password is
                never shown). One run at a time per state.
            today: The current day, a ``datetime.date`` (default: now in ``timezone``).
            timezone: Where days close: a zone name like ``"Europe/Istanbul"`` or a
                ``tzinfo`` (default: this machine's).
            stock: ``"closed"``: send a day's stock once the day is over (the default; a
                morning's stock would hide the afternoon's stock-out, as the server keeps the
                day's maximum); ``"always"``: whenever it rises.
            assume_unknown: How every row sent earlier whose answer was lost ended (they are
                held back until told): ``"stored"`` or ``"not_stored"`` (then sent again).
            resolve: How each named uncertain batch ended, e.g. ``{"r3b0": "stored"}``
                (the names in ``result.uncertain_batches``); wins over ``assume_unknown``.
            mark_stored: Declare the export as already on the server (data sent before the
                state existed); nothing is sent.
            on_invalid: ``"raise"`` (nothing is sent if any record is invalid) or ``"skip"``.
            concurrency: Batches in flight at once.
            heal_rejections: Resend a refused batch once without the records the server named.
            progress: Called with a :class:`SyncProgress` while reading and sending.
            lock_wait: Seconds (finite, from 0) to wait for another run holding the state.
            stop: Set this event to stop cleanly, even while the input is read (see
                :meth:`upload`).
            dry_run: Read and plan everything against the state, send nothing and change
                nothing (the state is opened read-only): ``result.to_send`` rows in
                ``result.batches`` requests would go.
            accept: Acknowledge discrepancies: ``"all"`` this run finds, or these
                ``(product id, day)`` pairs. An acknowledged one is reported as such and
                is no longer news (``result.needs_attention``) until it changes.
            retry_refused: Send the rows of quarantined ids now, before their retry day.
            settings: All of the above in one :class:`SyncOptions` (built once, e.g. by a
                command line); then pass none of them separately.
            options: Per-call settings for each request.

        Returns:
            :class:`SalesSyncResult`.

        Raises:
            InputError: An argument is invalid; :class:`StateFileError` (an ``InputError``)
                when the state cannot be used as one (a damaged file, an unreachable
                database, a refused login, a newer schema). Nothing was sent.
            StateDestinationError: The state is bound to another destination.
            SalesSyncError: The sync stopped early; ``.result`` says what was stored.
            StateLockedError: Another run holds the state file.

        Example::

            result = await ps.sales.sync(read_sales_csv("export.csv"), state="sales-state.db")
        """
        given = dict(locals())  # the keyword settings, by their SyncOptions names
        from ..uploads.options import SyncOptions, settings_from
        from ..uploads.store import destination_of
        from ..uploads.sync import sync_sales

        settings = settings_from(SyncOptions, settings, given)
        return await sync_sales(
            self._sender(options),
            records,
            settings,
            destination=destination_of(self._http.base_url, self._http.api_key),
            lookup=self._lookup(options),
        )

    def _lookup(self, options: RequestOptions | None) -> Lookup:
        """Product UUIDs -> ``ps_`` ids with the batch query (``products.get_many``)."""
        from .products import Products

        products = Products(self._http)

        async def lookup(uuids: list[str]) -> tuple[dict[str, str], list[str]]:
            batch = await products.get_many(uuids, with_images=False, options=options)
            found = {p.id.lower(): p.internal_id for p in batch.products if isinstance(p.id, str)}
            return found, [u for u in batch.missing if u.lower() not in found]

        return lookup

    async def rebind_state(
        self, state: str | PathLike[str], *, lock_wait: float = 0.0
    ) -> tuple[StateDestination | None, StateDestination]:
        """Move a sync state to this client's destination, on purpose: its records are kept.

        Do this only when the new destination holds the same data as the old (a new key, or a
        new address, of the same account): a state records what its server holds, so used
        against another account it would skip everything that one never received. For
        another account or server, start a new state file.

        Returns:
            The destination it was bound to (None: none yet) and the one it is bound to now.

        Raises:
            StateFileError: There is no state there, or the file cannot be used as one
                (nothing was changed).
            StateLockedError: A run holds it.

        Example::

            old, new = await ps.sales.rebind_state("sales-state.db")
        """
        from ..uploads.lock import check_wait
        from ..uploads.store import destination_of, open_state

        current = destination_of(self._http.base_url, self._http.api_key)
        wait = check_wait(lock_wait)
        async with open_state(state, wait=wait, must_exist=True) as store:
            old = await store.destination()
            await store.bind(current)
            new = await store.destination()
        assert new is not None
        return old, new

    async def state_status(self, state: str | PathLike[str]) -> StateStatus:
        """What a sync state holds: destination, latest runs, days acknowledged, batches in
        doubt, discrepancies (new or acknowledged) and quarantined ids. Read-only: it works
        while a run holds the state, and changes nothing.

        Raises:
            StateFileError: The file cannot be used as a state.

        Example::

            status = await ps.sales.state_status("sales-state.db")
        """
        from ..uploads.store import read_status

        return await read_status(state)


class SalesWithRawResponse:
    """:class:`Sales` methods returning an :class:`APIResponse` around their result (only the
    one-request method: an upload or sync makes many requests, the state methods none)."""

    MANY_REQUESTS: ClassVar[frozenset[str]] = frozenset({"upload", "sync"})
    """Methods left out: each makes many requests, so no one answer is theirs."""

    NO_REQUESTS: ClassVar[frozenset[str]] = frozenset({"rebind_state", "state_status"})
    """Methods left out: they read or change a local state file and send nothing (so they
    take no request ``options`` either)."""

    def __init__(self, sales: Sales) -> None:
        self.submit = raw_response_wrapper(sales.submit)
