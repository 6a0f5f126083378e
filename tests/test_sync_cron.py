"""The sync as cron runs it: exit codes a person can act on, acknowledged discrepancies, a
quarantine for ids the server does not know, progress that follows the server, a dry run that
changes nothing, and a status of the state (issue 19, points 3-6)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import AsyncPleasureStock, cli
from pleasurestock_async.cli import EXIT_INVALID, EXIT_PARTIAL
from pleasurestock_async.cli import _common as cli_common
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox
from pleasurestock_async.sandbox import IN_PROCESS_BASE_URL as SANDBOX_URL
from pleasurestock_async.types.uploads import SyncProgress

from .cli_sandbox import route_cli_to

MONDAY = date(2025, 11, 3)
UNKNOWN = ("ps_nothere001", "ps_nothere002", "ps_nothere003")


class Recording(httpx.AsyncBaseTransport):
    """Keeps the body of every ``POST /sales`` on its way to the sandbox."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []
        self.requests: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests[f"{request.method} {request.url.path.removeprefix('/api/v1')}"] += 1
        if request.method == "POST":
            self.bodies.append(request.content)
        return await self.inner.handle_async_request(request)


@dataclass
class Server:
    sandbox: Sandbox
    wire: Recording = field(init=False)

    def __post_init__(self) -> None:
        self.wire = Recording(self.sandbox.transport())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Server:
    found = Server(Sandbox(rate_limits=None, products=400))

    @asynccontextmanager
    async def client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
        http = httpx.AsyncClient(transport=found.wire)
        options.setdefault("rate_limits", None)
        async with (
            http,
            AsyncPleasureStock(
                DEMO_API_KEY, base_url=SANDBOX_URL, http_client=http, **options
            ) as ps,
        ):
            yield ps

    monkeypatch.setattr(cli_common, "sandbox_client", client)
    return found


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, ["--sandbox", *args], catch_exceptions=False)


# -- a week of cron runs -------------------------------------------------------------------------


def _final(k: int, day: int) -> int:
    return (k * 3 + day) % 6 + 2


def _export(products: list[str], now: int, step: int, steps: int, returned: bool) -> str:
    """A cumulative ERP export as run ``step`` of ``steps`` on day ``now`` writes it: every day
    of the week so far, two warehouses, ``;``, ``dd.mm.yyyy``, CRLF, a BOM; three ids the
    catalogue does not know; a unit returned on Monday once ``returned``."""
    lines = ["internal_id;date;quantity;stock_on_hand"]
    for day in range(now + 1):
        when = (MONDAY + timedelta(days=day)).strftime("%d.%m.%Y")
        for k, pid in enumerate([*products, *UNKNOWN]):
            total = _final(k, day)
            if day == now:
                total = total * (step + 1) // steps  # today's sales so far
            if returned and k == 0 and day == 0:
                total -= 1
            a, b = total - total // 2, total // 2
            stock_a, stock_b = (50 - day, 30 - day) if day < now else (60 - step, 40)
            lines.append(f"{pid};{when};{a};{stock_a}")
            lines.append(f"{pid};{when};{b};{stock_b}")
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


