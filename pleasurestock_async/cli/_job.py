"""Running a sales job (a push of one file, a sync) from the command line, the part both
share: a client for the chosen target, the estimate said before sending, the progress display,
the result (also when the job stopped: its error carries it), the files' notices, and the exit
code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .._client import AsyncPleasureStock
from ..errors import SalesJobError
from ..ratelimit import BucketStatus
from ..sales_files import SalesFiles
from ..types.uploads import SalesJobResult
from ._common import EXIT_AUTH, EXIT_ERROR, EXIT_INVALID, EXIT_PARTIAL, Settings, say
from ._progress import Reporter

__all__ = ["Ran", "exit_code", "run_job", "stopped_exit_code"]

R = TypeVar("R", bound=SalesJobResult)


@dataclass(frozen=True, slots=True)
class Ran(Generic[R]):
    """How a job ended: its result, the error that stopped it early (None: it ran to its end)
    and the standard API's rate-limit windows when it began (for estimates)."""

    result: R
    error: SalesJobError[R] | None
    status: BucketStatus | None


async def run_job(
    settings: Settings,
    source: SalesFiles,
    reporter: Reporter,
    job: Callable[[AsyncPleasureStock], Awaitable[R]],
    *,
    stopped: type[SalesJobError[R]],
    estimate: Callable[[BucketStatus | None], str | None],
) -> Ran[R]:
    """Run ``job`` on a client of ``settings``, reading ``source``, shown by ``reporter``:
    first the line ``estimate`` makes of the rate limits (None: none); an error of type
    ``stopped`` ends the job with the result it carries."""
    error: SalesJobError[R] | None = None
    async with settings.client() as ps:
        status = (await ps.rate_limiter.status()).get("standard")
        line = estimate(status)
        if line is not None:
            say(settings.err, line)
        async with reporter.running(ps.rate_limiter):
            try:
                result = await job(ps)
            except stopped as exc:
                error, result = exc, exc.result
            reporter.extra_invalid = len(source.skipped)
            reporter.finish(result.read)
        for notice in source.notices:
            say(settings.err, notice)
    return Ran(result, error, status)


def stopped_exit_code(reason: str, interrupted: int) -> int:
    """The exit code of an upload or sync that stopped for ``reason`` (``interrupted``: the
    code of the signal that stopped it)."""
    if reason == "interrupted":
        return interrupted
    if reason == "authentication":
        return EXIT_AUTH
    if reason in ("invalid_record", "input_error"):
        return EXIT_INVALID
    return EXIT_ERROR


def exit_code(
    error: SalesJobError[R] | None, interrupted: int, *, partial: bool, invalid: bool
) -> int:
    """A job's exit code: its stop's (see :func:`stopped_exit_code`), else 4 when something is
    ``partial`` (in doubt or not stored), else 3 for ``invalid`` input or refused records."""
    if error is not None:
        return stopped_exit_code(error.reason, interrupted)
    if partial:
        return EXIT_PARTIAL
    return EXIT_INVALID if invalid else 0
