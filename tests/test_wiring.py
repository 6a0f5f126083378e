"""The places a new resource or model is wired into, checked against each other: forgetting
one of them (a client attribute, a raw twin, an export list, a line of api.md) fails here,
naming it. CONTRIBUTING's checklist says which step each check stands for."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

import pytest

import pleasurestock_async
from pleasurestock_async import AsyncPleasureStock, resources, types
from pleasurestock_async.resources._base import Resource

ROOT = Path(pleasurestock_async.__file__).parent.parent

LAZY_PACKAGES = ["pleasurestock_async.types", "pleasurestock_async.uploads"]


def resource_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(resources.__path__) if not m.name.startswith("_")]
    return [importlib.import_module(f"pleasurestock_async.resources.{n}") for n in names]


def resource_classes() -> list[type[Resource]]:
    """Every resource class, found in the resource modules (not in any list)."""
    found = []
    for module in resource_modules():
        for _, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Resource)
                and value is not Resource
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def type_checking_imports(module: ModuleType) -> dict[str, str]:
    """The names the ``if TYPE_CHECKING:`` block of ``module`` imports, with their module."""
    tree = ast.parse(Path(str(module.__file__)).read_text())
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom):
                    for alias in inner.names:
                        names[alias.asname or alias.name] = "." * inner.level + (inner.module or "")
    return names


def test_every_resource_module_holds_one_resource() -> None:
    modules = {m.__name__ for m in resource_modules()}
    assert {c.__module__ for c in resource_classes()} == modules


@pytest.mark.parametrize("resource", resource_classes(), ids=lambda c: c.__name__)
def test_every_resource_is_wired_into_the_client(resource: type[Resource]) -> None:
    module = importlib.import_module(resource.__module__)
    twin_name = f"{resource.__name__}WithRawResponse"
    twin = getattr(module, twin_name, None)
    assert twin is not None, f"{resource.__module__} has no {twin_name}"
    assert {resource.__name__, twin_name} <= set(module.__all__), f"{module.__name__}.__all__"
    assert {resource.__name__, twin_name} <= set(resources.__all__), "resources/__init__.py"
    hints = get_type_hints(AsyncPleasureStock)
    attributes = [name for name, kind in hints.items() if kind is resource]
    assert len(attributes) == 1, f"AsyncPleasureStock declares no {resource.__name__} attribute"
    (name,) = attributes
    client = AsyncPleasureStock("k" * 32, base_url="http://127.0.0.1:9/api/v1", rate_limits=None)
    assert isinstance(getattr(client, name), resource), f"AsyncPleasureStock.__init__: {name}"
    raw: Any = getattr(client.with_raw_response, name, None)
    assert isinstance(raw, twin), f"AsyncPleasureStockWithRawResponse.__init__: {name}"
    # the twin has a raw form of the resource's methods, and no other
    methods = {n for n in dir(twin) if not n.startswith("_") and callable(getattr(twin, n))}
    assert methods <= {n for n in dir(resource) if not n.startswith("_")}
    api = (ROOT / "api.md").read_text()
    assert f"`ps.{name}." in api, f"api.md has no ps.{name} method"
    reference = (ROOT / "docs" / "reference" / "resources.md").read_text()
    assert f"::: {resource.__module__}.{resource.__name__}" in reference, "docs/reference"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_the_three_export_lists_of_a_package_agree(package: str) -> None:
    module = importlib.import_module(package)
    lazy: dict[str, str] = module._LAZY  # each exported name and the module it comes from
    imported = type_checking_imports(module)
    # what type checkers see (the imports) is what loads at run time (_LAZY) ...
    for name, source in lazy.items():
        assert name in imported, f"{package}: {name} is in _LAZY, not in the TYPE_CHECKING imports"
        assert imported[name].lstrip(".").endswith(source.lstrip(".")), (name, source)
    # ... and what __all__ lists
    eager = {n for n in module.__all__ if n not in lazy}
    assert all(n in vars(module) for n in eager), f"{package}.__all__ names a missing name"
    assert {n for n in imported if n in module.__all__} == set(lazy), package


def test_the_top_package_exports_what_it_imports_for_type_checkers() -> None:
    imported = type_checking_imports(pleasurestock_async)
    assert set(imported) <= set(pleasurestock_async.__all__)


def test_every_model_of_a_types_module_is_exported_from_types() -> None:
    # shared holds the building blocks of the models (exported one by one, by choice)
    for info in pkgutil.iter_modules(types.__path__):
        if info.name.startswith("_") or info.name == "shared":
            continue
        module = importlib.import_module(f"pleasurestock_async.types.{info.name}")
        classes = [n for n in module.__all__ if inspect.isclass(getattr(module, n))]
        missing = sorted(set(classes) - set(types.__all__))
        assert not missing, f"types/__init__.py does not export {missing} of types.{info.name}"
