"""Moving a sync state between stores (SQLite file <-> PostgreSQL, or a new name): all of it or
nothing, verified before it is kept.

The source is opened to read under a shared lock and the destination to write under its run
lock, so a copy refuses (or waits ``wait`` seconds) while a run holds either, and no run starts
on either while it copies. The destination must be a blank state (a new file or name). Every
row moves (days acknowledged, rows in doubt, the UUID map, the quarantine, discrepancies, runs)
with the destination binding and the run counter, in one transaction that commits only when
the destination's row counts and totals equal the source's. The source is left as it was:
stop using it once the copy is in use, or both would be synced against one platform.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, StateFileError
from .store import COPY_TABLES, StateStore, open_state, state_label

__all__ = ["CopyReport", "copy_state"]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What a copy moved: ``source`` and ``target`` as named in messages (no password),
    ``rows`` per table, and the totals of acknowledged days that both now hold."""

    source: str
    target: str
    rows: dict[str, int]
    days: int
    quantity: int
    stock: int


async def _pages(store: StateStore) -> AsyncIterator[tuple[str, list[tuple[Any, ...]]]]:
    for table in COPY_TABLES:
        async for rows in store.export_rows(table):
            yield table, rows


async def copy_state(source: object, target: object, *, wait: float = 0.0) -> CopyReport:
    """Copy the state ``source`` names into ``target`` (each a file path or a
    ``postgresql://`` URL); see the module. Raises :class:`StateFileError` (a missing source,
    a target that holds a state, a copy that does not add up), :class:`StateLockedError`."""
    if state_label(source) == state_label(target) or source == target:
        raise InputError.single("target", "is the source itself", state_label(target))
    async with (
        open_state(source, read_only=True, wait=wait, must_exist=True) as src,
        open_state(target, wait=wait) as dst,
    ):
        if src.name == dst.name:
            raise InputError.single("target", "is the source itself", dst.name)
        if not await dst.is_blank():
            raise StateFileError(
                dst.name,
                "already holds a state: copy into a new file or state name (nothing was changed)",
            )
        expected = await src.fingerprint()
        meta = await src.export_meta()
        got = await dst.import_state(meta, _pages(src), expected)
    days = got["days"]
    return CopyReport(
        src.name,
        dst.name,
        {table: got[table][0] for table in COPY_TABLES},
        days[0],
        days[1],
        days[2],
    )
