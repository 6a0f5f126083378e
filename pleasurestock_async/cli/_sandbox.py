"""``pleasurestock sandbox``: serve a local PleasureStock over HTTP, with its inspector page at
the root (``--open`` opens it), one log line per request with ``-v``, and ``sandbox inspect``
to read a running one's inspection routes."""

from __future__ import annotations

import os
import socket
import threading
import time
import webbrowser

import click
from click.core import ParameterSource
from rich.console import Console

from .._client import API_KEY_ENV
from ._common import global_params
from ._inspect import inspect_group

MAX_SANDBOX_PRODUCTS = 100_000
"""The largest catalogue ``pleasurestock sandbox`` builds (about a second and 100 MB)."""

__all__ = ["sandbox_command"]

OPEN_WAIT = 15.0
"""Seconds ``--open`` waits for the server to listen before giving up on the browser."""
_SERVE_OPTIONS = (
    "host",
    "port",
    "products",
    "rate_limits",
    "webhook_url",
    "webhook_secret_env",
    "open_page",
)


def _open_when_listening(host: str, port: int, url: str) -> None:
    """Open ``url`` in the user's browser once something listens on ``host:port``."""
    deadline = time.monotonic() + OPEN_WAIT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        return
    webbrowser.open(url)


def _local(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


@click.group("sandbox", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--products",
    default=2490,
    show_default=True,
    type=click.IntRange(1, MAX_SANDBOX_PRODUCTS),
    help=f"Catalogue size (at most {MAX_SANDBOX_PRODUCTS:,}: each product is built up front).",
)
@click.option(
    "--rate-limits/--no-rate-limits",
    default=True,
    show_default=True,
    help="Enforce the vendor's published windows per key.",
)
@click.option("--webhook-url", help="Where to post signed order events.")
@click.option(
    "--webhook-secret-env",
    metavar="VAR",
    help="Environment variable holding the webhook secret (default: the demo secret).",
)
@click.option(
    "--open", "open_page", is_flag=True, help="Open the inspector page in a browser once serving."
)
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    host: str,
    port: int,
    products: int,
    rate_limits: bool,
    webhook_url: str | None,
    webhook_secret_env: str | None,
    open_page: bool,
) -> None:
    """Serve a local PleasureStock over HTTP under /api/v1, and its inspector at /.

    Its manager key is $PLEASURESTOCK_API_KEY, else the public demo key; keys never go on
    the command line. It also accepts a read-only viewer key, holds the reference's example
    products and orders, and serves its OpenAPI contract at /api/v1/openapi.json.

    The inspector (a page at the root, JSON under /api/v1/_sandbox) shows every request,
    the stored sales, orders, webhook deliveries and rate-limit windows; -v also logs one
    line per request, and `pleasurestock sandbox inspect ...` reads it from a shell.

    \b
    Example:
      pleasurestock sandbox --port 8765 --open -v
      curl -H "X-API-Key: pk_sandbox_demo_key" http://127.0.0.1:8765/api/v1/products?limit=2
      pleasurestock sandbox inspect requests
    """
    if ctx.invoked_subcommand is not None:
        given = [
            f"--{name.replace('_', '-')}"
            for name in _SERVE_OPTIONS
            if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        ]
        if given:
            shown = ", ".join(given).replace("--open-page", "--open")
            raise click.UsageError(
                f"{shown}: options of serving a sandbox, not of inspecting one; to inspect "
                "another sandbox, give its --base-url (e.g. http://127.0.0.1:9000/api/v1)"
            )
        return
    import uvicorn

    from ..ratelimit import DEFAULT_RATE_LIMITS
    from ..sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, DEMO_WEBHOOK_SECRET, Sandbox

    key = os.environ.get(API_KEY_ENV) or DEMO_API_KEY
    secret = DEMO_WEBHOOK_SECRET
    if webhook_secret_env:
        secret = os.environ.get(webhook_secret_env, "")
        if not secret:
            raise click.UsageError(f"the variable {webhook_secret_env} is not set")
    sandbox = Sandbox(
        products=products,
        api_keys=[key],
        rate_limits=DEFAULT_RATE_LIMITS if rate_limits else None,
        webhook_url=webhook_url,
        webhook_secret=secret,
        example_orders=True,
    )
    err = Console(stderr=True)
    root = f"http://{host}:{port}"
    base = f"{root}/api/v1"
    err.print(f"PleasureStock sandbox on {base} (contract: {base}/openapi.json)", highlight=False)
    err.print(f"inspector:      {root}/  (JSON: {base}/_sandbox/...)", highlight=False)
    if key == DEMO_API_KEY:
        err.print(f"manager key:    {DEMO_API_KEY}  (the public demo key)", highlight=False)
    else:
        err.print(f"manager key:    from ${API_KEY_ENV}", highlight=False)
    err.print(f"viewer key:     {DEMO_VIEWER_KEY}  (reads only; writes get 403)", highlight=False)
    if webhook_secret_env:
        err.print(f"webhook secret: from ${webhook_secret_env}", highlight=False)
    else:
        err.print(f"webhook secret: {DEMO_WEBHOOK_SECRET}  (the demo secret)", highlight=False)
    if webhook_url:
        err.print(f"webhooks to {webhook_url}", highlight=False)
    if open_page:
        page = f"http://{_local(host)}:{port}/"
        threading.Thread(
            target=_open_when_listening, args=(_local(host), port, page), daemon=True
        ).start()
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")


(_verbose,) = global_params(only={"verbose"})
_verbose.help = "Log one line per request the sandbox answers (never its key); -vv for more."
sandbox_command.params.append(_verbose)
sandbox_command.epilog = (
    "\b\nExit codes: 0 stopped (Ctrl-C or SIGTERM); 1 error (e.g. the port is taken); 2 bad usage."
)
sandbox_command.add_command(inspect_group)
