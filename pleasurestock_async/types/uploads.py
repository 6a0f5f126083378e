"""What a sales upload (``sales.upload``) and a sales sync (``sales.sync``) report.

Both results share one vocabulary (:class:`SalesJobResult`): ``read``, ``stored``,
``batches``, ``invalid_records`` and ``input_errors``, ``refused``, ``failed_batches`` and
``stopped`` mean the same in each, counted in the job's unit (input records for an upload,
rows of differences for a sync).

Every record an upload reads is accounted for exactly once: stored now, stored by an earlier
run, invalid, refused by the server, in a failed batch, unresolved (may already be stored), or
not sent because the run stopped. Failed batches keep their input range and errors in memory
and their rows on disk, so memory stays bounded however many batches fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from typing_extensions import deprecated

from .._deprecated import renamed_arguments
from ..errors import InputErrorDetail, UploadStopReason
from .sales import SaleRow

__all__ = [
    "BatchOutcome",
    "Discrepancy",
    "FailedBatch",
    "HeldBatch",
    "QuarantinedId",
    "SalesJobResult",
    "SalesSyncResult",
    "SalesUploadResult",
    "ServerRecordError",
    "StateDestination",
    "StateStatus",
    "SyncDay",
    "SyncProgress",
    "SyncRun",
    "UnresolvedBatch",
    "UploadProgress",
]

BatchOutcome = Literal["not_sent", "rejected_by_server", "unknown"]
"""Why a batch is not stored: ``not_sent`` (certainly not stored: safe to send again),
``rejected_by_server`` (a 400: nothing stored; see its record errors), ``unknown`` (a timeout,
5xx or unreadable answer after sending: the server may have stored it, so a resend could
double-count)."""


@dataclass(frozen=True, slots=True)
class ServerRecordError:
    """A record the server refused (a 400 naming it), mapped back to the caller's input."""

    index: int
    """The record's position in the input (a sync: the first record of its product and day)."""
    error: str
    """The server's reason."""
    expected: str | None
    """What the server expected instead, when it said."""
    received: Any
    """The value the server named, as it sent it back."""
    day: SyncDay | None = None
    """A sync's product and day that the refused row carried (None for an upload)."""


@dataclass(frozen=True, slots=True)
class FailedBatch:
    """A batch the server did not acknowledge. :meth:`rows` reads the rows it sent back from
    disk."""

    seq: int
    """The batch's number in its run, from 0."""
    first_index: int
    """The input position of its first record."""
    last_index: int
    """The input position of its last record."""
    size: int
    """How many records (a sync: rows) it carried."""
    outcome: BatchOutcome
    """Whether it may be stored: see :data:`BatchOutcome`."""
    error: str
    """What happened, as a message."""
    status_code: int | None = None
    """The server's status, when it answered."""
    record_errors: tuple[ServerRecordError, ...] = ()
    """The records a 400 named."""
    _load: Callable[[], list[SaleRow]] | None = field(default=None, repr=False, compare=False)

    def rows(self) -> list[SaleRow]:
        """The rows this batch sent (or would have sent), read back from the upload's spill
        file; empty when none were kept."""
        return [] if self._load is None else self._load()

    @property
    @deprecated("FailedBatch.records is deprecated and goes in 0.4: use FailedBatch.size")
    def records(self) -> int:
        """Deprecated (goes in 0.4): :attr:`size`."""
        return self.size


