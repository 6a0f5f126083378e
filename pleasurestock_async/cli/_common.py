"""What every command shares: the global settings, running async commands, output."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .._client import AsyncPleasureStock
from ..errors import (
    AuthenticationError,
    InputError,
    PermissionDeniedError,
    PleasureStockError,
)
from ..types.uploads import UploadProgress

EXIT_ERROR = 1
EXIT_INVALID = 3
EXIT_PARTIAL = 4
EXIT_AUTH = 5

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Settings:
    """The global options, shared by every command."""

    api_key_env: str
    base_url: str | None
    sandbox: bool
    json: bool
    verbose: int

    @property
    def out(self) -> Console:
        # Piped output is read by programs and people alike: never wrap it at 80 columns.
        console = Console(soft_wrap=True)
        if not console.is_terminal:
            console.width = 200
        return console

    @property
    def err(self) -> Console:
        return Console(stderr=True, soft_wrap=True)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncPleasureStock]:
        """A client for the chosen target: a real API, or an in-process sandbox."""
        if self.sandbox:
            async with sandbox_client() as ps:
                yield ps
            return
        key = os.environ.get(self.api_key_env)
        if not key:
            raise click.UsageError(
                f"no API key: set {self.api_key_env} (or name another variable with "
                "--api-key-env), or try the command with --sandbox"
            )
        async with AsyncPleasureStock(key, base_url=self.base_url) as ps:
            yield ps


@asynccontextmanager
async def sandbox_client() -> AsyncIterator[AsyncPleasureStock]:
    """A client on a fresh in-process sandbox (what ``--sandbox`` uses)."""
    from .._demo import DEMO_LIMITS
    from ..sandbox import Sandbox

    async with Sandbox(rate_limits=DEMO_LIMITS) as sandbox, sandbox.client() as ps:
        yield ps


def run_async(func: Callable[P, Awaitable[int | None]]) -> Callable[P, None]:
    """Run an async command; map SDK errors to messages and exit codes."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        err = Console(stderr=True, soft_wrap=True)
        try:
            code = anyio.run(lambda: func(*args, **kwargs))
        except (AuthenticationError, PermissionDeniedError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
            sys.exit(EXIT_AUTH)
        except InputError as exc:
            err.print(f"[red]invalid input:[/red] {exc}", highlight=False)
            sys.exit(EXIT_INVALID)
        except PleasureStockError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.exit(EXIT_ERROR)
        sys.exit(code or 0)

    return wrapper


def settings_of(ctx: click.Context) -> Settings:
    """The global options of the running command."""
    settings = ctx.find_object(Settings)
    assert settings is not None
    return settings


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


class Reporter:
    """A live bar on a terminal; plain periodic lines (no control characters) otherwise."""

    def __init__(self, console: Console, every: float = 5.0, total: int | None = None) -> None:
        self.console = console
        self.every = every
        self.total = total
        self._started = time.monotonic()
        self._last = 0.0
        self._progress: Progress | None = None
        self._task: Any = None

    @contextmanager
    def running(self) -> Iterator[Reporter]:
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]sales"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[rate]} rec/s  accepted {task.fields[accepted]}"
                    "  failed {task.fields[failed]}  invalid {task.fields[invalid]}"
                ),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._task = self._progress.add_task(
                "push", total=self.total, rate="-", accepted=0, failed=0, invalid=0
            )
            with self._progress:
                yield self
        else:
            yield self

    def __call__(self, p: UploadProgress) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{p.read / elapsed:,.0f}"
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=p.read,
                rate=rate,
                accepted=p.accepted,
                failed=p.failed,
                invalid=p.invalid,
            )
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            eta = ""
            if self.total and p.read:
                eta = f" eta={max(0.0, (self.total - p.read) * elapsed / p.read):.0f}s"
            self.console.print(
                f"progress: read={p.read} accepted={p.accepted} failed={p.failed} "
                f"invalid={p.invalid} rate={rate}/s{eta}",
                highlight=False,
                markup=False,
            )
