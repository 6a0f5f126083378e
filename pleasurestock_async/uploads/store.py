"""The seam between the sync engine and where its state is kept.

The engine (:mod:`.sync`) talks only to a :class:`StateStore`: an async object that is open and
locked for one run, knows the destination it is bound to, takes the run's input, plans it
against what the server acknowledged, records rows before their request leaves and after the
server's answer, settles uncertain rows, keeps the quarantine, the product id map and the
acknowledged discrepancies, and reports its status. :func:`open_state` picks the store from
what the caller passed as ``state``: a file path (SQLite, :class:`SqliteStore`) or a
``postgresql://`` URL (:class:`~.postgres.PostgresStore`, the ``postgres`` extra). Both pass
one contract test suite, and both can be read and written whole (``state copy``).

Every call of :class:`SqliteStore` runs in a worker thread, one at a time (a capacity limiter
of one per state), so the event loop never waits for SQLite or its ``fsync``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Protocol, TypeVar

import anyio
import anyio.to_thread
import httpx

from .._apikey import ApiKey
from ..errors import InputError, StateFileError, StateLockedError
from ..types.uploads import (
    Discrepancy,
    HeldBatch,
    QuarantinedId,
    StateDestination,
    StateStatus,
    SyncDay,
    SyncRun,
)
from . import _sqlite
from ._rows import FINGERPRINTS, STATE_TABLES, InputRow, Noted, PendingRow, PendingState, PlanRow
from ._sqlite import STATE
from .location import PostgresLocation, is_database_url, parse_database_url, state_label
from .lock import FileLock
from .state import SyncState, create_state

if TYPE_CHECKING:
    from .postgres import StateMeta

__all__ = [
    "COPY_TABLES",
    "SqliteStore",
    "StateStore",
    "build_status",
    "destination_of",
    "open_state",
    "read_status",
    "state_label",
]

MISSING = "does not exist (a state is created by its first sync)"

COPY_TABLES = tuple(STATE_TABLES)
"""The tables of a state, in the order a copy writes them."""

P = ParamSpec("P")
T = TypeVar("T")

Quarantined = tuple[str, str, str, str, str, int, int]
"""product, error, first refusal day, last refusal day, retry day, first run, last run."""

_KEY_LABEL = b"pleasurestock-async sync state destination\x00"


def destination_of(base_url: str, api_key: ApiKey) -> StateDestination:
    """The destination a client sends to: its base URL normalised (scheme and host in lower
    case, no default port, no trailing slash) and a one-way hash of its key."""
    url = httpx.URL(base_url)
    port = f":{url.port}" if url.port is not None else ""
    normal = f"{url.scheme.lower()}://{url.host.lower()}{port}{url.path.rstrip('/')}"
    digest = hashlib.sha256(_KEY_LABEL + api_key.reveal().encode()).hexdigest()
    return StateDestination(normal, digest)


class StateStore(Protocol):
    """What a sync needs of its state, whatever keeps it (one run at a time holds it).

    Rows are recorded ``sending`` before their request leaves and move to what the server
    holds only after its 2xx, in one transaction: the engine relies on that order, and every
    implementation keeps it.
    """

    name: str
    """The file or database the state is in, for messages."""
    read_only: bool
    """Opened to look (a dry run, a status): nothing is written."""

    async def close(self) -> None:
        """Release the lock and close."""

    async def destination(self) -> StateDestination | None:
        """Where the state's acknowledgements were made (None: not bound yet)."""

    async def bind(self, destination: StateDestination) -> None:
        """Bind the state to ``destination`` (its first run, or a move on purpose)."""

    async def next_run(self) -> int:
        """The number the next run will get."""

    async def begin_run(self, today: str) -> int:
        """Count and record one more run (running); its number names its batches."""

    async def end_run(self, run: int, read: int, sent: int, stored: int, outcome: str) -> None:
        """Record how run ``run`` ended."""

    async def drop_planned(self) -> int:
        """Forget rows recorded but never sent."""

    async def uncertain_batches(self) -> dict[str, int]:
        """The batches whose rows may be stored, with their row counts."""

    async def resolve_uncertain(
        self, how: Literal["stored", "not_stored"], batches: Collection[str] | None = None
    ) -> int:
        """Settle uncertain rows (of ``batches``; all when None) as ``how`` says."""

    async def product_ids(self, uuids: Collection[str]) -> dict[str, str]:
        """The ``ps_`` ids known for these lower-case UUIDs."""

    async def remember_ids(self, mapping: Mapping[str, str]) -> None:
        """Keep UUID -> ``ps_`` id pairs."""

    async def legacy_keys(self) -> list[str]:
        """UUIDs an older state keyed acknowledged rows by, still to merge."""

    async def merge_keys(self, done: bool) -> int:
        """Merge rows keyed by a known UUID into its ``ps_`` id (sums, stock the maximum)."""

    async def quarantined(self) -> list[Quarantined]:
        """Every id held in quarantine."""

    async def quarantine(self, refused: Mapping[str, str], today: str, run: int) -> None:
        """Hold these products (with the server's reasons) until their retry day."""

    async def release(self, products: Iterable[str]) -> None:
        """The server took these products after all."""

    async def begin_input(self) -> None:
        """Start this run's input (a temporary table)."""

    async def add_input(self, rows: Sequence[InputRow]) -> None:
        """Aggregate input rows as the server would."""

    async def input_days(self) -> int:
        """Distinct products and days of the input."""

    async def declare_input(self) -> int:
        """Record the input's totals as already on the server."""

    async def counts(self, *, today: str, stock_always: bool, retry: bool) -> tuple[int, int, int]:
        """Input rows that need anything, rows to send, rows held in quarantine."""

    def plan(
        self, size: int, *, today: str, stock_always: bool, retry: bool
    ) -> AsyncGenerator[tuple[int, list[PlanRow]], None]:
        """The input rows that need anything, joined with the server's, ``size`` at a time,
        each page with how many rows before it needed nothing."""

    async def mark(
        self, rows: Sequence[PendingRow], state: PendingState, batch: str, error: str | None = None
    ) -> None:
        """Record rows of ``batch`` as pending in ``state``."""

    async def acknowledge(self, rows: Sequence[PendingRow], whole_batch: str | None = None) -> None:
        """The server stored ``rows``: in one transaction, add them and forget them pending."""

    async def forget(self, rows: Sequence[PendingRow]) -> None:
        """The server certainly stored none of ``rows``."""

    async def note_discrepancies(
        self,
        found: Sequence[Noted],
        run: int,
        accept: Literal["all"] | Collection[tuple[str, str]] | None,
    ) -> list[bool]:
        """Record what run ``run`` could not apply; which are acknowledged."""

    async def status(self) -> StateStatus:
        """What the state holds."""

    async def export_meta(self) -> StateMeta:
        """Destination, runs so far, and whether UUID keys of 0.2 wait to be merged."""

    def export_rows(self, table: str) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """Every row of ``table`` (one of :data:`COPY_TABLES`), a page at a time."""

    async def fingerprint(self) -> dict[str, tuple[int, ...]]:
        """Counts and sums of every table."""

    async def is_blank(self) -> bool:
        """Whether the state holds nothing (never run, nothing declared or bound)."""

    async def import_state(
        self,
        meta: StateMeta,
        pages: AsyncIterable[tuple[str, list[tuple[Any, ...]]]],
        expected: Mapping[str, tuple[int, ...]],
    ) -> dict[str, tuple[int, ...]]:
        """Write a whole state into this blank one, all or nothing: committed only when its
        counts and sums equal ``expected`` (else :class:`StateFileError`)."""


