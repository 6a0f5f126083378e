"""``pleasurestock sandbox`` (``-v``, ``--open``, the options its help offers) and
``pleasurestock sandbox inspect ...`` against sandboxes served on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pleasurestock_async import cli
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, Sandbox

from .sandbox_server import free_port, serve

STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}
DAY = date(2025, 11, 3)
START_TIMEOUT = 30.0


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(products=30, example_orders=True)
    with serve(sandbox) as base:
        yield sandbox, base


def store_week(sandbox: Sandbox, products: int) -> None:
    for p in sandbox.products[:products]:
        for d in range(7):
            sandbox.state.store_sale(p, DAY + timedelta(days=d), p.number + d, 50 - d)


# -- help: each global option only where it applies -------------------------------------------

GLOBALS = ("--api-key-env", "--base-url", "--sandbox", "--json", "--limits", "--redis-url")


def test_sandbox_help_offers_only_the_options_that_mean_something_there() -> None:
    """Issue 21, point 7: `sandbox --help` offered --sandbox, --base-url, --limits and
    --redis-url, which mean nothing to a server."""
    shown = run("sandbox", "--help").output
    assert [name for name in GLOBALS if name in shown] == []
    assert "-v, --verbose" in shown and "--open" in shown and "inspect" in shown


@pytest.mark.parametrize("kind", ["sales", "orders", "webhooks", "requests", "limits"])
def test_inspect_help_offers_base_url_json_and_verbose(kind: str) -> None:
    shown = run("sandbox", "inspect", kind, "--help").output
    assert [name for name in GLOBALS if name in shown] == ["--base-url", "--json"]
    assert "-v, --verbose" in shown and "Example" in shown and "Exit codes" in shown


def test_serving_options_with_inspect_are_a_usage_error() -> None:
    result = run("sandbox", "--port", "9000", "--open", "inspect", "sales")
    assert result.exit_code == 2
    assert "--port, --open" in result.output and "--base-url" in result.output
    fresh = run("--sandbox", "sandbox", "inspect", "orders")
    assert fresh.exit_code == 2 and "inspect reads a running one" in fresh.output


# -- inspect ------------------------------------------------------------------------------------


def test_inspect_sales_json_has_the_stored_totals(served: tuple[Sandbox, str]) -> None:
    sandbox, base = served
    store_week(sandbox, 20)
    week = run(
        "sandbox", "inspect", "sales", "--json", "--from", "2025-11-04", "--to", "2025-11-08",
        "--base-url", base,
    )  # fmt: skip
    assert week.exit_code == 0, week.output
    body = json.loads(week.stdout)
    stored = {
        k: v
        for k, v in sandbox.stored_sales().items()
        if date(2025, 11, 4) <= k[1] <= date(2025, 11, 8)
    }
    assert len(stored) == 100
    assert body["totals"] == {
        "product_days": 100,
        "products": 20,
        "quantity": sum(s.quantity for s in stored.values()),
        "first_day": "2025-11-04",
        "last_day": "2025-11-08",
    }
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 100, "pages": 2}
    assert len(body["data"]) == 50


def test_inspect_sales_all_reads_every_page(
    served: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, base = served
    for p in sandbox.products[:3]:
        for d in range(400):
            sandbox.state.store_sale(p, DAY + timedelta(days=d), 1, None)
    monkeypatch.setenv("PLEASURESTOCK_BASE_URL", base)
    result = run("sandbox", "inspect", "sales", "--all", "--json")
    body = json.loads(result.stdout)
    assert len(body["data"]) == body["totals"]["product_days"] == 1200
    assert "pagination" not in body
    keys = [(r["internal_id"], r["date"]) for r in body["data"]]
    assert len(set(keys)) == 1200


def test_inspect_tables_show_client_text_as_text(served: tuple[Sandbox, str]) -> None:
    sandbox, base = served
    store_week(sandbox, 2)
    comment = "[red]urgent[/] [bold]<script>x</script>"
    with httpx.Client(base_url=base, timeout=10) as http:
        number = http.post(
            "/external/orders",
            json={"items": [{"ps_id": "ps_1234567890", "quantity": 1}], "comment": comment},
            headers=EXT,
        ).json()["data"]["orders"][0]["orderNumber"]
        http.put(f"/external/orders/{number}/status", json={"status": "paid"}, headers=EXT)
        http.get("/products", params={"limit": 1}, headers={"X-API-Key": DEMO_VIEWER_KEY})
    sales = run("sandbox", "inspect", "sales", "--base-url", base, "--limit", "3")
    assert sales.exit_code == 0
    assert "totals: " in sales.output and "14 product-days of 2 products" in sales.output
    assert "page 1 of 5" in sales.output
    orders = run("sandbox", "inspect", "orders", "--base-url", base, "--status", "paid")
    assert comment in orders.output and number in orders.output
    assert "created -> paid" in orders.output
    requests = run("sandbox", "inspect", "requests", "--base-url", base, "--limit", "1")
    assert "GET" in requests.output and "viewer" in requests.output
    assert "/api/v1/products?limit=1" in requests.output
    limits = run("sandbox", "inspect", "limits", "--base-url", base)
    assert "1,000 / 1 h" in limits.output and "manager" in limits.output
    webhooks = run("sandbox", "inspect", "webhooks", "--base-url", base, "--json")
    assert json.loads(webhooks.stdout)["data"] == []  # this sandbox has no webhook URL


def test_inspect_reports_what_keeps_it_from_reading(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/api/v1"
    result = run("sandbox", "inspect", "requests", "--base-url", nobody)
    assert result.exit_code == 1 and f"no sandbox answers at {nobody}" in result.output

    async def elsewhere(request: Request) -> Response:
        return PlainTextResponse("an API, but not a sandbox", 404)

    other = Starlette(routes=[Route("/api/v1/{rest:path}", elsewhere)])
    with serve(other) as base:
        result = run("sandbox", "inspect", "orders", "--base-url", base, "--json")
    assert result.exit_code == 1 and result.stdout == ""
    problem = json.loads(result.stderr)
    assert problem["exit_code"] == 1 and "is not a pleasurestock sandbox" in problem["error"]

    with serve(Sandbox(products=3)) as base:
        refused = run("sandbox", "inspect", "sales", "--base-url", base, "--product", "ps_none")
    assert (
        refused.exit_code == 1
        and "the sandbox refused: Product ps_none not found" in refused.output
    )


@pytest.mark.slow
def test_a_week_of_cron_syncs_is_checked_with_one_inspect_command(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    """Rolling 7-day exports synced twice a day for a week against a served sandbox; then one
    `inspect sales --json` holds exactly the latest export's totals and rows."""
    _, base = served
    products = [p.internal_id for p in (served[0].products[:10])]
    first = date(2025, 11, 3)
    state, export = str(tmp_path / "state.db"), tmp_path / "export-7d.csv"
    env = {"PLEASURESTOCK_API_KEY": DEMO_API_KEY}

    def write(now: int, hour: int) -> dict[tuple[str, str], tuple[int, int]]:
        rows = {
            (p, str(first + timedelta(days=day))): (
                (k + day) % 5 + 1 if day < now else ((k + day) % 5 + 1) * hour // 24,
                30 + k - day,
            )
            for day in range(max(0, now - 6), now + 1)
            for k, p in enumerate(products)
        }
        lines = [f"{p},{d},{q},{s}" for (p, d), (q, s) in rows.items()]
        export.write_text("internal_id,date,quantity,stock_on_hand\n" + "\n".join(lines) + "\n")
        return rows

    for now in range(7):
        for hour in (12, 24):
            write(now, hour)
            today = str(first + timedelta(days=now))
            sync = ["sales", "sync", str(export), "--state", state, "--today", today]
            done = run("--base-url", base, *sync, env=env)
            assert done.exit_code == 0, done.output
    latest = write(6, 24)
    closed = str(first + timedelta(days=7))  # the week is over: its last day is closed too
    assert (
        run(
            "--base-url",
            base,
            "sales",
            "sync",
            str(export),
            "--state",
            state,
            "--today",
            closed,
            env=env,
        ).exit_code
        == 0
    )

    check = run(
        "--base-url", base, "sandbox", "inspect", "sales", "--json", "--all",
        "--from", "2025-11-03", "--to", "2025-11-09",
    )  # fmt: skip
    body = json.loads(check.stdout)
    assert body["totals"] == {
        "product_days": len(latest),
        "products": len(products),
        "quantity": sum(q for q, _ in latest.values()),
        "first_day": "2025-11-03",
        "last_day": "2025-11-09",
    }
    stored = {
        (r["internal_id"], r["date"]): (r["quantity"], r["stock_on_hand"]) for r in body["data"]
    }
    assert stored == latest


