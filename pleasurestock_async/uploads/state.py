"""The sync state in one SQLite file: what the server acknowledged per product and day.

``days`` holds, per product and day, the quantity and stock the server has from this state's
runs (and what was declared with ``mark_stored``). ``pending`` holds the rows of requests whose
fate is not settled: ``planned`` (recorded, not sent: safe to drop), ``sending`` and
``unknown`` (may be stored: held until resolved). A row moves to ``days`` only after the
server's 2xx, in one transaction, so a kill at any moment leaves the file consistent. The file
grows with products x days, never with runs, and never holds the API key (only a one-way hash
of it, in the destination the state is bound to).

Besides: ``product_ids`` maps the UUIDs an export used to ``ps_`` ids (so one product is
counted once, whichever form names it); ``quarantine`` holds the ids the server refused as
unknown (not sent again until their retry day); ``discrepancies`` what the latest runs could
not apply and which of them someone acknowledged; ``runs`` the latest runs.

An input is aggregated in a temporary table on disk (quantity summed, stock the maximum, as
the server does), so memory stays flat however large the export. Keys are ordered day first:
exports list a day's products together, so the rows of one batch land in a few B-tree pages.

This class is blocking: :class:`~pleasurestock_async.uploads.store.SqliteStore` calls it from a
worker thread, one call at a time, so the event loop never waits for the disk.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal

from . import _sqlite
from ._rows import InputRow, Noted, PendingRow, PendingState, PlanRow
from ._sqlite import STATE

__all__ = [
    "QUARANTINE_DAYS",
    "InputRow",
    "Noted",
    "PendingRow",
    "PlanRow",
    "SyncState",
    "create_state",
]

QUARANTINE_DAYS = 7
"""Days after its last refusal on which a quarantined id is tried again."""

_KEEP_RUNS = 100

_TABLES = """
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
_ADDED = """
CREATE TABLE IF NOT EXISTS {schema}product_ids (
    uuid TEXT PRIMARY KEY,
    internal_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {schema}quarantine (
    product TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    retry_on TEXT NOT NULL,
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {schema}discrepancies (
    day TEXT NOT NULL,
    product TEXT NOT NULL,
    kind TEXT NOT NULL,
    export_quantity INTEGER NOT NULL,
    export_stock INTEGER,
    stored_quantity INTEGER,
    stored_stock INTEGER,
    first_index INTEGER NOT NULL,
    accepted_stored INTEGER,
    accepted_export INTEGER,
    last_run INTEGER NOT NULL,
    PRIMARY KEY (day, product, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {schema}runs (
    run INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    today TEXT NOT NULL,
    read INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
"""
_LEGACY_TABLES = {name: STATE.tables[name] for name in ("meta", "days", "pending")}

_MAX_STOCK = (
    "CASE WHEN excluded.stock IS NULL THEN days.stock WHEN days.stock IS NULL THEN "
    "excluded.stock ELSE max(days.stock, excluded.stock) END"
)
_ADD_TO_DAYS = (
    "ON CONFLICT (day, product) DO UPDATE SET quantity = days.quantity + excluded.quantity, "
    f"stock = {_MAX_STOCK}"
)
_NOT_PS = "substr({col}, 1, 3) != 'ps_'"

# Whether a row of the input needs anything (to send, to report, to wait for), and whether
# it is to be sent: the planner's rules, decided in SQL so that an unchanged export costs no
# Python work per row. Both read the aliases i (input), d (days) and p (pending).
_NEEDS = (
    "NOT (p.state IS NULL AND d.quantity IS NOT NULL AND d.quantity = i.quantity AND "
    "(i.stock IS NULL OR (d.stock IS NOT NULL AND CASE WHEN :stock_always OR i.day < :today "
    "THEN i.stock = d.stock ELSE i.stock <= d.stock END)))"
)
_SENDS = (
    "(p.state IS NULL AND (d.quantity IS NULL OR i.quantity > d.quantity OR (i.stock IS NOT "
    "NULL AND (:stock_always OR i.day < :today) AND (d.stock IS NULL OR i.stock > d.stock))))"
)
_JOINS = (
    "FROM temp.input i LEFT JOIN days d ON d.day = i.day AND d.product = i.product "
    "LEFT JOIN pending p ON p.product = i.product AND p.day = i.day AND p.state != 'planned' "
    "LEFT JOIN quarantine q ON q.product = i.product AND NOT :retry AND q.retry_on > :today"
)


