"""Run every benchmark and print one table: ``python -m benchmarks [--quick] [--only NAME]``.

Each row sets the SDK beside the fairest baseline a user would write, measured in the same
run, interleaved (A B A B ...), as the median of N runs (N shown). About four and a half
minutes on two cores; ``--quick`` is a smaller, noisier version for a first look, ``--full``
adds a 5M-row sync for memory and the request notes (about two minutes more).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ._common import Row, print_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.postgres_server


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ratelimit(quick: bool) -> list[Row]:
    from . import bench_ratelimit

    result = bench_ratelimit.run(6.0 if quick else 11.0)
    rows = []
    for r in result["rows"]:
        rows.append(
            Row(
                f"rate-limit budget used, {r['client']} ({r['processes']} proc.)",
                f"{r['budget_used']:.1%}, {r['429s']} x 429",
                f"a perfect client: {result['ideal']} requests in {result['seconds']:g} s",
                None,
                ">= 99.5%, 0 x 429" if r["client"].startswith("ours") else "-",
                (r["budget_used"] >= 0.995 and r["429s"] == 0)
                if r["client"].startswith("ours")
                else None,
                1,
            )
        )
    cost = result["redis_acquire"]
    if cost is not None:
        rows.append(
            Row(
                "Redis acquire on loopback",
                f"{cost['acquire_median_ms']:.2f} ms median, p99 {cost['acquire_p99_ms']:.2f}",
                "",
                None,
                "-",
                None,
                2000,
            )
        )
    return rows


def _sections(quick: bool, full: bool) -> dict[str, Callable[[], list[Row]]]:
    from . import (
        bench_import,
        bench_parse,
        bench_requests,
        bench_sales_files,
        bench_sync,
        bench_upload,
    )

    return {
        "upload": lambda: bench_upload.run(quick),
        "parse": lambda: bench_parse.run(quick),
        "import": lambda: bench_import.run(quick),
        "requests": lambda: bench_requests.run(quick, full),
        "csv": lambda: bench_sales_files.run(200_000 if quick else 1_000_000, 3),
        "sync": lambda: (
            bench_sync.run(
                200_000 if quick else 1_000_000,
                1,
                (200_000, 1_000_000) if quick else (1_000_000, 5_000_000 if full else 2_000_000),
            )
            + bench_sync.loop_lag(3 if quick else 5)
        ),
        "ratelimit": lambda: _ratelimit(quick),
        "postgres": lambda: _postgres(quick),
    }


def _postgres(quick: bool) -> list[Row]:
    """The sync with its state in PostgreSQL, and the driver comparison (skipped, with a
    row saying why, without PostgreSQL's binaries, asyncpg or psycopg)."""
    import importlib.util

    from tests.postgres_server import _bin_dir

    from . import bench_pg_driver, bench_pg_sync

    missing = [m for m in ("asyncpg", "psycopg") if importlib.util.find_spec(m) is None]
    if _bin_dir() is None or missing:
        what = ", ".join(missing) or "PostgreSQL's binaries"
        return [Row("PostgreSQL rows", f"skipped: no {what}", "", None, "-", None, 0)]
    rows = bench_pg_sync.run(200_000 if quick else 1_000_000, 1)
    return rows + bench_pg_driver.run(50_000 if quick else 200_000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller and noisier")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also sync 5M rows for memory, and the request notes (queue, sniffio): +2 min",
    )
    parser.add_argument("--only", action="append", help="run only these sections")
    args = parser.parse_args()
    started = time.perf_counter()
    sections = _sections(args.quick, args.full)
    rows: list[Row] = []
    for name, section in sections.items():
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        rows += section()
        print(f"[{name}: {time.perf_counter() - began:.0f} s]", file=sys.stderr, flush=True)
    print(
        f"pleasurestock-async benchmarks on {_cpu_model()}, {_cores()} cores, Python "
        f"{platform.python_version()}; {time.perf_counter() - started:.0f} s in all"
    )
    print()
    print_table(rows)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
