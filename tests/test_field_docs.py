"""Every field of every model in ``pleasurestock_async.types`` has a docstring (issue 24, point
1): the API reference's field tables and IDE hovers show it. ``types/uploads.py`` documents its
result fields separately (their names are being unified)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pleasurestock_async.types

TYPES = Path(pleasurestock_async.types.__file__).parent
MODULES = sorted(p for p in TYPES.glob("*.py") if p.name not in ("__init__.py", "uploads.py"))


def fields(module: Path) -> list[tuple[str, str | None]]:
    """(``Class.field``, its docstring or None) for every annotated field of every class."""
    found = []
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for at, statement in enumerate(node.body):
            if not isinstance(statement, ast.AnnAssign) or not isinstance(
                statement.target, ast.Name
            ):
                continue
            name = statement.target.id
            if name.startswith("_") or "ClassVar" in ast.unparse(statement.annotation):
                continue
            after = node.body[at + 1] if at + 1 < len(node.body) else None
            doc = (
                after.value.value
                if isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
                else None
            )
            found.append((f"{node.name}.{name}", doc))
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_field_has_a_docstring(module: Path) -> None:
    found = fields(module)
    assert found, f"no fields found in {module.name}"
    missing = [name for name, doc in found if not (doc and doc.strip())]
    assert not missing, f"{module.name}: fields without a docstring: {missing}"


def test_the_count() -> None:
    assert sum(len(fields(module)) for module in MODULES) >= 170
