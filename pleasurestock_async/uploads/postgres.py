"""A sync state in PostgreSQL: the same records and rules as the SQLite state, for jobs whose
disk does not last (containers, CI schedules) and fleets of workers sharing one database.

Many states share a database, each under its own name (``?state=`` of the URL) in one schema
of tables (:mod:`._pg_schema`, created and migrated by the SDK). One run at a time holds a
state: a session-level advisory lock of the connection the run uses for everything, so the
lock ends with the connection, however the run ends (a killed process's connection is closed
by its kernel, and PostgreSQL drops its locks at once; TCP keepalives end the session of a host
that vanished). Rows are recorded ``sending`` in a committed transaction before their request
leaves and move to ``days`` only after the server's 2xx, in one transaction, as in the SQLite
state. The driver is asyncpg (measured against psycopg 3: ``benchmarks/bench_pg_driver.py``),
run by :class:`._pg_driver.Driver` on asyncio or trio.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ..errors import StateFileError, StateLockedError
from ..types.uploads import StateDestination, StateStatus
from . import _pg_schema
from ._pg_driver import Driver
from ._rows import FINGERPRINTS, STATE_TABLES, InputRow, Noted, PendingRow, PendingState, PlanRow
from .location import PostgresLocation
from .state import _KEEP_RUNS, QUARANTINE_DAYS

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PostgresStore", "StateMeta"]

CONNECT_TIMEOUT = 15.0
COMMAND_TIMEOUT = 300.0
"""Seconds a statement may take before the run fails (a database that stopped answering)."""
_POLL = 0.1
_INPUT_BUFFER = 20_000
_LOCK_SALT = 0x50537374  # "PSst", as the SQLite state's application_id


_DATES = {"day", "first_day", "last_day", "retry_on", "today"}
_ORDER = {
    "days": "day, product",
    "pending": "product, day",
    "product_ids": "uuid",
    "quarantine": "product",
    "discrepancies": "day, product, kind",
    "runs": "run",
}

_NEEDS = (
    "NOT (p.state IS NULL AND d.quantity IS NOT NULL AND d.quantity = i.quantity AND "
    "(i.stock IS NULL OR (d.stock IS NOT NULL AND CASE WHEN $3 OR i.day < $2 "
    "THEN i.stock = d.stock ELSE i.stock <= d.stock END)))"
)
_SENDS = (
    "(p.state IS NULL AND (d.quantity IS NULL OR i.quantity > d.quantity OR (i.stock IS NOT "
    "NULL AND ($3 OR i.day < $2) AND (d.stock IS NULL OR i.stock > d.stock))))"
)


class StateMeta:
    """What a state is besides its rows: its destination, runs so far, and whether rows keyed
    by UUID (a state of 0.2) still wait to be merged."""

    __slots__ = ("destination", "legacy_ids", "runs")

    def __init__(self, destination: StateDestination | None, runs: int, legacy_ids: bool) -> None:
        self.destination: StateDestination | None = destination
        self.runs: int = runs
        self.legacy_ids: bool = legacy_ids


def _count(status: str) -> int:
    """The row count of a command's status (``INSERT 0 12``, ``DELETE 3``)."""
    return int(status.rsplit(" ", 1)[-1])


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _lock_key(location: PostgresLocation) -> str:
    return f"pleasurestock-async sync state:{location.schema}:{location.state}"


