"""Build hook: the source distribution carries no version-control files (hatchling adds the
project's .gitignore to every sdist on its own)."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_VCS_FILES = frozenset({".gitignore", ".hgignore"})


class CustomBuildHook(BuildHookInterface):
    """Drops the VCS ignore files hatchling force-includes."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        forced = build_data.get("force_include", {})
        for source in [s for s, target in forced.items() if target in _VCS_FILES]:
            del forced[source]
