"""A sync state is bound to where it was sent: base URL and a hash of the API key. Another
destination is refused before anything is sent; moving a state is one explicit step (issue 19,
point 2)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import AsyncPleasureStock, cli
from pleasurestock_async.cli import _common as cli_common
from pleasurestock_async.errors import StateDestinationError
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

TODAY = date(2025, 11, 10)
OTHER_KEY = "pk_sandbox_second_tenant_key"
REHEARSAL = "http://rehearsal.localhost/api/v1"
PRODUCTION = "http://production.localhost/api/v1"


def export(sandbox: Sandbox, n: int = 400) -> list[dict[str, Any]]:
    return [
        {"internal_id": p.internal_id, "date": "2025-11-03", "quantity": k % 7 + 1}
        for k, p in enumerate(sandbox.products[:n])
    ]


def stored_rows(sandbox: Sandbox) -> int:
    return len(sandbox.stored_sales())


async def test_a_rehearsal_state_refuses_the_production_server(tmp_path: Path) -> None:
    """Filled against a rehearsal server, then used against another one: it reported 400 days
    unchanged and the new server stored 0 rows, ok=True."""
    rehearsal, production = Sandbox(rate_limits=None), Sandbox(rate_limits=None)
    state = tmp_path / "state.db"
    async with rehearsal.client(base_url=REHEARSAL) as ps:
        first = await ps.sales.sync(export(rehearsal), state=state, today=TODAY)
    assert first.stored == 400
    before = state.read_bytes()
    async with production.client(base_url=PRODUCTION) as ps:
        with pytest.raises(StateDestinationError) as info:
            await ps.sales.sync(export(production), state=state, today=TODAY)
    error = info.value
    assert error.bound.base_url == REHEARSAL and error.current.base_url == PRODUCTION
    assert REHEARSAL in str(error) and PRODUCTION in str(error)
    assert error.bound.fingerprint in str(error) and "rebind" in str(error)
    assert production.request_counts["POST /sales"] == 0 and stored_rows(production) == 0
    assert state.read_bytes() == before  # nothing changed, nothing skipped silently


async def test_another_api_key_is_another_destination(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None, api_keys=(DEMO_API_KEY, OTHER_KEY))
    state = tmp_path / "state.db"
    async with sandbox.client() as ps:
        await ps.sales.sync(export(sandbox, 20), state=state, today=TODAY)
    async with sandbox.client(api_key=OTHER_KEY) as ps:
        with pytest.raises(StateDestinationError) as info:
            await ps.sales.sync(export(sandbox, 20), state=state, today=TODAY)
    error = info.value
    assert error.bound.base_url == error.current.base_url
    assert error.bound.fingerprint != error.current.fingerprint
    for key in (DEMO_API_KEY, OTHER_KEY):  # the key is never kept, never shown
        assert key not in str(error) and key.encode() not in state.read_bytes()
    assert sandbox.request_counts["POST /sales"] == 1


async def test_the_base_url_is_compared_normalised(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None)
    state = tmp_path / "state.db"
    async with sandbox.client(base_url="http://Sandbox.LOCALHOST:80/api/v1/") as ps:
        await ps.sales.sync(export(sandbox, 5), state=state, today=TODAY)
    async with sandbox.client(base_url="http://sandbox.localhost/api/v1") as ps:
        again = await ps.sales.sync(export(sandbox, 5), state=state, today=TODAY)
    assert again.sent == 0 and again.ok


async def test_a_state_is_moved_on_purpose_with_rebind(tmp_path: Path) -> None:
    """A new key for the same account: one explicit step, then the state goes on."""
    sandbox = Sandbox(rate_limits=None, api_keys=(DEMO_API_KEY, OTHER_KEY))
    state = tmp_path / "state.db"
    async with sandbox.client() as ps:
        await ps.sales.sync(export(sandbox, 30), state=state, today=TODAY)
    async with sandbox.client(api_key=OTHER_KEY) as ps:
        old, new = await ps.sales.rebind_state(state)
        assert old is not None and old.key_hash != new.key_hash
        again = await ps.sales.sync(export(sandbox, 30), state=state, today=TODAY)
        status = await ps.sales.state_status(state)
    assert again.sent == 0 and again.unchanged == 30
    assert status.destination is not None and status.destination.same_as(new)
    async with sandbox.client() as ps:  # and the old key is now the stranger
        with pytest.raises(StateDestinationError):
            await ps.sales.sync(export(sandbox, 30), state=state, today=TODAY)


async def test_a_state_of_0_2_binds_on_its_first_run(tmp_path: Path) -> None:
    sandbox = Sandbox(rate_limits=None)
    pid = sandbox.products[0].internal_id
    state = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.executescript(
            "PRAGMA journal_mode=WAL;"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('version', '2'), ('runs', '4');"
            "CREATE TABLE days (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER "
            "NOT NULL, stock INTEGER, PRIMARY KEY (day, product)) WITHOUT ROWID;"
            "CREATE TABLE pending (product TEXT NOT NULL, day TEXT NOT NULL, quantity INTEGER "
            "NOT NULL, stock INTEGER, state TEXT NOT NULL, batch TEXT NOT NULL, error TEXT, "
            "updated_at REAL NOT NULL, PRIMARY KEY (product, day)) WITHOUT ROWID;"
        )
        db.execute("INSERT INTO days VALUES (?, '2025-11-03', 6, NULL)", (pid,))
        db.commit()
    async with sandbox.client() as ps:
        assert (await ps.sales.state_status(state)).destination is None
        result = await ps.sales.sync(
            [{"internal_id": pid, "date": "2025-11-03", "quantity": 8}], state=state, today=TODAY
        )
        status = await ps.sales.state_status(state)
    assert result.sent == 1 and sandbox.daily_sales(pid)[date(2025, 11, 3)].quantity == 2
    assert status.destination is not None and status.schema == 3
    assert [r.run for r in status.runs] == [5]  # the run count of 0.2 goes on


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``--sandbox`` reaches whichever of two servers ``current["url"]`` names."""
    found = {REHEARSAL: Sandbox(rate_limits=None), PRODUCTION: Sandbox(rate_limits=None)}
    current: dict[str, Any] = {"url": REHEARSAL, "servers": found}

    @asynccontextmanager
    async def client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
        url = current["url"]
        async with found[url].client(base_url=url, **options) as ps:
            yield ps

    monkeypatch.setattr(cli_common, "sandbox_client", client)
    return current


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, ["--sandbox", *args], catch_exceptions=False)


