"""Which async PostgreSQL driver the sync state uses: asyncpg or psycopg 3, measured on the
three things a sync asks of its state, per row, in client CPU (the server's work is the same
SQL for both):

- **input**: the export's rows streamed into a temporary table (binary ``COPY``);
- **write**: rows recorded in batches of 1000 (an ``INSERT ... SELECT FROM unnest`` of arrays,
  one statement per batch, as a mark or an acknowledgement does);
- **plan**: rows read back in pages of 1000 (a keyset-paginated ``SELECT``).

Each driver runs in a fresh process against the same server, interleaved, median of N.
``python -m benchmarks.bench_pg_driver [--rows N] [--repeat N]`` (needs ``psycopg[binary]``
besides the ``postgres`` extra, and PostgreSQL's binaries).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from ._common import ROOT, Row, child, interleaved, median

BATCH = 1000
_TABLE = "CREATE TEMP TABLE raw (product text, day text, quantity int8, stock int8, idx int8)"
_KEEP = (
    "CREATE TEMP TABLE kept (product text, day text, quantity int8, stock int8, "
    "PRIMARY KEY (day, product))"
)
_WRITE = (
    "INSERT INTO kept SELECT * FROM unnest({a}::text[], {b}::text[], {c}::int8[], {d}::int8[]) "
    "ON CONFLICT (day, product) DO UPDATE SET quantity = kept.quantity + excluded.quantity"
)
_PAGE = "SELECT product, day, quantity, stock, idx FROM raw WHERE idx > {a} ORDER BY idx LIMIT {b}"


def _rows(n: int) -> list[tuple[str, str, int, int, int]]:
    return [
        (
            f"ps_{k % 2000:010d}",
            f"2024-{1 + (k // 2000) % 12:02d}-{1 + k // 24000:02d}",
            k % 7,
            k,
            k,
        )
        for k in range(n)
    ]


async def _asyncpg(url: str, n: int) -> dict[str, float]:
    import asyncpg

    rows = _rows(n)
    conn = await asyncpg.connect(url)
    out: dict[str, float] = {}
    try:
        await conn.execute(_TABLE)
        await conn.execute(_KEEP)
        start = time.process_time()
        await conn.copy_records_to_table(
            "raw", records=rows, columns=["product", "day", "quantity", "stock", "idx"]
        )
        out["input"] = time.process_time() - start
        await conn.execute("CREATE INDEX ON raw (idx)")
        await conn.execute("ANALYZE raw")
        sql = _WRITE.format(a="$1", b="$2", c="$3", d="$4")
        start = time.process_time()
        for at in range(0, n, BATCH):
            part = rows[at : at + BATCH]
            await conn.execute(
                sql,
                [r[0] for r in part],
                [r[1] for r in part],
                [r[2] for r in part],
                [r[3] for r in part],
            )
        out["write"] = time.process_time() - start
        page = _PAGE.format(a="$1", b="$2")
        start = time.process_time()
        last, seen = -1, 0
        while True:
            got = await conn.fetch(page, last, BATCH)
            if not got:
                break
            seen += len(got)
            plan = [tuple(r) for r in got]
            last = plan[-1][4]
        out["plan"] = time.process_time() - start
        assert seen == n
    finally:
        await conn.close()
    return out


async def _psycopg(url: str, n: int) -> dict[str, float]:
    import psycopg

    rows = _rows(n)
    out: dict[str, float] = {}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(_TABLE)
        await conn.execute(_KEEP)
        start = time.process_time()
        async with (
            conn.cursor() as cur,
            cur.copy(
                "COPY raw (product, day, quantity, stock, idx) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["text", "text", "int8", "int8", "int8"])
            for r in rows:
                await copy.write_row(r)
        out["input"] = time.process_time() - start
        await conn.execute("CREATE INDEX ON raw (idx)")
        await conn.execute("ANALYZE raw")
        sql = _WRITE.format(a="%s", b="%s", c="%s", d="%s")
        start = time.process_time()
        for at in range(0, n, BATCH):
            part = rows[at : at + BATCH]
            await conn.execute(
                sql,
                (
                    [r[0] for r in part],
                    [r[1] for r in part],
                    [r[2] for r in part],
                    [r[3] for r in part],
                ),
                prepare=True,
            )
        out["write"] = time.process_time() - start
        page = _PAGE.format(a="%s", b="%s")
        start = time.process_time()
        last, seen = -1, 0
        async with conn.cursor() as cur:
            while True:
                await cur.execute(page, (last, BATCH), prepare=True)
                got = await cur.fetchall()
                if not got:
                    break
                seen += len(got)
                last = got[-1][4]
        out["plan"] = time.process_time() - start
        assert seen == n
    return out


def run(rows: int = 200_000, repeat: int = 3) -> list[Row]:
    """The rows: each step's client CPU per row, asyncpg beside psycopg."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres_server import running

    with running(durable=True) as server:
        url = server.url()

        def measure(driver: str) -> dict[str, float]:
            spec = json.dumps({"driver": driver, "url": url, "rows": rows})
            return dict(json.loads(child(["benchmarks.bench_pg_driver", "--worker", spec])))

        found: dict[str, list[dict[str, float]]] = {"asyncpg": [], "psycopg": []}

        def once(driver: str) -> float:
            report = measure(driver)
            found[driver].append(report)
            return sum(report.values())

        interleaved(
            {"asyncpg": lambda: once("asyncpg"), "psycopg": lambda: once("psycopg")},
            repeat,
            warm_up=False,
        )
    out = []
    for step in ("input", "write", "plan"):
        a = median([r[step] for r in found["asyncpg"]]) / rows
        p = median([r[step] for r in found["psycopg"]]) / rows
        out.append(
            Row(
                f"PostgreSQL driver, {step} ({rows:,} rows): client CPU per row",
                f"{a * 1e6:.2f} us (asyncpg)",
                f"{p * 1e6:.2f} us (psycopg 3 async)",
                a / p,
                "-",
                None,
                repeat,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec: dict[str, Any] = json.loads(args.worker)
        work = _asyncpg if spec["driver"] == "asyncpg" else _psycopg
        print(json.dumps(asyncio.run(work(spec["url"], spec["rows"]))), flush=True)
        return
    from ._common import print_table

    print_table(run(args.rows, args.repeat))


if __name__ == "__main__":
    main()
