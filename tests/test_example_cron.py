"""The cron example (``examples/cron_sync``) as cron and systemd run it: the wrapper script runs
the real ``pleasurestock`` command (a subprocess, configured from an environment file) against
a sandbox served on loopback, and turns its exit codes into what an operator needs: silence
when there is nothing to do, one line saying what to do otherwise."""

from __future__ import annotations

import configparser
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import anyio
import pytest

from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox
from pleasurestock_async.uploads.lock import FileLock

from .sandbox_server import serve

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cron_sync"
WRAPPER = EXAMPLE / "sales-sync.sh"
DAY = date(2025, 11, 3)


@dataclass
class Cron:
    sandbox: Sandbox
    folder: Path
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.folder / "sales-state.db"

    @property
    def log(self) -> Path:
        return self.folder / "sales-sync.log"

    def export(self, *rows: tuple[str, int]) -> str:
        path = self.folder / "export-7d.csv"
        lines = ["internal_id,date,quantity,stock_on_hand"]
        lines += [f"{pid},{DAY.isoformat()},{qty},40" for pid, qty in rows]
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    async def run(self, *args: str, **env: str) -> tuple[int, str]:
        """The wrapper's exit code and what it printed (for cron to mail)."""
        done = await anyio.run_process(
            ["sh", str(WRAPPER), *args], env={**self.env, **env}, check=False, cwd=self.folder
        )
        return done.returncode, (done.stdout + done.stderr).decode()

    def env_file(self, name: str, **changes: str) -> str:
        """Another environment file: the fixture's, with ``changes``."""
        values = dict(
            line.split("=", 1)
            for line in Path(self.env["PLEASURESTOCK_ENV"]).read_text().splitlines()
        )
        path = self.folder / name
        path.write_text("".join(f"{k}={v}\n" for k, v in {**values, **changes}.items()))
        return str(path)

    def stored(self, product: str) -> int:
        return self.sandbox.daily_sales(product)[DAY].quantity


@pytest.fixture
def cron(tmp_path: Path) -> Iterator[Cron]:
    if shutil.which("sh") is None:
        pytest.skip("no POSIX shell")
    sandbox = Sandbox(rate_limits=None, products=60)
    with serve(sandbox) as url:
        env_file = tmp_path / "sync.env"  # what /etc/pleasurestock/sync.env holds
        env_file.write_text(
            f"PLEASURESTOCK_API_KEY={DEMO_API_KEY}\nPLEASURESTOCK_BASE_URL={url}\n"
            f"PLEASURESTOCK_STATE={tmp_path / 'sales-state.db'}\n"
        )
        env_file.chmod(0o600)
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(tmp_path),
            "PLEASURESTOCK_ENV": str(env_file),
            "PLEASURESTOCK_WAIT_LOCK": "0",
            "SALES_SYNC_LOG": str(tmp_path / "sales-sync.log"),
        }
        yield Cron(sandbox, tmp_path, env)


@pytest.mark.slow  # eight runs of the command, about a second each
async def test_a_week_of_runs_says_nothing_until_a_person_should_look(cron: Cron) -> None:
    export = cron.export(("ps_vj31ucxsab", 10), ("ps_uypjz2vraa", 15))
    assert await cron.run(export) == (0, "")
    assert (cron.stored("ps_vj31ucxsab"), cron.stored("ps_uypjz2vraa")) == (10, 15)
    assert "the server stored 2" in cron.log.read_text()  # the command's summary: the log

    posts = cron.sandbox.request_counts["POST /sales"]
    assert await cron.run(export) == (0, "")  # the same export again: nothing sent
    assert cron.sandbox.request_counts["POST /sales"] == posts

    lowered = cron.export(("ps_vj31ucxsab", 9), ("ps_uypjz2vraa", 15))  # a return
    code, said = await cron.run(lowered)
    assert code == 4 and "pleasurestock sales status" in said, said
    assert len(said.splitlines()) == 1 and cron.stored("ps_vj31ucxsab") == 10
    assert await cron.run(lowered, "--accept", "all") == (0, "")  # checked, acknowledged
    assert await cron.run(lowered) == (0, "")

    unknown = cron.export(("ps_vj31ucxsab", 9), ("ps_uypjz2vraa", 15), ("ps_nothere0001", 3))
    code, said = await cron.run(unknown)
    assert code == 3 and "refused for the first time" in said, said
    assert await cron.run(unknown) == (0, "")  # held in quarantine from now on

    async with FileLock(cron.state):  # the previous run is still going
        code, said = await cron.run(unknown)
    assert code == 0 and "skipped" in said, said

    other_key = cron.env_file("other.env", PLEASURESTOCK_API_KEY="pk_live_no_key")
    code, said = await cron.run(unknown, PLEASURESTOCK_ENV=other_key)  # the state says no
    assert code == 7 and "another account" in said, said
    fresh = cron.env_file(
        "fresh.env",
        PLEASURESTOCK_API_KEY="pk_live_no_key",
        PLEASURESTOCK_STATE=str(cron.folder / "fresh.db"),
    )
    code, said = await cron.run(unknown, PLEASURESTOCK_ENV=fresh)  # the server says no
    assert code == 5 and "API key was refused" in said and "pk_live" not in said, said
    assert "pk_live" not in cron.log.read_text()


async def test_the_wrapper_without_an_export_says_how_to_call_it(cron: Cron) -> None:
    code, said = await cron.run()
    assert code == 2 and said.startswith("usage:"), said


def test_cron_and_systemd_run_the_wrapper_every_three_hours() -> None:
    *settings, job = [
        line
        for line in (EXAMPLE / "crontab").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert any(s.startswith("SALES_SYNC_LOG=") for s in settings)
    minute, hour, *_, user, command = job.split(maxsplit=6)
    assert (minute, hour, user) == ("0", "*/3", "pleasurestock")
    assert command.startswith("/usr/local/bin/sales-sync.sh ")

    units = {}
    for name in ("pleasurestock-sales-sync.service", "pleasurestock-sales-sync.timer"):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read_string((EXAMPLE / name).read_text())
        units[name] = unit
    service = units["pleasurestock-sales-sync.service"]["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].startswith("/usr/local/bin/sales-sync.sh ")
    assert service["EnvironmentFile"] == "/etc/pleasurestock/sync.env"
    timer = units["pleasurestock-sales-sync.timer"]["Timer"]
    assert timer["OnCalendar"] == "*-*-* 00/3:00:00" and timer["Persistent"] == "true"
    assert timer["Unit"] == "pleasurestock-sales-sync.service"