# -- serving: -v and --open, in a real process --------------------------------------------------


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pleasurestock_async", "sandbox", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(root + "/api/v1/_sandbox/info", timeout=1)
            return process, root
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the sandbox did not start: {process.communicate()[1][-2000:]}")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, err


@pytest.mark.slow
def test_verbose_sandbox_logs_one_line_per_request_without_the_key() -> None:
    """`pleasurestock -v sandbox` logged no request at all."""
    key = "pk_from_env_not_to_be_logged_42"
    process, root = _start(["--products", "20", "-v"], {"PLEASURESTOCK_API_KEY": key})
    try:
        with httpx.Client(base_url=root + "/api/v1", timeout=10) as http:
            ok = http.get("/products?limit=1", headers={"X-API-Key": key})
            http.get("/products", headers={"X-API-Key": "pk_wrong"})
            http.get("/external/orders", headers={"Authorization": f"Bearer {DEMO_VIEWER_KEY}"})
            http.get("/_sandbox/requests")  # the inspector itself is not logged
            httpx.get(root + "/", timeout=10)
    finally:
        code, err = _stop(process)
    assert code == 0, err[-2000:]
    lines = [line for line in err.splitlines() if "pleasurestock_async.sandbox.requests" in line]
    assert len(lines) == 3, err[-2000:]
    assert "GET /api/v1/products?limit=1 200 standard key=manager" in lines[0]
    assert f"id={ok.headers['x-request-id']}" in lines[0]
    assert "GET /api/v1/products 401 standard" in lines[1] and "Missing or invalid" in lines[1]
    assert "GET /api/v1/external/orders 200 external key=viewer" in lines[2]
    assert key not in err
    assert f"inspector:      {root}/" in err


@pytest.mark.slow
def test_open_opens_the_inspector_page_once_serving(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "browser.py"
    recorder.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    browser = f"{sys.executable} {recorder} %s"
    process, root = _start(["--products", "5", "--open"], {"BROWSER": browser})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        page = httpx.get(opened.read_text(), timeout=10)
    finally:
        code, err = _stop(process)
    assert code == 0, err[-2000:]
    assert opened.read_text() == root + "/"
    assert page.status_code == 200 and "<title>PleasureStock sandbox inspector" in page.text
