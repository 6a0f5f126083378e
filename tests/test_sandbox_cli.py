"""``pleasurestock webhook trigger`` and ``pleasurestock sandbox``, driven with Click's runner
against real servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import cli, webhooks
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, DEMO_WEBHOOK_SECRET

from .sandbox_server import serve

SECRET = "whsec_cli_test_secret"


class Receiver:
    """A webhook receiver as a user writes one: verify the raw body, answer fast."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.calls = 0
        self.events: list[webhooks.WebhookEvent] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.calls += 1
            if self.calls <= self.fail_first:
                return Response(status_code=503)
            body = await request.body()
            try:
                self.events.append(webhooks.construct_event(body, request.headers, self.secret))
            except webhooks.WebhookVerificationError:
                return Response(status_code=400)
            return Response(status_code=204)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver(SECRET)
    with serve(hooks.app(), path="/hooks") as url:
        yield hooks, url


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("event", ["order.created", "order.status_changed", "order.cancelled"])
def test_trigger_delivers_the_event_signed(receiver: tuple[Receiver, str], event: str) -> None:
    hooks, url = receiver
    result = run(
        "webhook",
        "trigger",
        event,
        "--forward-to",
        url,
        "--secret-env",
        "HOOK_SECRET",
        env={"HOOK_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert "attempt 1: 204" in result.output and "delivered after 1 attempt" in result.output
    assert SECRET not in result.output
    (received,) = hooks.events
    assert received.event == event


def test_trigger_reports_every_failed_attempt() -> None:
    hooks = Receiver(SECRET, fail_first=99)
    with serve(hooks.app(), path="/hooks") as url:
        result = run(
            "webhook", "trigger", "order.created", "--forward-to", url, "--retry-delays", "0,0.01"
        )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("attempt")]
    assert lines == ["attempt 1: 503", "attempt 2: 503", "attempt 3: 503"]
    assert "not delivered after 3 attempt(s)" in result.output


def test_trigger_retries_until_delivered_with_the_demo_secret() -> None:
    hooks = Receiver(DEMO_WEBHOOK_SECRET, fail_first=1)
    with serve(hooks.app(), path="/hooks") as url:
        result = run(
            "webhook", "trigger", "order.cancelled", "--forward-to", url, "--retry-delays", "0"
        )
    assert result.exit_code == 0, result.output
    assert "attempt 1: 503" in result.output and "attempt 2: 204" in result.output
    assert [e.event for e in hooks.events] == ["order.cancelled"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (
            ["order.created", "--forward-to", "http://127.0.0.1:9/x", "--secret-env", "UNSET_X"],
            "not set",
        ),
        (["order.created", "--forward-to", "ftp://127.0.0.1/x"], "http"),
        (["order.refunded", "--forward-to", "http://127.0.0.1:9/x"], "order.refunded"),
        (
            ["order.created", "--forward-to", "http://127.0.0.1:9/x", "--retry-delays", "a"],
            "seconds",
        ),
    ],
)
def test_trigger_refuses_bad_usage(args: list[str], complaint: str) -> None:
    result = run("webhook", "trigger", *args, env={"UNSET_X": ""})
    assert result.exit_code == 2 and complaint in result.output


def test_trigger_to_nobody_fails_fast() -> None:
    result = run(
        "webhook", "trigger", "order.created", "--forward-to", "http://127.0.0.1:9/x",
        "--retry-delays", "", "--timeout", "2",
    )  # fmt: skip
    assert result.exit_code == 1 and "attempt 1: ConnectError" in result.output


def test_sandbox_command_serves_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    key = "pk_from_env_0123456789"
    seen: dict[str, Any] = {}

    def serve_briefly(app: Any, **options: Any) -> None:
        seen.update(options)
        with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            seen["manager"] = http.get("/products?limit=1", headers={"X-API-Key": key})
            seen["demo"] = http.get("/products?limit=1", headers={"X-API-Key": DEMO_API_KEY})
            seen["viewer"] = http.post(
                "/sales",
                json={
                    "sales": [{"internal_id": "ps_1234567890", "date": "2025-11-03", "quantity": 1}]
                },
                headers={"X-API-Key": DEMO_VIEWER_KEY},
            )
            seen["order"] = http.get(
                "/external/orders/ORD-20251103-78XZ70", headers={"Authorization": f"Bearer {key}"}
            )
            seen["contract"] = http.get("/openapi.json")

    monkeypatch.setattr(uvicorn, "run", serve_briefly)
    result = run(
        "sandbox", "--port", "8799", "--products", "40", env={"PLEASURESTOCK_API_KEY": key}
    )
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8799 and seen["host"] == "127.0.0.1"
    assert seen["manager"].status_code == 200 and seen["demo"].status_code == 401
    assert seen["viewer"].status_code == 403
    assert seen["order"].json()["data"]["deliveryId"] == "PS-2025-1103/2"
    assert json.loads(seen["contract"].content)["openapi"].startswith("3.1")
    assert key not in result.output and "from $PLEASURESTOCK_API_KEY" in result.output
    assert DEMO_VIEWER_KEY in result.output and DEMO_WEBHOOK_SECRET in result.output


def test_sandbox_command_takes_no_key_on_the_command_line() -> None:
    result = run("sandbox", "--api-key", "pk_secret")
    assert result.exit_code == 2 and "No such option" in result.output
