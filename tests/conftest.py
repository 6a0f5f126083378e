from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async._retry import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"

BACKENDS = ("asyncio", "trio")
"""Every async test runs on both backends anyio supports, as the SDK's core is anyio."""


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The async backend of the test (anyio's pytest plugin runs it)."""
    return str(request.param)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark every coroutine test for anyio before it is collected, so a plain
    ``async def test_...`` runs on both backends."""
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", obj)
    if name.startswith("test") and inspect.iscoroutinefunction(inner):
        pytest.mark.anyio(obj)


BASE = "https://api.test/api/v1"
KEY = "pk_test_unit_key_0123456789"


def fixture(name: str) -> Any:
    """A response example of the API reference, as JSON."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def fast_backoff(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry waits of 10 ms, so retry tests stay fast (tests marked real_backoff keep them)."""
    if "real_backoff" not in request.keywords:
        monkeypatch.setattr(RetryPolicy, "backoff", lambda self, n: 0.01)


@pytest.fixture(autouse=True)
def sandbox_answers_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every answer a sandbox gives in any test is checked against the OpenAPI document."""
    from pleasurestock_async.sandbox import Sandbox

    from .sandbox_server import CONTRACT

    unwrapped = Sandbox.app.fget  # type: ignore[attr-defined]
    monkeypatch.setattr(Sandbox, "app", property(lambda self: CONTRACT.wrap(unwrapped(self))))
    before = len(CONTRACT.violations)
    yield
    found = CONTRACT.violations[before:]
    del CONTRACT.violations[before:]
    assert not found, "the sandbox broke its contract:\n" + "\n".join(found[:10])


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def ps(mock: respx.MockRouter) -> AsyncIterator[AsyncPleasureStock]:
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, max_retries=0) as client:
        yield client
