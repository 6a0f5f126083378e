"""What only the garbage collector would free: reference cycles that keep work alive."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def left_for_the_collector() -> Iterator[list[object]]:
    """Run the block with the collector off; the list then holds every object of the block
    that only the collector could free (what a cycle kept alive)."""
    found: list[object] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