class PostgresStore:
    """One state in a PostgreSQL database, open (and locked) for one run. Built by
    :meth:`open`; every statement runs through :class:`Driver`, one at a time."""

    def __init__(
        self,
        location: PostgresLocation,
        driver: Driver,
        conn: asyncpg.Connection,
        state_id: int,
        *,
        read_only: bool,
        busy: bool,
        version: int,
    ) -> None:
        self._location = location
        self._driver = driver
        self._conn = conn
        self._sid = state_id
        self._s = f'"{location.schema}"'
        self._version = version
        self._buffer: list[InputRow] = []
        self._input = "none"  # none | raw (rows arriving) | ready (aggregated)
        self._copy: Any = None
        self.name: str = location.label
        self.read_only = read_only
        self.busy = busy
        """Opened while a run held the state (a look only)."""

    def __repr__(self) -> str:
        return f"PostgresStore({self.name!r}, read_only={self.read_only})"

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        location: PostgresLocation,
        *,
        read_only: bool,
        wait: float,
        peek: bool = False,
        must_exist: bool = False,
    ) -> PostgresStore | None:
        """Connect, create or migrate the schema (not when ``read_only``), lock the state (a
        shared lock when ``read_only``; none when ``peek`` finds a run holding it), create
        its row (not when ``read_only``). None: ``read_only`` and there is no such state."""
        driver = Driver()
        conn: asyncpg.Connection | None = None
        try:
            conn = await driver.call(_connect, location)
            version = await driver.call(_schema, conn, location, read_only=read_only)
            found = None if version is None else await driver.call(_state_id, conn, location)
            if found is None and must_exist:
                from .store import MISSING

                raise _error(location, MISSING)
            if version is None or (found is None and read_only):
                await driver.call(_close, conn)
                await driver.aclose()
                return None
            busy = await _lock(driver, conn, location, read_only=read_only, wait=wait, peek=peek)
            state_id = found
            if state_id is None:
                state_id = await driver.call(_state_id, conn, location, create=True)
            assert state_id is not None
        except BaseException:
            with anyio.CancelScope(shield=True):
                if conn is not None:
                    await driver.call(_close, conn)
                await driver.aclose()
            raise
        return cls(
            location, driver, conn, state_id, read_only=read_only, busy=busy, version=version
        )

    async def close(self) -> None:
        """Close the connection (which releases the lock)."""
        try:
            await self._driver.call(_close, self._conn)
        finally:
            await self._driver.aclose()

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self._driver.call(self._conn.fetch, sql, *args))

    async def _row(self, sql: str, *args: Any) -> Any:
        return await self._driver.call(self._conn.fetchrow, sql, *args)

    async def _value(self, sql: str, *args: Any) -> Any:
        return await self._driver.call(self._conn.fetchval, sql, *args)

    async def _execute(self, sql: str, *args: Any) -> str:
        return str(await self._driver.call(self._conn.execute, sql, *args))

    async def _atomic(self, *statements: tuple[str, tuple[Any, ...]]) -> list[str]:
        """Statements in one transaction; their statuses."""

        async def run() -> list[str]:
            async with self._conn.transaction():
                return [str(await self._conn.execute(sql, *args)) for sql, args in statements]

        return await self._driver.call(run)

    # -- destination and runs ------------------------------------------------------------------

    async def destination(self) -> StateDestination | None:
        """Where the state's acknowledgements were made (None: not bound yet)."""
        row = await self._row(
            f"SELECT destination_url, destination_key, destination_since FROM {self._s}.states "
            "WHERE id = $1",
            self._sid,
        )
        if row is None or row[0] is None or row[1] is None:
            return None
        return StateDestination(row[0], row[1], row[2])

    async def bind(self, destination: StateDestination) -> None:
        """Bind the state to ``destination``."""
        await self._execute(
            f"UPDATE {self._s}.states SET destination_url = $2, destination_key = $3, "
            "destination_since = $4 WHERE id = $1",
            self._sid,
            destination.base_url,
            destination.key_hash,
            time.time(),
        )

    async def next_run(self) -> int:
        """The number the next run will get."""
        runs = await self._value(f"SELECT runs FROM {self._s}.states WHERE id = $1", self._sid)
        return int(runs or 0) + 1

    async def begin_run(self, today: str) -> int:
        """Count and record one more run (running)."""

        async def run() -> int:
            async with self._conn.transaction():
                number = int(
                    await self._conn.fetchval(
                        f"UPDATE {self._s}.states SET runs = runs + 1 WHERE id = $1 RETURNING runs",
                        self._sid,
                    )
                )
                await self._conn.execute(
                    f"INSERT INTO {self._s}.runs VALUES ($1, $2, $3, NULL, $4, 0, 0, 0, "
                    "'running') ON CONFLICT (state_id, run) DO UPDATE SET started = "
                    "excluded.started, finished = NULL, today = excluded.today, read = 0, "
                    "sent = 0, stored = 0, outcome = 'running'",
                    self._sid,
                    number,
                    time.time(),
                    _date(today),
                )
                await self._conn.execute(
                    f"DELETE FROM {self._s}.runs WHERE state_id = $1 AND run <= $2",
                    self._sid,
                    number - _KEEP_RUNS,
                )
                return number

        return await self._driver.call(run)

    async def end_run(self, run: int, read: int, sent: int, stored: int, outcome: str) -> None:
        """Record how run ``run`` ended."""
        await self._execute(
            f"UPDATE {self._s}.runs SET finished = $3, read = $4, sent = $5, stored = $6, "
            "outcome = $7 WHERE state_id = $1 AND run = $2",
            self._sid,
            run,
            time.time(),
            read,
            sent,
            stored,
            outcome,
        )

    # -- settling what earlier runs left -------------------------------------------------------

    async def drop_planned(self) -> int:
        """Forget rows recorded but never sent."""
        return _count(
            await self._execute(
                f"DELETE FROM {self._s}.pending WHERE state_id = $1 AND state = 'planned'",
                self._sid,
            )
        )

    async def uncertain_batches(self) -> dict[str, int]:
        """The batches whose rows may be stored, with their row counts."""
        rows = await self._fetch(
            f"SELECT batch, count(*) FROM {self._s}.pending WHERE state_id = $1 AND "
            "state <> 'planned' GROUP BY batch ORDER BY batch",
            self._sid,
        )
        return {r[0]: int(r[1]) for r in rows}

    async def resolve_uncertain(
        self, how: Literal["stored", "not_stored"], batches: Collection[str] | None = None
    ) -> int:
        """Settle uncertain rows (of ``batches``; all when None) as ``how`` says."""
        where = "p.state_id = $1 AND p.state <> 'planned' AND ($2::text[] IS NULL OR "
        where += "p.batch = ANY($2::text[]))"
        names = None if batches is None else list(batches)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if how == "stored":  # a row keyed by UUID lands on its ps_ id when known
            statements.append(
                (
                    f"INSERT INTO {self._s}.days AS d (state_id, day, product, quantity, stock) "
                    "SELECT $1, p.day, coalesce(m.internal_id, p.product), sum(p.quantity), "
                    f"max(p.stock) FROM {self._s}.pending p LEFT JOIN {self._s}.product_ids m "
                    f"ON m.state_id = p.state_id AND m.uuid = p.product WHERE {where} "
                    "GROUP BY 2, 3 " + self._add_to_days(),
                    (self._sid, names),
                )
            )
        statements.append((f"DELETE FROM {self._s}.pending p WHERE {where}", (self._sid, names)))
        return _count((await self._atomic(*statements))[-1])

    @staticmethod
    def _add_to_days() -> str:
        return (
            "ON CONFLICT (state_id, day, product) DO UPDATE SET quantity = d.quantity + "
            "excluded.quantity, stock = greatest(d.stock, excluded.stock)"
        )

    # -- product ids ---------------------------------------------------------------------------

    async def product_ids(self, uuids: Collection[str]) -> dict[str, str]:
        """The ``ps_`` ids known for these lower-case UUIDs."""
        rows = await self._fetch(
            f"SELECT uuid, internal_id FROM {self._s}.product_ids WHERE state_id = $1 AND "
            "uuid = ANY($2::text[])",
            self._sid,
            list(uuids),
        )
        return {r[0]: r[1] for r in rows}

    async def remember_ids(self, mapping: Mapping[str, str]) -> None:
        """Keep UUID -> ``ps_`` id pairs."""
        await self._execute(
            f"INSERT INTO {self._s}.product_ids SELECT $1, u, i FROM unnest($2::text[], "
            "$3::text[]) AS x(u, i) ON CONFLICT (state_id, uuid) DO UPDATE SET "
            "internal_id = excluded.internal_id",
            self._sid,
            list(mapping),
            list(mapping.values()),
        )

    async def legacy_keys(self) -> list[str]:
        """UUIDs a state of 0.2 keyed acknowledged rows by, still to merge."""
        flagged = await self._value(
            f"SELECT legacy_ids FROM {self._s}.states WHERE id = $1", self._sid
        )
        if not flagged:
            return []
        rows = await self._fetch(
            f"SELECT product FROM {self._s}.days WHERE state_id = $1 AND left(product, 3) <> "
            f"'ps_' UNION SELECT product FROM {self._s}.pending WHERE state_id = $1 AND "
            "left(product, 3) <> 'ps_'",
            self._sid,
        )
        return [r[0] for r in rows]

    async def merge_keys(self, done: bool) -> int:
        """Merge rows keyed by a known UUID into its ``ps_`` id (sums, stock the maximum)."""
        s, sid = self._s, (self._sid,)
        statuses = await self._atomic(
            (
                f"INSERT INTO {s}.days AS d (state_id, day, product, quantity, stock) "
                f"SELECT $1, x.day, m.internal_id, sum(x.quantity), max(x.stock) FROM {s}.days x "
                f"JOIN {s}.product_ids m ON m.state_id = x.state_id AND m.uuid = x.product "
                "WHERE x.state_id = $1 GROUP BY x.day, m.internal_id " + self._add_to_days(),
                sid,
            ),
            (
                f"DELETE FROM {s}.days WHERE state_id = $1 AND product IN (SELECT uuid FROM "
                f"{s}.product_ids WHERE state_id = $1)",
                sid,
            ),
            (
                f"UPDATE {s}.pending p SET product = m.internal_id FROM {s}.product_ids m "
                "WHERE p.state_id = $1 AND m.state_id = $1 AND m.uuid = p.product AND NOT "
                f"EXISTS (SELECT 1 FROM {s}.pending o WHERE o.state_id = $1 AND o.product = "
                "m.internal_id AND o.day = p.day)",
                sid,
            ),
            (
                f"UPDATE {s}.states SET legacy_ids = legacy_ids AND NOT $2 WHERE id = $1",
                (self._sid, done),
            ),
        )
        return _count(statuses[0])

    # -- quarantine ----------------------------------------------------------------------------

    async def quarantined(self) -> list[tuple[str, str, str, str, str, int, int]]:
        """Every id held in quarantine."""
        rows = await self._fetch(
            "SELECT product, error, first_day::text, last_day::text, retry_on::text, "
            f"first_run, last_run FROM {self._s}.quarantine WHERE state_id = $1 "
            "ORDER BY product",
            self._sid,
        )
        return [tuple(r) for r in rows]

    async def quarantine(self, refused: Mapping[str, str], today: str, run: int) -> None:
        """Hold these products (with the server's reasons) until their retry day."""
        day = _date(today)
        await self._execute(
            f"INSERT INTO {self._s}.quarantine SELECT $1, p, e, $4, $4, $5, $6, $6 FROM "
            "unnest($2::text[], $3::text[]) AS x(p, e) ON CONFLICT (state_id, product) DO "
            "UPDATE SET error = excluded.error, last_day = excluded.last_day, "
            "retry_on = excluded.retry_on, last_run = excluded.last_run",
            self._sid,
            list(refused),
            list(refused.values()),
            day,
            day + dt.timedelta(days=QUARANTINE_DAYS),
            run,
        )

    async def release(self, products: Iterable[str]) -> None:
        """The server took these products after all."""
        await self._execute(
            f"DELETE FROM {self._s}.quarantine WHERE state_id = $1 AND product = ANY($2::text[])",
            self._sid,
            list(products),
        )

    # -- the input -----------------------------------------------------------------------------

    async def begin_input(self) -> None:
        """Start this run's input: rows arrive in a temporary table, aggregated once read."""

        async def run() -> None:
            await self._conn.execute("DROP TABLE IF EXISTS pg_temp.input, pg_temp.input_raw")
            await self._conn.execute(
                "CREATE TEMP TABLE input_raw (product text NOT NULL, day text NOT NULL, "
                "quantity bigint NOT NULL, stock bigint, first bigint NOT NULL)"
            )

        await self._driver.call(run)
        self._buffer = []
        self._input = "raw"

    async def add_input(self, rows: Sequence[InputRow]) -> None:
        """Aggregate input rows as the server would (buffered, then copied in bulk)."""
        self._buffer.extend(rows)
        if len(self._buffer) >= _INPUT_BUFFER:
            await self._flush()

    async def _flush(self) -> None:
        rows, self._buffer = self._buffer, []
        if rows:
            await self._driver.call(
                self._conn.copy_records_to_table,
                "input_raw",
                records=rows,
                columns=["product", "day", "quantity", "stock", "first"],
            )

    async def _ready(self) -> None:
        """The input aggregated: one row per product and day, quantity summed, stock the
        maximum, keyed by its first input index; analysed for the planner."""
        if self._input == "ready":
            return
        if self._input == "none":
            await self.begin_input()
        await self._flush()

        async def run() -> None:
            await self._conn.execute(
                "CREATE TEMP TABLE input AS SELECT min(first) AS first, product, day::date AS "
                "day, sum(quantity)::bigint AS quantity, max(stock) AS stock FROM input_raw "
                "GROUP BY day, product"
            )
            await self._conn.execute("DROP TABLE input_raw")
            await self._conn.execute("ALTER TABLE input ADD PRIMARY KEY (first)")
            await self._conn.execute("ANALYZE input")

        await self._driver.call(run)
        self._input = "ready"

    async def input_days(self) -> int:
        """Distinct products and days of the input."""
        await self._ready()
        return int(await self._value("SELECT count(*) FROM input"))

    async def declare_input(self) -> int:
        """Record the input's totals as already on the server (never lowering a day)."""
        await self._ready()
        if self.read_only:
            return await self.input_days()
        return _count(
            await self._execute(
                f"INSERT INTO {self._s}.days AS d (state_id, day, product, quantity, stock) "
                "SELECT $1, day, product, quantity, stock FROM input ON CONFLICT (state_id, "
                "day, product) DO UPDATE SET quantity = greatest(d.quantity, "
                "excluded.quantity), stock = greatest(d.stock, excluded.stock)",
                self._sid,
            )
        )

    def _joins(self) -> str:
        s = self._s
        return (
            f"FROM input i LEFT JOIN {s}.days d ON d.state_id = $1 AND d.day = i.day AND "
            f"d.product = i.product LEFT JOIN {s}.pending p ON p.state_id = $1 AND "
            "p.product = i.product AND p.day = i.day AND p.state <> 'planned' "
            f"LEFT JOIN {s}.quarantine q ON q.state_id = $1 AND q.product = i.product AND "
            "NOT $4 AND q.retry_on > $2"
        )

    async def counts(self, *, today: str, stock_always: bool, retry: bool) -> tuple[int, int, int]:
        """Input rows that need anything, rows to send, rows held in quarantine."""
        await self._ready()
        row = await self._row(
            f"SELECT count(*) FILTER (WHERE {_NEEDS}), "
            f"count(*) FILTER (WHERE {_SENDS} AND q.product IS NULL), "
            f"count(*) FILTER (WHERE {_SENDS} AND q.product IS NOT NULL) {self._joins()}",
            self._sid,
            _date(today),
            stock_always,
            retry,
        )
        return int(row[0]), int(row[1]), int(row[2])

    async def plan(
        self, size: int, *, today: str, stock_always: bool, retry: bool
    ) -> AsyncGenerator[tuple[int, list[PlanRow]], None]:
        """The input rows that need anything, joined with what the server holds, a page at a
        time, each with how many rows before it needed nothing (see the SQLite state)."""
        await self._ready()
        sql = (
            "SELECT i.product, i.day::text, i.quantity, i.stock, i.first, d.quantity, d.stock, "
            f"p.state, p.batch, (q.product IS NOT NULL)::int {self._joins()} "
            f"WHERE i.first > $5 AND {_NEEDS} ORDER BY i.first LIMIT $6"
        )
        day = _date(today)

        async def page(last: int) -> tuple[int, list[PlanRow], int | None]:
            found = await self._conn.fetch(sql, self._sid, day, stock_always, retry, last, size)
            rows: list[PlanRow] = [tuple(r) for r in found]
            upto = rows[-1][4] if len(rows) == size else 2**62
            span = await self._conn.fetchval(
                "SELECT count(*) FROM input WHERE first > $1 AND first <= $2", last, upto
            )
            return int(span) - len(rows), rows, (upto if len(rows) == size else None)

        last = -1
        while True:
            quiet, rows, upto = await self._driver.call(page, last)
            if rows or quiet:
                yield quiet, rows
            if upto is None:
                return
            last = upto

    # -- sending -------------------------------------------------------------------------------

    @staticmethod
    def _columns(rows: Sequence[PendingRow]) -> tuple[list[str], list[str], list[int], list[Any]]:
        return (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
        )

    async def mark(
        self, rows: Sequence[PendingRow], state: PendingState, batch: str, error: str | None = None
    ) -> None:
        """Record rows of ``batch`` as pending in ``state`` (committed before it returns)."""
        if not rows:
            return
        await self._execute(
            f"INSERT INTO {self._s}.pending SELECT $1, p, d::date, q, s, $6, $7, $8, $9 FROM "
            "unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS x(p, d, q, s) "
            "ON CONFLICT (state_id, product, day) DO UPDATE SET state = excluded.state, "
            "batch = excluded.batch, error = excluded.error, updated_at = excluded.updated_at",
            self._sid,
            *self._columns(rows),
            state,
            batch,
            error,
            time.time(),
        )

    async def acknowledge(self, rows: Sequence[PendingRow], whole_batch: str | None = None) -> None:
        """The server stored ``rows``: in one transaction, add them and forget them pending."""
        products, days, quantities, stocks = self._columns(rows)
        s = self._s
        forget: tuple[str, tuple[Any, ...]] = (
            (
                f"DELETE FROM {s}.pending WHERE state_id = $1 AND batch = $2",
                (self._sid, whole_batch),
            )
            if whole_batch is not None
            else self._forget_sql(products, days)
        )
        await self._atomic(
            (
                f"INSERT INTO {s}.days AS d (state_id, day, product, quantity, stock) SELECT $1, "
                "x.d::date, x.p, x.q, x.s FROM unnest($2::text[], $3::text[], $4::bigint[], "
                "$5::bigint[]) AS x(p, d, q, s) " + self._add_to_days(),
                (self._sid, products, days, quantities, stocks),
            ),
            forget,
        )

    def _forget_sql(self, products: list[str], days: list[str]) -> tuple[str, tuple[Any, ...]]:
        return (
            f"DELETE FROM {self._s}.pending p USING unnest($2::text[], $3::text[]) AS x(p, d) "
            "WHERE p.state_id = $1 AND p.product = x.p AND p.day = x.d::date",
            (self._sid, products, days),
        )

    async def forget(self, rows: Sequence[PendingRow]) -> None:
        """The server certainly stored none of ``rows``."""
        if rows:
            products, days, _, _ = self._columns(rows)
            await self._atomic(self._forget_sql(products, days))

    # -- discrepancies -------------------------------------------------------------------------

    async def note_discrepancies(
        self,
        found: Sequence[Noted],
        run: int,
        accept: Literal["all"] | Collection[tuple[str, str]] | None,
    ) -> list[bool]:
        """Record what run ``run`` could not apply; which are acknowledged (accepted now, or
        earlier with exactly these figures)."""
        if not found:
            return []
        known = {
            (r[0], r[1], r[2]): (r[3], r[4])
            for r in await self._fetch(
                "SELECT c.day::text, c.product, c.kind, c.accepted_stored, c.accepted_export "
                f"FROM {self._s}.discrepancies c JOIN unnest($2::text[], $3::text[], "
                "$4::text[]) AS x(d, p, k) ON c.day = x.d::date AND c.product = x.p AND "
                "c.kind = x.k WHERE c.state_id = $1",
                self._sid,
                [f[0] for f in found],
                [f[1] for f in found],
                [f[2] for f in found],
            )
        }
        out: list[bool] = []
        updates: list[tuple[Any, ...]] = []
        for day, product, kind, eq, es, sq, ss, first in found:
            stored, export = (sq, eq) if kind == "quantity" else (ss, es)
            accepted = known.get((day, product, kind)) == (stored, export)
            if accept == "all" or (accept and (product, day) in accept):
                accepted = True
            out.append(accepted)
            kept = (stored, export) if accepted else (None, None)
            updates.append((day, product, kind, eq, es, sq, ss, first, *kept, run))
        if not self.read_only:
            columns = list(zip(*updates, strict=True))
            await self._execute(
                f"INSERT INTO {self._s}.discrepancies SELECT $1, d::date, p, k, eq, es, sq, ss, "
                "fi, acs, ace, lr FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], "
                "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], "
                "$11::bigint[], $12::integer[]) AS x(d, p, k, eq, es, sq, ss, fi, acs, ace, lr) "
                "ON CONFLICT (state_id, day, product, kind) DO UPDATE SET export_quantity = "
                "excluded.export_quantity, export_stock = excluded.export_stock, "
                "stored_quantity = excluded.stored_quantity, stored_stock = "
                "excluded.stored_stock, first_index = excluded.first_index, accepted_stored = "
                "excluded.accepted_stored, accepted_export = excluded.accepted_export, "
                "last_run = excluded.last_run",
                self._sid,
                *[list(c) for c in columns],
            )
        return out

    # -- reading -------------------------------------------------------------------------------

    async def status(self) -> StateStatus:
        """What the state holds (read in one snapshot)."""
        from .store import build_status

        s, sid = self._s, self._sid

        async def run() -> dict[str, Any]:
            async with self._conn.transaction(isolation="repeatable_read", readonly=True):
                summary = await self._conn.fetchrow(
                    "SELECT count(*), count(DISTINCT product), min(day)::text, max(day)::text "
                    f"FROM {s}.days WHERE state_id = $1",
                    sid,
                )
                pending = await self._conn.fetchval(
                    f"SELECT count(*) FROM {s}.pending WHERE state_id = $1 AND state <> 'planned'",
                    sid,
                )
                runs = await self._conn.fetch(
                    "SELECT run, started, finished, today::text, read, sent, stored, outcome "
                    f"FROM {s}.runs WHERE state_id = $1 ORDER BY run DESC LIMIT 10",
                    sid,
                )
                state = await self._conn.fetchrow(
                    "SELECT destination_url, destination_key, destination_since, runs FROM "
                    f"{s}.states WHERE id = $1",
                    sid,
                )
                held = await self._conn.fetch(
                    "SELECT batch, count(*), max(state), max(error), min(updated_at) FROM "
                    f"{s}.pending WHERE state_id = $1 AND state <> 'planned' GROUP BY batch "
                    "ORDER BY batch",
                    sid,
                )
                latest = int(state[3]) if state is not None else 0
                discrepancies = await self._conn.fetch(
                    "SELECT day::text, product, kind, export_quantity, export_stock, "
                    "stored_quantity, stored_stock, first_index, CASE kind WHEN 'quantity' THEN "
                    "accepted_stored IS NOT DISTINCT FROM stored_quantity AND accepted_export "
                    "IS NOT DISTINCT FROM export_quantity ELSE accepted_stored IS NOT DISTINCT "
                    "FROM stored_stock AND accepted_export IS NOT DISTINCT FROM export_stock END "
                    f"FROM {s}.discrepancies WHERE state_id = $1 AND last_run = $2 "
                    "ORDER BY day, product, kind",
                    sid,
                    latest,
                )
                quarantined = await self._conn.fetch(
                    "SELECT product, error, first_day::text, last_day::text, retry_on::text, "
                    f"first_run, last_run FROM {s}.quarantine WHERE state_id = $1 "
                    "ORDER BY product",
                    sid,
                )
            assert summary is not None
            bound = None
            if state is not None and state[0] is not None and state[1] is not None:
                bound = (state[0], state[1], state[2])
            return {
                "schema": self._version,
                "product_days": int(summary[0]),
                "products": int(summary[1]),
                "first_day": summary[2],
                "last_day": summary[3],
                "pending_rows": int(pending),
                "runs": [tuple(r) for r in runs],
                "destination": bound,
                "latest": latest,
                "held": [tuple(r) for r in held],
                "discrepancies": [tuple(r) for r in discrepancies],
                "quarantined": [tuple(r) for r in quarantined],
            }

        return build_status(self.name, await self._driver.call(run))

    # -- copying -------------------------------------------------------------------------------

    async def export_meta(self) -> StateMeta:
        """Destination, runs so far and the legacy flag."""
        row = await self._row(
            "SELECT destination_url, destination_key, destination_since, runs, legacy_ids "
            f"FROM {self._s}.states WHERE id = $1",
            self._sid,
        )
        bound = None if row[0] is None else StateDestination(row[0], row[1], row[2])
        return StateMeta(bound, int(row[3]), bool(row[4]))

    async def export_rows(
        self, table: str, size: int = 10_000
    ) -> AsyncGenerator[list[tuple[Any, ...]], None]:
        """Every row of ``table`` (see :data:`STATE_TABLES`), ``size`` at a time."""
        columns = ", ".join(f"{c}::text" if c in _DATES else c for c in STATE_TABLES[table])
        sql = (
            f"SELECT {columns} FROM {self._s}.{table} WHERE state_id = $1 ORDER BY {_ORDER[table]}"
        )

        async def start() -> Any:
            transaction = self._conn.transaction(isolation="repeatable_read", readonly=True)
            await transaction.start()
            cursor = await self._conn.cursor(sql, self._sid)
            return transaction, cursor

        transaction, cursor = await self._driver.call(start)
        try:
            while True:
                rows = await self._driver.call(cursor.fetch, size)
                if not rows:
                    return
                yield [tuple(r) for r in rows]
        finally:
            with anyio.CancelScope(shield=True):
                await self._driver.call(transaction.rollback)

    async def fingerprint(self) -> dict[str, tuple[int, ...]]:
        """Counts and sums of every table (what a copy must reproduce)."""
        s, sid = self._s, self._sid
        found: dict[str, tuple[int, ...]] = {}
        for table, sql in _fingerprints(s).items():
            row = await self._row(sql, sid)
            found[table] = tuple(int(v) for v in row)
        return found

    async def is_blank(self) -> bool:
        """Whether the state holds nothing at all (never run, nothing declared)."""
        from .store import holds_nothing

        return await holds_nothing(self)

    async def import_state(
        self,
        meta: StateMeta,
        pages: AsyncIterable[tuple[str, list[tuple[Any, ...]]]],
        expected: Mapping[str, tuple[int, ...]],
    ) -> dict[str, tuple[int, ...]]:
        """Write a whole state (into this blank one) in one transaction, committed only when
        its counts and sums equal ``expected``; what it then holds."""
        from .store import copy_mismatch, meta_key

        transaction = self._conn.transaction()
        await self._driver.call(transaction.start)
        try:
            bound = meta.destination
            await self._execute(
                f"UPDATE {self._s}.states SET destination_url = $2, destination_key = $3, "
                "destination_since = $4, runs = $5, legacy_ids = $6 WHERE id = $1",
                self._sid,
                None if bound is None else bound.base_url,
                None if bound is None else bound.key_hash,
                None if bound is None else bound.since,
                meta.runs,
                meta.legacy_ids,
            )
            async for table, rows in pages:
                columns = STATE_TABLES[table]
                dates = [n for n, c in enumerate(columns) if c in _DATES]
                records = []
                for row in rows:
                    values = list(row)
                    for n in dates:
                        values[n] = _date(values[n])
                    records.append((self._sid, *values))
                await self._driver.call(
                    self._conn.copy_records_to_table,
                    table,
                    schema_name=self._location.schema,
                    columns=["state_id", *columns],
                    records=records,
                )
            got = await self.fingerprint()
            if got != dict(expected) or meta_key(await self.export_meta()) != meta_key(meta):
                raise copy_mismatch(self.name, expected, got)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._driver.call(transaction.rollback)
            raise
        await self._driver.call(transaction.commit)
        return got


