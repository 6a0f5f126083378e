"""What a sales upload (``sales.upload``) and a sales sync (``sales.sync``) report.

Every record read is accounted for exactly once: stored now, stored by an earlier run,
invalid, refused by the server, in a failed batch, unresolved (may already be stored), or not
sent because the run stopped. Failed batches keep their input range and errors in memory and
their rows on disk, so memory stays bounded however many batches fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InputErrorDetail, UploadStopReason
from .sales import SaleRow

__all__ = [
    "BatchOutcome",
    "Discrepancy",
    "FailedBatch",
    "HeldBatch",
    "QuarantinedId",
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
    """A record the server refused, with ``index`` mapped back to the caller's input."""

    index: int
    error: str
    expected: str | None
    received: Any


@dataclass(frozen=True, slots=True)
class FailedBatch:
    """A batch the server did not acknowledge.

    ``first_index``/``last_index`` bound its records' positions in the input, ``records`` how
    many input records it carried; ``error`` says what happened (``status_code`` when the
    server answered); ``record_errors`` the records a 400 named. :meth:`rows` reads the rows
    it sent back from disk.
    """

    seq: int
    first_index: int
    last_index: int
    records: int
    outcome: BatchOutcome
    error: str
    status_code: int | None = None
    record_errors: tuple[ServerRecordError, ...] = ()
    _load: Callable[[], list[SaleRow]] | None = field(default=None, repr=False, compare=False)

    def rows(self) -> list[SaleRow]:
        """The rows this batch sent (or would have sent), read back from the upload's spill
        file; empty when none were kept."""
        return [] if self._load is None else self._load()


@dataclass(frozen=True, slots=True)
class UnresolvedBatch:
    """A batch a journal recorded as possibly stored (sent, answer lost): not resent.

    Resolve it with ``resolve={seq: "stored" | "not_stored"}`` (``--resolve SEQ=stored`` on the
    command line) once you know, or resend all of them with ``resend_unknown=True``.
    """

    job: str
    seq: int
    first_index: int
    last_index: int
    records: int
    state: Literal["sending", "unknown"]
    error: str | None


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Counts so far, for a progress bar: records read from the input, stored, in failed
    batches, invalid (left out before sending), and batches finished."""

    read: int
    accepted: int
    failed: int
    invalid: int
    batches_done: int


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Counts so far of a sync: first it reads the input (``phase="reading"``), then it sends
    the differences (``phase="sending"``): ``to_send`` rows (all of them, counted before the
    first request leaves), of which ``stored`` are acknowledged and ``failed`` in failed
    batches; ``stored + failed`` against ``to_send`` is how far it is."""

    phase: Literal["reading", "sending"]
    read: int
    invalid: int
    to_send: int
    stored: int
    failed: int
    batches_done: int


@dataclass(slots=True)
class SalesUploadResult:
    """Exactly what an upload did, in input records.

    ``read`` records were read; of them ``accepted`` are stored by this run (in ``batches``
    requests; ``processed`` sums the server's counts), ``already_stored`` by earlier runs of
    the same journal job (``skipped_batches`` whole batches), ``invalid`` failed validation
    (``rejected`` lists each bad field), ``server_rejected`` were refused by the server and left
    out of their batch's resend, ``failed_records`` sit in ``failed_batches``,
    ``unresolved_records`` in ``unresolved_batches``, and ``not_sent`` were never sent because
    the upload stopped (``stopped`` says why).
    """

    read: int = 0
    accepted: int = 0
    processed: int = 0
    batches: int = 0
    already_stored: int = 0
    skipped_batches: int = 0
    invalid: int = 0
    rejected: list[InputErrorDetail] = field(default_factory=list)
    server_rejected: list[ServerRecordError] = field(default_factory=list)
    failed_batches: list[FailedBatch] = field(default_factory=list)
    failed_records: int = 0
    unresolved_batches: list[UnresolvedBatch] = field(default_factory=list)
    unresolved_records: int = 0
    not_sent: int = 0
    stopped: UploadStopReason | None = None

    @property
    def ok(self) -> bool:
        """True when every record read is certainly stored (now or by an earlier run)."""
        return self.read == self.accepted + self.already_stored

    def accounted(self) -> int:
        """The records this result places somewhere (equal to ``read`` once it finished)."""
        return (
            self.accepted
            + self.already_stored
            + self.invalid
            + len(self.server_rejected)
            + self.failed_records
            + self.unresolved_records
            + self.not_sent
        )


