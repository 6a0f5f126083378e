"""The command line's sales commands and shared behaviour, in-process against a sandbox."""

from __future__ import annotations

import io
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from pleasurestock_async import AsyncPleasureStock, cli
from pleasurestock_async.cli import EXIT_INVALID, EXIT_PARTIAL
from pleasurestock_async.cli import _common as cli_common
from pleasurestock_async.cli._limits import parse_limits
from pleasurestock_async.cli._progress import Reporter, send_time, time_needed
from pleasurestock_async.ratelimit import BucketStatus, MemoryRateLimiter, Window, WindowStatus
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.types.uploads import UploadProgress
from pleasurestock_async.uploads import Journal

from .cli_sandbox import route_cli_to


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    shared = Sandbox(rate_limits=None, products=60)

    route_cli_to(monkeypatch, shared)
    return shared


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.cli, list(args), input=input, env=env, catch_exceptions=False)


def write(
    path: Path, rows: list[str], header: str = "internal_id,date,quantity,stock_on_hand"
) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def ids(sandbox: Sandbox, n: int) -> list[str]:
    return [p.internal_id for p in sandbox.products[:n]]


# -- sales sync ---------------------------------------------------------------------------------


def test_sync_sends_only_differences_and_lists_what_it_cannot_apply(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    a, b, c = ids(sandbox, 3)
    state = str(tmp_path / "state.db")
    first = write(tmp_path / "d1.csv", [f"{a},2025-11-01,5,10", f"{b},2025-11-01,2,4"])
    done = run("--sandbox", "sales", "sync", str(first), "--state", state, "--today", "2025-11-05")
    assert done.exit_code == 0, done.output
    assert "this run sent 2 rows in 1 requests" in done.stdout
    again = run("--sandbox", "sales", "sync", str(first), "--state", state, "--today", "2025-11-05")
    assert again.exit_code == 0 and "this run sent 0 rows" in again.stdout
    assert "unchanged (stored by earlier runs): 2 days" in again.stdout
    # Two warehouse files are one export; one product went down, one is unknown, one is broken.
    w1 = write(
        tmp_path / "w1.csv",
        [f"{a},2025-11-01,3,10", f"{c},2025-11-02,4,1", "ps_unknown000,2025-11-02,1,1"],
    )
    w2 = write(tmp_path / "w2.csv", [f"{c},2025-11-02,1,7", f"{b},2025-11-0x,1,1"])
    mixed = run(
        "--sandbox",
        "sales",
        "sync",
        str(w1),
        str(w2),
        "--state",
        state,
        "--today",
        "2025-11-05",
        "--on-invalid",
        "skip",
    )
    assert mixed.exit_code == EXIT_PARTIAL, mixed.output
    out = mixed.stdout
    assert f"{w1}:2: discrepancy {a} 2025-11-01: the server has quantity 5, the export 3" in out
    assert f"{w2}:3: date" in out  # invalid line, by file and line
    assert f"{w1}:4: refused by the server ps_unknown000" in out or f"{w1}:4: internal_id" in out
    day = sandbox.daily_sales(c)[date(2025, 11, 2)]
    assert (day.quantity, day.stock_on_hand) == (5, 7)  # 4 + 1 combined, stock the maximum


def test_sync_mark_stored_sends_nothing_and_json_lists_rows(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (a,) = ids(sandbox, 1)
    state = str(tmp_path / "state.db")
    history = write(tmp_path / "h.csv", [f"{a},2025-10-01,5,10"])
    declared = run("--sandbox", "sales", "sync", str(history), "--state", state, "--mark-stored")
    assert declared.exit_code == 0 and "declared 1 days" in declared.stdout
    assert sandbox.request_counts["POST /sales"] == 0
    lower = write(tmp_path / "l.csv", [f"{a},2025-10-01,4,10"])
    shown = run("--sandbox", "sales", "sync", str(lower), "--state", state, "--json")
    summary = json.loads(shown.stdout)
    assert shown.exit_code == EXIT_PARTIAL
    assert summary["discrepancies"][0]["at"] == f"{lower}:2"
    assert summary["discrepancies"][0]["stored_quantity"] == 5


def test_sync_invalid_line_sends_nothing_and_names_every_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (a,) = ids(sandbox, 1)
    path = write(tmp_path / "s.csv", [f"{a},2025-11-01,1,", "b/ad,2025-11-01,1,", f"{a},x,1,"])
    result = run("--sandbox", "sales", "sync", str(path), "--state", str(tmp_path / "s.db"))
    assert result.exit_code == EXIT_INVALID
    assert f"{path}:3: internal_id" in result.stdout and f"{path}:4: date" in result.stdout
    assert sandbox.request_counts["POST /sales"] == 0


# -- sales push ---------------------------------------------------------------------------------


def test_fixed_line_rerun_sends_only_what_was_not_stored(sandbox: Sandbox, tmp_path: Path) -> None:
    rows = [f"{p},2025-11-03,{n + 1}," for n, p in enumerate(ids(sandbox, 25))]
    rows[12] = "ps_bro/ken,2025-11-03,1,"
    path = write(tmp_path / "s.csv", rows)
    journal = str(tmp_path / "j.db")
    first = run(
        "--sandbox",
        "sales",
        "push",
        str(path),
        "--journal",
        journal,
        "--chunk-size",
        "10",
        "--on-invalid",
        "skip",
    )
    assert first.exit_code == EXIT_INVALID and f"{path}:14: internal_id" in first.stdout
    fixed = sandbox.products[12].internal_id
    rows[12] = f"{fixed},2025-11-03,13,"
    write(path, rows)
    again = run(
        "--sandbox",
        "sales",
        "push",
        str(path),
        "--journal",
        journal,
        "--chunk-size",
        "10",
        "--on-invalid",
        "skip",
    )
    assert again.exit_code == 0, again.output
    assert "this run stored 1 in 1 requests" in again.stdout
    assert "earlier runs had stored 24" in again.stdout
    for n, p in enumerate(ids(sandbox, 25)):
        assert sandbox.daily_sales(p)[date(2025, 11, 3)].quantity == n + 1


def test_unknown_batch_held_back_then_resolved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pleasurestock_async.sandbox import Faults

    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    path = write(tmp_path / "s.csv", [f"{p},2025-11-03,2," for p in ids(failing, 5)])
    journal = str(tmp_path / "j.db")
    first = run("--sandbox", "sales", "push", str(path), "--journal", journal)
    assert first.exit_code == EXIT_PARTIAL and "may be stored" in first.stdout
    held = run("--sandbox", "sales", "push", str(path), "--journal", journal)
    assert held.exit_code == EXIT_PARTIAL and "--resolve 0=stored" in held.stdout
    shown = run("sales", "journal", "show", journal)
    assert shown.exit_code == EXIT_PARTIAL and "batch 0 (records 1-5" in shown.stdout
    settled = run(
        "--sandbox", "sales", "push", str(path), "--journal", journal, "--resolve", "0=stored"
    )
    assert settled.exit_code == 0, settled.output
    assert failing.request_counts["POST /sales"] == 1  # never sent twice
    assert "earlier runs had stored 5" in settled.stdout


def test_resolution_as_stored_is_remembered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pleasurestock_async.sandbox import Faults

    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    path = write(tmp_path / "s.csv", [f"{p},2025-11-03,2," for p in ids(failing, 5)])
    journal = str(tmp_path / "j.db")
    run("--sandbox", "sales", "push", str(path), "--journal", journal)
    run("--sandbox", "sales", "push", str(path), "--journal", journal, "--resolve", "0=stored")
    assert run("sales", "journal", "show", journal).exit_code == 0


def test_journal_holds_many_jobs_and_prunes(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = str(tmp_path / "j.db")
    for day in (1, 2, 3):
        path = write(
            tmp_path / f"sales-{day}.csv", [f"{p},2025-11-0{day},1," for p in ids(sandbox, 3)]
        )
        assert run("--sandbox", "sales", "push", str(path), "--journal", journal).exit_code == 0
    book = Journal(journal)
    assert sorted(j[0] for j in book.jobs()) == [
        str(tmp_path / f"sales-{d}.csv") for d in (1, 2, 3)
    ]
    book.close()
    shown = run("--json", "sales", "journal", "show", journal)
    assert [json.loads(line)["stored"] for line in shown.stdout.splitlines()] == [3, 3, 3]
    kept = run("sales", "journal", "prune", journal, "--older-than", "1")
    assert "0 job(s) removed" in kept.stdout
    pruned = run("sales", "journal", "prune", journal, "--older-than", "0")
    assert "3 job(s) removed" in pruned.stdout


def test_dry_run_json_lines_and_exit_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    (a,) = ids(sandbox, 1)
    path = write(tmp_path / "s.csv", [f"{a},2025-11-03,1,", "x/y,2025-11-03,-1,", "only,two"])
    result = run("--sandbox", "--json", "sales", "push", str(path), "--dry-run")
    assert result.exit_code == EXIT_INVALID
    problems = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(p["line"], p["field"]) for p in problems] == [
        (3, "internal_id"),
        (3, "quantity"),
        (4, None),
    ]
    assert sandbox.request_counts["POST /sales"] == 0


def test_real_export_options(sandbox: Sandbox, tmp_path: Path) -> None:
    a, b = ids(sandbox, 2)
    path = tmp_path / "erp.csv"
    path.write_bytes(
        f"\ufeffSKU;Day;Sold;Warehouse\r\n{a};03/11/2025;4;A\r\n\r\n{b};03/11/2025;2;B\r\n".encode()
    )
    args = [
        "--column",
        "SKU=internal_id",
        "--column",
        "Day=date",
        "--column",
        "Sold=quantity",
        "--date-format",
        "%d/%m/%Y",
    ]
    result = run("--sandbox", "sales", "push", str(path), *args)
    assert result.exit_code == 0, result.output
    assert "ignoring columns Warehouse" in result.stderr
    assert sandbox.daily_sales(b)[date(2025, 11, 3)].quantity == 2
    strict = run("--sandbox", "sales", "push", str(path), *args, "--strict-columns")
    assert (
        strict.exit_code == EXIT_INVALID
        and f"{path}:1: unknown columns: Warehouse" in strict.output
    )
    bad = run("--sandbox", "sales", "push", str(path), "--column", "SKU=sku")
    assert bad.exit_code == 2 and "ERP_NAME=FIELD" in bad.output


# -- shared behaviour ---------------------------------------------------------------------------


def test_global_options_after_the_command(sandbox: Sandbox) -> None:
    before = run("--sandbox", "--json", "orders", "list")
    after = run("orders", "list", "--sandbox", "--json")
    assert before.exit_code == after.exit_code == 0
    assert json.loads(after.stdout) == json.loads(before.stdout) == []


def test_json_errors_go_to_stderr_as_json(sandbox: Sandbox) -> None:
    usage = run("orders", "show", "--json")
    assert usage.exit_code == 2 and json.loads(usage.stderr)["exit_code"] == 2
    missing = run("--sandbox", "orders", "show", "ORD-NOPE", "--json")
    error = json.loads(missing.stderr)
    assert missing.exit_code == 1 and error["type"] == "NotFoundError" and missing.stdout == ""


def test_products_export_json_is_json_lines(sandbox: Sandbox) -> None:
    result = run("--sandbox", "--json", "products", "export")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 60 and rows[0]["internal_id"] == sandbox.products[0].internal_id


def test_exit_codes_in_every_help() -> None:
    for command in (
        ["sales", "push"],
        ["sales", "sync"],
        ["sales", "journal", "prune"],
        ["orders", "list"],
        ["products", "export"],
        ["demo"],
        [],
    ):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Exit codes:" in result.output and "130" in result.output


def test_server_text_is_never_markup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue #10 item 8: a server message with [/red] must not crash, [redacted] must show."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sales"):
            return httpx.Response(
                400,
                json={
                    "error": "Validation errors [/red]",
                    "processed": 0,
                    "errors": [
                        {"index": 0, "error": "bad [/red] id [redacted]", "received": "[bold]x"}
                    ],
                },
            )
        return httpx.Response(500, json={"error": "boom [/red] key=[redacted]"})

    @asynccontextmanager
    async def client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        async with AsyncPleasureStock(
            "pk_test",
            base_url="http://127.0.0.1/api/v1",
            http_client=http,
            max_retries=0,
            **options,
        ) as ps:
            yield ps
        await http.aclose()

    monkeypatch.setattr(cli_common, "sandbox_client", client)
    shown = run("--sandbox", "orders", "show", "ORD-1")
    assert shown.exit_code == 1 and "boom [/red] key=[redacted]" in shown.stderr
    path = write(tmp_path / "s.csv", ["ps_abcdefghij,2025-11-03,1,"])
    pushed = run("--sandbox", "sales", "push", str(path))
    assert pushed.exit_code == EXIT_INVALID
    assert f"{path}:2: refused by the server: bad [/red] id [redacted]" in pushed.stdout


def test_limits_syntax() -> None:
    config = parse_limits("standard=2000/h,200/m,20/s; smart=5/10s")
    assert config.standard == (Window(2000, 3600), Window(200, 60), Window(20, 1))
    assert config.smart == (Window(5, 10),) and config.external[0] == Window(5000, 3600)
    for bad, words in (
        ("standard=100", "not a window"),
        ("fast=1/s", "BUCKET"),
        ("standard=0/s", "limit >= 1"),
        ("standard=1/s;standard=2/s", "twice"),
    ):
        with pytest.raises(click.BadParameter, match=words):
            parse_limits(bad)
    result = run("--limits", "standard=nope", "--sandbox", "orders", "list")
    assert result.exit_code == 2 and "not a window" in result.output


def test_time_estimate_at_the_limits() -> None:
    fresh = tuple(
        WindowStatus(w.limit, w.seconds, 0, w.limit)
        for w in (Window(1000, 3600), Window(100, 60), Window(10, 1))
    )
    assert send_time(100, fresh) == 9  # ten a second
    assert send_time(225, fresh) == 120  # two more minutes of 100
    assert send_time(1000, fresh) == 540 and send_time(1001, fresh) == 3600
    text = time_needed(1000, BucketStatus("standard", fresh, 0.0), rows=1_000_000)
    assert text == (
        "this job needs 1,000 requests for 1,000,000 rows; at 1000/h, 100/m, 10/s "
        "that takes about 9 min"
    )


def test_redis_url(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        unused = s.getsockname()[1]
    result = run("--sandbox", "orders", "list", "--redis-url", f"redis://127.0.0.1:{unused}/0")
    assert result.exit_code == 1 and f"127.0.0.1:{unused}" in result.output
    assert "Redis" in result.output or "redis" in result.output
    made: list[dict[str, Any]] = []

    class FakeRedisLimiter(MemoryRateLimiter):
        @classmethod
        async def from_url(cls, url: str, **kw: Any) -> FakeRedisLimiter:
            made.append({"url": url, **kw})
            return cls(kw["config"])

    import pleasurestock_async.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "RedisRateLimiter", FakeRedisLimiter, raising=False)
    monkeypatch.setenv("PLEASURESTOCK_REDIS_URL", "redis://127.0.0.1:6379/0")
    ok = run("--sandbox", "--limits", "standard=7/s", "orders", "list")
    assert ok.exit_code == 0, ok.output
    assert made[0]["url"] == "redis://127.0.0.1:6379/0" and made[0]["api_key"]
    assert made[0]["config"].standard == (Window(7, 1),)


async def test_progress_bar_fits_80_columns_and_ends_full() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=80, color_system=None)
    reporter = Reporter(console, total=5000, label="push", extra_invalid=2)
    async with reporter.running(MemoryRateLimiter()):
        reporter.say("step one")
        reporter(UploadProgress(read=3000, accepted=2990, failed=0, invalid=10, batches_done=3))
        reporter.say("step two")
        reporter(UploadProgress(read=4990, accepted=4978, failed=0, invalid=12, batches_done=5))
        reporter.finish(4990)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue()).replace("\r", "\n")
    lines = [line for line in screen.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in lines), lines
    assert "step one" in lines and "step two" in lines  # never glued onto the bar
    assert "100%" in lines[-1] and "invalid 14" in lines[-1]