class SyncState:
    """One sync state file, checked and (a 0.2 file) upgraded on open. ``read_only`` opens
    it without changing anything (a 0.2 file is read as it is). Blocking; one caller at a
    time (a file lock guards it across processes)."""

    def __init__(self, path: str | PathLike[str], *, read_only: bool = False) -> None:
        self.path = _sqlite.resolve(path, STATE)
        self.read_only = read_only
        self.legacy = False
        if not read_only and not _sqlite.exists(self.path):
            create_state(self.path)
        self._before = _sqlite.leftovers(self.path)
        db = _sqlite.connect(self.path, STATE, read_only=True)
        try:
            found = _sqlite.inspect(db, self.path, STATE, _LEGACY_TABLES)
        except BaseException:
            db.close()
            _sqlite.tidy(self.path, self._before)
            raise
        self.legacy = found.legacy
        if not read_only:
            db.close()
            db = _sqlite.connect(self.path, STATE, read_only=False)
        self._db = db
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise STATE.error(self.path, f"cannot be opened: {exc}") from None
        except BaseException:
            db.close()
            raise

    @classmethod
    def empty(cls) -> SyncState:
        """A state in memory that holds nothing (a dry run where no state file exists yet)."""
        state = cls.__new__(cls)
        state.path = ":memory:"
        state.read_only = True
        state.legacy = False
        state._before = []
        state._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        state._db.executescript(_TABLES + _ADDED.format(schema=""))
        state._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(STATE.version),))
        return state

    def _setup(self) -> None:
        db = self._db
        # temporary tables on disk and a bounded cache: memory stays flat for any input
        for pragma in ("temp_store=FILE", "cache_size=-16000"):
            db.execute(f"PRAGMA {pragma}")
        if self.read_only:
            if self.legacy:  # the tables 0.3 added, empty, where queries look first
                db.executescript(_ADDED.format(schema="temp."))
            return
        # FULL: a mark written just before a request leaves survives a power loss too, so a
        # rerun never resends what may have been stored.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if self.legacy:
            self._upgrade()

    def _upgrade(self) -> None:
        """Make a 0.2 state a 0.3 one, in one transaction: the added tables, days keyed day
        first, the marks; UUID keys are merged into ``ps_`` ones on the next run that can look
        them up (:meth:`legacy_keys`)."""
        with self._transaction():
            _script(self._db, _ADDED.format(schema=""))
            (sql,) = self._db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'days'"
            ).fetchone()
            if "PRIMARY KEY (day, product)" not in sql:
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
            uuids = self._db.execute(
                f"SELECT 1 FROM days WHERE {_NOT_PS.format(col='product')} UNION ALL "  # noqa: S608
                f"SELECT 1 FROM pending WHERE {_NOT_PS.format(col='product')} LIMIT 1"
            ).fetchone()
            self._set("version", str(STATE.version))
            if uuids is not None:
                self._set("legacy_ids", "1")
            self._db.execute(f"PRAGMA application_id={STATE.application_id}")
            self._db.execute(f"PRAGMA user_version={STATE.version}")
        self.legacy = False

    # -- meta ----------------------------------------------------------------------------------

    def _get(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def destination(self) -> tuple[str, str, float | None] | None:
        """The base URL and key hash the state is bound to, and since when (None: unbound)."""
        url, key = self._get("destination_url"), self._get("destination_key")
        if url is None or key is None:
            return None
        since = self._get("destination_since")
        return url, key, None if since is None else float(since)

    def bind(self, url: str, key_hash: str) -> None:
        """Bind the state to a destination (its first run, or a move on purpose)."""
        with self._transaction():
            self._set("destination_url", url)
            self._set("destination_key", key_hash)
            self._set("destination_since", repr(time.time()))

    # -- runs ----------------------------------------------------------------------------------

    def next_run(self) -> int:
        """The number the next run will get (names its batches)."""
        found = self._get("runs")
        return int(found) + 1 if found else 1

    def begin_run(self, today: str) -> int:
        """Count one more run, record it as running, and return its number."""
        with self._transaction():
            run = self.next_run()
            self._set("runs", str(run))
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, NULL, ?, 0, 0, 0, 'running')",
                (run, time.time(), today),
            )
            self._db.execute("DELETE FROM runs WHERE run <= ?", (run - _KEEP_RUNS,))
        return run

    def end_run(self, run: int, read: int, sent: int, stored: int, outcome: str) -> None:
        """Record how run ``run`` ended."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished = ?, read = ?, sent = ?, stored = ?, outcome = ? "
                "WHERE run = ?",
                (time.time(), read, sent, stored, outcome, run),
            )

    # -- settling what earlier runs left -------------------------------------------------------

    def drop_planned(self) -> int:
        """Forget rows recorded but never sent (a run stopped before sending them)."""
        with self._transaction():
            return self._db.execute("DELETE FROM pending WHERE state = 'planned'").rowcount

    def uncertain(self) -> list[tuple[str, str, int, int | None, str, str, str | None]]:
        """Rows that may be stored: product, day, quantity, stock, state, batch, error."""
        rows = self._db.execute(
            "SELECT product, day, quantity, stock, state, batch, error FROM pending "
            "WHERE state != 'planned' ORDER BY batch, product, day"
        ).fetchall()
        return [tuple(r) for r in rows]

    def uncertain_batches(self) -> dict[str, int]:
        """The batches whose rows may be stored, and how many rows each holds."""
        rows = self._db.execute(
            "SELECT batch, count(*) FROM pending WHERE state != 'planned' GROUP BY batch "
            "ORDER BY batch"
        ).fetchall()
        return dict(rows)

    def held_batches(self) -> list[tuple[str, int, str, str | None, float]]:
        """Each batch in doubt: name, rows, state (the worst), last error, since when."""
        rows = self._db.execute(
            "SELECT batch, count(*), max(state), max(error), min(updated_at) FROM pending "
            "WHERE state != 'planned' GROUP BY batch ORDER BY batch"
        ).fetchall()
        return [tuple(r) for r in rows]

    def resolve_uncertain(
        self, how: Literal["stored", "not_stored"], batches: Collection[str] | None = None
    ) -> int:
        """Settle the rows that may be stored (of ``batches``; all when None) as ``how`` says
        they ended; returns how many."""
        where = "state != 'planned'"
        args: tuple[str, ...] = ()
        if batches is not None:
            where += f" AND batch IN ({', '.join('?' * len(batches))})"
            args = tuple(batches)
        with self._transaction():
            if how == "stored":  # a row of 0.2 keyed by UUID lands on its ps_ id when known
                self._db.execute(
                    "INSERT INTO days (product, day, quantity, stock) "  # noqa: S608 (placeholders only)
                    "SELECT coalesce(m.internal_id, p.product), p.day, p.quantity, p.stock "
                    f"FROM pending p LEFT JOIN product_ids m ON m.uuid = p.product WHERE {where} "
                    + _ADD_TO_DAYS,
                    args,
                )
            return int(
                self._db.execute(f"DELETE FROM pending WHERE {where}", args).rowcount  # noqa: S608
            )

    # -- product ids ---------------------------------------------------------------------------

    def product_ids(self, uuids: Collection[str]) -> dict[str, str]:
        """The ``ps_`` ids known for these (lower-case) UUIDs."""
        found: dict[str, str] = {}
        items = list(uuids)
        for start in range(0, len(items), 500):
            part = items[start : start + 500]
            found.update(
                self._db.execute(
                    "SELECT uuid, internal_id FROM product_ids "  # noqa: S608
                    f"WHERE uuid IN ({', '.join('?' * len(part))})",
                    part,
                ).fetchall()
            )
        return found

    def remember_ids(self, mapping: Mapping[str, str]) -> None:
        """Keep UUID -> ``ps_`` id pairs the server told."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO product_ids VALUES (?, ?)", list(mapping.items())
            )

    def legacy_keys(self) -> list[str]:
        """UUIDs a 0.2 state keyed acknowledged rows by, not yet merged into ``ps_`` ids."""
        if self._get("legacy_ids") != "1":
            return []
        rows = self._db.execute(
            f"SELECT product FROM days WHERE {_NOT_PS.format(col='product')} UNION "  # noqa: S608
            f"SELECT product FROM pending WHERE {_NOT_PS.format(col='product')}"
        ).fetchall()
        return [r[0] for r in rows]

    def merge_keys(self, done: bool) -> int:
        """Move rows keyed by a UUID whose ``ps_`` id is known onto that id: acknowledged
        quantities of both forms add up (the server summed what it got under each), stock the
        maximum; a pending row moves unless its ``ps_`` form is pending too (it moves once
        settled). ``done``: every legacy UUID was looked up. Returns the days merged."""
        with self._transaction():
            merged = self._db.execute(
                "INSERT INTO days (product, day, quantity, stock) SELECT m.internal_id, d.day, "  # noqa: S608 (constant fragments)
                "d.quantity, d.stock FROM days d JOIN product_ids m ON m.uuid = d.product "
                "WHERE true " + _ADD_TO_DAYS
            ).rowcount
            self._db.execute("DELETE FROM days WHERE product IN (SELECT uuid FROM product_ids)")
            self._db.execute(
                "UPDATE OR IGNORE pending SET product = (SELECT internal_id FROM product_ids "
                "WHERE uuid = pending.product) WHERE product IN (SELECT uuid FROM product_ids)"
            )
            if done:
                self._db.execute("DELETE FROM meta WHERE key = 'legacy_ids'")
        return int(merged)

    # -- quarantine ----------------------------------------------------------------------------

    def quarantined(self) -> list[tuple[str, str, str, str, str, int, int]]:
        """Every quarantined id: product, error, first and last refusal day, retry day,
        first and last run that refused it."""
        rows = self._db.execute(
            "SELECT product, error, first_day, last_day, retry_on, first_run, last_run "
            "FROM quarantine ORDER BY product"
        ).fetchall()
        return [tuple(r) for r in rows]

    def quarantine(self, refused: Mapping[str, str], today: str, run: int) -> None:
        """Hold these products (with the server's reason) until their retry day."""
        retry = (dt.date.fromisoformat(today) + dt.timedelta(days=QUARANTINE_DAYS)).isoformat()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product) DO "
                "UPDATE SET error = excluded.error, last_day = excluded.last_day, "
                "retry_on = excluded.retry_on, last_run = excluded.last_run",
                [(p, e, today, today, retry, run, run) for p, e in refused.items()],
            )

    def release(self, products: Iterable[str]) -> None:
        """The server took these products after all: no longer held."""
        with self._transaction():
            self._db.executemany(
                "DELETE FROM quarantine WHERE product = ?", [(p,) for p in products]
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
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT INTO temp.input (product, day, quantity, stock, first) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, product) DO "
                "UPDATE SET quantity = quantity + excluded.quantity, "
                "stock = CASE WHEN excluded.stock IS NULL THEN stock "
                "WHEN stock IS NULL THEN excluded.stock ELSE max(stock, excluded.stock) END",
                rows,
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def input_days(self) -> int:
        """Distinct products and days of the input."""
        return int(self._db.execute("SELECT count(*) FROM temp.input").fetchone()[0])

    def declare_input(self) -> int:
        """Record the input's totals as what the server holds (nothing is sent). A day the
        state saw acknowledged higher keeps its higher numbers: a declaration never lowers
        what the server is known to hold."""
        if self.read_only:
            return self.input_days()
        with self._transaction():
            return self._db.execute(
                "INSERT INTO days (product, day, quantity, stock) "  # noqa: S608 (constant fragments)
                "SELECT product, day, quantity, stock FROM temp.input WHERE true "
                "ON CONFLICT (product, day) DO UPDATE SET "
                "quantity = max(days.quantity, excluded.quantity), "
                f"stock = {_MAX_STOCK}"
            ).rowcount

    def counts(self, *, today: str, stock_always: bool, retry: bool) -> tuple[int, int, int]:
        """Before planning: how many input rows need anything at all, how many are to be
        sent, and how many would be sent but are held in quarantine."""
        row = self._db.execute(
            f"SELECT coalesce(sum({_NEEDS}), 0), "
            f"coalesce(sum({_SENDS} AND q.product IS NULL), 0), "
            f"coalesce(sum({_SENDS} AND q.product IS NOT NULL), 0) {_JOINS}",
            {"today": today, "stock_always": stock_always, "retry": retry},
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def plan_page(
        self, last: int, size: int, *, today: str, stock_always: bool, retry: bool
    ) -> tuple[int, list[PlanRow], int | None]:
        """One page of the plan: the input rows after index ``last`` that need anything,
        joined with what the server holds, in input order, at most ``size``; with how many
        rows it passed over (they need nothing) and where the next page starts (None: this
        was the last).

        Each product and day appears once in the input and only its own batch writes its
        rows, so reading page by page while earlier pages are sent sees what a snapshot taken
        first would.
        """
        rows = self._db.execute(
            "SELECT i.product, i.day, i.quantity, i.stock, i.first, d.quantity, d.stock, "
            f"p.state, p.batch, q.product IS NOT NULL {_JOINS} "
            f"WHERE i.first > :last AND {_NEEDS} ORDER BY i.first LIMIT :size",
            {
                "stock_always": stock_always,
                "today": today,
                "retry": retry,
                "last": last,
                "size": size,
            },
        ).fetchall()
        upto = rows[-1][4] if len(rows) == size else 2**62
        (span,) = self._db.execute(
            "SELECT count(*) FROM temp.input WHERE first > ? AND first <= ?", (last, upto)
        ).fetchone()
        return int(span) - len(rows), rows, (upto if len(rows) == size else None)

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
                "INSERT INTO days (product, day, quantity, stock) VALUES (?, ?, ?, ?) "  # noqa: S608 (constant fragments)
                + _ADD_TO_DAYS,
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

    # -- discrepancies -------------------------------------------------------------------------

    def note_discrepancies(
        self,
        found: Sequence[Noted],
        run: int,
        accept: Literal["all"] | Collection[tuple[str, str]] | None,
    ) -> list[bool]:
        """Record what run ``run`` could not apply; accept those ``accept`` names (``"all"``:
        every one). Returns, for each, whether it is acknowledged: accepted now, or earlier
        with exactly these figures (one that changed since is new again)."""
        out: list[bool] = []
        updates: list[tuple[Any, ...]] = []
        for day, product, kind, eq, es, sq, ss, first in found:
            stored, export = (sq, eq) if kind == "quantity" else (ss, es)
            row = self._db.execute(
                "SELECT accepted_stored, accepted_export FROM discrepancies "
                "WHERE day = ? AND product = ? AND kind = ?",
                (day, product, kind),
            ).fetchone()
            accepted = row is not None and (row[0], row[1]) == (stored, export)
            if accept == "all" or (accept and (product, day) in accept):
                accepted = True
            out.append(accepted)
            kept = (stored, export) if accepted else (None, None)
            updates.append((day, product, kind, eq, es, sq, ss, first, *kept, run))
        if not self.read_only and updates:
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO discrepancies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    updates,
                )
        return out

    def discrepancies(self, run: int) -> list[tuple[Any, ...]]:
        """The discrepancies run ``run`` saw: :data:`Noted` fields and whether acknowledged."""
        rows = self._db.execute(
            "SELECT day, product, kind, export_quantity, export_stock, stored_quantity, "
            "stored_stock, first_index, CASE kind WHEN 'quantity' THEN "
            "accepted_stored IS stored_quantity AND accepted_export IS export_quantity "
            "ELSE accepted_stored IS stored_stock AND accepted_export IS export_stock END "
            "FROM discrepancies WHERE last_run = ? ORDER BY day, product, kind",
            (run,),
        ).fetchall()
        return [tuple(r) for r in rows]

    # -- reading -------------------------------------------------------------------------------

    def stored(self) -> dict[tuple[str, str], tuple[int, int | None]]:
        """Every product and day the state holds (for tests and reports; small states)."""
        rows = self._db.execute("SELECT product, day, quantity, stock FROM days").fetchall()
        return {(p, d): (q, s) for p, d, q, s in rows}

    def summary(self) -> dict[str, Any]:
        """Counts and recent runs, for a status report."""
        db = self._db
        days, products, first, last = db.execute(
            "SELECT count(*), count(DISTINCT product), min(day), max(day) FROM days"
        ).fetchone()
        (pending,) = db.execute("SELECT count(*) FROM pending WHERE state != 'planned'").fetchone()
        runs = db.execute(
            "SELECT run, started, finished, today, read, sent, stored, outcome FROM runs "
            "ORDER BY run DESC LIMIT 10"
        ).fetchall()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        return {
            "schema": int(version) or 2,
            "product_days": int(days),
            "products": int(products),
            "first_day": first,
            "last_day": last,
            "pending_rows": int(pending),
            "runs": [tuple(r) for r in runs],
        }

    # -- copying (``state copy``) ----------------------------------------------------------------

    def meta(self) -> tuple[tuple[str, str, float | None] | None, int, bool]:
        """Destination, runs so far, and whether UUID keys of 0.2 still wait to be merged."""
        return self.destination(), self.next_run() - 1, self._get("legacy_ids") == "1"

    def export_cursor(self, table: str, columns: Sequence[str], order: str) -> sqlite3.Cursor:
        """A cursor over every row of ``table`` (read with ``fetchmany``)."""
        return self._db.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"  # noqa: S608 (names of the schema)
        )

    def fingerprint(self, queries: Mapping[str, str]) -> dict[str, tuple[int, ...]]:
        """Counts and sums of every table (``queries``: one per table)."""
        return {
            table: tuple(int(v) for v in self._db.execute(sql).fetchone())
            for table, sql in queries.items()
        }

    def begin_import(
        self, destination: tuple[str, str, float | None] | None, runs: int, legacy: bool
    ) -> None:
        """Open the transaction that writes a copied state, with its meta."""
        self._db.execute("BEGIN IMMEDIATE")
        for key in (
            "destination_url",
            "destination_key",
            "destination_since",
            "runs",
            "legacy_ids",
        ):
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        if destination is not None:
            url, key_hash, since = destination
            self._set("destination_url", url)
            self._set("destination_key", key_hash)
            if since is not None:
                self._set("destination_since", repr(since))
        if runs:
            self._set("runs", str(runs))
        if legacy:
            self._set("legacy_ids", "1")

    def import_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Rows of a copied state (inside :meth:`begin_import`'s transaction)."""
        self._db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (names of the schema)
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )

    def end_import(self, commit: bool) -> None:
        """Commit or roll back a copy."""
        self._db.execute("COMMIT" if commit else "ROLLBACK")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Close the file (a read-only look leaves no log files it created behind)."""
        self._db.close()
        if self.read_only and self.path != ":memory:":
            _sqlite.tidy(self.path, self._before)


def create_state(path: str) -> bool:
    """Create an empty state at ``path`` (a real path) if no file is there; see
    :func:`._sqlite.create`."""
    return _sqlite.create(path, STATE, _build)


def _build(db: sqlite3.Connection) -> None:
    """The tables of a new state (inside the creating transaction)."""
    _script(db, _TABLES + _ADDED.format(schema=""))
    db.execute("INSERT INTO meta VALUES ('version', ?)", (str(STATE.version),))


def _script(db: sqlite3.Connection, script: str) -> None:
    """Statements one by one (``executescript`` would commit the open transaction first)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
