"""What every command shares: the global settings, the client they build, running async
commands with exit codes, and output that never interprets text it did not write."""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import anyio
import click
from rich.console import Console
from rich.text import Text

from .._client import API_KEY_ENV, AsyncPleasureStock
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    InputError,
    PermissionDeniedError,
    PleasureStockError,
    StateDestinationError,
    StateLockedError,
)
from ..ratelimit import DEFAULT_RATE_LIMITS, RateLimitConfig, RateLimiter
from ._limits import LIMITS_ENV, LIMITS_HELP, parse_limits

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_PARTIAL = 4
EXIT_AUTH = 5
EXIT_LOCKED = 6
EXIT_DESTINATION = 7
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

EXIT_CODES = (
    "\b\nExit codes: 0 done; 1 error; 2 bad usage; 3 invalid input lines or records refused by "
    "the server; 4 partial (batches failed or uncertain, or discrepancies not acknowledged); "
    "5 key refused; 6 another run holds the journal or state file; 7 the sync state belongs "
    "to another destination (URL or key); 130 stopped by Ctrl-C (SIGINT); "
    "143 stopped by SIGTERM."
)

REDIS_ENV = "PLEASURESTOCK_REDIS_URL"
STATE_ENV = "PLEASURESTOCK_STATE"
"""The sync state (a file or a postgresql:// URL) when ``--state`` is not given."""

P = ParamSpec("P")
T = TypeVar("T")


def configure_logging(verbose: int) -> None:
    """``-v``: INFO, ``-vv``: DEBUG, to stderr (keys are redacted by the SDK)."""
    if verbose:
        logging.basicConfig(
            level=logging.INFO if verbose == 1 else logging.DEBUG,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )


@dataclass
class Settings:
    """The global options, shared by every command (given before or after the command)."""

    api_key_env: str = API_KEY_ENV
    base_url: str | None = None
    sandbox: bool = False
    json: bool = False
    verbose: int = 0
    limits: str | None = None
    redis_url: str | None = None
    argv: list[str] = field(default_factory=list)

    @property
    def out(self) -> Console:
        # Piped output is read by programs and people alike: never wrap it at 80 columns.
        # What is printed holds text of clients and servers (ids, comments, names): it is never
        # read as markup (styles come from Text objects).
        console = Console(soft_wrap=True, highlight=False, markup=False)
        if not console.is_terminal:
            console.width = 200
        return console

    @property
    def err(self) -> Console:
        return Console(stderr=True, soft_wrap=True, highlight=False, markup=False)

    def rate_limits(self) -> RateLimitConfig | None:
        """The limits ``--limits`` (or its variable) sets; None: the client's defaults."""
        return parse_limits(self.limits) if self.limits else None

    def command(self, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> str:
        """This command line as typed (less ``drop`` options and their values, plus ``add``),
        quoted for a shell: for "run this to resume" advice. A database password in it is
        replaced (give it by PGPASSWORD, a .pgpass file or $PLEASURESTOCK_STATE)."""
        import shlex

        from ..uploads.location import scrub_urls

        args: list[str] = []
        skip = False
        for arg in self.argv:
            if skip:
                skip = False
                continue
            name = arg.split("=", 1)[0]
            if name in drop:
                skip = "=" not in arg and name not in _FLAGS
                continue
            args.append(scrub_urls(arg))
        return shlex.join(["pleasurestock", *args, *add])

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncPleasureStock]:
        """A client for the chosen target (a real API, or an in-process sandbox), with the
        chosen limits, on a Redis limiter when ``--redis-url`` is given."""
        limits = self.rate_limits()
        if self.sandbox:
            from ..sandbox import DEMO_API_KEY

            key = DEMO_API_KEY
        else:
            key = os.environ.get(self.api_key_env) or ""
            if not key:
                raise click.UsageError(
                    f"no API key: set {self.api_key_env} (or name another variable with "
                    "--api-key-env), or try the command with --sandbox"
                )
        limiter = await redis_limiter(self.redis_url, key, limits) if self.redis_url else None
        options: dict[str, Any] = {}
        if limiter is not None:
            options["rate_limiter"] = limiter
        elif limits is not None:
            options["rate_limits"] = limits
        try:
            if self.sandbox:
                async with sandbox_client(**options) as ps:
                    yield ps
            else:
                async with AsyncPleasureStock(key, base_url=self.base_url, **options) as ps:
                    yield ps
        finally:
            if limiter is not None:
                with anyio.CancelScope(shield=True):
                    await limiter.aclose()


