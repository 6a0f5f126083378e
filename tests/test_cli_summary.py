"""The push and sync summaries: one object per run, which ``--json`` prints whole and the text
output renders, so both always say the same."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pleasurestock_async import cli
from pleasurestock_async.cli._push import DEPRECATED_SUMMARY_KEYS, SUMMARY_KEYS, PushSummary
from pleasurestock_async.cli._sync import SYNC_SUMMARY_SCHEMA, SyncSummary
from pleasurestock_async.sandbox import Sandbox

from .cli_sandbox import route_cli_to


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    shared = Sandbox(rate_limits=None, products=5)

    route_cli_to(monkeypatch, shared)
    return shared


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


def write(path: Path, rows: list[str]) -> str:
    path.write_text("\n".join(["internal_id,date,quantity,stock_on_hand", *rows]) + "\n")
    return str(path)


def without_json_flag(value: Any) -> Any:
    """The summary of the same run without ``--json`` (the commands it suggests differ)."""
    if isinstance(value, str):
        return value.replace(" --json", "")
    if isinstance(value, list):
        return [without_json_flag(v) for v in value]
    if isinstance(value, dict):
        return {k: without_json_flag(v) for k, v in value.items()}
    return value


def test_push_json_keys_keep_their_names_and_order(sandbox: Sandbox, tmp_path: Path) -> None:
    a, b = (p.internal_id for p in sandbox.products[:2])
    path = write(tmp_path / "p.csv", [f"{a},2025-11-01,5,10", f"{b},2025-11-0x,1,1"])
    shown = run("--sandbox", "--json", "sales", "push", path, "--on-invalid", "skip")
    summary = json.loads(shown.stdout)
    assert list(summary) == [*SUMMARY_KEYS, *DEPRECATED_SUMMARY_KEYS]
    assert SUMMARY_KEYS[:4] == ("schema_version", "file", "read", "sent_now")
    assert summary["schema_version"] == 2 and summary["accepted"] == summary["sent_now"] == 1
    # the text is rendered from the same object
    text = run("--sandbox", "sales", "push", path, "--on-invalid", "skip")
    fields = {k: v for k, v in summary.items() if k not in DEPRECATED_SUMMARY_KEYS}
    assert text.stdout.splitlines() == list(PushSummary(**without_json_flag(fields)).lines())


def test_sync_text_is_the_json_summary_rendered(sandbox: Sandbox, tmp_path: Path) -> None:
    a, b = (p.internal_id for p in sandbox.products[:2])
    state = str(tmp_path / "state.db")
    first = write(tmp_path / "d1.csv", [f"{a},2025-11-01,5,10"])
    assert run("--sandbox", "sales", "sync", first, "--state", state).exit_code == 0
    lower = write(
        tmp_path / "d2.csv",
        [f"{a},2025-11-01,3,10", f"{b},2025-11-02,4,1", "ps_unknown000,2025-11-02,1,1"],
    )
    common = ("sales", "sync", lower, "--state", state, "--today", "2025-11-05", "--dry-run")
    shown = run("--sandbox", "--json", *common)
    summary = json.loads(shown.stdout)
    assert next(iter(summary)) == "schema_version"
    assert summary["schema_version"] == SYNC_SUMMARY_SCHEMA
    assert summary["plan"] and summary["discrepancies"] and summary["accept"]
    text = run("--sandbox", *common)
    assert text.exit_code == shown.exit_code
    assert text.stdout.splitlines() == list(SyncSummary(**without_json_flag(summary)).lines())


def test_the_readme_lists_every_key_of_the_sync_summary() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### `sales sync --json`") :]
    listed = re.findall(r"^\| `(\w+)` \|", section[: section.index("\n\n#")], re.MULTILINE)
    assert listed == [f.name for f in dataclasses.fields(SyncSummary)]
