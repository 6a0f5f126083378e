"""The ``pleasurestock`` command's entry point: a one-line message, not a traceback, when the
``cli`` extra is not installed."""

from __future__ import annotations

import sys

__all__ = ["main"]

_CLI_EXTRA = frozenset({"click", "rich", "starlette", "uvicorn"})
"""The packages the ``cli`` extra installs."""


def main() -> None:
    """Run the command line, or say in one line how to install it."""
    try:
        from .cli import main as cli_main
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _CLI_EXTRA:
            raise
        sys.exit(
            f"pleasurestock: the command line needs the 'cli' extra ({missing} is missing): "
            "pip install 'pleasurestock-async[cli]'"
        )
    cli_main()
