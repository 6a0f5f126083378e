"""Names a package exports but imports on first use (a module ``__getattr__``, PEP 562)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    namespace: dict[str, Any],
    names: Mapping[str, str],
    modules: Collection[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose globals are ``namespace``.

    Each of ``names`` comes from its module (``names[name]``, relative to ``package``) when
    first asked for, and is kept in ``namespace`` from then on; each of ``modules`` is a
    submodule imported when first asked for. ``dir()`` lists them all before they load.
    """

    def attribute(name: str) -> Any:
        if name in modules:
            return import_module(f".{name}", package)
        source = names.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(source, package), name)
        namespace[name] = value
        return value

    def listing() -> list[str]:
        return sorted(set(namespace) | set(names) | set(modules))

    return attribute, listing
