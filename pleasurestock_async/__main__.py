"""``python -m pleasurestock_async``: the same as the ``pleasurestock`` command."""

import sys

try:
    from .cli import main
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    sys.exit(
        f"The command line needs the 'cli' extra ({exc.name} is missing): "
        "pip install 'pleasurestock-async[cli]'"
    )

main()