def test_the_command_line_refuses_another_destination_with_exit_7_then_rebinds(
    servers: dict[str, Any], tmp_path: Path
) -> None:
    rehearsal: Sandbox = servers["servers"][REHEARSAL]
    production: Sandbox = servers["servers"][PRODUCTION]
    path = tmp_path / "export.csv"
    path.write_text(
        "internal_id,date,quantity\n"
        + "".join(
            f"{p.internal_id},2025-11-03,{n % 5 + 1}\n"
            for n, p in enumerate(rehearsal.products[:50])
        )
    )
    state = str(tmp_path / "state.db")
    sync = ("sales", "sync", str(path), "--state", state, "--today", "2025-11-05")
    assert run(*sync).exit_code == 0
    servers["url"] = PRODUCTION
    refused = run(*sync)
    assert refused.exit_code == cli.EXIT_DESTINATION == 7, refused.output
    assert REHEARSAL in refused.stderr and PRODUCTION in refused.stderr
    assert production.request_counts["POST /sales"] == 0
    as_json = run(*sync, "--json")
    assert json.loads(as_json.stderr.splitlines()[-1])["exit_code"] == 7
    assert "7 the state belongs to another destination" in run("sales", "sync", "--help").stdout
    # The same account at a new address: moved on purpose, printed old -> new.
    moved = run("sales", "state", "rebind", "--state", state)
    assert moved.exit_code == 0, moved.output
    assert f"{REHEARSAL} (key " in moved.stdout and f"-> {PRODUCTION} (key " in moved.stdout
    after = run(*sync, "--json")
    assert after.exit_code == 0 and json.loads(after.stdout)["sent"] == 0
    status = json.loads(run("sales", "status", "--state", state, "--json").stdout)
    assert status["destination"]["base_url"] == PRODUCTION
