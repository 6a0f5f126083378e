"""``pleasurestock``: the command line for sync jobs and operators.

Every command takes the global options (``--api-key-env``, ``--base-url``, ``--sandbox``,
``--json``, ``-v``, ``--limits``, ``--redis-url``), before or after its name. Exit codes: 0
done; 1 an error; 2 bad usage; 3 invalid input records; 4 partial (batches failed or
uncertain, or discrepancies not acknowledged); 5 authentication refused; 6 another run holds
the journal or state; 7 the sync state belongs to another destination; 130/143 stopped by
SIGINT/SIGTERM. Needs the ``cli`` extra (Click and Rich)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ._catalogue import currency, products, reorder
from ._common import (
    EXIT_AUTH,
    EXIT_CODES,
    EXIT_DESTINATION,
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_LOCKED,
    EXIT_PARTIAL,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    Settings,
    configure_logging,
    global_params,
    report_error,
)
from ._orders import orders
from ._sales import sales
from ._sandbox import sandbox_command
from ._signals import early_signal, exit_code_of, install, name_of
from ._tools import demo, webhook

__all__ = [
    "EXIT_AUTH",
    "EXIT_DESTINATION",
    "EXIT_ERROR",
    "EXIT_INVALID",
    "EXIT_LOCKED",
    "EXIT_PARTIAL",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "cli",
    "main",
]


class _Cli(click.Group):
    """The root group: remembers the command line (for "to resume, run ..." advice) and
    reports usage errors as JSON under ``--json``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.ensure_object(Settings).argv = list(args)
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            if "--json" in argv:
                report_error(
                    Settings(json=True), type(exc).__name__, exc.format_message(), exc.exit_code
                )
            else:
                exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # a signal outside a push or sync
                signum = early_signal()
                click.echo(f"stopped by {name_of(signum)}", err=True)
                sys.exit(exit_code_of(signum))
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pleasurestock-async")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """PleasureStock from the shell.

    \b
    Example:
      export PLEASURESTOCK_API_KEY=...        # from Settings -> API Keys
      pleasurestock sales push sales.csv --journal sales.journal
    """
    configure_logging(ctx.ensure_object(Settings).verbose)


cli.params.extend(global_params(root=True))
for _command in (sales, products, orders, reorder, currency, webhook, demo, sandbox_command):
    cli.add_command(_command)


def _every(command: click.Command) -> list[click.Command]:
    found = [command]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found.extend(_every(sub))
    return found


for _command in _every(cli):
    _command.epilog = _command.epilog or EXIT_CODES
    declared = any(p.name == "verbose" for p in _command.params)  # its own choice of them
    if _command is not cli and not isinstance(_command, click.Group) and not declared:
        _command.params.extend(global_params())


def main() -> None:
    """Console entry point: SIGINT and SIGTERM are handled first of all."""
    install()
    try:
        cli(prog_name="pleasurestock")
    except KeyboardInterrupt:
        signum = early_signal()
        sys.stderr.write(f"stopped by {name_of(signum)}\n")
        sys.exit(exit_code_of(signum))