def _fingerprints(s: str) -> dict[str, str]:
    return {
        table: f"SELECT {sums} FROM {s}.{table} WHERE state_id = $1"
        for table, sums in FINGERPRINTS.items()
    }


# -- connecting, the schema and the lock ------------------------------------------------------


def _error(location: PostgresLocation, problem: str) -> StateFileError:
    return StateFileError(location.label, location.scrub(problem))


async def _connect(location: PostgresLocation) -> asyncpg.Connection:
    """A connection to the state's database, or a :class:`StateFileError` saying why not."""
    import asyncpg

    try:
        return await asyncpg.connect(
            location.dsn,
            timeout=CONNECT_TIMEOUT,
            command_timeout=COMMAND_TIMEOUT,
            server_settings={
                "application_name": "pleasurestock-async sync",
                "DateStyle": "ISO, YMD",
                # a vanished host's session (and its lock) ends within about two minutes
                "tcp_keepalives_idle": "60",
                "tcp_keepalives_interval": "10",
                "tcp_keepalives_count": "6",
            },
        )
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise _error(
            location,
            f"refused the login: {exc} (check the user and the password: PGPASSWORD, a "
            ".pgpass file or the URL)",
        ) from None
    except asyncpg.InvalidCatalogNameError as exc:
        raise _error(location, f"cannot be opened: {exc}") from None
    except asyncpg.PostgresError as exc:
        raise _error(location, f"cannot be opened: {exc}") from None
    except (OSError, asyncpg.InterfaceError) as exc:
        reason = str(exc) or type(exc).__name__
        raise _error(
            location,
            f"cannot be reached: {reason} (is the database server running, and are the host "
            "and port right?); nothing was sent",
        ) from None
    except ValueError as exc:
        raise _error(location, f"is not a usable PostgreSQL URL: {exc}") from None


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=10)
    except Exception:  # a connection already gone: terminated, its locks with it
        conn.terminate()


