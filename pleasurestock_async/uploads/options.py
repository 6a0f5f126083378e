"""``SyncOptions``: every setting of a sales sync, checked once, carried whole to the engine."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import anyio

from ..errors import InputError
from ..types.shared import is_uuid
from ..types.uploads import SyncProgress
from .journal import Resolution
from .location import PostgresLocation, is_database_url, parse_database_url
from .lock import check_wait

__all__ = ["Accept", "StockPolicy", "SyncOptions", "SyncProgressCallback"]

StockPolicy = Literal["closed", "always"]
"""When a day's stock is sent: once the day is closed (the default), or whenever it rises."""

SyncProgressCallback = Callable[[SyncProgress], None]

Accept = Literal["all"] | Collection[tuple[str, dt.date | str]]
"""Discrepancies to acknowledge: ``"all"`` that a run finds, or these (product, day) pairs."""

_MAX_CONCURRENCY = 64


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
    on_invalid: Literal["raise", "skip"] = "raise"
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
        if self.on_invalid not in ("raise", "skip"):
            raise InputError.single("on_invalid", "must be 'raise' or 'skip'", self.on_invalid)
        value = self.concurrency
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            raise InputError.single(
                "concurrency", f"must be an int from 1 to {_MAX_CONCURRENCY}", value
            )
        object.__setattr__(self, "lock_wait", check_wait(self.lock_wait))
        for name in ("mark_stored", "heal_rejections", "dry_run", "retry_refused"):
            if not isinstance(getattr(self, name), bool):
                raise InputError.single(name, "must be True or False", getattr(self, name))
        if self.progress is not None and not callable(self.progress):
            raise InputError.single("progress", "must be a callable", self.progress)
        if self.stop is not None and not isinstance(self.stop, anyio.Event):
            raise InputError.single("stop", "must be an anyio.Event", self.stop)
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