_FLAGS = frozenset(
    {"--resend-unknown", "--mark-stored", "--dry-run", "--no-heal", "--retry-refused"}
)


async def redis_limiter(url: str, api_key: str, limits: RateLimitConfig | None) -> RateLimiter:
    """A Redis limiter shared by every process on ``url`` (the ``redis`` extra)."""
    try:
        from ..ratelimit import RedisRateLimiter  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        raise click.UsageError(
            "--redis-url needs the redis extra: pip install 'pleasurestock-async[redis]'"
        ) from None
    try:
        made = RedisRateLimiter.from_url(url, api_key=api_key, config=limits or DEFAULT_RATE_LIMITS)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--redis-url") from None
    if inspect.isawaitable(made):
        made = await made
    limiter: RateLimiter = made
    return limiter


@asynccontextmanager
async def sandbox_client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
    """A client on a fresh in-process sandbox (what ``--sandbox`` uses)."""
    from .._demo import DEMO_LIMITS
    from ..sandbox import Sandbox

    options.setdefault("rate_limits", DEMO_LIMITS)
    async with Sandbox(rate_limits=DEMO_LIMITS) as sandbox, sandbox.client(**options) as ps:
        yield ps


# -- global options, accepted before or after the command ------------------------------------


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False or value == ():
            return
        settings = ctx.ensure_object(Settings)
        if name == "verbose":
            if value:
                settings.verbose += value
                configure_logging(settings.verbose)
            return
        setattr(settings, name, value)

    return callback


def global_params(*, root: bool = False, only: Collection[str] | None = None) -> list[click.Option]:
    """The options every command takes (``only``: those of these names, for a command where
    the others mean nothing). On the root group they read their environment variables; on a
    command they override what was given before it."""

    def option(*decls: str, name: str, env: str | None = None, **kw: Any) -> click.Option:
        return click.Option(
            list(decls),
            envvar=env if root else None,
            callback=_setter(name),
            expose_value=False,
            **kw,
        )

    found = [
        option(
            "--api-key-env",
            name="api_key_env",
            metavar="VAR",
            help=f"Variable holding the API key (default {API_KEY_ENV}; keys never go on the "
            "command line).",
        ),
        option("--base-url", name="base_url", env="PLEASURESTOCK_BASE_URL", help="API base URL."),
        option(
            "--sandbox",
            name="sandbox",
            is_flag=True,
            default=None,
            help="Run against an in-process sandbox (no account).",
        ),
        option(
            "--json",
            name="json",
            is_flag=True,
            default=None,
            help="Machine-readable output (JSON; errors as JSON on stderr).",
        ),
        option(
            "-v",
            "--verbose",
            name="verbose",
            count=True,
            help="Log requests and retries (keys redacted); -vv for more.",
        ),
        option("--limits", name="limits", env=LIMITS_ENV, metavar="SPEC", help=LIMITS_HELP),
        option(
            "--redis-url",
            name="redis_url",
            env=REDIS_ENV,
            metavar="URL",
            help=f"Share rate limits with other processes through Redis (default ${REDIS_ENV}; "
            "needs the redis extra).",
        ),
    ]
    return [o for o in found if only is None or o.name in only]


# -- running commands ----------------------------------------------------------------------------


def settings_of(ctx: click.Context) -> Settings:
    """The global options of the running command."""
    return ctx.ensure_object(Settings)


