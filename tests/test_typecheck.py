"""The README's Python blocks and ``examples/`` type-check clean under pyright (standard and
strict) and mypy ``--strict`` with and without pydantic's plugin (issue 24, point 4): the
documented style (``SaleRecord(date="2025-11-04")``, ``OrderItem(custom_price=...)``, a list
mixing models and dicts, a webhook event narrowed with ``isinstance``) is what users' checkers
accept. ``python -m tests.typecheck`` runs the same from a shell."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .typecheck import CHECKERS, check


@pytest.mark.slow  # each checker takes 5 to 30 s
@pytest.mark.parametrize("checker", CHECKERS)
def test_the_readme_and_the_examples_type_check_clean(checker: str, tmp_path: Path) -> None:
    tool = checker.split("-")[0]
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is missing: pip install -e '.[dev]'")
    (finding,) = check(tmp_path, (checker,))
    assert (finding.returncode, finding.errors) == (0, 0), finding.output
