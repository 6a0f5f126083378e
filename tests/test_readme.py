"""Every Python snippet of the README runs as written, in order, against a sandbox over HTTP
(the environment says where, as the README tells readers to set it up), both ways the README
says to run them: pasted into ``python -m asyncio`` (line by line, as its console reads a
paste) and as the body of an ``async def``. A block marked ``<!-- readme-test: script -->``
runs as a script of its own; ``<!-- readme-test: fragment REASON -->`` marks a fragment by
design, skipped with its reason. (``tests/test_typecheck.py`` type-checks the same blocks.)"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox
from pleasurestock_async.types import OrderStatus

from . import redis_server as servers
from .readme_snippets import (
    ReplPasteError,
    Snippet,
    as_async_def,
    paste_into_asyncio_repl,
    run_statement,
    snippets,
)
from .redis_server import RedisServer
from .sandbox_server import serve

redis_server = servers.redis_server

SNIPPETS = snippets()
RUN = [snippet for snippet in SNIPPETS if snippet.kind == "run"]


def test_every_block_is_accounted_for() -> None:
    assert len(SNIPPETS) >= 10
    for snippet in SNIPPETS:
        assert snippet.kind in ("run", "script", "fragment"), f"{snippet.where}: unknown marker"
        assert snippet.kind != "fragment" or snippet.reason, f"{snippet.where}: say why"
    assert sum(snippet.kind == "fragment" for snippet in SNIPPETS) <= 2
    assert len(RUN) >= 8


@pytest.mark.parametrize("snippet", RUN, ids=lambda snippet: snippet.where)
def test_each_block_can_be_pasted_into_python_m_asyncio(snippet: Snippet) -> None:
    assert paste_into_asyncio_repl(snippet)


def test_a_statement_right_after_a_block_is_what_the_console_refuses() -> None:
    """The check itself: an unindented line right after an ``async with`` body (what 4 of the
    README's blocks had) and a blank line inside a block are refused, as the console does."""
    after = Snippet(1, "run", "", "async with x as y:\n    await y.f()\nprint(y)\n")
    inside = Snippet(1, "run", "", "async with x as y:\n    a = 1\n\n    await y.f(a)\n")
    for refused in (after, inside):
        with pytest.raises(ReplPasteError):
            paste_into_asyncio_repl(refused)
    fixed = Snippet(1, "run", "", "async with x as y:\n    await y.f()\n\nprint(y)\n")
    assert len(paste_into_asyncio_repl(fixed)) == 2


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve(Sandbox(example_orders=True, rate_limits=None)) as url:
        yield url


@pytest.fixture
def readme_env(sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the README tells readers to set up, in a fresh directory."""
    monkeypatch.setenv("PLEASURESTOCK_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("PLEASURESTOCK_BASE_URL", sandbox_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "displayhook", lambda value: None)  # the console's echo


def check_what_the_readme_did(namespace: dict[str, Any]) -> None:
    assert namespace["again"].sent == 0 and namespace["first"].sent == 2  # the sync example
    assert namespace["signed"].status_code == 204 and namespace["forged"].status_code == 400
    assert namespace["event"].data.new_status is OrderStatus.PAID
    for value in namespace.values():  # the receiver's queue lives as long as its app
        if isinstance(value, MemoryObjectSendStream | MemoryObjectReceiveStream):
            value.close()


@pytest.mark.usefixtures("readme_env")
async def test_the_readme_runs_pasted_into_python_m_asyncio() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for snippet in RUN:
        for statement in paste_into_asyncio_repl(snippet):
            result = run_statement(statement, namespace)
            if inspect.iscoroutine(result):
                await result
    check_what_the_readme_did(namespace)


@pytest.mark.usefixtures("readme_env")
async def test_the_readme_runs_inside_an_async_def() -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    for snippet in RUN:
        exec(compile(as_async_def(snippet), snippet.where, "exec"), namespace)  # noqa: S102
        namespace.update(await namespace.pop("__readme_block")())
    check_what_the_readme_did(namespace)


def test_the_many_workers_script_runs(redis_server: RedisServer, tmp_path: Path) -> None:
    (script,) = [snippet.code for snippet in SNIPPETS if snippet.kind == "script"]
    path = tmp_path / "workers.py"
    path.write_text(script)
    with serve(Sandbox(products=50)) as url:  # the vendor's limits: 10 requests a second
        done = subprocess.run(
            [sys.executable, str(path)],
            env={
                **os.environ,
                "PLEASURESTOCK_API_KEY": DEMO_API_KEY,
                "PLEASURESTOCK_BASE_URL": url,
                "REDIS_URL": redis_server.url,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [f"worker {n}: 20 requests, 0 answered 429" for n in range(4)], done.stdout
