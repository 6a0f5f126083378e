"""``pleasurestock sales``: push new sales, sync exports, look after journals."""

from __future__ import annotations

import click

from ._journal import journal_group
from ._push import push_command
from ._state import state_group, status_command
from ._sync import sync_command

__all__ = ["sales"]


@click.group()
def sales() -> None:
    """Sales history: push new sales, or sync exports that repeat earlier days.

    \b
    Example:
      pleasurestock sales push sales-$(date +%F).csv --journal sales.journal
      pleasurestock sales sync export-7d.csv --state sales-state.db
      pleasurestock sales status --state sales-state.db
    """


for _command in (push_command, sync_command, status_command, state_group, journal_group):
    sales.add_command(_command)
