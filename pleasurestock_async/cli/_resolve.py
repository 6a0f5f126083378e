"""``--resolve BATCH=stored|not-stored``: how uncertain batches ended, for push and sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from ..uploads.journal import Resolution

__all__ = ["resolutions"]

K = TypeVar("K")

_ENDED: dict[str, Resolution] = {"stored": "stored", "not_stored": "not_stored"}


def resolutions(values: tuple[str, ...], batch: Callable[[str], K | None]) -> dict[K, Resolution]:
    """Parse repeated ``BATCH=stored|not-stored`` values; ``batch`` reads a batch name (None:
    not one). A batch given both ways is refused."""
    found: dict[K, Resolution] = {}
    for text in values:
        name, _, how = text.partition("=")
        ended = _ENDED.get(how.strip().lower().replace("-", "_"))
        key = batch(name.strip())
        if ended is None or key is None:
            raise click.BadParameter(
                f"{text!r}: expected BATCH=stored or BATCH=not-stored", param_hint="--resolve"
            )
        if found.get(key, ended) != ended:
            raise click.BadParameter(
                f"batch {name.strip()} is given both ways", param_hint="--resolve"
            )
        found[key] = ended
    return found
