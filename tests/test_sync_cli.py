"""The daily sales job as cron runs it: a year of pushes, a week of syncs, real signals and
kills against an HTTP sandbox."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import cli
from pleasurestock_async.cli import EXIT_PARTIAL, EXIT_SIGINT, EXIT_SIGTERM
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox
from pleasurestock_async.uploads import Journal, SyncState

from .cli_sandbox import route_cli_to
from .sandbox_server import ServedURL, serve


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    shared = Sandbox(rate_limits=None, products=40)

    route_cli_to(monkeypatch, shared)
    return shared


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, ["--sandbox", *args], catch_exceptions=False)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("internal_id,date,quantity,stock_on_hand\n" + "".join(r + "\n" for r in rows))
    return path


@pytest.mark.slow
def test_cron_push_every_day_for_a_year(sandbox: Sandbox, tmp_path: Path) -> None:
    """The --help cron example: one journal, a new CSV each day, 365 days in a row."""
    journal = str(tmp_path / "sales.journal")
    products = [p.internal_id for p in sandbox.products[:3]]
    start = date(2025, 1, 1)
    deadline = time.monotonic() + 120
    for n in range(365):
        day = start + timedelta(days=n)
        path = write(
            tmp_path / f"sales-{day}.csv",
            [f"{p},{day},{(n + k) % 7},{k + 10}" for k, p in enumerate(products)],
        )
        result = run("sales", "push", str(path), "--journal", journal)
        assert result.exit_code == 0, (day, result.output)
        assert time.monotonic() < deadline
    # Rerunning an old day sends nothing: its job is still in the journal.
    again = run("sales", "push", str(tmp_path / "sales-2025-03-01.csv"), "--journal", journal)
    assert again.exit_code == 0 and "earlier runs had stored 3" in again.stdout
    assert sandbox.request_counts["POST /sales"] == 365
    book = Journal(journal)
    assert len(book.jobs()) == 365
    book.close()
    for k, p in enumerate(products):
        stored = sandbox.daily_sales(p)
        assert len(stored) == 365
        assert all(stored[start + timedelta(days=n)].quantity == (n + k) % 7 for n in range(365))


def test_week_of_cron_syncs(sandbox: Sandbox, tmp_path: Path) -> None:
    """Daily files and rolling 7-day exports every 3 hours, a correction downward, an unknown
    product and a malformed line: the server ends with the latest export's totals, and the
    output lists every row that could not be applied."""
    products = [p.internal_id for p in sandbox.products[:8]]
    first = date(2025, 11, 1)
    state = str(tmp_path / "sales-state.db")

    def final(k: int, day: int) -> int:
        return (k * 3 + day) % 6 + 1

    def export(now_day: int, hour: int, corrected: bool) -> list[str]:
        rows = []
        for day in range(max(0, now_day - 6), now_day + 1):
            for k, p in enumerate(products):
                q = final(k, day) if day < now_day else final(k, day) * hour // 24
                if corrected and k == 0 and day == 2:
                    q -= 1  # a return booked on an old day: the API cannot lower it
                stock = 40 - day if day < now_day else 90 - hour
                rows.append(f"{p},{first + timedelta(days=day)},{q},{stock}")
        rows.insert(3, "ps_zzzzzzzzzz," + str(first + timedelta(days=now_day)) + ",1,1")
        rows.insert(5, "this line,is,broken")
        return rows

    last: Result | None = None
    path = tmp_path / "export-7d.csv"
    for now_day in range(7):
        today = str(first + timedelta(days=now_day))
        if now_day:
            daily = write(
                tmp_path / f"daily-{now_day - 1}.csv",
                [
                    f"{p},{first + timedelta(days=now_day - 1)},{final(k, now_day - 1)},"
                    f"{40 - (now_day - 1)}"
                    for k, p in enumerate(products)
                    if not (k == 0 and now_day - 1 == 2 and now_day >= 4)
                ],
            )
            done = run("sales", "sync", str(daily), "--state", state, "--today", today)
            assert done.exit_code in (0, EXIT_PARTIAL), done.output
        for hour in range(3, 25, 3):
            corrected = now_day > 4 or (now_day == 4 and hour >= 12)
            write(path, export(now_day, hour, corrected))
            last = run(
                "sales",
                "sync",
                str(path),
                "--state",
                state,
                "--today",
                today,
                "--on-invalid",
                "skip",
            )
            assert last.exit_code in (EXIT_PARTIAL, 3), last.output
    # The week is over: the last export once more, with every day closed.
    rows = export(6, 24, True)
    write(path, rows)
    last = run(
        "sales",
        "sync",
        str(path),
        "--state",
        state,
        "--today",
        str(first + timedelta(days=7)),
        "--on-invalid",
        "skip",
        "--json",
    )
    summary = json.loads(last.stdout)
    assert [r["at"] for r in summary["server_rejected"]] == [f"{path}:5"]
    assert [i["at"] for i in summary["invalid"]] == [f"{path}:7"]
    assert summary["uncertain"] == [] and summary["failed"] == []
    lines = path.read_text().splitlines()
    (discrepancy,) = summary["discrepancies"]
    assert (discrepancy["product"], discrepancy["date"]) == (products[0], "2025-11-03")
    assert lines[int(discrepancy["at"].rsplit(":", 1)[1]) - 1].startswith(
        f"{products[0]},2025-11-03,"
    )
    for row in rows:
        pid, day, qty, stock = row.split(",") if row.count(",") == 3 else ("", "", "", "")
        if pid not in products:
            continue
        stored = sandbox.daily_sales(pid)[date.fromisoformat(day)]
        expected = int(qty) + (1 if (pid, day) == (products[0], "2025-11-03") else 0)
        assert (stored.quantity, stored.stock_on_hand) == (expected, int(stock)), row


# -- real processes, real signals, an HTTP sandbox -----------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, ServedURL]]:
    sandbox = Sandbox(rate_limits=None, products=1200, faults=Faults(latency=0.25))
    with serve(sandbox) as url:
        yield sandbox, url


def cli_process(
    url: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``pleasurestock --base-url URL ARGS`` in a child process, with the demo key."""
    environment = {**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY, **(env or {})}
    environment.pop("PLEASURESTOCK_LOG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pleasurestock_async", "--base-url", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=cwd,
    )


