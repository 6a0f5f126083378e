"""The upload journal: an SQLite file that makes a sales upload exactly-once across crashes.

Each batch is recorded by its sequence number and content hash before it is sent, and its
outcome after. A rerun of the same input skips what the server acknowledged, resends what was
never sent, and holds back what may or may not have arrived (``sending``/``unknown``).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from typing import Any

__all__ = ["BatchState", "Journal", "JournalEntry"]


class BatchState(StrEnum):
    """Where a batch stands. Only ``acknowledged`` batches are certainly stored by the server;
    ``sending`` and ``unknown`` ones may be."""

    PLANNED = "planned"
    SENDING = "sending"
    ACKNOWLEDGED = "acknowledged"
    NOT_SENT = "not_sent"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def may_be_stored(self) -> bool:
        """Whether resending could double-count: the server may already hold this batch."""
        return self in (BatchState.SENDING, BatchState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One batch as the journal knows it."""

    seq: int
    digest: str
    first_index: int
    last_index: int
    records: int
    state: BatchState
    processed: int | None
    error: str | None


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    seq, digest, first, last, records, state, processed, error = row
    return JournalEntry(seq, digest, first, last, records, BatchState(state), processed, error)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    first_index INTEGER NOT NULL,
    last_index INTEGER NOT NULL,
    records INTEGER NOT NULL,
    state TEXT NOT NULL,
    processed INTEGER,
    error TEXT,
    updated_at REAL NOT NULL
)
"""


class Journal:
    """One upload's batches in an SQLite file (WAL mode, committed at every change)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, seq: int) -> JournalEntry | None:
        """The entry of batch ``seq``, if it was ever planned."""
        row = self._db.execute(
            "SELECT seq, digest, first_index, last_index, records, state, processed, error "
            "FROM batches WHERE seq = ?",
            (seq,),
        ).fetchone()
        if row is None:
            return None
        return _entry(row)

    def plan(self, seq: int, digest: str, first_index: int, last_index: int, records: int) -> None:
        """Record a batch about to be sent (state ``planned``)."""
        self._db.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?) "
            "ON CONFLICT(seq) DO UPDATE SET state = excluded.state, error = NULL, "
            "updated_at = excluded.updated_at",
            (seq, digest, first_index, last_index, records, BatchState.PLANNED, time.time()),
        )

    def mark(
        self,
        seq: int,
        state: BatchState,
        *,
        processed: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record a batch's new state."""
        self._db.execute(
            "UPDATE batches SET state = ?, processed = ?, error = ?, updated_at = ? WHERE seq = ?",
            (state, processed, error, time.time(), seq),
        )

    def close(self) -> None:
        """Close the file."""
        self._db.close()
