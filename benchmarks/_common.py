"""What every benchmark shares: interleaved runs, medians, peak memory read from outside a
fresh process, and the rows of the one table ``python -m benchmarks`` prints."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One line of the table: the SDK's figure beside its baseline's, measured in one run."""

    what: str
    sdk: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    n: int | str
    note: str = ""


def interleaved(
    runs: dict[str, Callable[[], float]], n: int, *, warm_up: bool = True
) -> dict[str, list[float]]:
    """``n`` rounds of every run in turn (A B C A B C ...), so the machine's noise falls on all
    of them alike; first one warm-up round, not counted (unless each run is a fresh process
    anyway: ``warm_up=False``)."""
    for run in runs.values() if warm_up else ():
        run()
    out: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(n):
        for name, run in runs.items():
            out[name].append(run())
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio_row(
    what: str,
    sdk: float,
    base: float,
    base_name: str,
    *,
    unit: str,
    scale: float,
    limit: float | None,
    n: int,
    note: str = "",
    digits: int = 2,
) -> Row:
    """A row whose target is ``sdk / base <= limit`` (None: shown for information); figures
    shown as ``value * scale unit``."""
    ratio = sdk / base
    return Row(
        what,
        f"{sdk * scale:.{digits}f} {unit}",
        f"{base * scale:.{digits}f} {unit} ({base_name})",
        ratio,
        "-" if limit is None else f"<= {limit:g}x",
        None if limit is None else ratio <= limit,
        n,
        note,
    )


def child(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run ``python -m benchmarks.<args>`` in a fresh process; its standard output."""
    out = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return out.stdout


def peak_rss_mb(args: Sequence[str], *, timeout: float = 600) -> tuple[float, str]:
    """Peak resident memory (VmHWM, MB) of a fresh ``python -m benchmarks.<args>`` process,
    read from ``/proc`` by this process while the child waits at its end; and its output.

    The child must call :func:`hold_for_measure` last. VmHWM belongs to the child's own
    address space, which exec starts anew: no parent's peak is carried into it.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    for line in process.stdout:
        if line.strip() == "MEASURE-ME":
            break
        lines.append(line)
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(args)
    with open(f"/proc/{process.pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    peak = int(fields["VmHWM"].split()[0]) / 1024
    process.stdin.close()
    lines.extend(process.stdout)
    if process.wait(timeout=60) != 0:
        raise RuntimeError(f"{args} failed")
    return peak, "".join(lines)


def peak_rss_many(runs: Sequence[Sequence[str]], *, parallel: int = 2) -> list[float]:
    """:func:`peak_rss_mb` of several fresh processes, ``parallel`` at a time (peak memory
    does not depend on how fast a process runs, so they may share the cores)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return [peak for peak, _ in pool.map(peak_rss_mb, runs)]


def hold_for_measure() -> None:
    """In a child of :func:`peak_rss_mb`: say so, and wait until the parent has read."""
    print("MEASURE-ME", flush=True)
    sys.stdin.read()


def print_table(rows: Sequence[Row]) -> None:
    """The one table: what, SDK, baseline, ratio, target, met, N."""
    headers = ("what", "SDK", "baseline", "ratio", "target", "met", "N")
    cells = [
        (
            r.what,
            r.sdk,
            r.baseline,
            "" if r.ratio is None else f"{r.ratio:.2f}x",
            r.target,
            {True: "yes", False: "NO", None: "-"}[r.met],
            str(r.n),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    notes = [(r.what, r.note) for r in rows if r.note]
    if notes:
        print()
        for what, note in notes:
            print(f"* {what}: {note}")
