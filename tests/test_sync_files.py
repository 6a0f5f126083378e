"""Sync states and push journals are used only if the SDK made them as that kind of file, whole;
anything else is refused with an SDK error naming the path, nothing sent and the file left as
it was; one run at a time per file, whatever name reaches it (issue 19, point 1)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from pleasurestock_async import AsyncPleasureStock, StateLockedError
from pleasurestock_async.errors import InputError
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

TODAY = date(2025, 11, 10)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(rate_limits=None, products=40)


@pytest.fixture
async def ps(sandbox: Sandbox) -> AsyncIterator[AsyncPleasureStock]:
    async with sandbox.client() as client:
        yield client


def rows(sandbox: Sandbox, products: int = 20, days: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "internal_id": p.internal_id,
            "date": (TODAY - timedelta(days=d + 1)).isoformat(),
            "quantity": n % 5 + 1,
        }
        for d in range(days)
        for n, p in enumerate(sandbox.products[:products])
    ]


def total(sandbox: Sandbox) -> int:
    return sum(s.quantity for s in sandbox.stored_sales().values())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sent(sandbox: Sandbox) -> int:
    return sandbox.request_counts["POST /sales"]


# -- what a file must be ----------------------------------------------------------------------


async def test_an_empty_state_name_is_refused_not_a_throwaway_database(
    sandbox: Sandbox, ps: AsyncPleasureStock
) -> None:
    """``--state ""`` (an unset variable in a cron line) opened a throwaway database: every
    run resent everything and the server's totals doubled."""
    for _ in range(2):
        with pytest.raises(InputError, match="not a file name") as info:
            await ps.sales.sync(rows(sandbox), state="", today=TODAY)
        assert info.value.errors[0].field == "state"
    assert sent(sandbox) == 0 and total(sandbox) == 0


async def test_an_empty_journal_name_is_an_input_error(
    sandbox: Sandbox, ps: AsyncPleasureStock
) -> None:
    with pytest.raises(InputError, match="not a file name") as info:
        await ps.sales.upload(rows(sandbox), journal="")
    assert info.value.errors[0].field == "journal" and sent(sandbox) == 0


@pytest.mark.parametrize("kind", ["directory", "missing directory"])
async def test_a_path_that_cannot_be_a_state_is_an_input_error(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path, kind: str
) -> None:
    path = tmp_path if kind == "directory" else tmp_path / "nowhere" / "state.db"
    expected = "is a directory" if kind == "directory" else "does not exist"
    with pytest.raises(InputError, match=expected) as info:
        await ps.sales.sync(rows(sandbox), state=path, today=TODAY)
    assert str(path) in str(info.value) and sent(sandbox) == 0
    with pytest.raises(InputError, match=expected):
        await ps.sales.upload(rows(sandbox), journal=path)
    assert not (tmp_path / "nowhere").exists()


