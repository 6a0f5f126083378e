"""Issue 20, item 6 and the defects item 1 named: failed batches' ranges with merged
duplicates, the versioned ``--json`` summary of ``sales push``, and each public entry point the
fuzz found raising something other than an SDK error or a usage error (now each a named
regression; ``tests/test_fuzz_public.py`` keeps looking for more)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import respx
from click.testing import CliRunner, Result

from pleasurestock_async import AsyncPleasureStock, cli, sales_files, webhooks
from pleasurestock_async.cli import EXIT_PARTIAL
from pleasurestock_async.errors import ConfigurationError, InputError, shorten
from pleasurestock_async.sandbox import Faults, Sandbox

from .cli_sandbox import route_cli_to

ROOT = Path(__file__).parent.parent

SUMMARY_KEYS = [
    "schema_version",
    "file",
    "read",
    "sent_now",
    "processed",
    "requests",
    "stored_before",
    "skipped_batches",
    "invalid",
    "server_rejected",
    "failed_batches",
    "unresolved_batches",
    "not_sent",
    "stored_lines",
    "stopped",
    "resume",
]
"""The keys ``sales push --json`` promises (schema 2), in order."""

DEPRECATED_SUMMARY_KEYS = {"accepted": "sent_now", "batches": "requests"}
"""Schema 1's names, written beside their new ones until 0.4."""
ORDER = {
    "event": "order.status_changed",
    "timestamp": "2025-01-14T11:00:00Z",
    "data": {"orderId": "550e8400-e29b-41d4-a716-446655440000", "orderNumber": "ORD-1"},
}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=True)


def assert_clean(result: Result, code: int) -> None:
    """Exited with ``code`` through the CLI's own handling (no traceback, no raw exception)."""
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(
        result.exception
    )
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


# -- item 6: failed batches and their lines --------------------------------------------------------


async def test_6_a_failed_batch_with_merged_duplicates_covers_its_last_record(
    ps: AsyncPleasureStock, mock: respx.MockRouter
) -> None:
    mock.post("/sales").respond(500, json={"error": "down"})
    a = {"internal_id": "ps_abcdefghij", "date": "2025-11-03"}
    records = [
        {**a, "quantity": 1},
        {"internal_id": "ps_0123456789", "date": "2025-11-03", "quantity": 1},
        {**a, "quantity": 2},  # merged into the first row
    ]
    result = await ps.sales.upload(records, merge_duplicates=True)
    (failed,) = result.failed_batches
    assert (failed.first_index, failed.last_index, failed.size) == (0, 2, 3)


# -- item 6: the --json summary of sales push is versioned -------------------------------------


@pytest.fixture
def failing_sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sandbox = Sandbox(rate_limits=None, products=20, faults=Faults(error_after_store_rate=1.0))

    route_cli_to(monkeypatch, sandbox)
    return sandbox


def test_6_the_push_summary_has_a_schema_version_and_keeps_the_old_names(
    failing_sandbox: Sandbox, tmp_path: Path
) -> None:
    ids = [p.internal_id for p in failing_sandbox.products[:5]]
    path = tmp_path / "s.csv"
    path.write_text("internal_id,date,quantity\n" + "".join(f"{i},2025-11-03,2\n" for i in ids))
    result = run("--sandbox", "--json", "sales", "push", str(path), "--chunk-size", "3")
    assert result.exit_code == EXIT_PARTIAL, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["schema_version"] == 2
    assert list(summary) == [*SUMMARY_KEYS, *DEPRECATED_SUMMARY_KEYS]
    for old, new in DEPRECATED_SUMMARY_KEYS.items():  # 0.1's names, until 0.4
        assert summary[old] == summary[new]
    first, second = summary["failed_batches"]
    assert (first["file"], first["first_line"], first["last_line"]) == (str(path), 2, 4)
    assert first["lines"] == f"{path}:2-4" and second["lines"] == f"{path}:5-6"


def test_6_the_readme_lists_every_key_of_the_push_summary() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("`sales push --json`") :]
    listed = set(re.findall(r"^\| `(\w+)` \|", section[: section.index("\n\n#")], re.MULTILINE))
    assert listed == {*SUMMARY_KEYS, *DEPRECATED_SUMMARY_KEYS}


