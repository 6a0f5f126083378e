"""The sync state: what the server acknowledged per product and day, in one SQLite file.

``days`` holds, per product and day, the quantity and stock the server has from this state's
runs (and what was declared with ``mark_stored``). ``pending`` holds the rows of requests whose
fate is not settled: ``planned`` (recorded, not sent: safe to drop), ``sending`` and
``unknown`` (may be stored: held until resolved). A row moves to ``days`` only after the
server's 2xx, in one transaction, so a kill at any moment leaves the file consistent. The file
grows with products x days, never with runs, and never holds the API key.

An input is aggregated in a temporary table on disk (quantity summed, stock the maximum, as
the server does), so memory stays flat however large the export.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from os import PathLike, fspath
from typing import Literal

from ..errors import InputError
from ._sqlite import open_database

__all__ = ["InputRow", "PendingRow", "PlanRow", "SyncState"]

PendingState = Literal["planned", "sending", "unknown"]

InputRow = tuple[str, str, int, int | None, int]
"""product, day, quantity, stock, input index."""

PlanRow = tuple[str, str, int, int | None, int, int | None, int | None, str | None, str | None]
"""product, day, export quantity, export stock, first input index, stored quantity, stored
stock, pending state, pending batch."""

PendingRow = tuple[str, str, int, int | None]
"""product, day, quantity sent (a delta), stock sent."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS days (
    product TEXT NOT NULL,
    day TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    stock INTEGER,
    PRIMARY KEY (product, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    product TEXT NOT NULL,
    day TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    stock INTEGER,
    state TEXT NOT NULL,
    batch TEXT NOT NULL,
    error TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (product, day)
) WITHOUT ROWID;
"""
_VERSION = "2"


class SyncState:
    """One sync state file (WAL mode). Use one run at a time (a file lock guards it)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = fspath(path)
        # temporary tables on disk and a bounded cache: memory stays flat for any input
        self._db = open_database(
            self.path, "sync state", _SCHEMA, ("temp_store=FILE", "cache_size=-16000")
        )
        found = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if found is None:
            self._db.execute("INSERT INTO meta VALUES ('version', ?)", (_VERSION,))
        elif found[0] != _VERSION:
            self._db.close()
            raise InputError.single(
                "state", f"{self.path} is a sync state of another version ({found[0]})", self.path
            )

    def next_run(self) -> int:
        """Count one more run of this state and return its number (names its batches)."""
        with self._transaction():
            found = self._db.execute("SELECT value FROM meta WHERE key = 'runs'").fetchone()
            run = int(found[0]) + 1 if found else 1
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('runs', ?)", (str(run),))
        return run

    # -- settling what earlier runs left -------------------------------------------------------

    def drop_planned(self) -> int:
        """Forget rows recorded but never sent (a run stopped before sending them)."""
        return self._db.execute("DELETE FROM pending WHERE state = 'planned'").rowcount

    def uncertain(self) -> list[tuple[str, str, int, int | None, str, str, str | None]]:
        """Rows that may be stored: product, day, quantity, stock, state, batch, error."""
        rows = self._db.execute(
            "SELECT product, day, quantity, stock, state, batch, error FROM pending "
            "ORDER BY batch, product, day"
        ).fetchall()
        return [tuple(r) for r in rows]

    def uncertain_batches(self) -> dict[str, int]:
        """The batches whose rows may be stored, and how many rows each holds."""
        rows = self._db.execute(
            "SELECT batch, count(*) FROM pending GROUP BY batch ORDER BY batch"
        ).fetchall()
        return dict(rows)

    def resolve_uncertain(
        self, how: Literal["stored", "not_stored"], batches: Collection[str] | None = None
    ) -> int:
        """Settle the rows that may be stored (of ``batches``; all when None) as ``how`` says
        they ended; returns how many."""
        where = "true"
        args: tuple[str, ...] = ()
        if batches is not None:
            where = f"batch IN ({', '.join('?' * len(batches))})"
            args = tuple(batches)
        with self._transaction():
            if how == "stored":
                self._db.execute(
                    "INSERT INTO days (product, day, quantity, stock) "  # noqa: S608 (placeholders only)
                    f"SELECT product, day, quantity, stock FROM pending WHERE {where} "
                    "ON CONFLICT (product, day) DO UPDATE SET "
                    "quantity = days.quantity + excluded.quantity, "
                    "stock = CASE WHEN excluded.stock IS NULL THEN days.stock "
                    "WHEN days.stock IS NULL THEN excluded.stock "
                    "ELSE max(days.stock, excluded.stock) END",
                    args,
                )
            return int(
                self._db.execute(f"DELETE FROM pending WHERE {where}", args).rowcount  # noqa: S608
            )

    # -- the input -----------------------------------------------------------------------------

    def begin_input(self) -> None:
        """Start a fresh temporary table for this run's input."""
        self._db.execute("DROP TABLE IF EXISTS temp.input")
        self._db.execute(
            "CREATE TEMP TABLE input (product TEXT NOT NULL, day TEXT NOT NULL, "
            "quantity INTEGER NOT NULL, stock INTEGER, first INTEGER NOT NULL, "
            "PRIMARY KEY (product, day)) WITHOUT ROWID"
        )

    def add_input(self, rows: Iterable[InputRow]) -> None:
        """Aggregate input rows as the server would: quantity summed, stock the maximum."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO temp.input VALUES (?, ?, ?, ?, ?) ON CONFLICT (product, day) DO "
                "UPDATE SET quantity = quantity + excluded.quantity, "
                "stock = CASE WHEN excluded.stock IS NULL THEN stock "
                "WHEN stock IS NULL THEN excluded.stock ELSE max(stock, excluded.stock) END, "
                "first = min(first, excluded.first)",
                rows,
            )

    def input_days(self) -> int:
        """Distinct products and days of the input."""
        return int(self._db.execute("SELECT count(*) FROM temp.input").fetchone()[0])

    def declare_input(self) -> int:
        """Record the input's totals as what the server holds (nothing is sent). A day the
        state saw acknowledged higher keeps its higher numbers: a declaration never lowers
        what the server is known to hold."""
        with self._transaction():
            return self._db.execute(
                "INSERT INTO days (product, day, quantity, stock) "
                "SELECT product, day, quantity, stock FROM temp.input WHERE true "
                "ON CONFLICT (product, day) DO UPDATE SET "
                "quantity = max(days.quantity, excluded.quantity), "
                "stock = CASE WHEN excluded.stock IS NULL THEN days.stock "
                "WHEN days.stock IS NULL THEN excluded.stock "
                "ELSE max(days.stock, excluded.stock) END"
            ).rowcount

    def plan(self, size: int) -> Iterator[list[PlanRow]]:
        """The input joined with what the server holds, in input order, ``size`` at a time."""
        self._db.execute("DROP TABLE IF EXISTS temp.plan")
        self._db.execute(
            "CREATE TEMP TABLE plan AS SELECT i.product, i.day, i.quantity, i.stock, i.first, "
            "d.quantity AS stored_quantity, d.stock AS stored_stock, p.state AS pending, "
            "p.batch AS pending_batch "
            "FROM temp.input i LEFT JOIN days d USING (product, day) "
            "LEFT JOIN pending p USING (product, day) ORDER BY i.first"
        )
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT rowid, * FROM temp.plan WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [tuple(r[1:]) for r in rows]

    # -- sending -------------------------------------------------------------------------------

    def mark(
        self,
        rows: Sequence[PendingRow],
        state: PendingState,
        batch: str,
        error: str | None = None,
    ) -> None:
        """Record ``rows`` of ``batch`` as pending in ``state`` (inserting or updating them)."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product, day) "
                "DO UPDATE SET state = excluded.state, batch = excluded.batch, "
                "error = excluded.error, updated_at = excluded.updated_at",
                [(p, d, q, s, state, batch, error, now) for p, d, q, s in rows],
            )

    def acknowledge(self, rows: Sequence[PendingRow]) -> None:
        """The server stored ``rows``: add them to ``days`` and forget them as pending."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO days (product, day, quantity, stock) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (product, day) DO UPDATE SET "
                "quantity = days.quantity + excluded.quantity, "
                "stock = CASE WHEN excluded.stock IS NULL THEN days.stock "
                "WHEN days.stock IS NULL THEN excluded.stock "
                "ELSE max(days.stock, excluded.stock) END",
                rows,
            )
            self._forget(rows)

    def forget(self, rows: Sequence[PendingRow]) -> None:
        """The server certainly stored none of ``rows``."""
        with self._transaction():
            self._forget(rows)

    def _forget(self, rows: Sequence[PendingRow]) -> None:
        self._db.executemany(
            "DELETE FROM pending WHERE product = ? AND day = ?", [(p, d) for p, d, _, _ in rows]
        )

    # -- reading -------------------------------------------------------------------------------

    def stored(self) -> dict[tuple[str, str], tuple[int, int | None]]:
        """Every product and day the state holds (for tests and reports; small states)."""
        rows = self._db.execute("SELECT product, day, quantity, stock FROM days").fetchall()
        return {(p, d): (q, s) for p, d, q, s in rows}

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
