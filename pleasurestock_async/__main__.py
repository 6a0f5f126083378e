"""``python -m pleasurestock_async``: the same as the ``pleasurestock`` command."""

from ._entry import main

main()
