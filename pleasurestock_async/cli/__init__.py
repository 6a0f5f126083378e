"""``pleasurestock``: the command line for sync jobs and operators.

Every command takes the global options (``--api-key-env``, ``--base-url``, ``--sandbox``,
``--json``, ``-v``). Exit codes: 0 everything accepted; 1 an error; 2 bad usage; 3 invalid
input records; 4 partial failure (batches failed or unresolved); 5 authentication refused.
Needs the ``cli`` extra (Click and Rich)."""

from __future__ import annotations

import logging
import sys

import click

from .._client import API_KEY_ENV
from ._catalogue import currency, products, reorder
from ._common import EXIT_AUTH, EXIT_ERROR, EXIT_INVALID, EXIT_PARTIAL, Settings
from ._orders import orders
from ._sales import sales
from ._tools import demo, sandbox_command, webhook

__all__ = ["EXIT_AUTH", "EXIT_ERROR", "EXIT_INVALID", "EXIT_PARTIAL", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--api-key-env",
    default=API_KEY_ENV,
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the API key (keys never go on the command line).",
)
@click.option("--base-url", envvar="PLEASURESTOCK_BASE_URL", help="API base URL.")
@click.option("--sandbox", is_flag=True, help="Run against an in-process sandbox (no account).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="Log requests and retries (keys redacted).")
@click.version_option(package_name="pleasurestock-async")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key_env: str,
    base_url: str | None,
    sandbox: bool,
    as_json: bool,
    verbose: int,
) -> None:
    """PleasureStock from the shell.

    \b
    Example:
      export PLEASURESTOCK_API_KEY=...        # from Settings -> API Keys
      pleasurestock sales push sales.csv --journal sales.journal
    """
    if verbose:
        logging.basicConfig(
            level=logging.INFO if verbose == 1 else logging.DEBUG,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    ctx.obj = Settings(api_key_env, base_url, sandbox, as_json, verbose)


for _command in (sales, products, orders, reorder, currency, webhook, demo, sandbox_command):
    cli.add_command(_command)


def main() -> None:
    """Console entry point."""
    cli(prog_name="pleasurestock")
