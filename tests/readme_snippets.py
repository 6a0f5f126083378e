"""The README's Python blocks, and the two ways readers run them: pasted into ``python -m
asyncio`` (line by line, as its console reads a paste) or as the body of an ``async def``.

A block marked ``<!-- readme-test: script -->`` is a program of its own; ``<!-- readme-test:
fragment REASON -->`` marks a fragment by design. :func:`typed_module` turns the blocks into
one module for the type checkers: a block without top-level ``await`` stays top-level code, a
block with it becomes the body of an ``async def``.
"""

from __future__ import annotations

import ast
import code
import inspect
import re
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "README",
    "ReplPasteError",
    "Snippet",
    "as_async_def",
    "has_top_level_await",
    "paste_into_asyncio_repl",
    "snippets",
    "typed_module",
]

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"(?:<!-- readme-test: (\w+)(?: ([^>]*))? -->\n)?```python\n(.*?)```", re.S)
_TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass(frozen=True)
class Snippet:
    """One Python block of a Markdown file."""

    line: int
    """The line of the block's first line of code."""
    kind: str
    """``run`` (the default), ``script`` or ``fragment``."""
    reason: str
    """Why a fragment is one."""
    code: str

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def snippets(path: Path = README) -> list[Snippet]:
    """Every Python block of ``path``, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start(3)) + 1
        found.append(
            Snippet(line, match.group(1) or "run", (match.group(2) or "").strip(), match[3])
        )
    return found


def has_top_level_await(source: str) -> bool:
    """Whether ``source`` awaits outside any function (so it needs an event loop to run)."""
    compiled = compile(source, "<snippet>", "exec", flags=_TOP_LEVEL_AWAIT)
    return bool(compiled.co_flags & inspect.CO_COROUTINE)


class ReplPasteError(AssertionError):
    """A block that ``python -m asyncio`` refuses when it is pasted."""


class _PastedConsole(code.InteractiveConsole):
    """The console of ``python -m asyncio`` (top-level ``await`` allowed), reading a paste
    line by line; it keeps each statement's code instead of running it."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.compile.compiler.flags |= _TOP_LEVEL_AWAIT
        self.where = where
        self.statements: list[types.CodeType] = []

    def runcode(self, code: types.CodeType) -> None:
        self.statements.append(code)

    def showsyntaxerror(self, filename: str | None = None, **kwargs: Any) -> None:
        raise ReplPasteError(f"{self.where}: pasted into python -m asyncio, a SyntaxError")


def paste_into_asyncio_repl(snippet: Snippet) -> list[types.CodeType]:
    """The statements ``python -m asyncio`` would run for ``snippet`` pasted at its prompt, in
    order (each as its console compiles it); :class:`ReplPasteError` where it would refuse a
    line (an unindented line right after a block's body, a blank line inside a block)."""
    console = _PastedConsole(snippet.where)
    more = False
    for number, line in enumerate(snippet.code.splitlines(), start=snippet.line):
        console.where = f"README.md:{number}"
        more = console.push(line)
    if more:
        console.where = f"{snippet.where} (the end of the block)"
        more = console.push("")
    assert not more
    return console.statements


def as_async_def(snippet: Snippet, name: str = "__readme_block") -> str:
    """``snippet`` as the body of ``async def name()``, returning its local names."""
    body = textwrap.indent(snippet.code, "    ")
    return f"async def {name}():\n{body}\n    return locals()\n"


def run_statement(statement: types.CodeType, namespace: dict[str, Any]) -> Any:
    """Run one compiled statement as the asyncio console does: a coroutine when it awaits."""
    function: Callable[[], Any] = types.FunctionType(statement, namespace)
    return function()


def typed_module(blocks: list[Snippet]) -> str:
    """The ``run`` blocks as one module for type checkers: top-level code where a block has no
    top-level ``await``, else the body of an ``async def`` of its own."""
    parts = ['"""The README\'s Python blocks, as type checkers see them (generated)."""\n']
    for block in blocks:
        if block.kind != "run":
            continue
        marker = f"# README.md:{block.line}\n"
        if has_top_level_await(block.code):
            body = textwrap.indent(block.code, "    ")
            parts.append(f"{marker}async def readme_block_{block.line}() -> None:\n{body}")
        else:
            parts.append(marker + block.code)
    return "\n\n".join(parts)
