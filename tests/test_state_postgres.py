"""The sync state in PostgreSQL (issue 23): bad input refused before anything is sent, the
password never shown, the schema created, migrated and refused when newer, a killed run's lock
gone with its connection, kills at random moments ending exact, and a container whose disk is
new on every run sending nothing for an unchanged export."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from click.testing import CliRunner

from pleasurestock_async import cli
from pleasurestock_async.cli import EXIT_INVALID, EXIT_LOCKED
from pleasurestock_async.errors import (
    InputError,
    StateDestinationError,
    StateFileError,
    StateLockedError,
)
from pleasurestock_async.sandbox import DEMO_API_KEY, Faults, Sandbox
from pleasurestock_async.uploads import SyncOptions, _pg_schema
from pleasurestock_async.uploads.store import open_state, read_status

from . import postgres_server as pg
from .postgres_server import PASSWORD, PostgresServer, unique_name
from .sandbox_server import ServedURL, free_port, serve
from .test_sync_cli import assert_exact, cli_process, finish_sync

postgres_server = pg.postgres_server

TODAY = date(2025, 11, 10)
DAY = TODAY - timedelta(days=1)


def rows(sandbox: Sandbox, n: int) -> list[dict[str, Any]]:
    return [
        {"internal_id": p.internal_id, "date": DAY.isoformat(), "quantity": k % 4 + 1}
        for k, p in enumerate(sandbox.products[:n])
    ]


async def sql(server: PostgresServer, statement: str) -> Any:
    """Run a statement as the superuser (asyncpg on an asyncio loop of its own thread, so
    the test's loop may be trio)."""
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(server.url())
        try:
            if statement.startswith("SELECT"):
                return [tuple(r) for r in await conn.fetch(statement)]
            return await conn.execute(statement)
        finally:
            await conn.close()

    return await anyio.to_thread.run_sync(asyncio.run, run())


# -- bad input: a clear error, nothing sent, nothing lost ---------------------------------------


async def test_an_unreachable_database_is_refused_before_anything_is_sent(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.url(state="s").replace(f":{postgres_server.port}/", f":{free_port()}/")
    sandbox = Sandbox(rate_limits=None, products=5)
    async with sandbox.client() as ps:
        with pytest.raises(StateFileError, match="cannot be reached") as info:
            await ps.sales.sync(rows(sandbox, 5), state=url, today=TODAY)
    assert PASSWORD not in str(info.value) and "[redacted]" in str(info.value)
    assert sandbox.request_counts["POST /sales"] == 0


async def test_a_wrong_password_is_refused_and_never_shown(
    postgres_server: PostgresServer,
) -> None:
    wrong = "not-the-pw-93b1"
    url = postgres_server.url(password=wrong, state=unique_name())
    sandbox = Sandbox(rate_limits=None, products=5)
    async with sandbox.client() as ps:
        with pytest.raises(StateFileError, match="refused the login") as info:
            await ps.sales.sync(rows(sandbox, 5), state=url, today=TODAY)
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert wrong not in info.value.path
    assert sandbox.request_counts["POST /sales"] == 0


async def test_a_schema_of_a_newer_version_is_refused_and_left_as_it_was(
    postgres_server: PostgresServer,
) -> None:
    schema = unique_name("newer")
    url = postgres_server.url(schema=schema, state="s")
    sandbox = Sandbox(rate_limits=None, products=5)
    async with sandbox.client() as ps:
        await ps.sales.sync(rows(sandbox, 3), state=url, today=TODAY)
        await sql(postgres_server, f"UPDATE {schema}.meta SET value = '99' WHERE key = 'version'")
        before = await sql(postgres_server, f"SELECT * FROM {schema}.days ORDER BY product")
        for dry_run in (False, True):
            with pytest.raises(StateFileError, match="newer pleasurestock-async"):
                await ps.sales.sync(rows(sandbox, 5), state=url, today=TODAY, dry_run=dry_run)
        with pytest.raises(StateFileError, match="schema 99"):
            await read_status(url)
    assert await sql(postgres_server, f"SELECT * FROM {schema}.days ORDER BY product") == before
    version = await sql(postgres_server, f"SELECT value FROM {schema}.meta WHERE key = 'version'")
    assert version[0][0] == "99"
    assert sandbox.request_counts["POST /sales"] == 1


async def test_a_state_name_used_for_another_key_is_refused(
    postgres_server: PostgresServer,
) -> None:
    other = "pk_sandbox_second_tenant_key"
    sandbox = Sandbox(rate_limits=None, products=5, api_keys=(DEMO_API_KEY, other))
    url = postgres_server.url(state=unique_name())
    async with sandbox.client() as ps:
        await ps.sales.sync(rows(sandbox, 3), state=url, today=TODAY)
    async with sandbox.client(api_key=other) as ps:
        with pytest.raises(StateDestinationError, match="rebind") as info:
            await ps.sales.sync(rows(sandbox, 5), state=url, today=TODAY)
    assert info.value.bound.key_hash != info.value.current.key_hash
    assert PASSWORD not in str(info.value)
    assert sandbox.request_counts["POST /sales"] == 1


async def test_a_schema_of_other_tables_and_bad_urls_are_refused(
    postgres_server: PostgresServer,
) -> None:
    schema = unique_name("foreign")
    await sql(postgres_server, f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (a int)")
    with pytest.raises(StateFileError, match="holds other tables"):
        async with open_state(postgres_server.url(schema=schema)):
            pass
    for bad, problem in (
        (postgres_server.url(state=""), "state= must name the state"),
        (postgres_server.url(schema="Bad-Name"), "schema= must be"),
        (postgres_server.url(state="a") + "&state=b", "names state= twice"),
    ):
        with pytest.raises(InputError, match=problem) as info:
            SyncOptions(state=bad)
        assert PASSWORD not in str(info.value)


def test_the_password_is_in_no_repr() -> None:
    options = SyncOptions(state=f"postgresql://sync:{PASSWORD}@db.invalid/sales?state=shop-1")
    assert PASSWORD not in repr(options) and PASSWORD not in str(options.state)
    assert "postgresql://sync:[redacted]@db.invalid/sales?state=shop-1" in repr(options)
    query = SyncOptions(state=f"postgres://db.invalid/sales?password={PASSWORD}&state=x")
    assert PASSWORD not in repr(query)


def test_the_command_line_never_shows_the_password(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that names the state, in text and JSON, succeeding and failing."""
    url = postgres_server.url(state=unique_name())
    export = tmp_path / "e.csv"
    export.write_text("internal_id,date,quantity\nps_vj31ucxsab,2025-11-09,3\n")
    copy = str(tmp_path / "copy.db")
    seen: list[str] = []

    def run(*args: str) -> int:
        result = CliRunner().invoke(cli.cli, ["--sandbox", *args], catch_exceptions=False)
        seen.append(result.stdout + result.stderr)
        return result.exit_code

    today = ("--today", "2025-11-10")
    assert run("sales", "sync", str(export), "--state", url, *today, "-v") == 0
    assert run("sales", "sync", str(export), "--state", url, *today, "--json", "--dry-run") == 0
    assert run("sales", "status", "--state", url, "--json") == 0
    assert run("sales", "status", "--state", url) == 0
    assert run("sales", "state", "copy", url, copy, "--json") == 0
    assert run("sales", "state", "copy", copy, url) == EXIT_INVALID  # it holds a state
    assert run("sales", "state", "resolve", "--state", url, "--all", "stored") == 0
    monkeypatch.setenv("PLEASURESTOCK_STATE", url)
    assert run("sales", "status", "--json") == 0
    missing = postgres_server.url(state=unique_name())
    assert run("sales", "status", "--state", missing, "--json") == EXIT_INVALID
    wrong = url.replace(PASSWORD, PASSWORD + "x")
    assert run("sales", "sync", str(export), "--state", wrong, *today) == EXIT_INVALID

    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        async with open_state(url):
            locked.set()
            await anyio.to_thread.run_sync(release.wait)

    holder = threading.Thread(target=anyio.run, args=(hold,))
    holder.start()
    try:
        assert locked.wait(60)
        assert run("sales", "sync", str(export), "--state", url, *today) == EXIT_LOCKED
    finally:
        release.set()
        holder.join(60)
    text = "\n".join(seen)
    assert PASSWORD not in text, text
    assert "postgresql://postgres:[redacted]@127.0.0.1" in text


# -- the schema: created, migrated, shared ------------------------------------------------------


@pytest.mark.concurrency
async def test_many_states_start_at_once_on_a_new_schema(postgres_server: PostgresServer) -> None:
    schema = unique_name("fresh")
    sandbox = Sandbox(rate_limits=None, products=20)
    done: list[int] = []
    async with sandbox.client() as ps:

        async def one(n: int) -> None:
            export = rows(sandbox, 20)[n * 4 : (n + 1) * 4]
            url = postgres_server.url(schema=schema, state=f"job-{n}")
            done.append((await ps.sales.sync(export, state=url, today=TODAY)).stored)

        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(one, n)
    assert done == [4] * 5
    names = await sql(postgres_server, f"SELECT name FROM {schema}.states ORDER BY name")
    assert [r[0] for r in names] == [f"job-{n}" for n in range(5)]


async def test_an_older_schema_is_migrated_in_place_by_the_next_run(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade path: a later SDK appends a migration; the first run applies it once, in
    a transaction, keeping every row; a look (status) at an older schema asks for that run."""
    schema = unique_name("old")
    url = postgres_server.url(schema=schema, state="s")
    sandbox = Sandbox(rate_limits=None, products=5)
    async with sandbox.client() as ps:
        await ps.sales.sync(rows(sandbox, 3), state=url, today=TODAY)
        added = "ALTER TABLE {s}.states ADD COLUMN note text"
        monkeypatch.setattr(_pg_schema, "MIGRATIONS", [*_pg_schema.MIGRATIONS, added])
        monkeypatch.setattr(_pg_schema, "VERSION", 2)
        with pytest.raises(StateFileError, match="older version"):
            await read_status(url)
        again = await ps.sales.sync(rows(sandbox, 3), state=url, today=TODAY)
    assert again.sent == 0 and again.unchanged == 3  # every row kept
    meta = await sql(postgres_server, f"SELECT value FROM {schema}.meta WHERE key = 'version'")
    assert meta[0][0] == "2"
    assert await sql(postgres_server, f"SELECT note FROM {schema}.states") == [(None,)]


# -- kills, and the ephemeral disk ---------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, ServedURL]]:
    sandbox = Sandbox(rate_limits=None, products=1200, faults=Faults(latency=0.25))
    with serve(sandbox) as url:
        yield sandbox, url


async def pending_and_stored(url: str) -> tuple[list[tuple[Any, ...]], dict[tuple[str, str], int]]:
    async with open_state(url, read_only=True, peek=True, must_exist=True) as store:
        pending = [r async for page in store.export_rows("pending") for r in page]
        days = [r async for page in store.export_rows("days") for r in page]
    return [r for r in pending if r[4] != "planned"], {(r[0], r[1]): r[2] for r in days}


@pytest.mark.slow
def test_a_sync_killed_at_random_moments_ends_exact_in_postgresql(
    served: tuple[Sandbox, ServedURL], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    sandbox, url = served
    rng = random.Random(23)
    products = [p.internal_id for p in sandbox.products[:1000]]
    lines = [
        f"{p},2025-11-0{d},{(n * d) % 5 + 1},{n % 30}"
        for d in (1, 2, 3, 4)
        for n, p in enumerate(products)
    ]
    path = tmp_path / "s.csv"
    path.write_text("internal_id,date,quantity,stock_on_hand\n" + "\n".join(lines) + "\n")
    state = postgres_server.url(state=unique_name())
    base: tuple[str, ...] = ("sales", "sync", str(path), "--state", state, "--concurrency", "1")
    base += ("--today", "2025-11-09", "--json", "--wait-lock", "30")

    def decide() -> tuple[str, ...]:
        """How the batch in flight at the kill ended, from the server's real state."""
        url.wait_idle()  # what the server received is processed (and stored) by now
        try:
            pending, stored = anyio.run(pending_and_stored, state)
        except StateFileError:  # killed before the state existed
            return ()
        if not pending:
            return ()
        product, day, quantity, *_ = pending[0]  # one batch in flight at a time
        before = stored.get((product, day), 0)
        held = sandbox.daily_sales(product).get(date.fromisoformat(day))
        done = held is not None and held.quantity == before + quantity
        return ("--assume-unknown", "stored" if done else "not-stored")

    extra: tuple[str, ...] = ()
    for _ in range(8):
        proc = cli_process(url, *base, *extra)
        time.sleep(rng.uniform(0.8, 2.5))
        proc.kill()  # its connection closes with it: so does its lock, at once
        proc.communicate(timeout=30)
        extra = decide()
    finish_sync(sandbox, url, base, extra)
    assert_exact(sandbox, lines)


@pytest.mark.slow
def test_a_killed_runs_lock_goes_with_its_connection(
    served: tuple[Sandbox, ServedURL], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    sandbox, url = served
    path = tmp_path / "e.csv"
    path.write_text(
        "internal_id,date,quantity\n"
        + "".join(f"{p.internal_id},2025-11-0{d},2\n" for p in sandbox.products for d in (1, 2))
    )
    state = postgres_server.url(state=unique_name())
    args = ("sales", "sync", str(path), "--state", state, "--concurrency", "1")
    proc = cli_process(url, *args, "--today", "2025-11-09")
    deadline = time.monotonic() + 60
    while sandbox.request_counts["POST /sales"] == 0:  # the run holds the state and sends
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)

    async def refused() -> None:
        with pytest.raises(StateLockedError, match="database session"):
            async with open_state(state):
                pass

    anyio.run(refused)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    async def taken() -> bool:
        async with open_state(state, wait=10) as store:
            return not store.read_only

    assert anyio.run(taken)  # at once: PostgreSQL ended the session, and its lock


@pytest.mark.slow
def test_a_container_with_a_new_disk_each_run_sends_nothing_for_an_unchanged_export(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """A CronJob's pod: its working directory (and all it wrote there) is gone before the next
    run; the state is in PostgreSQL, named by $PLEASURESTOCK_STATE."""
    sandbox = Sandbox(rate_limits=None, products=300)
    export = "internal_id,date,quantity,stock_on_hand\n" + "".join(
        f"{p.internal_id},2025-11-0{d},{n % 4 + 1},{n % 9}\n"
        for n, p in enumerate(sandbox.products)
        for d in (1, 2, 3)
    )
    env = {"PLEASURESTOCK_STATE": postgres_server.url(state=unique_name())}
    reports = []
    with serve(sandbox) as url:
        for _ in range(2):
            pod = tmp_path / "pod"
            pod.mkdir()
            (pod / "export.csv").write_text(export)
            args = ("sales", "sync", "export.csv", "--today", "2025-11-09", "--json")
            proc = cli_process(url, *args, cwd=pod, env=env)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            reports.append((json.loads(out), sandbox.request_counts["POST /sales"]))
            shutil.rmtree(pod)  # the ephemeral disk
    (first, after_first), (second, after_second) = reports
    assert first["stored"] == 900 and after_first == 1
    assert second["sent"] == 0 and second["unchanged"] == 900
    assert after_second == after_first  # 0 requests on the unchanged export
    assert PASSWORD not in json.dumps(reports)


def test_the_resume_advice_hides_every_urls_password() -> None:
    """The same leak for --redis-url: the advice echoes the command line."""
    from pleasurestock_async.cli._common import Settings

    argv = ["sales", "sync", "e.csv", "--redis-url", "redis://:r3dis-pw@cache:6379/0"]
    argv += ["--state", f"postgresql://sync:{PASSWORD}@db/sales?state=a", "--resolve", "r1b0=x"]
    shown = Settings(argv=argv).command(drop=("--resolve",))
    assert "r3dis-pw" not in shown and PASSWORD not in shown
    assert "redis://:[redacted]@cache:6379/0" in shown and "r1b0" not in shown