@asynccontextmanager
async def open_state(
    value: object,
    *,
    read_only: bool = False,
    wait: float = 0.0,
    peek: bool = False,
    must_exist: bool = False,
) -> AsyncIterator[StateStore]:
    """The store ``value`` names (a file path: SQLite; a ``postgresql://`` URL: PostgreSQL),
    open and locked for the block.

    ``read_only`` opens it to look, under a shared lock (a missing state reads as an empty
    one and is not created); ``peek`` also looks while a run holds it (a status);
    ``must_exist`` refuses a state that does not exist yet (:class:`StateFileError`).
    """
    store: StateStore
    if isinstance(value, PostgresLocation) or is_database_url(value):
        location = value if isinstance(value, PostgresLocation) else parse_database_url(value)  # type: ignore[arg-type]
        try:
            from .postgres import PostgresStore
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise InputError.single(
                "state",
                "a PostgreSQL state needs the postgres extra: "
                "pip install 'pleasurestock-async[postgres]'",
                location.label,
            ) from None
        found = await PostgresStore.open(
            location, read_only=read_only, wait=wait, peek=peek, must_exist=must_exist
        )
        if found is None:  # read-only, and there is no such state: an empty one, in memory
            empty = SqliteStore(SyncState.empty(), None)
            empty.name = location.label
            store = empty
        else:
            store = found
    else:
        if must_exist:
            path = await anyio.to_thread.run_sync(_sqlite.resolve, value, STATE)
            if not await anyio.to_thread.run_sync(_sqlite.exists, path):
                raise STATE.error(path, MISSING)
            value = path
        store = await SqliteStore.open(value, read_only=read_only, wait=wait, peek=peek)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()