def test_sync_uncertain_rows_listed_then_settled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pleasurestock_async.sandbox import Faults

    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    a, b = ids(failing, 2)
    path = write(tmp_path / "s.csv", [f"{a},2025-11-01,3,1", f"{b},2025-11-01,4,2"])
    state = str(tmp_path / "s.db")
    args = ("--sandbox", "sales", "sync", str(path), "--state", state, "--today", "2025-11-05")
    first = run(*args)
    assert first.exit_code == EXIT_PARTIAL
    assert f"{path}:2: uncertain {a} 2025-11-01" in first.stdout
    assert f"{path}:3: uncertain {b} 2025-11-01" in first.stdout
    assert (
        "--assume-unknown stored" in first.stdout and "--assume-unknown not-stored" in first.stdout
    )
    held = run(*args)
    assert held.exit_code == EXIT_PARTIAL and failing.request_counts["POST /sales"] == 1
    settled = run(*args, "--assume-unknown", "stored")
    assert settled.exit_code == 0, settled.output
    assert failing.request_counts["POST /sales"] == 1  # the server had them: nothing resent
    assert failing.daily_sales(b)[date(2025, 11, 1)].quantity == 4


def test_sync_settles_uncertain_batches_one_by_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pleasurestock_async.sandbox import Faults

    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    a, b = ids(failing, 2)
    state = str(tmp_path / "s.db")
    first_file = write(tmp_path / "1.csv", [f"{a},2025-11-01,3,1"])
    both = write(tmp_path / "2.csv", [f"{a},2025-11-01,3,1", f"{b},2025-11-02,4,2"])
    common = ("--sandbox", "sales", "sync", "--state", state, "--today", "2025-11-05")
    assert run(*common, str(first_file)).exit_code == EXIT_PARTIAL
    second = run(*common, str(both))
    assert second.exit_code == EXIT_PARTIAL
    assert "uncertain batches: r1b0 (1 rows), r2b0 (1 rows)" in second.stdout
    assert "--resolve BATCH=stored --resolve BATCH=not-stored" in second.stdout
    summary = json.loads(run(*common, str(both), "--json").stdout)
    assert summary["resolve"]["batches"] == {"r1b0": 1, "r2b0": 1}
    for wrong in ("maybe", "=stored", "r1b0=", "r1b0=perhaps"):
        refused = run(*common, str(both), "--resolve", wrong)
        assert refused.exit_code == 2 and "--resolve" in refused.output, wrong
    clash = run(*common, str(both), "--resolve", "r1b0=stored", "--resolve", "r1b0=not-stored")
    assert clash.exit_code == 2 and "both ways" in clash.output
    stranger = run(*common, str(both), "--resolve", "r7b0=stored")
    assert stranger.exit_code == EXIT_INVALID and "no uncertain batch r7b0" in stranger.output
    posts = failing.request_counts["POST /sales"]
    settled = run(*common, str(both), "--resolve", "r1b0=stored", "--assume-unknown", "stored")
    assert settled.exit_code == 0, settled.output
    assert failing.request_counts["POST /sales"] == posts  # both were stored: nothing resent
    assert failing.daily_sales(a)[date(2025, 11, 1)].quantity == 3
    assert failing.daily_sales(b)[date(2025, 11, 2)].quantity == 4