async def _version(conn: asyncpg.Connection, location: PostgresLocation) -> int | None:
    """The schema's version (None: no such schema, or an empty one); refuses a schema that
    holds other tables, or a newer version."""
    schema = location.schema
    tables = await conn.fetchval(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1", schema
    )
    if not tables:
        return None
    meta = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".meta')
    kind = None
    rows: dict[str, str] = {}
    if meta is not None:
        found = await conn.fetch(f'SELECT key, value FROM "{schema}".meta')
        rows = {str(r[0]): str(r[1]) for r in found}
        kind = rows.get("kind")
    if kind != "pleasurestock-async sync states":
        raise _error(
            location,
            f"names the schema {schema!r}, which holds other tables than sync states: name "
            "another with ?schema=",
        )
    version = int(rows.get("version", "0"))
    if version > _pg_schema.VERSION:
        raise _error(
            location,
            f"is in a schema written by a newer pleasurestock-async (schema {version}; this one "
            f"reads up to {_pg_schema.VERSION}): upgrade the SDK (nothing was changed)",
        )
    return version


async def _schema(
    conn: asyncpg.Connection, location: PostgresLocation, *, read_only: bool
) -> int | None:
    """The schema's version, created or migrated to this SDK's first unless ``read_only``."""
    import asyncpg

    version = await _version(conn, location)
    if version == _pg_schema.VERSION or read_only:
        if read_only and version is not None and version < _pg_schema.VERSION:
            raise _error(
                location,
                f"is in a schema of an older version ({version}): run a sync with this SDK "
                "once to upgrade it",
            )
        return version
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))",
                f"pleasurestock-async schema:{location.schema}",
                _LOCK_SALT,
            )
            version = await _version(conn, location)  # again: another run may have done it
            if version is None:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{location.schema}"')
                version = 0
            for script in _pg_schema.MIGRATIONS[version:]:
                for statement in _pg_schema.statements(script, location.schema):
                    await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO \"{location.schema}\".meta VALUES ('version', $1) ON CONFLICT "
                "(key) DO UPDATE SET value = excluded.value",
                str(_pg_schema.VERSION),
            )
    except asyncpg.InsufficientPrivilegeError as exc:
        raise _error(
            location,
            f"cannot be created: {exc} (let its user create the schema {location.schema!r}, "
            "or create it once as its owner)",
        ) from None
    return _pg_schema.VERSION