async def read_status(value: object) -> StateStatus:
    """What the state ``value`` names holds, read without changing anything (also while a run
    holds it); a state that does not exist is a :class:`StateFileError`."""
    async with open_state(value, read_only=True, peek=True, must_exist=True) as store:
        return await store.status()


def copy_mismatch(
    name: str, expected: Mapping[str, tuple[int, ...]], got: Mapping[str, tuple[int, ...]]
) -> StateFileError:
    """The error of a copy whose result does not add up to its source (nothing was kept)."""
    differ = [
        f"{table}: {got.get(table)} instead of {expected.get(table)}"
        for table in COPY_TABLES
        if got.get(table) != expected.get(table)
    ]
    return StateFileError(
        name,
        "did not receive an exact copy ("
        + ("; ".join(differ) or "its destination or runs differ")
        + "): it was rolled back, nothing was kept",
    )


async def holds_nothing(store: StateStore) -> bool:
    """Whether ``store`` holds nothing at all: never bound, never run, no row in any table."""
    meta = await store.export_meta()
    if meta.destination is not None or meta.runs:
        return False
    return all(v[0] == 0 for v in (await store.fingerprint()).values())


def meta_key(meta: StateMeta) -> tuple[Any, ...]:
    """A state's meta as a comparable value (the time of binding aside)."""
    bound = meta.destination
    return (
        None if bound is None else (bound.base_url, bound.key_hash),
        meta.runs,
        meta.legacy_ids,
    )


def _fingerprint_queries() -> dict[str, str]:
    return {
        table: f"SELECT {sums} FROM {table}"  # noqa: S608 (names of the schema)
        for table, sums in FINGERPRINTS.items()
    }


_ORDER = {
    "days": "day, product",
    "pending": "product, day",
    "product_ids": "uuid",
    "quarantine": "product",
    "discrepancies": "day, product, kind",
    "runs": "run",
}