async def test_a_zero_byte_file_is_refused_not_resent_into(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """A 0-byte file (``touch``, a failed copy) became a brand-new state: a full resend."""
    state = tmp_path / "state.db"
    await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    before = total(sandbox)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(InputError, match="is empty") as info:
        await ps.sales.sync(rows(sandbox), state=empty, today=TODAY)
    assert str(empty) in str(info.value)
    assert empty.read_bytes() == b"" and total(sandbox) == before and sent(sandbox) == 1
    with pytest.raises(InputError, match="is empty"):
        await ps.sales.upload(rows(sandbox), journal=empty)


async def test_a_journal_given_as_the_state_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """A push journal carries a meta version too: it was taken for a state and everything
    was sent again."""
    journal = tmp_path / "sales.journal"
    await ps.sales.upload(rows(sandbox), journal=journal)
    before, requests, fingerprint = total(sandbox), sent(sandbox), digest(journal)
    with pytest.raises(InputError, match="is a journal") as info:
        await ps.sales.sync(rows(sandbox), state=journal, today=TODAY)
    assert str(journal) in str(info.value)
    assert (total(sandbox), sent(sandbox), digest(journal)) == (before, requests, fingerprint)
    state = tmp_path / "state.db"
    await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    with pytest.raises(InputError, match="is a sync state, not a journal"):
        await ps.sales.upload(rows(sandbox), journal=state)


async def test_a_state_missing_a_table_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """A state whose ``days`` table was dropped looked like a fresh one: a full resend."""
    state = tmp_path / "state.db"
    await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute("DROP TABLE days")
        db.commit()
    before, fingerprint = total(sandbox), digest(state)
    with pytest.raises(InputError, match="table 'days' is missing"):
        await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    assert total(sandbox) == before and sent(sandbox) == 1 and digest(state) == fingerprint


async def test_another_programs_database_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    other = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("PRAGMA application_id = 1234")
        db.execute("CREATE TABLE notes (text TEXT)")
        db.commit()
    fingerprint = digest(other)
    with pytest.raises(InputError, match="another program's SQLite database"):
        await ps.sales.sync(rows(sandbox), state=other, today=TODAY)
    unmarked = tmp_path / "unmarked.db"
    with contextlib.closing(sqlite3.connect(unmarked)) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.commit()
    with pytest.raises(InputError, match="not a whole sync state"):
        await ps.sales.sync(rows(sandbox), state=unmarked, today=TODAY)
    assert digest(other) == fingerprint and sent(sandbox) == 0


async def test_a_state_of_a_newer_version_is_refused_and_left_as_it_was(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute("PRAGMA user_version = 99")
        db.commit()
    fingerprint = digest(state)
    more = rows(sandbox, days=2)
    with pytest.raises(InputError, match="newer pleasurestock-async"):
        await ps.sales.sync(more, state=state, today=TODAY)
    assert digest(state) == fingerprint and sent(sandbox) == 1
    assert sorted(os.listdir(tmp_path)) == ["state.db"]  # no log files left


@pytest.mark.parametrize("damage", ["garbled pages", "truncated"])
async def test_a_damaged_state_is_refused_and_left_as_it_was(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path, damage: str
) -> None:
    state = tmp_path / "state.db"
    every = rows(sandbox, products=40, days=60)  # 2,400 days: pages of the days table
    await ps.sales.sync(every, state=state, today=TODAY)
    data = bytearray(state.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    if damage == "truncated":  # a copy cut short
        data = data[: len(data) // 2]
    else:
        data[3 * page : 6 * page] = b"\xff" * (3 * page)
    state.write_bytes(bytes(data))
    before, requests = total(sandbox), sent(sandbox)
    with pytest.raises(InputError, match=r"damaged|cannot be read") as info:
        await ps.sales.sync(every, state=state, today=TODAY)
    assert str(state) in str(info.value)
    assert state.read_bytes() == bytes(data)
    assert (total(sandbox), sent(sandbox)) == (before, requests)


@pytest.mark.slow
def test_a_state_on_a_read_only_disk_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """A read-only bind mount (a mount namespace of its own, as root would have it), in a
    child process that syncs against its in-process sandbox."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare (util-linux) for a read-only mount")
    disk = tmp_path / "disk"
    disk.mkdir()
    export = disk / "export.csv"
    export.write_text("internal_id,date,quantity\nps_vj31ucxsab,2025-11-03,4\n")
    cli = [sys.executable, "-m", "pleasurestock_async", "--sandbox", "sales", "sync"]
    first = subprocess.run(
        [*cli, str(export), "--state", str(disk / "state.db"), "--today", "2025-11-05"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    fingerprint = digest(disk / "state.db")
    script = f'mount --bind "{disk}" "{disk}" && mount -o remount,bind,ro "{disk}" && exec "$@"'
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", script, "sh", "true"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip("no mount namespace here (unprivileged user namespaces are off)")
    for state in ("state.db", "new.db"):
        refused = subprocess.run(
            [
                *(unshare, "-rm", "sh", "-c", script, "sh"),
                *cli,
                str(export),
                "--state",
                str(disk / state),
                "--today",
                "2025-11-05",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "read-only file system" in refused.stderr and str(disk / state) in refused.stderr
    assert digest(disk / "state.db") == fingerprint
    assert sorted(p.name for p in disk.iterdir()) == ["export.csv", "state.db"]


def test_a_new_state_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    """Created under a temporary name and linked into place: never a half-made state at the
    name, and never over a file that appeared meanwhile."""
    from pleasurestock_async.uploads import _sqlite
    from pleasurestock_async.uploads.state import SyncState, create_state

    path = str(tmp_path / "state.db")
    assert create_state(path) is True
    assert create_state(path) is False  # a file is there: left alone
    with contextlib.closing(sqlite3.connect(path)) as db:
        (app,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
    assert (app, version) == (_sqlite.STATE.application_id, _sqlite.STATE.version)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
    SyncState(path).close()


@pytest.mark.parametrize("damage", ["newer", "garbled"])
async def test_a_damaged_or_newer_journal_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path, damage: str
) -> None:
    journal = tmp_path / "sales.journal"
    await ps.sales.upload(rows(sandbox), journal=journal, job="day-1")
    if damage == "newer":
        with contextlib.closing(sqlite3.connect(journal)) as db:
            db.execute("PRAGMA user_version = 9")
            db.commit()
    else:
        data = bytearray(journal.read_bytes())
        data[4096:8192] = b"\xff" * 4096
        journal.write_bytes(bytes(data))
    fingerprint = digest(journal)
    with pytest.raises(InputError, match=r"newer pleasurestock-async|damaged|cannot be read"):
        await ps.sales.upload(rows(sandbox, days=2), journal=journal, job="day-2")
    assert digest(journal) == fingerprint and sent(sandbox) == 1


async def test_a_lock_file_of_0_2_beside_a_state_changes_nothing(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """0.2 locked ``<state>.lock``; a directory there raised a raw error. The lock is on the
    state itself now: whatever is at that name is left alone."""
    state = tmp_path / "state.db"
    (tmp_path / "state.db.lock").mkdir()
    result = await ps.sales.sync(rows(sandbox), state=state, today=TODAY)
    assert result.stored == 20 and (tmp_path / "state.db.lock").is_dir()


# -- one run at a time, whatever the name ------------------------------------------------------


async def second(ps: AsyncPleasureStock, sandbox: Sandbox, kind: str, path: Path) -> None:
    """Another run, on ``path``."""
    if kind == "journal":
        await ps.sales.upload(rows(sandbox, products=3), journal=path)
    else:
        await ps.sales.sync(rows(sandbox, products=3), state=path, today=TODAY)


def _hold(
    ps: AsyncPleasureStock, sandbox: Sandbox, **where: Any
) -> tuple[anyio.Event, anyio.Event, Callable[[], Coroutine[Any, Any, None]]]:
    """A run that holds its file until told: its entered and release events, and the run."""
    entered, release = anyio.Event(), anyio.Event()

    async def slow() -> AsyncIterator[dict[str, Any]]:
        for row in rows(sandbox, products=3):
            yield row
        entered.set()
        await release.wait()

    async def run() -> None:
        if "journal" in where:
            await ps.sales.upload(slow(), **where)
        else:
            await ps.sales.sync(slow(), today=TODAY, **where)

    return entered, release, run


@pytest.mark.parametrize("kind", ["state", "journal"])
async def test_overlapping_runs_through_a_symlink_are_one_run_at_a_time(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path, kind: str
) -> None:
    """The lock was keyed on the path text: two runs through a symlink both sent (19,880 and
    24,880 of 29,880 rows double-counted)."""
    real = tmp_path / f"{kind}.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    entered, release, run = _hold(ps, sandbox, **{kind: real})
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await entered.wait()
        try:
            with pytest.raises(StateLockedError, match="in use by another run"):
                await second(ps, sandbox, kind, link)
        finally:
            release.set()
    assert max(s.quantity for s in sandbox.stored_sales().values()) <= 5  # nothing twice
    assert total(sandbox) == sum(r["quantity"] for r in rows(sandbox, products=3))


@pytest.mark.parametrize("kind", ["state", "journal"])
async def test_a_file_with_a_second_hard_link_is_refused(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path, kind: str
) -> None:
    """Through a hard link two overlapping runs both sent everything (29,880 of 29,880
    double-counted); and SQLite keeps its log next to the name it was given."""
    real = tmp_path / f"{kind}.db"
    other = tmp_path / "other-name.db"
    entered, release, run = _hold(ps, sandbox, **{kind: real})
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await entered.wait()
        os.link(real, other)
        try:
            with pytest.raises(InputError, match="has 2 names") as info:
                await second(ps, sandbox, kind, other)
        finally:
            release.set()
    assert str(other) in str(info.value)
    assert total(sandbox) == sum(r["quantity"] for r in rows(sandbox, products=3))
    with pytest.raises(InputError, match="has 2 names"):  # the first name too, while linked
        await ps.sales.sync(rows(sandbox, products=3), state=real, today=TODAY)
    other.unlink()
    again = rows(sandbox, products=3)
    if kind == "journal":
        assert (await ps.sales.upload(again, journal=real)).already_stored == len(again)
    else:
        assert (await ps.sales.sync(again, state=real, today=TODAY)).sent == 0


# -- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("wait", [float("nan"), float("inf"), -1, "5"])
async def test_lock_wait_must_be_finite_seconds(
    ps: AsyncPleasureStock, tmp_path: Path, wait: Any
) -> None:
    """``lock_wait=nan`` waited forever on a held state; -1 and inf were accepted."""
    with pytest.raises(InputError) as info:
        await ps.sales.sync([], state=tmp_path / "s.db", lock_wait=wait)
    assert info.value.errors[0].field == "lock_wait"
    with pytest.raises(InputError) as info:
        await ps.sales.upload([], journal=tmp_path / "j.db", lock_wait=wait)
    assert info.value.errors[0].field == "lock_wait"
    assert os.listdir(tmp_path) == []


async def test_today_must_be_a_date_not_a_datetime(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """A datetime type-checks as a date: ``today=datetime.now()`` closed the current day, so
    its stock went out while the day was open (what stock="closed" prevents)."""
    from datetime import datetime

    pid = sandbox.products[0].internal_id
    open_day = [{"internal_id": pid, "date": TODAY.isoformat(), "quantity": 2, "stock_on_hand": 9}]
    for today in (datetime(2025, 11, 10, 9, 0), "2025-11-10", 20251110):
        with pytest.raises(InputError) as info:
            await ps.sales.sync(open_day, state=tmp_path / "s.db", today=today)  # type: ignore[arg-type]
        assert info.value.errors[0].field == "today"
    assert sent(sandbox) == 0
    result = await ps.sales.sync(open_day, state=tmp_path / "s.db", today=TODAY)
    assert result.deferred_stock == 1
    assert sandbox.daily_sales(pid)[TODAY].stock_on_hand is None


@pytest.mark.parametrize("zone", [3, b"Europe/Istanbul", 1.5])
async def test_timezone_must_be_a_name_or_a_tzinfo(
    ps: AsyncPleasureStock, tmp_path: Path, zone: Any
) -> None:
    with pytest.raises(InputError) as info:
        await ps.sales.sync([], state=tmp_path / "s.db", timezone=zone)
    assert info.value.errors[0].field == "timezone"


async def test_a_tzinfo_timezone_works(ps: AsyncPleasureStock, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    result = await ps.sales.sync([], state=tmp_path / "s.db", timezone=ZoneInfo("Asia/Tokyo"))
    assert result.read == 0 and result.ok


# -- journals too -----------------------------------------------------------------------------


async def test_a_journal_of_0_2_is_marked_and_kept(
    sandbox: Sandbox, ps: AsyncPleasureStock, tmp_path: Path
) -> None:
    """A journal written by 0.2 (no mark) is recognised by its tables, marked, and its jobs
    kept: what it says was stored is not sent again."""
    journal = tmp_path / "old.journal"
    with contextlib.closing(sqlite3.connect(journal)) as db:
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('version', '2');"
            "CREATE TABLE ranges (job TEXT NOT NULL, seq INTEGER NOT NULL, first_index INTEGER "
            "NOT NULL, marks TEXT NOT NULL, digest TEXT NOT NULL, error TEXT, updated_at REAL "
            "NOT NULL, PRIMARY KEY (job, seq));"
        )
    first = rows(sandbox, products=5)
    from pleasurestock_async.uploads.journal import Journal

    result = await ps.sales.upload(first, journal=journal, job="day-1")
    assert result.stored == 5
    again = await ps.sales.upload(first, journal=journal, job="day-1")
    assert again.already_stored == 5 and sent(sandbox) == 1
    with contextlib.closing(sqlite3.connect(journal)) as db:
        (app,) = db.execute("PRAGMA application_id").fetchone()
    assert app != 0
    book = Journal(journal, read_only=True)
    try:
        assert [job for job, *_ in book.jobs()] == ["day-1"]
    finally:
        book.close()


def test_the_push_command_refuses_an_empty_journal_name(tmp_path: Path) -> None:
    export = tmp_path / "e.csv"
    export.write_text("internal_id,date,quantity\nps_vj31ucxsab,2025-11-03,4\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pleasurestock_async", "--sandbox"),
            "sales",
            "push",
            str(export),
            "--journal",
            "",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PLEASURESTOCK_API_KEY": DEMO_API_KEY},
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "not a file name" in done.stderr and "Traceback" not in done.stderr
