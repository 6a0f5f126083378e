"""The upload journal: an SQLite file that makes ``sales.upload`` exactly-once across reruns.

One journal holds many jobs (an input each: a file's path, or a name you give). A job's input
is cut into ranges of ``chunk_size`` records; each range keeps one mark per record:

``S`` stored, ``I`` invalid (never sent), ``R`` refused by the server (not stored), ``N`` not
sent, ``P`` planned (about to go; not sent), ``W`` in flight (may be stored), ``U`` unknown
(sent, answer lost: may be stored).

and a digest of the records it sent (``S``, ``W``, ``U``). A rerun verifies that those records
are unchanged (else it refuses: that would be another input), skips what is stored, sends what
is not (a fixed line included), and holds back what may be stored until told how it ended.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from os import PathLike
from typing import Literal

from ..types.uploads import UnresolvedBatch
from . import _sqlite
from ._sqlite import JOURNAL

__all__ = [
    "MAY_BE_STORED",
    "NOT_STORED",
    "SENT",
    "Journal",
    "JournalRange",
    "NullJournal",
    "Resolution",
    "create_journal",
    "digest_of",
]

Resolution = Literal["stored", "not_stored"]

STORED, INVALID, REFUSED, NOT_SENT, PLANNED, SENDING, UNKNOWN = "SIRNPWU"
MAY_BE_STORED = frozenset({SENDING, UNKNOWN})
SENT = frozenset({STORED, SENDING, UNKNOWN})
NOT_STORED = frozenset({INVALID, REFUSED, NOT_SENT, PLANNED})

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE ranges (job TEXT NOT NULL, seq INTEGER NOT NULL, first_index INTEGER NOT "
    "NULL, marks TEXT NOT NULL, digest TEXT NOT NULL, error TEXT, updated_at REAL NOT NULL, "
    "PRIMARY KEY (job, seq))",
    "INSERT INTO meta VALUES ('version', '2')",
)


def digest_of(lines: Iterable[str]) -> str:
    """The digest of a range's sent records (their canonical lines, in position order)."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass(slots=True)
class JournalRange:
    """One range of a job as the journal knows it."""

    job: str
    seq: int
    first_index: int
    marks: list[str]
    digest: str
    error: str | None

    def unresolved(self) -> UnresolvedBatch | None:
        """This range's records that may be stored, as one unresolved batch (or None)."""
        uncertain = [i for i, m in enumerate(self.marks) if m in MAY_BE_STORED]
        if not uncertain:
            return None
        return UnresolvedBatch(
            self.job,
            self.seq,
            self.first_index + uncertain[0],
            self.first_index + uncertain[-1],
            len(uncertain),
            "unknown" if UNKNOWN in (self.marks[i] for i in uncertain) else "sending",
            self.error,
        )


class NullJournal:
    """No journal: nothing is recorded, every range starts afresh."""

    path: str | None = None

    def get(self, job: str, seq: int) -> JournalRange | None:
        """Nothing is known."""
        return None

    def save(self, entry: JournalRange) -> None:
        """Nothing is kept."""

    def close(self) -> None:
        """Nothing to close."""