def finish_sync(sandbox: Sandbox, url: str, args: Sequence[str], extra: tuple[str, ...]) -> int:
    """Rerun the sync ``args`` (with ``extra``) until it exits 0, settling the batch in doubt
    after each partial run from the server's totals (one batch is in flight at a time); the
    rows reported uncertain on the way. Fails after 10 runs."""
    reported = 0
    for _ in range(10):
        done = subprocess.run(
            [sys.executable, "-m", "pleasurestock_async", "--base-url", url, *args, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY},
        )
        summary = json.loads(done.stdout)
        if done.returncode == 0:
            return reported
        assert done.returncode == EXIT_PARTIAL, done.stdout + done.stderr
        uncertain = summary["uncertain"]
        assert uncertain and summary["resolve"]
        reported += len(uncertain)
        row = uncertain[0]
        held = sandbox.daily_sales(row["product"]).get(date.fromisoformat(row["date"]))
        stored = held is not None and held.quantity == row["export_quantity"]
        extra = ("--assume-unknown", "stored" if stored else "not-stored")
    pytest.fail("the sync did not finish in 10 runs")


def assert_exact(sandbox: Sandbox, lines: Sequence[str]) -> None:
    """The server holds each ``product,day,quantity,stock`` line: 0 double-counted, 0 lost."""
    for line in lines:
        pid, day, qty, stock = line.split(",")
        held = sandbox.daily_sales(pid)[date.fromisoformat(day)]
        assert (held.quantity, held.stock_on_hand) == (int(qty), int(stock)), line


def wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(
    served: tuple[Sandbox, ServedURL], tmp_path: Path
) -> None:
    sandbox, url = served
    products = [p.internal_id for p in sandbox.products[:200]]
    path = write(
        tmp_path / "s.csv", [f"{p},2025-11-03,{n % 9 + 1},5" for n, p in enumerate(products)]
    )
    journal = str(tmp_path / "j.db")
    args = (
        "sales",
        "push",
        str(path),
        "--journal",
        journal,
        "--chunk-size",
        "10",
        "--concurrency",
        "2",
    )
    proc = cli_process(url, *args)
    wait_for(lambda: sandbox.request_counts["POST /sales"] >= 4, 30)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_SIGINT, (out, err)
    assert "Ctrl-C: stopping" in err and "interrupted by Ctrl-C" in out
    assert "stored lines: 2-" in out, out
    assert f"to resume: pleasurestock --base-url {url} {' '.join(args)}" in out
    done = subprocess.run(
        [sys.executable, "-m", "pleasurestock_async", "--base-url", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "earlier runs had stored" in done.stdout
    for n, p in enumerate(products):  # every sale exactly once
        assert sandbox.daily_sales(p)[date(2025, 11, 3)].quantity == n % 9 + 1


@pytest.mark.slow
def test_sigterm_stops_a_sync_with_143(served: tuple[Sandbox, ServedURL], tmp_path: Path) -> None:
    sandbox, url = served
    products = [p.internal_id for p in sandbox.products]
    rows = [f"{p},2025-11-0{d},{(n + d) % 4},3" for d in (1, 2, 3) for n, p in enumerate(products)]
    path = write(tmp_path / "s.csv", rows)
    state = str(tmp_path / "s.db")
    args = (
        "sales",
        "sync",
        str(path),
        "--state",
        state,
        "--concurrency",
        "1",
        "--today",
        "2025-11-09",
    )
    proc = cli_process(url, *args)
    wait_for(lambda: sandbox.request_counts["POST /sales"] >= 1, 30)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_SIGTERM, (out, err)
    assert "interrupted by SIGTERM" in out
    assert "SIGTERM: stopping" in err and "Ctrl-C" not in err  # no key to press in a cron job
    assert f"to resume: pleasurestock --base-url {url} {' '.join(args)}" in out
    done = subprocess.run(
        [sys.executable, "-m", "pleasurestock_async", "--base-url", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for row in rows[::97]:
        pid, day, qty, _ = row.split(",")
        assert sandbox.daily_sales(pid)[date.fromisoformat(day)].quantity == int(qty)


@pytest.mark.slow
def test_sync_killed_at_random_moments_ends_exact(
    served: tuple[Sandbox, ServedURL], tmp_path: Path
) -> None:
    sandbox, url = served
    rng = random.Random(8)
    products = [p.internal_id for p in sandbox.products[:1000]]
    rows = [
        f"{p},2025-11-0{d},{(n * d) % 5 + 1},{n % 30}"
        for d in (1, 2, 3, 4)
        for n, p in enumerate(products)
    ]
    path = write(tmp_path / "s.csv", rows)
    state = str(tmp_path / "s.db")
    base = (
        "sales",
        "sync",
        str(path),
        "--state",
        state,
        "--concurrency",
        "1",
        "--today",
        "2025-11-09",
        "--json",
    )

    def decide() -> tuple[str, ...]:
        """How the batch in flight at the kill ended, from the server's real state."""
        url.wait_idle()  # what the server received is processed (and stored) by now
        book = SyncState(state)
        try:
            pending, stored = book.uncertain(), book.stored()
        finally:
            book.close()
        if not pending:
            return ()
        product, day, quantity, *_ = pending[0]  # one batch in flight at a time
        before = stored.get((product, day), (0, None))[0]
        held = sandbox.daily_sales(product).get(date.fromisoformat(day))
        done = held is not None and held.quantity == before + quantity
        return ("--assume-unknown", "stored" if done else "not-stored")

    extra: tuple[str, ...] = ()
    for _ in range(8):
        proc = cli_process(url, *base, *extra)
        time.sleep(rng.uniform(0.6, 2.2))
        proc.kill()
        proc.communicate(timeout=30)
        extra = decide()
    reported = finish_sync(sandbox, url, base, extra)
    assert_exact(sandbox, rows)
    print(f"uncertain rows reported after the kills: {reported}")


# -- signals at any moment ----------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_while_a_large_file_is_read_stops_within_a_chunk(tmp_path: Path) -> None:
    """Reading did not look at the stop event: SIGTERM during a 2M-row file took 10.8 s."""
    rows = 300_000
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("internal_id,date,quantity\n")
        for n in range(rows):
            f.write(f"ps_{n % 5000:010d},2025-{n // 5000 % 12 + 1:02d}-01,1\n")
    state = tmp_path / "s.db"
    args = ("--sandbox", "--json", "sales", "sync", str(path), "--state", str(state))
    proc = cli_process_here(*args)
    wait_for(state.exists, 60)  # the state is open: the file is being read
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_SIGTERM, (out, err)
    summary = json.loads(out)
    assert summary["read"] < rows and summary["sent"] == 0
    assert summary["stopped"] == "interrupted by SIGTERM; nothing was sent"
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_signal_before_any_run_began_exits_cleanly(tmp_path: Path) -> None:
    """A signal in the first moments of a run got Python's default handling: a
    KeyboardInterrupt traceback, or a silent exit -15."""
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1"
        for signum, code in ((signal.SIGTERM, EXIT_SIGTERM), (signal.SIGINT, EXIT_SIGINT)):
            proc = cli_process(url, "orders", "list")
            silent.settimeout(60)
            peer, _ = silent.accept()  # its request is out: it waits for an answer
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=60)
            peer.close()
            assert proc.returncode == code, (out, err)
            name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
            assert f"stopped by {name}" in err and "Traceback" not in err


async def test_the_stop_message_starts_on_its_own_line() -> None:
    """It was glued to the bar (``invalid 0Ctrl-C: stopping``) and told SIGTERM users to
    press Ctrl-C."""
    import io
    import re

    from rich.console import Console

    from pleasurestock_async.cli._progress import Reporter
    from pleasurestock_async.cli._signals import Interrupt, interruptible
    from pleasurestock_async.types.uploads import SyncProgress

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=80, color_system=None)
    reporter = Reporter(console, total=100, label="sync")

    async def work(interrupt: Interrupt) -> int:
        async with reporter.running():
            reporter(SyncProgress("reading", 50, 0, 0, 0, 0, 0))
            os.kill(os.getpid(), signal.SIGTERM)
            with anyio.fail_after(30):
                await interrupt.stop.wait()
        return interrupt.exit_code

    # Should the signal land outside the handling under test, it must not end the test run.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        assert await interruptible(work, reporter.say) == EXIT_SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue()).replace("\r", "\n")
    (line,) = [line for line in screen.splitlines() if "stopping" in line]
    assert line.startswith("SIGTERM: stopping") and "Ctrl-C" not in line


def cli_process_here(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY}
    env.pop("PLEASURESTOCK_LOG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pleasurestock_async", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