# -- item 1: what the fuzz found, one regression each --------------------------------------------


def test_1_formatting_an_error_never_raises_itself() -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert shorten(10**5000) == "<an int of about 5,001 digits>"
    assert shorten(Unprintable()) == "<a Unprintable that cannot be shown>"
    with pytest.raises(InputError, match="an int of about 5,001 digits"):
        raise InputError.single("quantity", "too large", 10**5000)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 10**5000},
        {"attempt_timeout": 10**400},
        {"max_rate_limit_wait": float("nan")},
        {"extra_headers": {"X-Count": 5}},
        {"extra_headers": [("X-A", "b")]},
        {"extra_headers": {"X-Bad": "line\nbreak"}},
        {"extra_headers": {"bad name": "x"}},
        {"extra_headers": {"X-Api-Key": "mine"}},
        {"extra_query": 5},
        {"extra_query": {"a": object()}},
        {"extra_query": {"a": 10**30}},
        {"extra_query": {"a": "\ud800"}},
        {"extra_query": {"a": float("inf")}},
        {10: 1},
    ],
)
async def test_1_request_options_of_the_wrong_kind_are_a_configuration_error(
    ps: AsyncPleasureStock, options: Any
) -> None:
    with pytest.raises(ConfigurationError):
        await ps.products.get("ps_vj31ucxsab", options=options)


async def test_1_a_stop_that_is_not_an_event_is_an_input_error(ps: AsyncPleasureStock) -> None:
    record = {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}
    with pytest.raises(InputError, match="stop"):
        await ps.sales.upload([record], stop=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "resolve", [5, {"0": "stored"}, {True: "stored"}, {0: "maybe"}, {-1: "stored"}]
)
async def test_1_resolutions_of_the_wrong_kind_are_an_input_error(
    ps: AsyncPleasureStock, resolve: Any, tmp_path: Path
) -> None:
    record = {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}
    with pytest.raises(InputError, match="resolve"):
        await ps.sales.upload([record], journal=tmp_path / "j", resolve=resolve)


@pytest.mark.parametrize("event", [5, None, "key", {"event": "order.created"}, ORDER])
def test_1_dedupe_key_of_something_that_is_not_an_event_is_an_input_error(event: Any) -> None:
    with pytest.raises(InputError, match="webhook event"):
        webhooks.dedupe_key(event)


@pytest.mark.parametrize(
    "options",
    [
        {"max_size": "x"},
        {"max_size": 0},
        {"ttl": float("nan")},
        {"ttl": -1},
        {"max_size": 1.5},
        {"ttl": 10**400},
    ],
)
def test_1_a_deduplicator_badly_configured_is_a_configuration_error(options: Any) -> None:
    with pytest.raises(ConfigurationError):
        webhooks.EventDeduplicator(**options)


@pytest.mark.parametrize("now", ["soon", float("inf"), 10**400, True])
def test_1_first_time_with_a_bad_clock_is_an_input_error(now: Any) -> None:
    seen = webhooks.EventDeduplicator()
    with pytest.raises(InputError, match="now"):
        seen.first_time("key", now=now)
    with pytest.raises(InputError, match="webhook event"):
        seen.first_time(5)  # type: ignore[arg-type]


def test_1_a_huge_timestamp_is_a_verification_error() -> None:
    body = json.dumps(ORDER).encode()
    headers = webhooks.sign(body, "secret")
    with pytest.raises(webhooks.WebhookVerificationError, match="not a unix time"):
        webhooks.verify_signature(body, headers[webhooks.SIGNATURE_HEADER], 10**5000, "secret")


@pytest.mark.parametrize(
    "url", ["http://host", "redis://:abc", "redis://h:99999999999", "redis://[::1", "x"]
)
def test_1_a_malformed_redis_url_is_a_usage_error(url: str) -> None:
    result = run("--sandbox", "--redis-url", url, "orders", "list")
    assert_clean(result, 2)
    assert "--redis-url" in result.output


def test_1_journal_show_of_a_file_that_is_not_a_journal_is_a_usage_error(tmp_path: Path) -> None:
    not_a_journal = tmp_path / "sales.csv"
    not_a_journal.write_text("internal_id,date,quantity\n")
    for command in ("show", "prune"):
        result = run("sales", "journal", command, str(not_a_journal))
        assert_clean(result, 2)
        assert "JOURNAL" in result.output


