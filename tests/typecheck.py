"""The README's Python blocks and ``examples/`` under the type checkers users run: pyright (what
VS Code's Pylance runs; standard and strict) and mypy ``--strict``, with and without
pydantic's mypy plugin. ``python -m tests.typecheck`` prints what each finds (exit 1 if any).

The blocks are checked as :func:`tests.readme_snippets.typed_module` lays them out (a block with
top-level ``await`` as the body of an ``async def``); a ``script`` block as a module of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .readme_snippets import snippets, typed_module

__all__ = ["CHECKERS", "Finding", "check", "main", "write_sources"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CHECKERS = ("pyright-standard", "pyright-strict", "mypy-strict", "mypy-strict-pydantic-plugin")
TIMEOUT = 600


@dataclass(frozen=True)
class Finding:
    """What one checker said: its exit code, its error count and its output."""

    checker: str
    returncode: int
    errors: int
    output: str


def write_sources(folder: Path) -> list[Path]:
    """The README's blocks as modules in ``folder``, and ``examples/``: what is checked."""
    blocks = snippets()
    readme = folder / "readme_blocks.py"
    readme.write_text(typed_module(blocks), encoding="utf-8")
    files = [readme]
    for block in blocks:
        if block.kind == "script":
            script = folder / f"readme_script_{block.line}.py"
            script.write_text(block.code, encoding="utf-8")
            files.append(script)
    return [*files, EXAMPLES]


def _pyright(mode: str, folder: Path, sources: list[Path]) -> Finding:
    config = folder / f"pyright-{mode}.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": mode,
                "pythonVersion": "3.11",
                "extraPaths": [str(ROOT)],  # `examples` is a package of the checkout
                "include": [str(path) for path in sources],
            }
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--pythonpath",
            sys.executable,
            "--project",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=folder,
    )
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        return Finding(f"pyright-{mode}", done.returncode, -1, done.stdout + done.stderr)
    problems = [d for d in summary["generalDiagnostics"] if d["severity"] == "error"]
    lines = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in problems]
    return Finding(f"pyright-{mode}", done.returncode, len(problems), "\n".join(lines))


def _mypy(plugin: bool, folder: Path, sources: list[Path]) -> Finding:
    name = "mypy-strict-pydantic-plugin" if plugin else "mypy-strict"
    config = folder / f"{name}.ini"
    config.write_text(
        "[mypy]\nstrict = True\npython_version = 3.11\n"
        + ("plugins = pydantic.mypy\n" if plugin else "")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(folder / f".cache-{name}"),
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,  # `examples` is a package of the checkout
    )
    errors = sum(": error:" in line for line in done.stdout.splitlines())
    return Finding(name, done.returncode, errors, done.stdout + done.stderr)


def check(folder: Path, checkers: tuple[str, ...] = CHECKERS) -> list[Finding]:
    """Run ``checkers`` over the README's blocks and ``examples/``, with scratch files in
    ``folder``."""
    sources = write_sources(folder)
    found = []
    for checker in checkers:
        if checker.startswith("pyright-"):
            found.append(_pyright(checker.removeprefix("pyright-"), folder, sources))
        else:
            found.append(_mypy(checker.endswith("plugin"), folder, sources))
    return found


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        findings = check(Path(scratch))
    for finding in findings:
        print(f"{finding.checker}: {finding.errors} errors (exit {finding.returncode})")
        if finding.returncode != 0:
            print(finding.output)
    return 0 if all(f.returncode == 0 for f in findings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
