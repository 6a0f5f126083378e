"""Proof that the suite does not depend on an idle machine: the test command, several times in a
row, while CPU hogs of our own keep every core busy.

``python -m tests.under_load --runs 3 --hogs 2 -- -n auto`` starts the hogs (busy loops in
child processes, stopped by PID at the end, however the runs end), runs ``python -m pytest``
with the arguments after ``--`` that many times, and prints each run's exit code and duration
and the CPU time each hog burnt meanwhile. It exits 0 only if every run passed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOG = "while True: pass"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def hogs(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` busy loops in child processes, stopped by PID when the block ends."""
    started = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]
    try:
        yield started
    finally:
        for hog in started:
            if hog.poll() is None:
                os.kill(hog.pid, signal.SIGKILL)
            hog.wait(timeout=30)


def run_tests(pytest_args: Sequence[str]) -> tuple[int, float]:
    """One run of the test command: its exit code and wall time."""
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT)
    return code, time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.under_load", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of the test command")
    parser.add_argument("--hogs", type=int, default=2, help="CPU hogs (busy processes)")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    results: list[tuple[int, float]] = []
    with hogs(args.hogs) as busy:
        pids = ", ".join(str(h.pid) for h in busy)
        print(f"under load: {args.hogs} CPU hogs running (PIDs {pids})", flush=True)
        for n in range(1, args.runs + 1):
            print(f"under load: run {n} of {args.runs}: python -m pytest "
                  f"{' '.join(args.pytest_args)}", flush=True)  # fmt: skip
            code, seconds = run_tests(args.pytest_args)
            results.append((code, seconds))
            burnt = ", ".join(f"{h.pid}: {cpu_seconds(h.pid):.0f} s" for h in busy)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"under load: run {n}: exit {code} in {seconds:.0f} s; hog CPU so far "
                  f"({burnt}); load average {load}", flush=True)  # fmt: skip
    failed = [n for n, (code, _) in enumerate(results, 1) if code != 0]
    times = ", ".join(f"{s:.0f} s" for _, s in results)
    verdict = "all passed" if not failed else f"runs {failed} failed"
    print(f"under load: {args.runs} runs beside {args.hogs} hogs: {verdict} ({times})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