@dataclass(frozen=True, slots=True)
class SyncDay:
    """One product and day as a sync saw it: the export's totals and the server's."""

    internal_id: str
    date: dt.date
    export_quantity: int
    export_stock: int | None
    stored_quantity: int | None
    stored_stock: int | None
    index: int
    """The input index of the first record of this product and day (for its file and line)."""
    batch: str | None = None
    """For an uncertain day: the batch it was sent in (``resolve={batch: ...}``)."""


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A product and day whose export is lower than what the server already holds.

    ``POST /sales`` can only add quantities and raise a day's stock, so this cannot be
    applied; it is reported, never dropped and never "fixed" by sending something else.
    ``kind`` is ``quantity`` (a return or correction) or ``stock`` (a closed day's stock).
    ``acknowledged``: someone accepted exactly this difference (``accept=``); one that
    changes again (the export or the server's figure moves) is new again.
    """

    kind: Literal["quantity", "stock"]
    day: SyncDay
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class QuarantinedId:
    """A product id the server refused as unknown (or a UUID it could not find): its rows
    are held in the state's quarantine instead of being sent, and refused, on every run.

    It is tried again on the first run from ``retry_on`` (a week after its last refusal),
    or at once with ``retry_refused=True``. ``new``: first refused by the run that reports
    it. ``rows``: the rows held for it by that run.
    """

    internal_id: str
    error: str
    since: dt.date
    last_refused: dt.date
    retry_on: dt.date
    new: bool
    rows: int = 0


@dataclass(frozen=True, slots=True)
class StateDestination:
    """Where a sync state's acknowledgements were made: the API's base URL (normalised) and
    a one-way hash of the API key (never the key); ``fingerprint`` is its first 12 digits,
    for messages. ``since`` is when the state was bound (a Unix time; None if unknown)."""

    base_url: str
    key_hash: str
    since: float | None = None

    @property
    def fingerprint(self) -> str:
        """A short, safe name for the key: the start of its hash."""
        return self.key_hash[:12]

    def same_as(self, other: StateDestination) -> bool:
        """Whether both name the same URL and key."""
        return self.base_url == other.base_url and self.key_hash == other.key_hash


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One run recorded in a state: when, for which day, and what it did. ``outcome`` is
    ``done`` (nothing new or in doubt), ``attention`` (something new or in doubt),
    ``stopped:<reason>``, or ``running`` (it has not finished, or was killed)."""

    run: int
    started: float
    finished: float | None
    today: dt.date
    read: int
    sent: int
    stored: int
    outcome: str


@dataclass(frozen=True, slots=True)
class HeldBatch:
    """A batch of a state whose rows may be stored (sent, answer lost): held until
    resolved. ``state`` is ``sending`` (a run was killed while it was out) or ``unknown``
    (its answer was lost); ``since`` a Unix time."""

    batch: str
    rows: int
    state: Literal["sending", "unknown"]
    error: str | None
    since: float


@dataclass(frozen=True, slots=True)
class StateStatus:
    """What a sync state holds (``ps.sales.state_status``, ``pleasurestock sales status``).

    ``destination`` is None until the first run binds it. ``runs`` are the latest runs,
    newest first. ``product_days`` days of ``products`` products are acknowledged, from
    ``first_day`` to ``last_day``; ``pending_rows`` rows are in ``held_batches`` (may be
    stored: settle each); ``discrepancies`` were seen by the latest run (new or
    acknowledged); ``quarantined`` ids are held back. ``schema`` is the file's version.
    """

    state: str
    schema: int
    destination: StateDestination | None
    runs: tuple[SyncRun, ...]
    product_days: int
    products: int
    first_day: dt.date | None
    last_day: dt.date | None
    pending_rows: int
    held_batches: tuple[HeldBatch, ...]
    discrepancies: tuple[Discrepancy, ...]
    quarantined: tuple[QuarantinedId, ...]


@dataclass(slots=True)
class SalesSyncResult:
    """Exactly what a sync did.

    ``read`` records made ``product_days`` distinct products and days; ``unchanged`` of them
    the server already had; ``to_send`` rows (the differences) were to go, ``sent`` went in
    ``batches`` requests and ``stored`` were acknowledged; ``deferred_stock`` days are still
    open, so their stock waits (``stock="closed"``); ``discrepancies`` cannot be applied
    (each new or acknowledged); ``uncertain`` were sent in a batch whose answer was lost (now
    or by an earlier run) and are not resent until resolved (``assume_unknown``);
    ``server_rejected`` the server refused (index = first input record of that day);
    ``quarantine`` lists the ids refused as unknown that held rows back (``quarantined``
    rows in all); ``invalid`` records failed validation; ``failed_batches`` were not stored
    and go again on the next run; ``declared`` days were marked stored (``mark_stored``);
    ``looked_up`` product UUIDs were resolved to ``ps_`` ids (once: the state keeps them).
    With ``dry_run``, nothing was sent: ``to_send`` rows in ``batches`` requests would be.
    """

    read: int = 0
    product_days: int = 0
    unchanged: int = 0
    to_send: int = 0
    sent: int = 0
    stored: int = 0
    batches: int = 0
    deferred_stock: int = 0
    declared: int = 0
    resolved: int = 0
    quarantined: int = 0
    looked_up: int = 0
    dry_run: bool = False
    discrepancies: list[Discrepancy] = field(default_factory=list)
    uncertain: list[SyncDay] = field(default_factory=list)
    server_rejected: list[tuple[SyncDay, ServerRecordError]] = field(default_factory=list)
    quarantine: list[QuarantinedId] = field(default_factory=list)
    invalid: list[InputErrorDetail] = field(default_factory=list)
    failed_batches: list[FailedBatch] = field(default_factory=list)
    stopped: UploadStopReason | None = None

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
            or self.server_rejected
            or self.quarantined
            or self.invalid
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
            or self.invalid
            or self.stopped
        )

    @property
    def new_refusals(self) -> list[tuple[SyncDay, ServerRecordError]]:
        """The rows of :attr:`server_rejected` that are news: not of an id that was already
        in quarantine before this run (a retry refused again is not news)."""
        known = {q.internal_id for q in self.quarantine if not q.new}
        return [(d, e) for d, e in self.server_rejected if d.internal_id not in known]