@pytest.mark.parametrize("days", ["inf", "1e300", "nan"])
def test_1_prune_older_than_a_span_python_cannot_count_is_a_usage_error(
    tmp_path: Path, days: str
) -> None:
    from pleasurestock_async.uploads import Journal

    Journal(tmp_path / "j").close()  # an empty journal
    result = run("sales", "journal", "prune", str(tmp_path / "j"), "--older-than", days)
    assert_clean(result, 2)
    assert "--older-than" in result.output


@pytest.mark.parametrize("where", ["missing/dir/out.csv", ""])
def test_1_an_unusable_output_path_is_a_usage_error(tmp_path: Path, where: str) -> None:
    target = str(tmp_path / where) if where else str(tmp_path)  # "": a directory
    result = run("--sandbox", "products", "export", "-o", target)
    assert_clean(result, 2)
    assert "-o" in result.output


def test_1_a_malformed_redis_url_is_a_configuration_error_of_the_library() -> None:
    pytest.importorskip("redis")
    from pleasurestock_async.ratelimit import RedisRateLimiter

    with pytest.raises(ConfigurationError, match="not a usable Redis URL"):
        RedisRateLimiter.from_url("redis://:secret@host:abc/0", api_key="pk_test_0123456789")
    with pytest.raises(ConfigurationError):
        RedisRateLimiter.from_url(5, api_key="pk_test_0123456789")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: sales_files.read_sales_csv(None), "path"),  # type: ignore[arg-type]
        (lambda: sales_files.read_sales_csv("\ud800.csv"), "path"),
        (lambda: sales_files.read_sales_csv("s.csv", delimiter=";;"), "delimiter"),
        (lambda: sales_files.read_sales_csv("s.csv", columns={"x": "nope"}), "columns"),
        (lambda: sales_files.read_sales_csv("s.csv", encoding="rot13"), "encoding"),
        (lambda: sales_files.read_sales_jsonl("s.jsonl", encoding="no-such"), "encoding"),
        (lambda: sales_files.read_sales_jsonl("s.jsonl", encoding="\x00"), "encoding"),
        (lambda: sales_files.read_sales_jsonl("s.jsonl", on_error="ignore"), "on_error"),  # type: ignore[arg-type]
        (lambda: sales_files.count_records("s.csv", "xml"), "kind"),  # type: ignore[arg-type]
    ],
)
def test_1_sales_file_readers_refuse_bad_arguments_with_an_input_error(
    call: Callable[[], object], field: str
) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.errors[0].field == field


@pytest.mark.parametrize("where", ["missing.csv", "."])
def test_1_counting_a_file_that_cannot_be_read_is_a_sales_file_error(
    tmp_path: Path, where: str
) -> None:
    with pytest.raises(sales_files.SalesFileError, match="cannot read"):
        sales_files.count_records(tmp_path / where, "csv")


@pytest.mark.parametrize(
    ("option", "value"), [("now", ""), ("now", 10**400), ("tolerance", 10**400)]
)
def test_1_verification_settings_of_the_wrong_kind_are_a_verification_error(
    option: str, value: Any
) -> None:
    body = json.dumps(ORDER).encode()
    with pytest.raises(webhooks.WebhookVerificationError, match=option):
        webhooks.construct_event(body, webhooks.sign(body, "secret"), "secret", **{option: value})


def test_1_signing_with_a_timestamp_that_is_not_one_is_an_input_error() -> None:
    with pytest.raises(InputError, match="timestamp"):
        webhooks.sign(b"{}", "secret", 10**5000)


def test_1_a_dry_run_of_a_file_that_cannot_be_read_lists_it_as_a_problem(tmp_path: Path) -> None:
    result = run("--sandbox", "sales", "push", "--dry-run", str(tmp_path / "missing.csv"))
    assert_clean(result, 3)
    assert "cannot open" in result.output


@pytest.mark.parametrize(
    "option", [["--products", "99999999999999999999"], ["--port", "99999"], ["--port", "-1"]]
)
def test_1_sandbox_options_out_of_range_are_usage_errors(option: list[str]) -> None:
    assert_clean(run("sandbox", *option), 2)
