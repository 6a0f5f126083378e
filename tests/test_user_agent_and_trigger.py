"""The SDK names itself in ``User-Agent``, and ``webhook trigger`` makes its event on the server
it is pointed at (issue 21, point 7)."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from click.testing import CliRunner

from pleasurestock_async import AsyncPleasureStock, __version__, cli, webhooks
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

from .conftest import BASE, KEY, fixture
from .sandbox_server import serve
from .test_sandbox_cli import SECRET, Receiver

USER_AGENT = f"pleasurestock-async/{__version__} python/{platform.python_version()} httpx/"


async def test_the_user_agent_names_the_sdk_python_and_httpx(mock: respx.MockRouter) -> None:
    route = mock.get("/currency/convert-to-try").respond(json=fixture("currency_convert"))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        await ps.currency.convert_to_try(1, "EUR")
        await ps.copy(max_retries=0).currency.convert_to_try(1, "EUR")
        await ps.currency.convert_to_try(1, "EUR", options={"extra_headers": {"User-Agent": "x"}})
    agents = [call.request.headers.get_list("user-agent") for call in route.calls]
    expected = USER_AGENT + httpx.__version__
    assert agents == [[expected], [expected], ["x"]]
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, default_headers={"user-agent": "my-erp/2"}
    ) as ps:
        await ps.currency.convert_to_try(1, "EUR")
    assert route.calls.last.request.headers.get_list("user-agent") == ["my-erp/2"]


async def test_a_header_named_in_another_case_replaces_it(mock: respx.MockRouter) -> None:
    """Header names are case-insensitive: a call's header replaces a default one of the same
    name in any case, and the SDK's own (content type, encodings) replace a user's; no header
    is ever sent twice."""
    route = mock.post("/sales").respond(json={"success": True, "processed": 1})
    record = {"internal_id": "ps_1234567890", "date": "2025-11-04", "quantity": 1}
    async with AsyncPleasureStock(
        KEY,
        base_url=BASE,
        rate_limits=None,
        default_headers={"X-Trace": "default", "content-type": "text/plain"},
    ) as ps:
        await ps.sales.submit(
            [record],
            options={"extra_headers": {"x-trace": "call", "user-agent": "call-agent"}},
        )
    headers = route.calls.last.request.headers
    assert headers.get_list("x-trace") == ["call"]
    assert headers.get_list("content-type") == ["application/json"]
    assert headers.get_list("user-agent") == ["call-agent"]
    assert len(headers.get_list("accept-encoding")) == 1


async def test_the_sandbox_sees_the_sdk_user_agent() -> None:
    seen: list[str] = []
    sandbox = Sandbox(rate_limits=None, products=3)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(dict(scope["headers"]).get(b"user-agent", b"").decode())
        await sandbox.app(scope, receive, send)

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncPleasureStock(DEMO_API_KEY, base_url=BASE, http_client=http) as ps:
        await ps.products.list(limit=1)
    await http.aclose()
    assert seen == [USER_AGENT + httpx.__version__]


# -- point 7: webhook trigger makes its event where it is pointed ---------------------------


@pytest.fixture
def target() -> Iterator[tuple[Sandbox, str, Receiver, str]]:
    hooks = Receiver(SECRET)
    sandbox = Sandbox(rate_limits=None, products=20, example_orders=True)
    with serve(hooks.app(), path="/hooks") as hook_url, serve(sandbox) as base:
        yield sandbox, base, hooks, hook_url


def _trigger(*args: str, env: dict[str, str]) -> Any:
    env = {"PLEASURESTOCK_API_KEY": DEMO_API_KEY, "HOOK_SECRET": SECRET, **env}
    return CliRunner().invoke(cli.cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("event", "status"),
    [("order.created", "created"), ("order.status_changed", "paid"), ("order.cancelled", None)],
)
def test_trigger_makes_its_event_on_the_server_of_the_base_url(
    target: tuple[Sandbox, str, Receiver, str], event: str, status: str | None
) -> None:
    sandbox, base, hooks, hook_url = target
    before = len(sandbox.orders)
    result = _trigger(
        "webhook", "trigger", event, "--forward-to", hook_url, "--secret-env", "HOOK_SECRET",
        env={"PLEASURESTOCK_BASE_URL": base},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"made on {base}" in result.output and "delivered after 1 attempt" in result.output
    (received,) = hooks.events
    assert received.event == event
    assert isinstance(
        received,
        webhooks.OrderCreatedEvent
        | webhooks.OrderStatusChangedEvent
        | webhooks.OrderCancelledEvent,
    )
    made = sandbox.state.find_order(received.data.order_number)
    assert made is not None and len(sandbox.orders) == before + 1  # made there, not elsewhere
    assert made.status.value == (status or "cancelled")
    if isinstance(received, webhooks.OrderCreatedEvent):
        assert received.data.items[0].ps_id == "ps_1234567890"


def test_trigger_takes_the_base_url_option_after_the_command(
    target: tuple[Sandbox, str, Receiver, str],
) -> None:
    sandbox, base, hooks, hook_url = target
    result = _trigger(
        "webhook", "trigger", "order.created", "--forward-to", hook_url,
        "--secret-env", "HOOK_SECRET", "--base-url", base, env={},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (received,) = hooks.events
    assert isinstance(received, webhooks.OrderCreatedEvent)
    assert sandbox.state.find_order(received.data.order_number) is not None


def test_trigger_against_a_remote_server_needs_the_write_confirmation() -> None:
    result = _trigger(
        "webhook", "trigger", "order.created", "--forward-to", "http://127.0.0.1:9/x",
        "--base-url", "https://api.example.invalid/api/v1", env={},
    )  # fmt: skip
    assert result.exit_code == 2 and "--i-understand-this-writes" in result.output


def test_trigger_without_a_base_url_says_its_order_is_an_in_process_one() -> None:
    hooks = Receiver(SECRET)
    with serve(hooks.app(), path="/hooks") as hook_url:
        result = _trigger(
            "webhook", "trigger", "order.created", "--forward-to", hook_url,
            "--secret-env", "HOOK_SECRET", env={"PLEASURESTOCK_BASE_URL": ""},
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "an in-process sandbox's order" in result.output and len(hooks.events) == 1
