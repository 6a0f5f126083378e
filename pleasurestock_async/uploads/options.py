"""The settings of a sales job, each kind in one frozen object checked once when built and
carried whole from the resource method (or the command line) to its engine: ``UploadOptions``
(``sales.upload``) and ``SyncOptions`` (``sales.sync``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import anyio

from ..errors import InputError
from ..types.sales import MAX_BATCH
from ..types.shared import is_uuid
from ..types.uploads import SyncProgress, UploadProgress
from .journal import Resolution
from .location import PostgresLocation, is_database_url, parse_database_url
from .lock import check_wait

__all__ = [
    "MAX_CONCURRENCY",
    "Accept",
    "OnInvalid",
    "ProgressCallback",
    "StockPolicy",
    "SyncOptions",
    "SyncProgressCallback",
    "UploadOptions",
    "settings_from",
]

OnInvalid = Literal["raise", "skip"]
"""What an invalid record does: stop the job before it is sent, or leave it out and report it."""

StockPolicy = Literal["closed", "always"]
"""When a day's stock is sent: once the day is closed (the default), or whenever it rises."""

ProgressCallback = Callable[[UploadProgress], None]
SyncProgressCallback = Callable[[SyncProgress], None]

Accept = Literal["all"] | Collection[tuple[str, dt.date | str]]
"""Discrepancies to acknowledge: ``"all"`` that a run finds, or these (product, day) pairs."""

MAX_CONCURRENCY = 64
"""The most batches a job keeps in flight at once."""

Options = TypeVar("Options", "UploadOptions", "SyncOptions")


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """The settings of one upload (see :meth:`Sales.upload` for each); checked when built, so
    a wrong value is an :class:`InputError` naming its field before anything starts.

    ``resolve`` is kept as a dict of batch numbers to ``"stored"`` or ``"not_stored"``;
    ``lock_wait`` as finite seconds from 0. ``job`` and ``resolve`` need a ``journal``.
    """

    chunk_size: int = MAX_BATCH
    concurrency: int = 4
    on_invalid: OnInvalid = "raise"
    progress: ProgressCallback | None = field(default=None, compare=False)
    journal: str | os.PathLike[str] | None = None
    job: str | None = None
    resend_unknown: bool = False
    resolve: Mapping[int, Resolution] | None = None
    merge_duplicates: bool = False
    heal_rejections: bool = True
    lock_wait: float = 0.0
    stop: anyio.Event | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_count("chunk_size", self.chunk_size, MAX_BATCH)
        _check_shared(self)
        object.__setattr__(self, "resolve", _batch_resolutions(self.resolve))
        if self.journal is None and (self.job is not None or self.resolve):
            raise InputError.single("journal", "job and resolve need a journal", None)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """The settings of one sync (see :meth:`Sales.sync` for each); checked when built, so a
    wrong value is an :class:`InputError` naming its field before anything starts.

    ``state`` is a file path (SQLite) or a ``postgresql://`` URL, kept parsed as a
    :class:`PostgresLocation` (whose repr never shows the password); ``today`` is a ``date``
    (never a ``datetime``: that would close the current day); ``timezone`` a zone name or a
    ``tzinfo``; ``lock_wait`` finite seconds from 0. ``accept`` is kept as ``"all"`` or a
    frozenset of ``(product, "YYYY-MM-DD")``.
    """

    state: str | os.PathLike[str] | PostgresLocation
    today: dt.date | None = None
    timezone: str | dt.tzinfo | None = None
    stock: StockPolicy = "closed"
    assume_unknown: Resolution | None = None
    resolve: Mapping[str, Resolution] | None = None
    mark_stored: bool = False
    on_invalid: OnInvalid = "raise"
    concurrency: int = 4
    heal_rejections: bool = True
    progress: SyncProgressCallback | None = field(default=None, compare=False)
    lock_wait: float = 0.0
    stop: anyio.Event | None = field(default=None, compare=False)
    dry_run: bool = False
    accept: Accept | None = None
    retry_refused: bool = False

    def __post_init__(self) -> None:
        if is_database_url(self.state):
            object.__setattr__(self, "state", parse_database_url(str(self.state)))
        elif isinstance(self.state, bytes) or not isinstance(
            self.state, str | os.PathLike | PostgresLocation
        ):
            raise InputError.single(
                "state", "must be a file path or a postgresql:// URL (a str)", self.state
            )
        today = self.today
        if today is not None and not _plain_date(today):
            raise InputError.single(
                "today",
                "must be a datetime.date (a datetime is refused: its time would close the "
                "current day)",
                today,
            )
        if self.timezone is not None and not isinstance(self.timezone, str | dt.tzinfo):
            raise InputError.single(
                "timezone",
                "must be a zone name such as 'Europe/Istanbul' or a tzinfo",
                self.timezone,
            )
        if isinstance(self.timezone, str):
            _zone(self.timezone)
        if self.stock not in ("closed", "always"):
            raise InputError.single("stock", "must be 'closed' or 'always'", self.stock)
        if self.assume_unknown not in (None, "stored", "not_stored"):
            raise InputError.single(
                "assume_unknown", "must be 'stored' or 'not_stored'", self.assume_unknown
            )
        resolve = self.resolve
        if resolve is not None and not (
            isinstance(resolve, Mapping)
            and all(
                isinstance(k, str) and v in ("stored", "not_stored") for k, v in resolve.items()
            )
        ):
            raise InputError.single(
                "resolve", "must map batch names to 'stored' or 'not_stored'", resolve
            )
        if resolve is not None:
            object.__setattr__(self, "resolve", dict(resolve))
        _check_shared(self)
        if self.accept is not None:
            object.__setattr__(self, "accept", _accepted(self.accept))
        if self.dry_run and (self.assume_unknown or self.resolve or self.mark_stored):
            raise InputError.single(
                "dry_run",
                "a dry run changes nothing: it cannot settle batches or declare history",
                True,
            )

    def day(self) -> dt.date:
        """The current day: ``today``, or now in ``timezone`` (the machine's by default)."""
        if self.today is not None:
            return self.today
        if self.timezone is None:
            return dt.datetime.now().astimezone().date()
        zone = _zone(self.timezone) if isinstance(self.timezone, str) else self.timezone
        return dt.datetime.now(zone).date()


