"""The sync state: what the server acknowledged per product and day, in one SQLite file.

``days`` holds, per product and day, the quantity and stock the server has from this state's
runs (and what was declared with ``mark_stored``). ``pending`` holds the rows of requests whose
fate is not settled: ``planned`` (recorded, not sent: safe to drop), ``sending`` and
``unknown`` (may be stored: held until resolved). A row moves to ``days`` only after the
server's 2xx, in one transaction, so a kill at any moment leaves the file consistent. The file
grows with products x days, never with runs, and never holds the API key.

An input is aggregated in a temporary table on disk (quantity summed, stock the maximum, as
the server does), so memory stays flat however large the export.

Keys are ordered day first: exports list a day's products together, so the rows of one batch
land in a few B-tree pages instead of one page per product (a 1000-row commit then writes a
few pages to the WAL, not hundreds).
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
    PRIMARY KEY (day, product)
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
        self._day_first()

    def next_run(self) -> int:
        """Count one more run of this state and return its number (names its batches)."""
        with self._transaction():
            found = self._db.execute("SELECT value FROM meta WHERE key = 'runs'").fetchone()
            run = int(found[0]) + 1 if found else 1
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('runs', ?)", (str(run),))
        return run

    def _day_first(self) -> None:
        """Rebuild a ``days`` table keyed product first (as the first states of this version
        were) day first. The content and every query stay the same; only the order of its
        B-tree changes."""
        (sql,) = self._db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'days'"
        ).fetchone()
        if "PRIMARY KEY (day, product)" in sql:
            return
        with self._transaction():
            self._db.execute(
                "CREATE TABLE days_by_day (product TEXT NOT NULL, day TEXT NOT NULL, "
                "quantity INTEGER NOT NULL, stock INTEGER, PRIMARY KEY (day, product)) "
                "WITHOUT ROWID"
            )
            self._db.execute(
                "INSERT INTO days_by_day SELECT product, day, quantity, stock FROM days"
            )
            self._db.execute("DROP TABLE days")
            self._db.execute("ALTER TABLE days_by_day RENAME TO days")

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
        # The rowid is the first input index of a product and day: rows arrive in input
        # order, so a later row of the same day keeps it, and the plan reads in input order
        # without sorting.
        self._db.execute(
            "CREATE TEMP TABLE input (first INTEGER PRIMARY KEY, product TEXT NOT NULL, "
            "day TEXT NOT NULL, quantity INTEGER NOT NULL, stock INTEGER, "
            "UNIQUE (day, product))"
        )

    def add_input(self, rows: Iterable[InputRow]) -> None:
        """Aggregate input rows as the server would: quantity summed, stock the maximum.
        Rows come in increasing input index."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO temp.input (product, day, quantity, stock, first) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, product) DO "
                "UPDATE SET quantity = quantity + excluded.quantity, "
                "stock = CASE WHEN excluded.stock IS NULL THEN stock "
                "WHEN stock IS NULL THEN excluded.stock ELSE max(stock, excluded.stock) END",
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

    def plan(
        self, size: int, *, today: str, stock_always: bool
    ) -> Iterator[tuple[int, list[PlanRow]]]:
        """The input joined with what the server holds, in input order, ``size`` rows at a
        time, each page with how many rows before it need nothing at all.

        A row needs nothing when it is not pending, its quantity is as stored, and its stock
        is neither to send, nor lower than stored on a closed day, nor waiting for its day to
        close: the planner's rule, decided here so that an unchanged export costs no Python
        work per row. Each product and day appears once in the input and only its own batch
        writes its rows, so reading page by page while earlier pages are sent sees what a
        snapshot taken first would.
        """
        page = (
            "SELECT i.product, i.day, i.quantity, i.stock, i.first, d.quantity, d.stock, p.state, "
            "p.batch FROM temp.input i LEFT JOIN days d ON d.day = i.day AND d.product = i.product "
            "LEFT JOIN pending p ON p.product = i.product AND p.day = i.day "
            "WHERE i.first > :last AND NOT (p.state IS NULL AND d.quantity IS NOT NULL AND "
            "d.quantity = i.quantity AND (i.stock IS NULL OR (d.stock IS NOT NULL AND "
            "CASE WHEN :stock_always OR i.day < :today THEN i.stock = d.stock "
            "ELSE i.stock <= d.stock END))) "
            "ORDER BY i.first LIMIT :size"
        )
        # The rows a page passed over needed nothing: counted on the input's own key, so the
        # join is walked once.
        count = "SELECT count(*) FROM temp.input WHERE first > ? AND first <= ?"
        end = 2**62
        last = -1
        while True:
            rows = self._db.execute(
                page,
                {"stock_always": stock_always, "today": today, "last": last, "size": size},
            ).fetchall()
            upto = rows[-1][4] if len(rows) == size else end
            (span,) = self._db.execute(count, (last, upto)).fetchone()
            if not rows:
                if span:
                    yield span, []
                return
            yield span - len(rows), rows
            last = upto

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

    def acknowledge(self, rows: Sequence[PendingRow], whole_batch: str | None = None) -> None:
        """The server stored ``rows``: add them to ``days`` and forget them as pending.
        ``whole_batch``: ``rows`` are every row of that batch (forgotten in one statement)."""
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
            if whole_batch is None:
                self._forget(rows)
            else:
                self._db.execute("DELETE FROM pending WHERE batch = ?", (whole_batch,))

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