def _week(server: Server, tmp_path: Path, *, days: int, steps: int, products: int) -> None:
    """Cron every ``24 / steps`` hours for ``days`` days: exit 3 once for the ids the server
    does not know, 0 while nothing is new, 4 when the return shows, 0 again from the run that
    acknowledges it on; no request ever carries a quarantined id again; the server ends
    with exactly the latest export (plus the unit it cannot take back)."""
    ids = [p.internal_id for p in server.sandbox.products[:products]]
    state = str(tmp_path / "sales-state.db")
    path = tmp_path / "export.csv"
    returned_at = (days // 2, steps // 2)
    codes: list[int] = []
    accept: tuple[str, ...] = ()
    for now in range(days):
        for step in range(steps):
            returned = (now, step) >= returned_at
            path.write_bytes(_export(ids, now, step, steps, returned).encode())
            before = len(server.wire.bodies)
            result = run(
                "sales",
                "sync",
                str(path),
                "--state",
                state,
                "--today",
                (MONDAY + timedelta(days=now)).isoformat(),
                "--date-format",
                "%d.%m.%Y",
                "--on-invalid",
                "skip",
                "--json",
                *accept,
            )
            summary = json.loads(result.stdout)
            codes.append(result.exit_code)
            assert summary["invalid"] == [] and summary["uncertain"] == []
            quarantined = {q["internal_id"]: q for q in summary["quarantine"]["ids"]}
            if codes[1:]:  # the ids are known: held, and never sent again
                assert set(quarantined) == set(UNKNOWN)
                assert not any(q["new"] for q in quarantined.values())
                for body in server.wire.bodies[before:]:
                    assert not any(u.encode() in body for u in UNKNOWN)
            if result.exit_code == EXIT_PARTIAL:  # the return: checked, then acknowledged
                (found,) = summary["discrepancies"]
                assert (found["product"], found["date"]) == (ids[0], MONDAY.isoformat())
                assert not found["acknowledged"] and "--accept all" in summary["accept"]
                accept = ("--accept", f"{ids[0]}:{MONDAY.isoformat()}")
            elif accept:
                assert [d["acknowledged"] for d in summary["discrepancies"]] == [True]
    first_return = returned_at[0] * steps + returned_at[1]
    assert codes[0] == EXIT_INVALID  # three ids refused for the first time: news
    assert set(codes[1:first_return]) == {0}
    assert codes[first_return] == EXIT_PARTIAL
    assert set(codes[first_return + 1 :]) == {0}, codes  # from the acknowledgement on
    last = days - 1
    for k, pid in enumerate(ids):
        held = server.sandbox.daily_sales(pid)
        for day in range(days):
            expected = _final(k, day) - (1 if (k, day) == (0, 0) else 0)
            stored = held[MONDAY + timedelta(days=day)]
            assert stored.quantity == expected + (1 if (k, day) == (0, 0) else 0)
            assert stored.stock_on_hand == (50 - day if day < last else None)
    status = json.loads(run("sales", "status", "--state", state, "--json").stdout)
    assert {q["internal_id"] for q in status["quarantined"]} == set(UNKNOWN)
    assert status["discrepancies"] == {
        "new": [],
        "acknowledged": [
            {
                "kind": "quantity",
                "product": ids[0],
                "date": MONDAY.isoformat(),
                "stored": _final(0, 0),
                "export": _final(0, 0) - 1,
            }
        ],
    }


def test_a_few_days_of_cron_runs_exit_0_once_the_news_is_acknowledged(
    server: Server, tmp_path: Path
) -> None:
    _week(server, tmp_path, days=3, steps=4, products=12)


@pytest.mark.slow
def test_a_week_of_three_hourly_cron_runs_exits_0_from_the_acknowledgement_on(
    server: Server, tmp_path: Path
) -> None:
    """The issue's lab: 56 runs over a simulated week, 400 products, cumulative exports with a
    BOM, CRLF, ``;``, ``dd.mm.yyyy``, two warehouses, three unknown ids and one return."""
    _week(server, tmp_path, days=7, steps=8, products=400)


def test_an_acknowledged_discrepancy_that_changes_again_is_new(
    server: Server, tmp_path: Path
) -> None:
    pid = server.sandbox.products[0].internal_id
    state = str(tmp_path / "s.db")
    path = tmp_path / "e.csv"

    def sync(quantity: int, *extra: str) -> Result:
        path.write_text(f"internal_id,date,quantity\n{pid},2025-11-03,{quantity}\n")
        return run("sales", "sync", str(path), "--state", state, "--today", "2025-11-05", *extra)

    assert sync(10).exit_code == 0
    assert sync(9).exit_code == EXIT_PARTIAL
    accepted = sync(9, "--accept", "all")
    assert accepted.exit_code == 0 and "acknowledged discrepancies" in accepted.stdout
    assert sync(9).exit_code == 0
    assert sync(8).exit_code == EXIT_PARTIAL  # another return: news again
    assert server.sandbox.daily_sales(pid)[date(2025, 11, 3)].quantity == 10


def test_quarantined_ids_are_retried_on_their_day_or_when_asked(
    server: Server, tmp_path: Path
) -> None:
    pid = server.sandbox.products[0].internal_id
    state = str(tmp_path / "s.db")
    path = tmp_path / "e.csv"
    path.write_text(f"internal_id,date,quantity\n{pid},2025-11-03,4\n{UNKNOWN[0]},2025-11-03,1\n")

    def sync(today: str, *extra: str) -> dict[str, Any]:
        done = run("sales", "sync", str(path), "--state", state, "--today", today, "--json", *extra)
        found: dict[str, Any] = json.loads(done.stdout)
        found["exit_code"] = done.exit_code
        return found

    def carried() -> int:
        return sum(UNKNOWN[0].encode() in body for body in server.wire.bodies)

    first = sync("2025-11-05")
    assert first["exit_code"] == EXIT_INVALID and carried() == 1  # healed: sent again without
    (entry,) = first["quarantine"]["ids"]
    assert entry["new"] and entry["retry_on"] == "2025-11-12"
    held = sync("2025-11-11")
    assert held["exit_code"] == 0 and held["quarantine"]["rows"] == 1 and carried() == 1
    asked = sync("2025-11-11", "--retry-refused")
    assert asked["exit_code"] == 0 and carried() == 2  # still unknown: refused, no news
    assert not asked["quarantine"]["ids"][0]["new"]
    due = sync("2025-11-18")  # a week after its last refusal: tried once more
    assert due["exit_code"] == 0 and carried() == 3
    assert due["quarantine"]["ids"][0]["retry_on"] == "2025-11-25"


# -- dry run, status, progress -------------------------------------------------------------------


def test_a_dry_run_sends_nothing_and_leaves_the_state_byte_identical(
    server: Server, tmp_path: Path
) -> None:
    ids = [p.internal_id for p in server.sandbox.products[:30]]
    state = tmp_path / "s.db"
    path = tmp_path / "e.csv"
    path.write_text("internal_id,date,quantity\n" + "".join(f"{p},2025-11-03,5\n" for p in ids))
    args = ("sales", "sync", str(path), "--state", str(state), "--today", "2025-11-05")
    missing = run(*args, "--dry-run", "--json")
    assert missing.exit_code == 0 and json.loads(missing.stdout)["to_send"] == 30
    assert not state.exists() and sum(server.wire.requests.values()) == 0
    assert run(*args).exit_code == 0
    path.write_text(
        "internal_id,date,quantity\n"
        + "".join(f"{p},2025-11-03,{4 if n == 0 else 7}\n" for n, p in enumerate(ids))
        + "".join(f"{p},2025-11-04,2\n" for p in ids)
    )
    before, listing = state.read_bytes(), sorted(p.name for p in tmp_path.iterdir())
    requests = sum(server.wire.requests.values())
    dry = run(*args, "--dry-run", "--json")
    assert dry.exit_code == EXIT_PARTIAL  # as the real run would: a discrepancy is news
    summary = json.loads(dry.stdout)
    assert summary["dry_run"] and summary["sent"] == 0
    assert (summary["to_send"], summary["requests"]) == (59, 1)
    assert [d["product"] for d in summary["discrepancies"]] == [ids[0]]
    assert sum(server.wire.requests.values()) == requests
    assert state.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    text = run(*args, "--dry-run")
    assert "would send 59 rows: this job needs 1 request for 59 rows" in text.stdout
    real = run(*args, "--json")
    assert real.exit_code == EXIT_PARTIAL and json.loads(real.stdout)["sent"] == 59


def test_status_names_each_batch_in_doubt_with_its_settling_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    failing = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    state = str(tmp_path / "s.db")
    for day in ("2025-11-01", "2025-11-02"):
        path = tmp_path / f"{day}.csv"
        path.write_text(
            "internal_id,date,quantity\n"
            + "".join(f"{p.internal_id},{day},3\n" for p in failing.products[:4])
        )
        run("sales", "sync", str(path), "--state", state, "--today", "2025-11-05")
    shown = run("sales", "status", "--state", state, "--json")
    assert shown.exit_code == EXIT_PARTIAL
    status = json.loads(shown.stdout)
    doubt = {b["batch"]: b for b in status["batches_in_doubt"]}
    assert set(doubt) == {"r1b0", "r2b0"} and status["pending_rows"] == 8
    assert doubt["r1b0"]["rows"] == 4 and doubt["r1b0"]["state"] == "unknown"
    assert doubt["r1b0"]["settle"]["stored"].endswith(f"--state {state} r1b0=stored")
    assert [r["run"] for r in status["runs"]] == [2, 1]
    assert status["destination"]["base_url"] == SANDBOX_URL
    text = run("sales", "status", "--state", state)
    assert "batch r2b0: 4 rows, unknown" in text.stdout
    assert f"pleasurestock sales state resolve --state {state} r2b0=not-stored" in text.stdout
    settled = run("sales", "state", "resolve", "--state", state, "r1b0=stored", "r2b0=not-stored")
    assert settled.exit_code == 0, settled.output
    after = json.loads(run("sales", "status", "--state", state, "--json").stdout)
    assert after["batches_in_doubt"] == [] and after["product_days"] == 4
    missing = run("sales", "status", "--state", str(tmp_path / "none.db"))
    assert missing.exit_code == EXIT_INVALID and "does not exist" in missing.stderr
    assert not (tmp_path / "none.db").exists()


async def test_progress_at_the_half_way_request_reads_half(tmp_path: Path) -> None:
    """The bar read 96% when 100 of 225 requests had been sent: the rows to send were
    counted as planning went, a batch ahead of sending."""
    sandbox = Sandbox(rate_limits=None, products=1000)
    rows = [
        {"internal_id": p.internal_id, "date": f"2025-10-{day:02d}", "quantity": 1}
        for day in range(1, 11)
        for p in sandbox.products
    ]
    seen: list[SyncProgress] = []
    async with sandbox.client() as ps:
        result = await ps.sales.sync(
            rows,
            state=tmp_path / "s.db",
            today=date(2025, 11, 5),
            progress=seen.append,
            concurrency=1,  # one batch at a time: each snapshot follows exactly one answer
        )
    assert result.batches == 10 and result.stored == 10_000
    sending = [p for p in seen if p.phase == "sending"]
    assert {p.to_send for p in sending} == {10_000}  # known before the first request
    (half,) = [p for p in sending if p.batches_done == 5]
    assert (half.stored + half.failed) / half.to_send == 0.5


def test_a_log_file_gets_a_line_per_tenth_and_a_last_one(server: Server, tmp_path: Path) -> None:
    ids = [p.internal_id for p in server.sandbox.products]
    path = tmp_path / "e.csv"
    path.write_text(
        "internal_id,date,quantity\n"
        + "".join(f"{p},2025-10-{d:02d},1\n" for d in range(1, 11) for p in ids)
    )
    done = run("sales", "sync", str(path), "--state", str(tmp_path / "s.db"))
    assert done.exit_code == 0, done.output
    lines = [line for line in done.stderr.splitlines() if "rows sent and answered" in line]
    assert "sync: 2,000 of 4,000 rows sent and answered (50%)" in "\n".join(lines)
    assert lines[-1].startswith("sync: done: 4,000 of 4,000 rows sent and answered (100%)")
