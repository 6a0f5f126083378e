from __future__ import annotations

import inspect
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async._retry import RetryPolicy

from . import sleep_meter
from .tiers import BACKENDS, add_tier_option, select_tier

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

# Hypothesis: no deadline and no "too slow" health check (both fail a correct test on a busy
# machine), and one example database in the checkout whoever runs the suite.
settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples"),
)
settings.register_profile("ci", parent=settings.get_profile("default"), print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "default")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_tier_option(parser)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select_tier(config, items)


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The async backend of the test (anyio's pytest plugin runs it): every async test runs
    on asyncio and trio; the quick tier keeps trio for tests marked ``concurrency``."""
    return str(request.param)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Count the real sleeps of the test's body; outside the slow marker they stay within the
    budget (a test that sleeps longer fails, saying so)."""
    with sleep_meter.meter.watching() as meter:
        outcome = yield
    sleep_meter.record(item, meter.total)
    problem = sleep_meter.over_budget(item, meter)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    return outcome


_SLEEPS: list[tuple[str, float]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        for name, value in report.user_properties:
            if name == sleep_meter.PROPERTY and isinstance(value, int | float):
                _SLEEPS.append((report.nodeid, float(value)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SLEEPS:
        sleep_meter.summary(_SLEEPS, terminalreporter.write_line)


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
    """Retry waits of 1 ms, so retry tests stay fast (tests marked real_backoff keep them)."""
    if "real_backoff" not in request.keywords:
        monkeypatch.setattr(RetryPolicy, "backoff", lambda self, n: 0.001)


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