def report_error(settings: Settings | None, kind: str, message: str, code: int) -> None:
    """One error on stderr: a JSON object under ``--json``, else a line (never markup); a
    database URL's password never shows."""
    from ..uploads.location import scrub_urls

    message = scrub_urls(message)
    if settings is not None and settings.json:
        sys.stderr.write(
            json.dumps({"error": message, "type": kind, "exit_code": code}, ensure_ascii=False)
            + "\n"
        )
        return
    label = "invalid input" if code == EXIT_INVALID else "error"
    Console(stderr=True, soft_wrap=True, highlight=False).print(
        Text.assemble((f"{label}: ", "red"), message)
    )


def run_async(func: Callable[P, Awaitable[int | None]]) -> Callable[P, None]:
    """Run an async command; map SDK errors to messages and exit codes."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from ._signals import StoppedBySignalError, exit_code_of, run_command

        settings = click.get_current_context().find_object(Settings)
        try:
            code = anyio.run(lambda: run_command(lambda: func(*args, **kwargs)))
        except StoppedBySignalError as exc:
            report_error(settings, "Interrupted", str(exc), exit_code_of(exc.signum))
            sys.exit(exit_code_of(exc.signum))
        except (AuthenticationError, PermissionDeniedError) as exc:
            report_error(settings, type(exc).__name__, str(exc), EXIT_AUTH)
            sys.exit(EXIT_AUTH)
        except InputError as exc:
            report_error(settings, type(exc).__name__, str(exc), EXIT_INVALID)
            sys.exit(EXIT_INVALID)
        except StateLockedError as exc:
            report_error(settings, type(exc).__name__, str(exc), EXIT_LOCKED)
            sys.exit(EXIT_LOCKED)
        except StateDestinationError as exc:
            report_error(settings, type(exc).__name__, str(exc), EXIT_DESTINATION)
            sys.exit(EXIT_DESTINATION)
        except PleasureStockError as exc:
            report_error(settings, type(exc).__name__, str(exc), EXIT_ERROR)
            sys.exit(EXIT_ERROR)
        sys.exit(code or 0)

    return wrapper


def dump(value: Any) -> str:
    """``value`` (models included) as one line of JSON; money keeps its digits as strings."""

    def default(obj: object) -> object:
        if isinstance(obj, Decimal):
            return str(obj)
        if isinstance(obj, date):
            return obj.isoformat()
        if hasattr(obj, "model_dump"):
            return obj.model_dump(mode="json")
        raise TypeError(type(obj).__name__)

    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, default=default, ensure_ascii=False)


def say(console: Console, text: str) -> None:
    """Print text that may hold anything (a server's message, a file name) as it is."""
    console.print(text, markup=False, highlight=False)


class FiniteFloatRange(click.FloatRange):
    """A float range that refuses NaN (every comparison with NaN is false, so a plain range
    lets it through)."""

    name = "float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:  # NaN
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def on_invalid_option(help: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """``--on-invalid raise|skip``: what a command that sends sales does with an invalid line
    (``help`` says it in the command's words)."""
    return click.option(
        "--on-invalid",
        type=click.Choice(["raise", "skip"]),
        default="raise",
        show_default=True,
        help=help,
    )


def sending_options(held: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """The options of a command that sends sales: requests at once, healing of refused
    batches, and how long to wait for another run holding ``held`` (its journal or state)."""
    options = [
        click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64)),
        click.option(
            "--heal/--no-heal",
            default=True,
            show_default=True,
            help="Resend a refused batch once without the records the server named.",
        ),
        click.option(
            "--wait-lock",
            type=click.FloatRange(0),
            default=0.0,
            metavar="SECONDS",
            help=f"Wait this long for another run holding the {held} (default: refuse at once).",
        ),
    ]

    def apply(func: Callable[P, T]) -> Callable[P, T]:
        for option in reversed(options):
            func = option(func)
        return func

    return apply
