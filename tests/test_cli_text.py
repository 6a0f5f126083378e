"""Text that clients and servers wrote (order ids, comments, product names) reaches the
terminal as it is: never read as Rich markup, so ``[/]`` cannot crash a command and
``[bold]`` is not swallowed from JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import cli
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

from .sandbox_server import serve

MARKUP = "[bold]ERP-7[/bold] [/] [red]"
ENV = {"PLEASURESTOCK_API_KEY": DEMO_API_KEY}


@pytest.fixture
def served() -> Iterator[tuple[str, str]]:
    """A served sandbox holding one order whose texts look like markup: (base URL, number)."""
    sandbox = Sandbox(products=20)
    widget = sandbox.state.catalogue.find("ps_1234567890")
    object.__setattr__(widget, "name", "[/]Premium [italic]Widget")  # a supplier's naming
    with serve(sandbox) as base, httpx.Client(base_url=base, timeout=10) as http:
        created = http.post(
            "/external/orders",
            json={"items": [{"ps_id": "ps_1234567890", "quantity": 1}], "externalOrderId": MARKUP},
            headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        )
        yield base, created.json()["data"]["orders"][0]["orderNumber"]


def run(base: str, *args: str) -> Result:
    return CliRunner().invoke(cli.cli, ["--base-url", base, *args], env=ENV)


def test_json_output_keeps_client_text_verbatim(served: tuple[str, str]) -> None:
    base, number = served
    listed = run(base, "--json", "orders", "list")
    assert listed.exit_code == 0, listed.output
    assert [o["external_order_id"] for o in json.loads(listed.stdout)] == [MARKUP]
    shown = run(base, "--json", "orders", "show", number)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["items"][0]["name"] == "[/]Premium [italic]Widget"


def test_tables_show_server_text_as_text(served: tuple[str, str]) -> None:
    base, number = served
    shown = run(base, "orders", "show", number)
    assert shown.exit_code == 0, shown.output
    assert "[/]Premium [italic]Widget" in shown.stdout
    assert shown.stdout.startswith(f"{number}  created")
