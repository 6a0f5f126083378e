"""The two tiers of the suite, and which event loops a test runs on.

The quick tier (plain ``pytest``, what ``make test`` runs) runs every test on asyncio, and on
trio only the tests marked ``concurrency``: those whose subject is cancellation, task groups,
locks, semaphores, events or worker threads, where the two event loops really differ. The SDK's
other code paths are the same library calls on both loops (anyio), so a second run of them on
trio finds nothing the first did not. The full tier (``pytest --full``, what ``make test-all``
and CI run) adds the tests marked ``slow`` (long end-to-end runs: real processes, signals and
kills, fault storms) and every async test on trio.
"""

from __future__ import annotations

import pytest

__all__ = ["BACKENDS", "add_tier_option", "select_tier"]

BACKENDS = ("asyncio", "trio")
"""The async backends anyio supports; the SDK's core runs on both."""

FULL_OPTION = "--full"


def add_tier_option(parser: pytest.Parser) -> None:
    """``--full``: run the full tier (slow tests, every async test on trio too)."""
    parser.addoption(
        FULL_OPTION,
        action="store_true",
        default=False,
        help="run the full tier: slow end-to-end tests and every async test on trio too",
    )


def full_tier(config: pytest.Config) -> bool:
    """Whether this run is the full tier."""
    return bool(config.getoption(FULL_OPTION))


def _backend(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    backend = callspec.params.get("anyio_backend")
    return backend if isinstance(backend, str) else None


def quick_tier_skips(item: pytest.Item) -> bool:
    """Whether the quick tier leaves ``item`` to the full tier."""
    if item.get_closest_marker("slow") is not None:
        return True
    return _backend(item) == "trio" and item.get_closest_marker("concurrency") is None


def select_tier(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect what the quick tier leaves to the full tier (reported as deselected)."""
    if full_tier(config):
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        (left if quick_tier_skips(item) else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
