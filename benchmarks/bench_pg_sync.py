"""``sales sync`` with its state in PostgreSQL beside the same sync with its state in SQLite: a
1M-row CSV into a fresh state against the in-process sandbox (no rate limit), then the same
file again (nothing changed: no request may leave). Each run in a fresh process, interleaved;
process CPU time of the client (the sandbox's work is in it on both sides), and for PostgreSQL
also the database server's CPU (its processes' time, read from ``/proc``), which a remote
database spends on another machine.

The server is a local PostgreSQL with its default durability (``fsync`` on), as SQLite keeps
``synchronous=FULL``. ``python -m benchmarks.bench_pg_sync [--rows N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from pleasurestock_async.sales_files import read_sales_csv
from pleasurestock_async.sandbox import Sandbox

from ._common import ROOT, Row, child, interleaved, median
from .bench_sync import PRODUCTS, TODAY, write_csv


async def _sync(spec: dict[str, Any]) -> dict[str, float]:
    """One sync of the file into the state (a fresh sandbox: the second run of an unchanged
    file sends nothing whatever the sandbox holds); its CPU time and requests."""
    sandbox = Sandbox(rate_limits=None, products=PRODUCTS)
    async with sandbox, sandbox.client(rate_limits=None) as ps:
        start = time.process_time()
        result = await ps.sales.sync(read_sales_csv(spec["path"]), state=spec["state"], today=TODAY)
        cpu = time.process_time() - start
    assert result.ok, result
    return {"cpu": cpu, "requests": float(sum(sandbox.request_counts.values()))}


def _server_cpu(pid: int) -> float:
    """CPU seconds of the server: the postmaster with its reaped children, and the processes
    alive under it."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(proc: int, children: bool) -> float:
        try:
            with open(f"/proc/{proc}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        used = int(fields[11]) + int(fields[12])
        if children:
            used += int(fields[13]) + int(fields[14])
        return used / tick

    total = times(pid, True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                total += times(int(entry), False)
    return total


def run(rows: int = 1_000_000, repeat: int = 1) -> list[Row]:
    """The rows: CPU per row of a first sync and the time of a second, PostgreSQL vs SQLite."""
    sys.path.insert(0, str(ROOT))
    from tests.postgres_server import running

    with tempfile.TemporaryDirectory() as tmp, running(durable=True) as server:
        path = Path(tmp) / "export.csv"
        write_csv(path, rows)
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        counter = iter(range(1_000_000))
        found: dict[str, list[dict[str, float]]] = {"postgres": [], "sqlite": []}

        def once(kind: str) -> float:
            n = next(counter)
            state = server.url(state=f"bench{n}") if kind == "postgres" else f"{tmp}/s{n}.db"
            report: dict[str, float] = {}
            for run in ("first", "second"):
                before = _server_cpu(postmaster)
                spec = json.dumps({"path": str(path), "state": state})
                got = json.loads(child(["benchmarks.bench_pg_sync", "--worker", spec]))
                report[run] = got["cpu"]
                report[f"{run}_requests"] = got["requests"]
                report[f"{run}_server"] = _server_cpu(postmaster) - before
            found[kind].append(report)
            return report["first"]

        interleaved(
            {"postgres": lambda: once("postgres"), "sqlite": lambda: once("sqlite")},
            repeat,
            warm_up=False,
        )
    pg = {k: median([r[k] for r in found["postgres"]]) for k in found["postgres"][0]}
    lite = {k: median([r[k] for r in found["sqlite"]]) for k in found["sqlite"][0]}
    what = f"sales sync of a {rows / 1e6:g}M-row CSV"
    return [
        Row(
            f"{what}, CPU per row: state in PostgreSQL (client)",
            f"{pg['first'] / rows * 1e6:.2f} us",
            f"{lite['first'] / rows * 1e6:.2f} us (state in SQLite)",
            pg["first"] / lite["first"],
            "-",
            None,
            repeat,
            "the sandbox's own work is in both figures",
        ),
        Row(
            "the same, client + PostgreSQL server CPU",
            f"{(pg['first'] + pg['first_server']) / rows * 1e6:.2f} us",
            f"{lite['first'] / rows * 1e6:.2f} us (state in SQLite)",
            (pg["first"] + pg["first_server"]) / lite["first"],
            "-",
            None,
            repeat,
            "a remote database spends its part on its own machine",
        ),
        Row(
            "the same file synced again (nothing changed), state in PostgreSQL",
            f"{pg['second']:.1f} s CPU (+{pg['second_server']:.1f} s server), "
            f"{int(pg['second_requests'])} requests",
            f"{lite['second']:.1f} s, {int(lite['second_requests'])} requests (state in SQLite)",
            pg["second"] / lite["second"],
            "0 requests",
            pg["second_requests"] == 0,
            repeat,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(anyio.run(_sync, json.loads(args.worker))), flush=True)
        return
    from ._common import print_table

    print_table(run(args.rows, args.repeat))


if __name__ == "__main__":
    main()
