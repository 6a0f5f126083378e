"""The command line's ``--sandbox`` pointed at a sandbox of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.cli import _common as cli_common
from pleasurestock_async.sandbox import Sandbox


def route_cli_to(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, **fixed: Any) -> None:
    """Make ``--sandbox`` commands talk to ``sandbox`` for the test (its client, built with
    the command's options and ``fixed``)."""

    @asynccontextmanager
    async def client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
        async with sandbox.client(**fixed, **options) as ps:
            yield ps

    monkeypatch.setattr(cli_common, "sandbox_client", client)
