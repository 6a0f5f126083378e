"""The command line, driven in-process against a sandbox shared by the invocations."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import cli, webhooks
from pleasurestock_async.cli import EXIT_AUTH, EXIT_INVALID, EXIT_PARTIAL
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox

from .cli_sandbox import route_cli_to


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    shared = Sandbox(rate_limits=None, products=120)

    route_cli_to(monkeypatch, shared)
    return shared


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.cli, list(args), input=input, env=env, catch_exceptions=False)


def sales_csv(path: Path, sandbox: Sandbox, bad: dict[int, str] | None = None) -> Path:
    lines = ["internal_id,date,quantity,stock_on_hand"]
    for n, p in enumerate(sandbox.products[:30]):
        lines.append(f"{p.internal_id},2025-11-03,{n % 5},{n}")
    for line_no, text in (bad or {}).items():
        lines.insert(line_no - 1, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_has_examples() -> None:
    for command in (
        [],
        ["sales"],
        ["products"],
        ["orders"],
        ["webhook"],
        ["sales", "push"],
        ["products", "export"],
        ["orders", "list"],
        ["orders", "show"],
        ["orders", "set-status"],
        ["orders", "create"],
        ["reorder"],
        ["currency"],
        ["webhook", "verify"],
        ["demo"],
        ["sandbox"],
    ):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Example" in result.output, command


def test_push_all_good(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sales_csv(tmp_path / "s.csv", sandbox)
    result = run("--sandbox", "sales", "push", str(path), "--chunk-size", "7")
    assert result.exit_code == 0, result.output
    assert "read 30; this run stored 30 in 5 requests (server processed 30)" in result.output
    assert "\x1b" not in result.output  # not a terminal: no control characters
    assert sandbox.request_counts["POST /sales"] == 5


def test_push_skip_reports_line_numbers(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sales_csv(
        tmp_path / "s.csv",
        sandbox,
        bad={
            5: "ps/bad,2025-11-03,1,1",
            9: f"{sandbox.products[0].internal_id},2025-11-31,1,1",
            12: "only,two",
        },
    )
    result = run("--sandbox", "sales", "push", str(path), "--on-invalid", "skip")
    assert result.exit_code == EXIT_INVALID, result.output
    assert f"{path}:5: internal_id" in result.output
    assert f"{path}:9: date" in result.output
    assert f"{path}:12: line: expected 4 columns" in result.output
    assert "this run stored 30" in result.output


def test_push_raise_stops(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sales_csv(tmp_path / "s.csv", sandbox, bad={20: "ps/bad,2025-11-03,1,1"})
    result = run("--sandbox", "sales", "push", str(path), "--chunk-size", "5")
    assert result.exit_code == EXIT_INVALID
    assert f"stopped: invalid record at {path}:20: internal_id" in result.output
    assert "this run stored 15" in result.output  # the three full batches before line 20


def test_dry_run_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sales_csv(tmp_path / "s.csv", sandbox, bad={3: "ps/bad,2025-11-03,-1,1"})
    result = run("--sandbox", "sales", "push", str(path), "--dry-run")
    assert result.exit_code == EXIT_INVALID
    assert f"{path}:3: internal_id" in result.output and f"{path}:3: quantity" in result.output
    assert sandbox.request_counts["POST /sales"] == 0
    clean = sales_csv(tmp_path / "ok.csv", sandbox)
    assert run("--sandbox", "sales", "push", str(clean), "--dry-run").exit_code == 0


def test_push_jsonl_from_stdin_as_json(sandbox: Sandbox) -> None:
    body = "".join(
        json.dumps({"internal_id": p.internal_id, "date": "2025-11-03", "quantity": 2}) + "\n"
        for p in sandbox.products[:10]
    )
    result = run("--sandbox", "--json", "sales", "push", "-", "--format", "jsonl", input=body)
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["sent_now"] == 10 and summary["invalid"] == []


def test_resumed_push_with_journal_sends_nothing_twice(sandbox: Sandbox, tmp_path: Path) -> None:
    path = sales_csv(tmp_path / "s.csv", sandbox)
    journal = tmp_path / "push.journal"
    first = run(
        "--sandbox", "sales", "push", str(path), "--journal", str(journal), "--chunk-size", "10"
    )
    assert first.exit_code == 0
    again = run(
        "--sandbox", "sales", "push", str(path), "--journal", str(journal), "--chunk-size", "10"
    )
    assert again.exit_code == 0 and "earlier runs had stored 30" in again.output
    assert "3 whole batches skipped" in again.output
    assert sandbox.request_counts["POST /sales"] == 3
    day = sandbox.daily_sales(sandbox.products[1].internal_id)
    assert [d.quantity for d in day.values()] == [1]  # counted once


def test_partial_failure_exit_code(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failing = Sandbox(rate_limits=None, products=40, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, failing)
    path = sales_csv(tmp_path / "s.csv", failing)
    result = run("--sandbox", "sales", "push", str(path))
    assert result.exit_code == EXIT_PARTIAL
    assert "may be stored" in result.output and f"{path}:2-31" in result.output


def test_auth_failure_exit_code(tmp_path: Path) -> None:
    from pleasurestock_async.sandbox import Sandbox as _Sandbox

    served = _Sandbox(rate_limits=None, products=5)
    path = tmp_path / "s.csv"
    path.write_text(f"internal_id,date,quantity\n{served.products[0].internal_id},2025-11-03,1\n")
    result = run(
        "--base-url",
        "http://127.0.0.1:9/api/v1",
        "sales",
        "push",
        str(path),
        env={"PLEASURESTOCK_API_KEY": ""},
    )
    assert result.exit_code == 2 and "PLEASURESTOCK_API_KEY" in result.output


def test_wrong_key_is_an_auth_failure(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    route_cli_to(monkeypatch, sandbox, api_key="pk_wrong")
    result = run("--sandbox", "orders", "list")
    assert result.exit_code == EXIT_AUTH and "pk_wrong" not in result.output


def test_products_export(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "catalogue.csv"
    result = run("--sandbox", "products", "export", "--include", "category,tsp", "-o", str(out))
    assert result.exit_code == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 120
    assert rows[0]["internal_id"] == sandbox.products[0].internal_id
    assert rows[0]["category_name_en"] and rows[0]["tsp_value"]
    assert "tcc_total_cost" not in rows[0]
    jsonl = run(
        "--sandbox", "products", "export", "--format", "jsonl", "--search", sandbox.products[3].sku
    )
    assert [json.loads(line)["sku"] for line in jsonl.stdout.splitlines()] == [
        sandbox.products[3].sku
    ]
    assert run("--sandbox", "products", "export", "--include", "colour").exit_code == 2


def test_orders_from_the_shell(sandbox: Sandbox) -> None:
    a, b = sandbox.products[0].internal_id, sandbox.products[1].internal_id
    created = run(
        "--sandbox",
        "--json",
        "orders",
        "create",
        "--item",
        f"{a}:3:9.50",
        "--item",
        f"{b}:1",
        "--external-order-id",
        "ERP-7",
    )
    assert created.exit_code == 0, created.output
    number = json.loads(created.stdout)["orders"][0]["order_number"]
    listed = run("--sandbox", "orders", "list", "--status", "created")
    assert number in listed.output
    for status in ("paid", "on_the_way", "delivered", "accepted"):
        moved = run("--sandbox", "orders", "set-status", number, status, "--comment", "ok")
        assert moved.exit_code == 0 and f"{number}: {status}" in moved.output
    refused = run("--sandbox", "orders", "set-status", number, "cancelled")
    assert refused.exit_code == 1 and "final" in refused.output
    shown = run("--sandbox", "--json", "orders", "show", number)
    assert json.loads(shown.stdout)["status"] == "accepted"
    assert run("--sandbox", "orders", "create", "--item", "nonsense").exit_code == 2


def test_reorder_currency_and_webhook(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    p = sandbox.products[0]
    for day in range(1, 8):
        sandbox.state.store_sale(p, date(2025, 11, day), 4, 2)
    table = run("--sandbox", "reorder", "--date", "2025-11-07")
    assert table.exit_code == 0 and p.internal_id in table.output
    money = run("--sandbox", "currency", "100", "eur")
    assert "100 EUR = 3487.50 TRY" in money.output

    body = (
        b'{"event":"order.status_changed",'
        b'"data":{"orderId":"x","orderNumber":"O","newStatus":"paid"}}'
    )
    headers = webhooks.sign(body, "s3cret")
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    good = run(
        "webhook",
        "verify",
        "--secret-env",
        "HOOK_SECRET",
        "--signature",
        headers["X-Webhook-Signature"],
        "--timestamp",
        headers["X-Webhook-Timestamp"],
        input=body.decode(),
    )
    assert good.exit_code == 0 and "verified order.status_changed" in good.output
    bad = run(
        "webhook",
        "verify",
        "--secret-env",
        "HOOK_SECRET",
        "--signature",
        headers["X-Webhook-Signature"],
        "--timestamp",
        headers["X-Webhook-Timestamp"],
        input=body.decode() + " ",
    )
    assert bad.exit_code == EXIT_INVALID and "does not match" in bad.output
    assert "s3cret" not in bad.output


def test_demo_command() -> None:
    result = run("--json", "demo", "--days", "7", "--top", "3")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["first export"].startswith("17,430 rows: 17,430 stored in 18 requests")
    # the cumulative export 3 hours later sends only today's 2,490 rows, not 19,920
    assert summary["3 hours later"].startswith("19,920 rows: only 2,490 new sent, in 3 requests")
    assert summary["discrepancies / uncertain / failed"] == "0 / 0 / 0"
    assert summary["lifecycle"] == "created -> paid -> on_the_way -> delivered -> accepted"
    assert summary["webhooks verified"].split()[0] != "0"


def test_demo_refuses_to_write_to_a_real_account_unasked() -> None:
    result = run(
        "--base-url",
        "https://example.invalid/api/v1",
        "demo",
        env={"PLEASURESTOCK_API_KEY": DEMO_API_KEY},
    )
    assert result.exit_code == 2 and "--i-understand-this-writes" in result.output