@dataclass(frozen=True, slots=True)
class UnresolvedBatch:
    """A batch a journal recorded as possibly stored (sent, answer lost): not resent.

    Resolve it with ``resolve={seq: "stored" | "not_stored"}`` (``--resolve SEQ=stored`` on the
    command line) once you know, or resend all of them with ``resend_unknown=True``.
    """

    job: str
    """The journal job it belongs to."""
    seq: int
    """The batch's number within the job (what ``resolve=`` names)."""
    first_index: int
    """The input position of its first record that may be stored."""
    last_index: int
    """The input position of its last record that may be stored."""
    size: int
    """How many of its records may be stored."""
    state: Literal["sending", "unknown"]
    """``sending``: a run was stopped while it was out; ``unknown``: its answer was lost."""
    error: str | None
    """What happened to it, when known."""

    @property
    @deprecated("UnresolvedBatch.records is deprecated and goes in 0.4: use UnresolvedBatch.size")
    def records(self) -> int:
        """Deprecated (goes in 0.4): :attr:`size`."""
        return self.size


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Counts so far of an upload, for a progress bar."""

    read: int
    """Records read from the input."""
    accepted: int
    """Records stored, by this run or an earlier run of the journal's job."""
    failed: int
    """Records in failed batches."""
    invalid: int
    """Records left out before sending because they failed validation."""
    batches_done: int
    """Batches finished."""


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Counts so far of a sync: ``stored + failed`` against ``to_send`` is how far it is."""

    phase: Literal["reading", "sending"]
    """It first reads the input, then sends the differences."""
    read: int
    """Records read from the input."""
    invalid: int
    """Records that failed validation."""
    to_send: int
    """Rows of differences to send (all of them, counted before the first request leaves)."""
    stored: int
    """Rows acknowledged by the server."""
    failed: int
    """Rows refused or in failed batches."""
    batches_done: int
    """Batches finished."""


@dataclass(slots=True)
class SalesJobResult:
    """What an upload and a sync both report, under the same names and types: counts are of
    input records for an upload, of rows of differences (one per product and day) for a
    sync."""

    read: int = 0
    """Records read from the input."""
    stored: int = 0
    """Stored by the server in this run (records; a sync: rows)."""
    batches: int = 0
    """Requests sent (a batch sent again without its refused records counts twice)."""
    invalid_records: int = 0
    """Records that failed validation: never sent."""
    input_errors: list[InputErrorDetail] = field(default_factory=list)
    """Each bad field of those records, with its input index."""
    refused: list[ServerRecordError] = field(default_factory=list)
    """Records (a sync: rows) the server refused, left out of their batch's resend."""
    failed_batches: list[FailedBatch] = field(default_factory=list)
    """Batches the server did not acknowledge."""
    stopped: UploadStopReason | None = None
    """Why the run stopped early (None: it ran to its end)."""


def _rejected_pairs(pairs: Iterable[tuple[SyncDay, ServerRecordError]]) -> list[ServerRecordError]:
    """0.2's ``(day, error)`` pairs of ``SalesSyncResult.server_rejected`` as ``refused``."""
    return [replace(error, day=day) for day, error in pairs]


@renamed_arguments(
    {
        "accepted": ("stored", None),
        "invalid": ("invalid_records", None),
        "rejected": ("input_errors", None),
        "server_rejected": ("refused", None),
    }
)
@dataclass(slots=True)
class SalesUploadResult(SalesJobResult):
    """Exactly what an upload did, in input records: every record read is in one of
    ``stored``, ``already_stored``, ``invalid_records``, ``refused``, ``failed_records``,
    ``unresolved_records`` and ``not_sent`` (:meth:`accounted`)."""

    processed: int = 0
    """The sum of the server's ``processed`` counts."""
    already_stored: int = 0
    """Records stored by earlier runs of the same journal job."""
    skipped_batches: int = 0
    """Whole batches earlier runs had stored (not sent again)."""
    failed_records: int = 0
    """Records in :attr:`failed_batches`."""
    unresolved_batches: list[UnresolvedBatch] = field(default_factory=list)
    """Batches that may be stored (an earlier answer was lost): held back until resolved."""
    unresolved_records: int = 0
    """Records in :attr:`unresolved_batches`."""
    not_sent: int = 0
    """Records never sent because the upload stopped."""

    @property
    def ok(self) -> bool:
        """True when every record read is certainly stored (now or by an earlier run)."""
        return self.read == self.stored + self.already_stored

    def accounted(self) -> int:
        """The records this result places somewhere (equal to ``read`` once it finished)."""
        return (
            self.stored
            + self.already_stored
            + self.invalid_records
            + len(self.refused)
            + self.failed_records
            + self.unresolved_records
            + self.not_sent
        )

    @property
    @deprecated(
        "SalesUploadResult.accepted is deprecated and goes in 0.4: use SalesUploadResult.stored"
    )
    def accepted(self) -> int:
        """Deprecated (goes in 0.4): :attr:`stored`."""
        return self.stored

    @property
    @deprecated(
        "SalesUploadResult.invalid is deprecated and goes in 0.4: use "
        "SalesUploadResult.invalid_records"
    )
    def invalid(self) -> int:
        """Deprecated (goes in 0.4): :attr:`invalid_records`."""
        return self.invalid_records

    @property
    @deprecated(
        "SalesUploadResult.rejected is deprecated and goes in 0.4: use "
        "SalesUploadResult.input_errors"
    )
    def rejected(self) -> list[InputErrorDetail]:
        """Deprecated (goes in 0.4): :attr:`input_errors`."""
        return self.input_errors

    @property
    @deprecated(
        "SalesUploadResult.server_rejected is deprecated and goes in 0.4: use "
        "SalesUploadResult.refused"
    )
    def server_rejected(self) -> list[ServerRecordError]:
        """Deprecated (goes in 0.4): :attr:`refused`."""
        return self.refused


