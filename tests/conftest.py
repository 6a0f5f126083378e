from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import respx

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async._retry import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
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


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def ps(mock: respx.MockRouter) -> AsyncIterator[AsyncPleasureStock]:
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None, max_retries=0) as client:
        yield client