def settings_from(
    kind: type[Options], settings: Options | None, given: Mapping[str, Any]
) -> Options:
    """The options of a job: ``settings`` as given, or built of the method's keyword arguments
    ``given`` (by field name; others are ignored). Refuses both at once: a keyword that is not
    its default beside ``settings`` would be silently ignored otherwise."""
    names = [f for f in dataclasses.fields(kind) if f.name in given]
    if settings is None:
        return kind(**{f.name: given[f.name] for f in names})
    if not isinstance(settings, kind):
        raise InputError.single("settings", f"must be an instance of {kind.__name__}", settings)
    if any(given[f.name] != _default(f) for f in names):
        raise InputError.single(
            "settings", "pass either settings or the separate keyword settings, not both"
        )
    return settings


def _default(spec: dataclasses.Field[Any]) -> Any:
    """A field's default (None for a required one: what its keyword defaults to)."""
    if spec.default is not dataclasses.MISSING:
        return spec.default
    return None


def _check_count(name: str, value: object, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InputError.single(name, f"must be an int from 1 to {high}", value)


def _check_shared(options: UploadOptions | SyncOptions) -> None:
    """The checks of the settings both jobs take (and of every flag: a bool)."""
    if options.on_invalid not in ("raise", "skip"):
        raise InputError.single("on_invalid", "must be 'raise' or 'skip'", options.on_invalid)
    _check_count("concurrency", options.concurrency, MAX_CONCURRENCY)
    object.__setattr__(options, "lock_wait", check_wait(options.lock_wait))
    for spec in dataclasses.fields(options):
        value = getattr(options, spec.name)
        if spec.type == "bool" and not isinstance(value, bool):
            raise InputError.single(spec.name, "must be True or False", value)
    if options.progress is not None and not callable(options.progress):
        raise InputError.single("progress", "must be a callable", options.progress)
    if options.stop is not None and not isinstance(options.stop, anyio.Event):
        raise InputError.single("stop", "must be an anyio.Event (or None)", options.stop)


def _batch_resolutions(resolve: object) -> dict[int, Resolution] | None:
    """An upload's ``resolve`` as resolutions by batch number, or :class:`InputError` (a value
    that is not one of the two would otherwise be taken for "not stored" and resent)."""
    if resolve is None:
        return None
    if not isinstance(resolve, Mapping):
        raise InputError.single(
            "resolve", "must be a mapping of batch number to 'stored' or 'not_stored'", resolve
        )
    found: dict[int, Resolution] = {}
    for seq, how in resolve.items():
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise InputError.single("resolve", "batch numbers are ints from 0", seq)
        if not isinstance(how, str) or how not in ("stored", "not_stored"):
            raise InputError.single(f"resolve[{seq}]", "must be 'stored' or 'not_stored'", how)
        found[seq] = "stored" if how == "stored" else "not_stored"
    return found


def _plain_date(value: object) -> bool:
    """A ``date`` (a subclass too), but never a ``datetime``."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError.single("timezone", "is not a known time zone", name) from None


def _accepted(value: object) -> Literal["all"] | frozenset[tuple[str, str]]:
    if value == "all":
        return "all"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InputError.single(
            "accept", "must be 'all' or a list of (product id, day) pairs", value
        )
    pairs: set[tuple[str, str]] = set()
    for item in value:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise InputError.single("accept", "must hold (product id, day) pairs", item)
        product, day = item
        try:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            if not _plain_date(day):
                raise ValueError(day)
        except ValueError:
            raise InputError.single(
                "accept", "a day must be a date or 'YYYY-MM-DD'", item
            ) from None
        key = product.lower() if is_uuid(product) else product
        pairs.add((key, day.isoformat()))
    return frozenset(pairs)