class Journal:
    """Jobs' ranges in an SQLite file (WAL mode; each change committed at once), checked on
    open like a sync state (see :mod:`._sqlite`); a journal of 0.2 is marked on first open.
    ``read_only`` opens it without changing anything.

    Use one run at a time per file (:class:`~pleasurestock_async.uploads.lock.FileLock`).
    """

    def __init__(self, path: str | PathLike[str], *, read_only: bool = False) -> None:
        self.path = _sqlite.resolve(path, JOURNAL)
        self.read_only = read_only
        if not read_only and not _sqlite.exists(self.path):
            _sqlite.create(self.path, JOURNAL, _build)
        self._before = _sqlite.leftovers(self.path)
        db = _sqlite.connect(self.path, JOURNAL, read_only=True)
        try:
            found = _sqlite.inspect(db, self.path, JOURNAL, JOURNAL.tables)
        except BaseException:
            db.close()
            _sqlite.tidy(self.path, self._before)
            raise
        if not read_only:
            db.close()
            db = _sqlite.connect(self.path, JOURNAL, read_only=False)
        self._db = db
        try:
            if not read_only:
                # FULL: a mark written just before a request leaves survives a power loss
                # too, so a rerun never resends what may have been stored.
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                if found.legacy:  # 0.2: the same tables, now marked as a journal
                    db.execute("BEGIN IMMEDIATE")
                    db.execute(f"PRAGMA application_id={JOURNAL.application_id}")
                    db.execute(f"PRAGMA user_version={JOURNAL.version}")
                    db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JOURNAL.error(self.path, f"cannot be opened: {exc}") from None
        except BaseException:
            db.close()
            raise

    def get(self, job: str, seq: int) -> JournalRange | None:
        """The range ``seq`` of ``job``, if it was ever recorded."""
        row = self._db.execute(
            "SELECT first_index, marks, digest, error FROM ranges WHERE job = ? AND seq = ?",
            (job, seq),
        ).fetchone()
        if row is None:
            return None
        first, marks, digest, error = row
        return JournalRange(job, seq, first, list(marks), digest, error)

    def save(self, entry: JournalRange) -> None:
        """Record the range's marks, digest and last error."""
        self._db.execute(
            "INSERT INTO ranges VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job, seq) DO UPDATE "
            "SET first_index = excluded.first_index, marks = excluded.marks, "
            "digest = excluded.digest, error = excluded.error, "
            "updated_at = excluded.updated_at",
            (
                entry.job,
                entry.seq,
                entry.first_index,
                "".join(entry.marks),
                entry.digest,
                entry.error,
                time.time(),
            ),
        )

    def jobs(self) -> list[tuple[str, int, int, int, float]]:
        """Every job: name, ranges, records stored, records that may be stored, last change."""
        rows = self._db.execute(
            "SELECT job, marks, updated_at FROM ranges ORDER BY job, seq"
        ).fetchall()
        out: dict[str, list[float]] = {}
        for job, marks, updated in rows:
            found = out.setdefault(job, [0, 0, 0, 0.0])
            found[0] += 1
            found[1] += marks.count(STORED)
            found[2] += sum(marks.count(m) for m in MAY_BE_STORED)
            found[3] = max(found[3], updated)
        return [(job, int(a), int(b), int(c), d) for job, (a, b, c, d) in out.items()]

    def unresolved(self, job: str | None = None) -> list[UnresolvedBatch]:
        """Every range (of ``job``, or of all jobs) with records that may be stored."""
        query = "SELECT job, seq FROM ranges WHERE (marks GLOB '*[WU]*')"
        args: tuple[str, ...] = ()
        if job is not None:
            query += " AND job = ?"
            args = (job,)
        found = []
        for name, seq in self._db.execute(query + " ORDER BY job, seq", args).fetchall():
            entry = self.get(name, seq)
            if entry is not None and (batch := entry.unresolved()) is not None:
                found.append(batch)
        return found

    def prune(self, older_than: timedelta, *, include_unresolved: bool = False) -> list[str]:
        """Forget jobs whose last change is older than ``older_than``; jobs with records that
        may be stored are kept unless ``include_unresolved``. Returns the jobs removed."""
        cutoff = time.time() - older_than.total_seconds()
        removed = []
        for job, _, _, uncertain, updated in self.jobs():
            if updated < cutoff and (include_unresolved or not uncertain):
                self._db.execute("DELETE FROM ranges WHERE job = ?", (job,))
                removed.append(job)
        if removed:
            self._db.execute("VACUUM")
        return removed

    def close(self) -> None:
        """Close the file (a read-only look leaves no log files it created behind)."""
        self._db.close()
        if self.read_only:
            _sqlite.tidy(self.path, self._before)


def create_journal(value: str | PathLike[str]) -> str:
    """The real path of the journal ``value`` names, created (empty, atomically) if no file is
    there; a path that cannot hold one is refused (:class:`~.errors.StateFileError`)."""
    path = _sqlite.resolve(value, JOURNAL)
    if not _sqlite.exists(path):
        _sqlite.create(path, JOURNAL, _build)
    return path


def _build(db: sqlite3.Connection) -> None:
    """The tables of a new journal (inside the creating transaction)."""
    for statement in _SCHEMA:
        db.execute(statement)