@dataclass(frozen=True, slots=True)
class SyncDay:
    """One product and day as a sync saw it: the export's totals and the server's."""

    internal_id: str
    """The product (a UUID is given as its ``ps_`` id once looked up)."""
    date: dt.date
    """The day."""
    export_quantity: int
    """The export's total quantity for the day."""
    export_stock: int | None
    """The export's stock for the day (the highest of its rows; None: none given)."""
    stored_quantity: int | None
    """What the server held before this run (None: nothing yet)."""
    stored_stock: int | None
    """The stock the server held before this run (None: none yet)."""
    index: int
    """The input index of the first record of this product and day (for its file and line)."""
    batch: str | None = None
    """For an uncertain day: the batch it was sent in (``resolve={batch: ...}``)."""


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A product and day whose export is lower than what the server already holds.

    ``POST /sales`` can only add quantities and raise a day's stock, so this cannot be
    applied; it is reported, never dropped and never "fixed" by sending something else.
    """

    kind: Literal["quantity", "stock"]
    """``quantity`` (a return or correction) or ``stock`` (a closed day's stock)."""
    day: SyncDay
    """The product and day, with the export's and the server's figures."""
    acknowledged: bool = False
    """Someone accepted exactly this difference (``accept=``); one that changes again (the
    export or the server's figure moves) is new again."""


@dataclass(frozen=True, slots=True)
class QuarantinedId:
    """A product id the server refused as unknown (or a UUID it could not find): its rows
    are held in the state's quarantine instead of being sent, and refused, on every run."""

    internal_id: str
    """The id as the export names it."""
    error: str
    """The server's reason."""
    since: dt.date
    """The day of its first refusal."""
    last_refused: dt.date
    """The day of its latest refusal."""
    retry_on: dt.date
    """The first run from this day tries it again (a week after the last refusal), or any run
    with ``retry_refused=True``."""
    new: bool
    """First refused by the run that reports it."""
    rows: int = 0
    """The rows held for it by that run."""


@dataclass(frozen=True, slots=True)
class StateDestination:
    """Where a sync state's acknowledgements were made."""

    base_url: str
    """The API's base URL (normalised)."""
    key_hash: str
    """A one-way hash of the API key (never the key)."""
    since: float | None = None
    """When the state was bound, a Unix time (None if unknown)."""

    @property
    def fingerprint(self) -> str:
        """A short, safe name for the key: the first 12 digits of its hash."""
        return self.key_hash[:12]

    def same_as(self, other: StateDestination) -> bool:
        """Whether both name the same URL and key."""
        return self.base_url == other.base_url and self.key_hash == other.key_hash


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One run recorded in a state: when, for which day, and what it did."""

    run: int
    """Its number in the state."""
    started: float
    """When it began, a Unix time."""
    finished: float | None
    """When it ended (None: it has not, or was killed)."""
    today: dt.date
    """The day it ran for."""
    read: int
    """Records it read."""
    sent: int
    """Rows it sent."""
    stored: int
    """Rows the server acknowledged."""
    outcome: str
    """``done`` (nothing new or in doubt), ``attention`` (something new or in doubt),
    ``stopped:<reason>``, or ``running`` (it has not finished, or was killed)."""


@dataclass(frozen=True, slots=True)
class HeldBatch:
    """A batch of a state whose rows may be stored (sent, answer lost): held until resolved."""

    batch: str
    """Its name (what ``resolve=`` takes)."""
    rows: int
    """The rows it holds."""
    state: Literal["sending", "unknown"]
    """``sending``: a run was killed while it was out; ``unknown``: its answer was lost."""
    error: str | None
    """What happened to it, when known."""
    since: float
    """When it was sent, a Unix time."""


@dataclass(frozen=True, slots=True)
class StateStatus:
    """What a sync state holds (``ps.sales.state_status``, ``pleasurestock sales status``)."""

    state: str
    """The state's file or URL (without a password)."""
    schema: int
    """The version of its layout."""
    destination: StateDestination | None
    """Where it is bound (None until its first run)."""
    runs: tuple[SyncRun, ...]
    """The latest runs, newest first."""
    product_days: int
    """Days acknowledged, of all products."""
    products: int
    """Products with a day acknowledged."""
    first_day: dt.date | None
    """The first day acknowledged."""
    last_day: dt.date | None
    """The last day acknowledged."""
    pending_rows: int
    """Rows in :attr:`held_batches`."""
    held_batches: tuple[HeldBatch, ...]
    """Batches that may be stored: settle each."""
    discrepancies: tuple[Discrepancy, ...]
    """Those the latest run saw (new or acknowledged)."""
    quarantined: tuple[QuarantinedId, ...]
    """Ids held back as unknown to the server."""


@renamed_arguments(
    {
        "invalid": ("input_errors", None),
        "server_rejected": ("refused", _rejected_pairs),
    }
)
@dataclass(slots=True)
class SalesSyncResult(SalesJobResult):
    """Exactly what a sync did: ``read`` records made ``product_days`` products and days, of
    which ``unchanged`` the server already had; the differences went as ``to_send`` rows.
    With ``dry_run``, nothing was sent: ``to_send`` rows in ``batches`` requests would be."""

    product_days: int = 0
    """Distinct products and days the records made."""
    unchanged: int = 0
    """Of them, the days the server already had."""
    to_send: int = 0
    """Rows of differences to send (a dry run: that would be sent)."""
    sent: int = 0
    """Rows sent by this run."""
    deferred_stock: int = 0
    """Days still open whose stock waits for them to close (``stock="closed"``)."""
    declared: int = 0
    """Days marked as already on the server (``mark_stored``)."""
    resolved: int = 0
    """Uncertain rows of earlier runs settled by this one (``assume_unknown``, ``resolve``)."""
    quarantined: int = 0
    """Rows held back because their id is in quarantine."""
    looked_up: int = 0
    """Product UUIDs resolved to ``ps_`` ids (once: the state keeps them)."""
    dry_run: bool = False
    """Nothing was sent and the state was not changed."""
    discrepancies: list[Discrepancy] = field(default_factory=list)
    """Differences ``POST /sales`` cannot apply (each new or acknowledged)."""
    uncertain: list[SyncDay] = field(default_factory=list)
    """Days sent in a batch whose answer was lost (now or by an earlier run): not resent until
    resolved (``assume_unknown``, ``resolve``)."""
    quarantine: list[QuarantinedId] = field(default_factory=list)
    """The ids refused as unknown that held rows back."""

    @property
    def uncertain_batches(self) -> dict[str, int]:
        """The batches of :attr:`uncertain`, with how many of its days each holds: settle
        each with ``resolve={batch: "stored" | "not_stored"}`` once you know."""
        found: dict[str, int] = {}
        for day in self.uncertain:
            key = day.batch or "?"
            found[key] = found.get(key, 0) + 1
        return found

    @property
    def ok(self) -> bool:
        """True when the server now holds exactly the export (nothing pending, refused,
        held, invalid or impossible), apart from stock waiting for its day to close."""
        return not (
            self.discrepancies
            or self.uncertain
            or self.refused
            or self.quarantined
            or self.input_errors
            or self.failed_batches
            or self.stopped
        )

    @property
    def needs_attention(self) -> bool:
        """True when something is new or in doubt: a discrepancy not acknowledged, rows that
        may be stored, a failed batch, an id refused for the first time, a row refused for
        another reason, an invalid record, or a stop. Acknowledged discrepancies and ids
        already in quarantine (even refused again when retried) are known and held: they do
        not count (the CLI exits 0)."""
        return bool(
            any(not d.acknowledged for d in self.discrepancies)
            or self.uncertain
            or self.failed_batches
            or any(q.new for q in self.quarantine)
            or self.new_refusals
            or self.input_errors
            or self.stopped
        )

    @property
    def new_refusals(self) -> list[ServerRecordError]:
        """The rows of :attr:`refused` that are news: not of an id that was already in
        quarantine before this run (a retry refused again is not news)."""
        known = {q.internal_id for q in self.quarantine if not q.new}
        return [e for e in self.refused if e.day is None or e.day.internal_id not in known]

    @property
    @deprecated(
        "SalesSyncResult.invalid is deprecated and goes in 0.4: use SalesSyncResult.input_errors"
    )
    def invalid(self) -> list[InputErrorDetail]:
        """Deprecated (goes in 0.4): :attr:`input_errors`."""
        return self.input_errors

    @property
    @deprecated(
        "SalesSyncResult.server_rejected is deprecated and goes in 0.4: use "
        "SalesSyncResult.refused (each error's day is its SyncDay)"
    )
    def server_rejected(self) -> list[tuple[SyncDay, ServerRecordError]]:
        """Deprecated (goes in 0.4): :attr:`refused`, whose errors carry their ``day``."""
        return [(e.day, e) for e in self.refused if e.day is not None]
