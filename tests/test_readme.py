"""Every Python snippet of the README runs as written, in order, against a sandbox over HTTP
(the environment says where, as the README tells readers to set it up). A block marked
``<!-- readme-test: script -->`` runs as a script of its own; ``<!-- readme-test: fragment
REASON -->`` marks a fragment by design, skipped with its reason."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

from . import redis_server as servers
from .redis_server import RedisServer
from .sandbox_server import serve

redis_server = servers.redis_server

README = Path(__file__).parent.parent / "README.md"
_BLOCK = re.compile(r"(?:<!-- readme-test: (\w+)(?: ([^>]*))? -->\n)?```python\n(.*?)```", re.S)


def snippets() -> list[tuple[int, str, str, str]]:
    """(line, kind, reason, code) of every Python block, in order."""
    text = README.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start(3)) + 1
        found.append((line, match.group(1) or "run", (match.group(2) or "").strip(), match[3]))
    return found


SNIPPETS = snippets()


def test_every_block_is_accounted_for() -> None:
    assert len(SNIPPETS) >= 10
    for line, kind, reason, _ in SNIPPETS:
        assert kind in ("run", "script", "fragment"), f"README.md:{line}: unknown marker {kind}"
        assert kind != "fragment" or reason, f"README.md:{line}: a fragment says why"
    assert sum(kind == "fragment" for _, kind, _, _ in SNIPPETS) <= 2


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve(Sandbox(example_orders=True, rate_limits=None)) as url:
        yield url


async def test_the_readme_runs_as_written(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLEASURESTOCK_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("PLEASURESTOCK_BASE_URL", sandbox_url)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    ran = 0
    for line, kind, _, code in SNIPPETS:
        if kind != "run":
            continue
        compiled = compile(code, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)  # noqa: S307 - the project's own README
        if inspect.iscoroutine(result):
            await result
        ran += 1
    assert ran >= 8
    assert namespace["again"].sent == 0 and namespace["first"].sent == 2  # the sync example
    assert namespace["signed"].status_code == 204 and namespace["forged"].status_code == 400
    for value in namespace.values():  # the receiver's queue lives as long as its app
        if isinstance(value, MemoryObjectSendStream | MemoryObjectReceiveStream):
            value.close()


def test_the_many_workers_script_runs(redis_server: RedisServer, tmp_path: Path) -> None:
    (script,) = [code for _, kind, _, code in SNIPPETS if kind == "script"]
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
