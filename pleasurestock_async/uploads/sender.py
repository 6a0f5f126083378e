"""Send one batch of sales and say exactly what the server now has of it.

One classification for every answer: ``stored`` (a 2xx whose ``processed`` equals the rows
sent), ``rejected`` (a 400 that stored nothing; its per-record errors name the rows),
``not_stored`` (never sent, or refused before any work: 429, 404, 413), ``unknown`` (sent, and
the answer lost, failed after sending, or does not add up), ``auth`` (401/403: stop).

A rejected batch is healed once: sent again without the rows the server named, so one unknown
product id costs one row, not a thousand. If the second answer rejects again, it is reported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._http import AttemptHooks
from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    PleasureStockError,
    RateLimitWaitError,
)
from ..types.sales import SaleRow, SalesSubmitResult
from ..types.shared import RecordError
from .codec import encode_sales

__all__ = ["BatchHooks", "Outcome", "SendBatch", "Sender", "StopSendingError"]

OutcomeKind = Literal["stored", "rejected", "not_stored", "unknown", "auth"]
SendBatch = Callable[[bytes, AttemptHooks], Awaitable[SalesSubmitResult]]


class StopSendingError(Exception):
    """Raised by a hook before an attempt leaves, once the run is stopping: it stays unsent."""


class BatchHooks:
    """Told which rows (indices into the batch) each attempt carries. Defaults do nothing.
    Both are awaited, so a record of them can be written off the event loop."""

    async def before_send(self, rows: Sequence[int]) -> None:
        """The attempt's bytes leave next, once this returns; raising here keeps it unsent."""

    async def not_stored(self, rows: Sequence[int]) -> None:
        """The attempt certainly stored nothing (another may follow)."""


@dataclass(slots=True)
class Outcome:
    """What the server has of one batch. Row numbers are indices into the batch's rows."""

    kind: OutcomeKind
    stored: list[int] = field(default_factory=list)
    refused: list[tuple[int, RecordError]] = field(default_factory=list)
    error: PleasureStockError | None = None
    processed: int = 0
    requests: int = 0
    body: bytes = b""

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the answer that decided, if there was one."""
        return self.error.status_code if isinstance(self.error, APIStatusError) else None


class _Attempt(AttemptHooks):
    def __init__(self, hooks: BatchHooks, rows: list[int], outcome: Outcome) -> None:
        self._hooks = hooks
        self._rows = rows
        self._outcome = outcome
        self.left = False  # whether the latest attempt's bytes may have reached the server

    async def before_send(self) -> None:
        await self._hooks.before_send(self._rows)
        self._outcome.requests += 1
        self.left = True

    async def not_stored(self) -> None:
        await self._hooks.not_stored(self._rows)
        self.left = False


class Sender:
    """Sends batches through ``send`` (the ``POST /sales`` pipeline call)."""

    def __init__(self, send: SendBatch, *, heal: bool = True) -> None:
        self._send = send
        self.heal = heal

    async def send(self, rows: list[SaleRow], hooks: BatchHooks) -> Outcome:
        """Send ``rows`` (healing a rejection once); never raises for an API failure."""
        every = list(range(len(rows)))
        first = await self._once(rows, every, hooks)
        named = {i for i, _ in first.refused}
        if not (self.heal and first.kind == "rejected" and named):
            return first
        rest = [i for i in every if i not in named]
        if not rest:
            return first
        second = await self._once([rows[i] for i in rest], rest, hooks)
        second.requests += first.requests
        second.refused = first.refused + second.refused
        return second

    async def _once(self, rows: list[SaleRow], index: list[int], hooks: BatchHooks) -> Outcome:
        outcome = await self._attempt(rows, index, hooks)
        if outcome.error is not None:
            # Only its message and status are used. Its traceback holds the attempt's frame,
            # which holds the outcome: a cycle that would keep the batch's rows alive until
            # the garbage collector ran (25 MB more at 1M records all failing).
            outcome.error.__traceback__ = None
        return outcome

    async def _attempt(self, rows: list[SaleRow], index: list[int], hooks: BatchHooks) -> Outcome:
        body = encode_sales(rows)
        outcome = Outcome("unknown", body=body)
        attempt = _Attempt(hooks, index, outcome)
        try:
            answer = await self._send(body, attempt)
        except (AuthenticationError, PermissionDeniedError) as exc:
            outcome.kind, outcome.error = "auth", exc
        except BadRequestError as exc:
            outcome.error = exc
            if exc.processed:  # part of it stored: which part, the answer does not say
                outcome.kind = "unknown"
                return outcome
            outcome.kind = "rejected"
            if exc.processed == 0 and all(0 <= e.index < len(rows) for e in exc.errors):
                named: dict[int, RecordError] = {}
                for e in exc.errors:  # a record named twice is refused once
                    named.setdefault(index[e.index], e)
                outcome.refused = list(named.items())
        except (APIStatusError, APIConnectionError, APIResponseValidationError) as exc:
            outcome.error = exc
            outcome.kind = "unknown" if exc.outcome_unknown else "not_stored"
        except RateLimitWaitError as exc:
            outcome.kind, outcome.error = "not_stored", exc
        except StopSendingError:
            raise
        except Exception as exc:  # anything else: what the server has follows from whether it left
            outcome.error = PleasureStockError(f"sending failed: {type(exc).__name__}: {exc}")
            outcome.kind = "unknown" if attempt.left else "not_stored"
        else:
            processed = answer.processed
            if answer.success is True and type(processed) is int and processed == len(rows):
                outcome.kind, outcome.stored, outcome.processed = "stored", index, processed
            else:
                outcome.error = PleasureStockError(
                    f"the server answered success={answer.success!r}, processed="
                    f"{processed!r} for {len(rows)} rows: it may have stored some of them"
                )
        if outcome.kind in ("rejected", "not_stored", "auth"):
            await hooks.not_stored(index)  # the answer proves nothing of this attempt was stored
        return outcome