class SqliteStore:
    """A state in one SQLite file (:class:`SyncState`), each call in a worker thread."""

    def __init__(self, state: SyncState, lock: FileLock | None, *, busy: bool = False) -> None:
        self._state = state
        self._lock = lock
        self._limiter = anyio.CapacityLimiter(1)
        self.name: str = state.path
        self.read_only: bool = state.read_only
        self.busy = busy
        """Opened while a run held the file (a look only)."""

    def __repr__(self) -> str:
        return f"SqliteStore({self.name!r}, read_only={self.read_only})"

    @classmethod
    async def open(
        cls, value: object, *, read_only: bool, wait: float, peek: bool = False
    ) -> SqliteStore:
        """Resolve, create (only where nothing exists), lock, then open and check the file."""
        path = await anyio.to_thread.run_sync(_sqlite.resolve, value, STATE)
        if not await anyio.to_thread.run_sync(_sqlite.exists, path):
            if read_only:
                return cls(SyncState.empty(), None)
            await anyio.to_thread.run_sync(create_state, path)
        lock: FileLock | None = FileLock(path, wait=wait, shared=read_only, kind=STATE)
        busy = False
        try:
            assert lock is not None
            await lock.acquire()
        except StateLockedError:
            if not peek:
                raise
            lock, busy = None, True
        try:
            state = await anyio.to_thread.run_sync(lambda: SyncState(path, read_only=read_only))
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(state, lock, busy=busy)

    async def _call(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await anyio.to_thread.run_sync(lambda: func(*args, **kwargs), limiter=self._limiter)

    async def close(self) -> None:
        """Close the database, then release the lock (in that order: see :mod:`.lock`)."""
        try:
            await self._call(self._state.close)
        finally:
            if self._lock is not None:
                self._lock.release()

    async def destination(self) -> StateDestination | None:
        """Where the state's acknowledgements were made (None: not bound yet)."""
        found = await self._call(self._state.destination)
        return None if found is None else StateDestination(*found)

    async def bind(self, destination: StateDestination) -> None:
        """Bind the state to ``destination``."""
        await self._call(self._state.bind, destination.base_url, destination.key_hash)

    async def next_run(self) -> int:
        """The number the next run will get."""
        return await self._call(self._state.next_run)

    async def begin_run(self, today: str) -> int:
        """Count and record one more run."""
        return await self._call(self._state.begin_run, today)

    async def end_run(self, run: int, read: int, sent: int, stored: int, outcome: str) -> None:
        """Record how run ``run`` ended."""
        await self._call(self._state.end_run, run, read, sent, stored, outcome)

    async def drop_planned(self) -> int:
        """Forget rows recorded but never sent."""
        return await self._call(self._state.drop_planned)

    async def uncertain_batches(self) -> dict[str, int]:
        """The batches whose rows may be stored."""
        return await self._call(self._state.uncertain_batches)

    async def resolve_uncertain(
        self, how: Literal["stored", "not_stored"], batches: Collection[str] | None = None
    ) -> int:
        """Settle uncertain rows."""
        return await self._call(self._state.resolve_uncertain, how, batches)

    async def product_ids(self, uuids: Collection[str]) -> dict[str, str]:
        """The ``ps_`` ids known for these UUIDs."""
        return await self._call(self._state.product_ids, uuids)

    async def remember_ids(self, mapping: Mapping[str, str]) -> None:
        """Keep UUID -> ``ps_`` id pairs."""
        await self._call(self._state.remember_ids, mapping)

    async def legacy_keys(self) -> list[str]:
        """UUIDs an older state keyed rows by."""
        return await self._call(self._state.legacy_keys)

    async def merge_keys(self, done: bool) -> int:
        """Merge rows keyed by a known UUID into its ``ps_`` id."""
        return await self._call(self._state.merge_keys, done)

    async def quarantined(self) -> list[Quarantined]:
        """Every id held in quarantine."""
        return await self._call(self._state.quarantined)

    async def quarantine(self, refused: Mapping[str, str], today: str, run: int) -> None:
        """Hold these products until their retry day."""
        await self._call(self._state.quarantine, refused, today, run)

    async def release(self, products: Iterable[str]) -> None:
        """No longer hold these products."""
        await self._call(self._state.release, list(products))

    async def begin_input(self) -> None:
        """Start this run's input."""
        await self._call(self._state.begin_input)

    async def add_input(self, rows: Sequence[InputRow]) -> None:
        """Aggregate input rows."""
        await self._call(self._state.add_input, rows)

    async def input_days(self) -> int:
        """Distinct products and days of the input."""
        return await self._call(self._state.input_days)

    async def declare_input(self) -> int:
        """Record the input's totals as already on the server."""
        return await self._call(self._state.declare_input)

    async def counts(self, *, today: str, stock_always: bool, retry: bool) -> tuple[int, int, int]:
        """Input rows that need anything, to send, held."""
        return await self._call(
            self._state.counts, today=today, stock_always=stock_always, retry=retry
        )

    async def plan(
        self, size: int, *, today: str, stock_always: bool, retry: bool
    ) -> AsyncGenerator[tuple[int, list[PlanRow]], None]:
        """The plan, a page at a time (each page read in a worker thread)."""
        last = -1
        while True:
            quiet, rows, upto = await self._call(
                self._state.plan_page,
                last,
                size,
                today=today,
                stock_always=stock_always,
                retry=retry,
            )
            if rows or quiet:
                yield quiet, rows
            if upto is None:
                return
            last = upto

    async def mark(
        self, rows: Sequence[PendingRow], state: PendingState, batch: str, error: str | None = None
    ) -> None:
        """Record rows of ``batch`` as pending."""
        await self._call(self._state.mark, rows, state, batch, error)

    async def acknowledge(self, rows: Sequence[PendingRow], whole_batch: str | None = None) -> None:
        """The server stored ``rows``."""
        await self._call(self._state.acknowledge, rows, whole_batch)

    async def forget(self, rows: Sequence[PendingRow]) -> None:
        """The server stored none of ``rows``."""
        await self._call(self._state.forget, rows)

    async def note_discrepancies(
        self,
        found: Sequence[Noted],
        run: int,
        accept: Literal["all"] | Collection[tuple[str, str]] | None,
    ) -> list[bool]:
        """Record what run ``run`` could not apply; which are acknowledged."""
        return await self._call(self._state.note_discrepancies, found, run, accept)

    async def status(self) -> StateStatus:
        """What the state holds."""
        return await self._call(_status, self._state, self.name)

    async def export_meta(self) -> StateMeta:
        """Destination, runs so far, and the legacy flag."""
        from .postgres import StateMeta

        if self._state.legacy:  # read as it is: its UUID keys are not marked for merging yet
            raise STATE.error(
                self.name,
                "is a state of 0.2: run one sync with this SDK on it first (it upgrades it in "
                "place), then copy it",
            )
        found, runs, legacy = await self._call(self._state.meta)
        return StateMeta(None if found is None else StateDestination(*found), runs, legacy)

    async def export_rows(
        self, table: str, size: int = 10_000
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """Every row of ``table``, ``size`` at a time."""
        cursor = await self._call(
            self._state.export_cursor, table, STATE_TABLES[table], _ORDER[table]
        )
        try:
            while True:
                rows = await self._call(cursor.fetchmany, size)
                if not rows:
                    return
                yield [tuple(r) for r in rows]
        finally:
            cursor.close()

    async def fingerprint(self) -> dict[str, tuple[int, ...]]:
        """Counts and sums of every table."""
        return await self._call(self._state.fingerprint, _fingerprint_queries())

    async def is_blank(self) -> bool:
        """Whether the state holds nothing."""
        return await holds_nothing(self)

    async def import_state(
        self,
        meta: StateMeta,
        pages: AsyncIterable[tuple[str, list[tuple[Any, ...]]]],
        expected: Mapping[str, tuple[int, ...]],
    ) -> dict[str, tuple[int, ...]]:
        """Write a whole state into this blank one, in one transaction checked before commit."""
        bound = meta.destination
        where = None if bound is None else (bound.base_url, bound.key_hash, bound.since)
        await self._call(self._state.begin_import, where, meta.runs, meta.legacy_ids)
        try:
            async for table, rows in pages:
                await self._call(self._state.import_rows, table, STATE_TABLES[table], rows)
            got = await self.fingerprint()
            if got != dict(expected) or meta_key(await self.export_meta()) != meta_key(meta):
                raise copy_mismatch(self.name, expected, got)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._call(self._state.end_import, False)
            raise
        await self._call(self._state.end_import, True)
        return got


def _status(state: SyncState, name: str) -> StateStatus:
    """A :class:`StateStatus` read from ``state`` (in the worker thread)."""
    summary = state.summary()
    latest = state.next_run() - 1
    return build_status(
        name,
        {
            **summary,
            "destination": state.destination(),
            "latest": latest,
            "held": state.held_batches(),
            "discrepancies": state.discrepancies(latest),
            "quarantined": state.quarantined(),
        },
    )


def build_status(name: str, data: Mapping[str, Any]) -> StateStatus:
    """A :class:`StateStatus` from what a store read (rows as both stores return them)."""
    latest = data["latest"]
    runs = tuple(
        SyncRun(run, started, finished, dt.date.fromisoformat(today), read, sent, stored, out)
        for run, started, finished, today, read, sent, stored, out in data["runs"]
    )
    held = tuple(
        HeldBatch(batch, rows, "unknown" if worst == "unknown" else "sending", error, since)
        for batch, rows, worst, error, since in data["held"]
    )
    discrepancies = tuple(
        Discrepancy(
            "quantity" if kind == "quantity" else "stock",
            SyncDay(product, dt.date.fromisoformat(day), eq, es, sq, ss, first),
            bool(acknowledged),
        )
        for day, product, kind, eq, es, sq, ss, first, acknowledged in data["discrepancies"]
    )
    quarantined = tuple(
        quarantined_id(entry, new=entry[5] == latest) for entry in data["quarantined"]
    )
    found = data["destination"]

    def day(value: Any) -> dt.date | None:
        return None if value is None else dt.date.fromisoformat(value)

    return StateStatus(
        state=name,
        schema=data["schema"],
        destination=None if found is None else StateDestination(*found),
        runs=runs,
        product_days=data["product_days"],
        products=data["products"],
        first_day=day(data["first_day"]),
        last_day=day(data["last_day"]),
        pending_rows=data["pending_rows"],
        held_batches=held,
        discrepancies=discrepancies,
        quarantined=quarantined,
    )


def quarantined_id(entry: Quarantined, *, new: bool, rows: int = 0) -> QuarantinedId:
    """A quarantine entry as reported."""
    product, error, first, last, retry, _, _ = entry
    return QuarantinedId(
        product,
        error,
        dt.date.fromisoformat(first),
        dt.date.fromisoformat(last),
        dt.date.fromisoformat(retry),
        new,
        rows,
    )