async def _state_id(
    conn: asyncpg.Connection, location: PostgresLocation, *, create: bool = False
) -> int | None:
    """The state's row, created when ``create`` (None: there is none)."""
    s = f'"{location.schema}"'
    if create:
        await conn.execute(
            f"INSERT INTO {s}.states (name, created_at) VALUES ($1, $2) ON CONFLICT (name) "
            "DO NOTHING",
            location.state,
            time.time(),
        )
    found = await conn.fetchval(f"SELECT id FROM {s}.states WHERE name = $1", location.state)
    return None if found is None else int(found)


async def _lock(
    driver: Driver,
    conn: asyncpg.Connection,
    location: PostgresLocation,
    *,
    read_only: bool,
    wait: float,
    peek: bool,
) -> bool:
    """Take the state's advisory lock (shared when ``read_only``), waiting up to ``wait``
    seconds; True when ``peek`` goes on without it while a run holds it."""
    how = "pg_try_advisory_lock_shared" if read_only else "pg_try_advisory_lock"
    sql = f"SELECT {how}(hashtextextended($1, $2))"
    key = _lock_key(location)
    deadline = time.monotonic() + wait
    while not await driver.call(conn.fetchval, sql, key, _LOCK_SALT):
        if peek:
            return True
        if time.monotonic() >= deadline:
            holder = await driver.call(_holder, conn, key)
            raise StateLockedError(
                f"{location.label} is in use by another run{holder}: running both could "
                "double-count sales. Wait for it to finish (or pass a longer lock wait), or "
                "use another state."
            )
        await anyio.sleep(_POLL)
    return False


async def _holder(conn: asyncpg.Connection, key: str) -> str:
    """Which session holds the lock (best effort: a role may not see others' sessions)."""
    try:
        row = await conn.fetchrow(
            "SELECT a.pid, host(a.client_addr), a.application_name FROM pg_catalog.pg_locks l "
            "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
            "'advisory' AND l.granted AND l.objsubid = 1 AND l.mode = 'ExclusiveLock' AND "
            "((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, $2) LIMIT 1",
            key,
            _LOCK_SALT,
        )
    except Exception:
        return ""
    if row is None:
        return ""
    where = f" from {row[1]}" if row[1] else ""
    return f" (database session {row[0]}{where})"
