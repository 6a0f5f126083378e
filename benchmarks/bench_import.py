"""Import time in fresh processes: ``import pleasurestock_async`` (the client, its models and
resources) against ``import httpx, pydantic, anyio``, timed inside each process around the
import statement only, the processes interleaved.

``import pydantic`` alone is lazy (its models' machinery loads on first use), so a second
baseline adds ``from pydantic import BaseModel``, what any program defining a model pays.
Also checked: the SDK's path loads none of the CLI, sandbox or Redis modules. httpx itself
imports click and rich when they are installed (its own command line), on both sides alike.
The SDK's bytecode is compiled first, as pip does when it installs a package (a checkout run
with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module on every import).

Run alone: ``python -m benchmarks.bench_import``.
"""

from __future__ import annotations

import compileall
import json
import subprocess
import sys

from ._common import ROOT, Row, interleaved, median, ratio_row

_TIMED = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "{statement}\n"
    "t = time.perf_counter() - t\n"
    "print(t)\n"
)
SDK = "import pleasurestock_async"
BASE = "import httpx, pydantic, anyio"
BASE_MODEL = "import httpx, pydantic, anyio; from pydantic import BaseModel"
_UNWANTED = (
    "pleasurestock_async.cli",
    "pleasurestock_async.sandbox",
    "redis",
    "starlette",
    "uvicorn",
    "pleasurestock_async.ratelimit.redis",
)


def _time(statement: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED.format(statement=statement)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def loaded_extras() -> list[str]:
    """Modules of the SDK's optional parts that ``import pleasurestock_async`` loaded."""
    code = (
        "import sys, json, pleasurestock_async\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({_UNWANTED!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return list(json.loads(out.stdout))


def run(quick: bool = False) -> list[Row]:
    compileall.compile_dir(ROOT / "pleasurestock_async", quiet=1)
    n = 7 if quick else 11
    times = interleaved(
        {
            "sdk": lambda: _time(SDK),
            "base": lambda: _time(BASE),
            "base_model": lambda: _time(BASE_MODEL),
        },
        n,
        warm_up=False,
    )
    extras = loaded_extras()
    sdk, base, base_model = (median(times[k]) for k in ("sdk", "base", "base_model"))
    note = (
        "no CLI, sandbox or Redis module on the SDK's path"
        if not extras
        else "also loaded: " + ", ".join(extras)
    )
    return [
        ratio_row(
            "import time, fresh process",
            sdk,
            base,
            BASE,
            unit="ms",
            scale=1e3,
            limit=1.5,
            n=n,
            note=note,
            digits=0,
        ),
        ratio_row(
            "import time, fresh process",
            sdk,
            base_model,
            "+ from pydantic import BaseModel",
            unit="ms",
            scale=1e3,
            limit=None,
            n=n,
            digits=0,
        ),
    ]


if __name__ == "__main__":
    from ._common import print_table

    print_table(run())