def test_a_push_without_a_journal_keeps_one_when_anything_may_be_stored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pleasurestock_async.sandbox import Faults

    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    path = write(tmp_path / "s.csv", [f"{p},2025-11-03,2," for p in ids(failing, 5)])
    first = run("--sandbox", "--json", "sales", "push", str(path))
    assert first.exit_code == EXIT_PARTIAL
    resume = json.loads(first.stdout.strip().splitlines()[-1])["resume"]
    assert "--journal" in resume  # the command it prints holds back what may be stored
    args = resume.split()[1:]  # "pleasurestock ..." as the shell would split it
    again = run(*args)
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert again.exit_code == EXIT_PARTIAL and summary["unresolved_batches"]
    assert failing.request_counts["POST /sales"] == 1  # the first batch was never resent
    kept = Path(args[args.index("--journal") + 1])
    for leftover in (kept, Path(f"{kept}.lock"), Path(f"{kept}-wal"), Path(f"{kept}-shm")):
        leftover.unlink(missing_ok=True)


@pytest.mark.slow
def test_push_shows_each_rate_limit_wait_as_it_begins(sandbox: Sandbox, tmp_path: Path) -> None:
    """The wait line came from scraping a log text written only for waits over a second, and
    read the standard bucket alone; it now comes from the limiter's wait events."""
    rows = [f"{p},2025-11-03,1," for p in ids(sandbox, 3)]
    path = write(tmp_path / "s.csv", rows)
    result = run(
        "--sandbox",
        "--limits",
        "standard=1/s",
        "sales",
        "push",
        str(path),
        "--journal",
        str(tmp_path / "j.db"),
        "--chunk-size",
        "1",
    )
    assert result.exit_code == 0, result.output
    waits = [line for line in result.output.splitlines() if "rate limit: waiting until" in line]
    assert waits and all(line.startswith("push: standard rate limit: waiting") for line in waits)
