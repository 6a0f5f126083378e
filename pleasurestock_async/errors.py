"""Exceptions raised by the SDK, and the one function that maps an error status to its class.

Every exception derives from :class:`PleasureStockError`; every failure of a request to the API
derives from :class:`APIError`. None of them ever holds the API key: messages, bodies, headers
and per-record errors are scrubbed before an error is built, and the request and response an
error carries are copies with the auth headers redacted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import httpx

if TYPE_CHECKING:
    from .types.shared import RecordError
    from .types.uploads import (
        SalesJobResult,
        SalesSyncResult,  # noqa: F401  (a quoted type argument below)
        SalesUploadResult,  # noqa: F401
        StateDestination,
    )

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "EventLoopMismatchError",
    "InputError",
    "InputErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PleasureStockError",
    "RateLimitError",
    "RateLimitWaitError",
    "RateLimiterUnavailableError",
    "RequestTooLargeError",
    "SalesJobError",
    "SalesSyncError",
    "SalesUploadError",
    "StateDestinationError",
    "StateFileError",
    "StateLockedError",
    "UploadStopReason",
    "WebhookVerificationError",
    "make_status_error",
]

_UNKNOWN_OUTCOME_HINT = (
    " The server may have processed this request, so it was not resent: a resend of a "
    "non-idempotent POST could double-count sales or create duplicate orders. Check the "
    "server's state before sending it again."
)

ResultT = TypeVar("ResultT", bound="SalesJobResult")
"""The result type of a sales job: :class:`SalesUploadResult` or :class:`SalesSyncResult`."""

_MAX_SHOWN_VALUE = 80
"""Characters of a bad value shown in a message; the whole value stays on the error."""

_MAX_SHOWN_BITS = 256
"""Ints longer than this are described by their size: ``repr`` of one with more than 4,300
digits raises, and a long one is unreadable anyway."""


def shorten(value: Any) -> str:
    """``repr(value)``, cut to a readable length (a 10 MB value must not flood a log). Never
    raises: an int too long to print, or an object whose ``repr`` fails, is described instead."""
    if type(value) is int and value.bit_length() > _MAX_SHOWN_BITS:
        digits = int(value.bit_length() * 0.30103) + 1  # log10(2): no str() of a huge int
        return f"<an int of about {digits:,} digits>"
    try:
        text = repr(value)
    except Exception:  # a hostile or broken __repr__ must not replace the error being built
        return f"<a {type(value).__name__} that cannot be shown>"
    if not isinstance(text, str):  # pragma: no cover - repr() itself refuses a non-str
        return f"<a {type(value).__name__} that cannot be shown>"
    if len(text) <= _MAX_SHOWN_VALUE:
        return text
    return f"{text[: _MAX_SHOWN_VALUE - 20]}...({len(text):,} chars)"


class PleasureStockError(Exception):
    """Base class of every error raised by pleasurestock-async."""


class ConfigurationError(PleasureStockError, ValueError):
    """The client was configured wrongly (missing key, insecure base URL, bad limits)."""


class ClientClosedError(PleasureStockError, RuntimeError):
    """The client was used after ``aclose()`` (or after its ``async with`` block ended)."""


class EventLoopMismatchError(PleasureStockError, RuntimeError):
    """The client was used from another event loop than the one it first ran in.

    Its connections and rate-limit state belong to that loop: create one client per event
    loop (per thread that runs one).
    """


@dataclass(frozen=True, slots=True)
class InputErrorDetail:
    """One invalid value found before anything was sent.

    ``index`` is the record's position in the caller's input (``None`` for a scalar argument),
    ``field`` the offending field's name, ``message`` what is wrong, ``value`` what was given.
    """

    index: int | None
    field: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        where = f"[{self.index}]." if self.index is not None else ""
        return f"{where}{self.field}: {self.message} (got {shorten(self.value)})"


class InputError(PleasureStockError, ValueError):
    """Arguments failed client-side validation; nothing was sent to the server."""

    def __init__(self, what: str, errors: Sequence[InputErrorDetail]) -> None:
        self.errors: list[InputErrorDetail] = list(errors)
        shown = "; ".join(f"{what}{e}" if e.index is not None else str(e) for e in errors[:5])
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__(f"invalid {what}: {shown}{more}")

    @classmethod
    def single(cls, field: str, message: str, value: Any = None) -> InputError:
        """An error about one argument."""
        return cls(field, [InputErrorDetail(None, field, message, value)])


class RateLimitWaitError(PleasureStockError):
    """The next rate-limit slot is further away than the call may wait (``max_rate_limit_wait``).

    Nothing was sent. ``bucket`` and ``window`` name what is full, ``wait`` is how many
    seconds until it frees (``free_at`` as a Unix time), ``max_wait`` the allowed wait.
    """

    def __init__(
        self, *, bucket: str, window: str, wait: float, free_at: float, max_wait: float
    ) -> None:
        self.bucket = bucket
        self.window = window
        self.wait = wait
        self.free_at = free_at
        self.max_wait = max_wait
        super().__init__(
            f"the {bucket} rate limit ({window}) frees a slot in {wait:.1f} s, longer than "
            f"max_rate_limit_wait={max_wait:g} s; nothing was sent"
        )


class StateLockedError(PleasureStockError):
    """Another run holds the journal or sync state file; running both could double-count."""


class StateFileError(InputError):
    """A sync state or push journal cannot be used as one: it is missing its directory, empty,
    damaged, of another kind or a newer version, linked under two names, or not writable.

    ``path`` names the file and ``problem`` says what is wrong with it. Nothing was sent and
    the file was left as it was.
    """

    def __init__(
        self, path: str, problem: str, *, what: str = "sync state", field: str = "state"
    ) -> None:
        self.path = path
        self.problem = problem
        super().__init__(what, [InputErrorDetail(None, field, f"{path} {problem}", path)])
        self.args = (f"the {what} {path} {problem}",)

    def __str__(self) -> str:
        return str(self.args[0])


class StateDestinationError(PleasureStockError):
    """A sync state is bound to another destination (API base URL and key) than the client's.

    A state records what one account on one server holds; used against another, it would skip
    everything that server never received. ``bound`` is the state's destination, ``current``
    the client's (a URL and a short fingerprint of the key's hash, never the key). Nothing was
    sent. Move a state on purpose with ``ps.sales.rebind_state`` (``pleasurestock sales state
    rebind``) when the new destination holds the same data (a new key or address of the same
    account); otherwise start a new state file.
    """

    def __init__(self, state: str, *, bound: StateDestination, current: StateDestination) -> None:
        self.state = state
        self.bound = bound
        self.current = current
        super().__init__(
            f"the sync state {state} is bound to {bound.base_url} (key {bound.fingerprint}), "
            f"not to {current.base_url} (key {current.fingerprint}): what it records is on the "
            "first, so this run would skip everything the second never received; nothing was "
            "sent. For another account or server, use a new state file; if both are the same "
            "account (a new key or address), move the state on purpose: pleasurestock sales "
            "state rebind --state STATE"
        )


class APIError(PleasureStockError):
    """A request to the API failed. ``request`` is the request (auth headers redacted)."""

    outcome_unknown: bool = False
    """True when the server may have processed the request although no answer said so (a
    non-idempotent request is then never resent automatically); False when the failure shows
    it did not, or the request was idempotent."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        self.message = message
        self.request = request
        super().__init__(message)


class APIConnectionError(APIError):
    """The request could not be completed at the transport level.

    ``outcome_unknown`` is true when the request may have reached the server (a read timeout
    after the body was sent); such a non-idempotent request is never resent automatically.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, outcome_unknown: bool = False
    ) -> None:
        self.outcome_unknown = outcome_unknown
        super().__init__(
            message + (_UNKNOWN_OUTCOME_HINT if outcome_unknown else ""), request=request
        )
        self.message = message


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, waiting for a connection, reading, or its total
    per-attempt deadline)."""


class RateLimiterUnavailableError(APIConnectionError):
    """The shared rate limiter's store (Redis) could not be reached or did not answer in time.

    Nothing was sent to the API. ``where`` names the store (host, port and database, never
    a password). Raised only when the limiter was built with ``on_unavailable="raise"``.
    """

    def __init__(self, message: str, *, where: str) -> None:
        self.where = where
        super().__init__(message)


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    ``message`` is the server's explanation, ``details`` its list of details (if any),
    ``body`` the parsed JSON body (or the text when it was not JSON), ``response`` the
    :class:`httpx.Response` (a copy: auth headers redacted, body decoded).
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        details: list[Any] | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        self.status_code = response.status_code
        self.details: list[Any] = details or []
        self.body = body
        self.response = response
        self.outcome_unknown = outcome_unknown
        request = response.request
        text = f"{request.method} {request.url.path} -> {response.status_code}: {message}"
        if self.details:
            text += f" (details: {self.details})"
        super().__init__(text + (_UNKNOWN_OUTCOME_HINT if outcome_unknown else ""), request=request)
        self.message = message


class BadRequestError(APIStatusError):
    """400: the server rejected the request.

    ``errors`` lists the server's per-record validation errors (``index``, ``error``,
    ``expected``, ``received``) and ``processed`` how many records it accepted (None when
    the body did not say).
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        details: list[Any] | None = None,
        errors: list[RecordError] | None = None,
        processed: int | None = None,
    ) -> None:
        self.errors: list[RecordError] = errors or []
        self.processed = processed
        if self.errors:
            shown = "; ".join(
                f"[{e.index}] {e.error} (received {shorten(e.received)})" for e in self.errors[:5]
            )
            more = f"; and {len(self.errors) - 5} more" if len(self.errors) > 5 else ""
            message = f"{message}: {shown}{more}"
        super().__init__(message, response=response, body=body, details=details)


class AuthenticationError(APIStatusError):
    """401: the API key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: the key's user lacks the permission (for example, not a manager role)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is larger than the server accepts."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds (capped, see
    ``max_retry_after``), or None when it gave none."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, response=response, body=body, details=details)


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIResponseValidationError(APIError):
    """A successful response could not be read: not the documented shape (with
    ``strict_response_validation``), not JSON, corrupt, or larger than ``max_response_bytes``.

    ``outcome_unknown`` is true for a non-idempotent request: the server answered 2xx, so it
    most likely processed it, but the answer does not say how.
    """

    def __init__(
        self, message: str, *, response: httpx.Response, outcome_unknown: bool = False
    ) -> None:
        self.response = response
        self.outcome_unknown = outcome_unknown
        request = response.request
        super().__init__(
            f"{request.method} {request.url.path}: {message}"
            + (_UNKNOWN_OUTCOME_HINT if outcome_unknown else ""),
            request=request,
        )
        self.message = message


class PaginationError(APIError):
    """A listing did not advance (the server repeated a page, or went on past the pages it
    announced); walking it further would never end."""


UploadStopReason = Literal[
    "invalid_record",
    "input_error",
    "progress_error",
    "authentication",
    "journal_mismatch",
    "interrupted",
    "unexpected_error",
]
"""Why an upload or sync stopped early:

- ``invalid_record``: with ``on_invalid="raise"``, a record failed validation;
- ``input_error``: reading the input failed (a broken file, an iterator that raised);
- ``progress_error``: the ``progress`` callback raised;
- ``authentication``: the server refused the key (401/403): nothing more was sent;
- ``journal_mismatch``: the journal holds a different input under this job;
- ``interrupted``: cancelled (Ctrl-C, a signal, a task group); batches in flight were waited
  for (bounded) and recorded;
- ``unexpected_error``: something outside the API failed while a batch was handled (the
  journal or state could not be written, a disk full): the run stopped; its cause is chained.
"""


class SalesJobError(PleasureStockError, Generic[ResultT]):
    """A sales upload or sync stopped early: catch this for either. ``reason`` says why (see
    :data:`UploadStopReason`); ``result`` tells exactly what was sent and acknowledged before
    it stopped (all of it recorded in the journal or state, when there is one); ``errors``
    lists the invalid values, if that was the cause."""

    def __init__(
        self,
        message: str,
        *,
        reason: UploadStopReason,
        result: ResultT,
        errors: Sequence[InputErrorDetail] = (),
    ) -> None:
        self.reason: UploadStopReason = reason
        self.result: ResultT = result
        self.errors: list[InputErrorDetail] = list(errors)
        super().__init__(message)


class SalesUploadError(SalesJobError["SalesUploadResult"]):
    """A sales upload stopped early; ``result`` is its :class:`SalesUploadResult`."""


class SalesSyncError(SalesJobError["SalesSyncResult"]):
    """A sales sync stopped early; ``result`` is its :class:`SalesSyncResult`."""


class WebhookVerificationError(PleasureStockError):
    """A webhook's signature, timestamp or payload failed verification. The reason says which."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: RequestTooLargeError,
}


def _error_fields(
    response: httpx.Response, scrub: Callable[[Any], Any]
) -> tuple[object, str, list[Any]]:
    """The body (parsed JSON, else text), the server's message and its details, scrubbed."""
    text = response.text
    try:
        body: object = json.loads(text)
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        snippet = " ".join(text.split())[:200]
        return scrub(text), scrub(f"non-JSON response ({kind}): {snippet!r}"), []
    body = scrub(body)
    if not isinstance(body, dict):
        return body, f"unexpected error body: {shorten(body)}", []
    parts = [body[k] for k in ("error", "message") if isinstance(body.get(k), str)]
    message = ": ".join(dict.fromkeys(parts)) or response.reason_phrase or "error"
    raw_details = body.get("details")
    if isinstance(raw_details, list):
        details = raw_details
    elif raw_details is None:
        details = []
    else:
        details = [raw_details]
    return body, message, details


def make_status_error(
    response: httpx.Response,
    *,
    scrub: Callable[[Any], Any],
    outcome_unknown: bool,
    retry_after: float | None,
) -> APIStatusError:
    """The error for a 4xx/5xx ``response`` (already redacted): its class by status, the
    server's message, details and per-record errors, with ``scrub`` applied to everything
    taken from the body."""
    from .types.shared import RecordError

    body, message, details = _error_fields(response, scrub)
    status = response.status_code
    if status == 400:
        raw = body.get("errors") if isinstance(body, dict) else None
        record_errors: list[RecordError] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                record_errors.append(RecordError.model_validate(item))
            except ValueError:
                continue  # one malformed item must not hide the error it came with
        processed = body.get("processed") if isinstance(body, dict) else None
        return BadRequestError(
            message,
            response=response,
            body=body,
            details=details,
            errors=record_errors,
            processed=processed if type(processed) is int else None,
        )
    if status == 429:
        return RateLimitError(
            message, response=response, body=body, details=details, retry_after=retry_after
        )
    if status >= 500:
        return InternalServerError(
            message, response=response, body=body, details=details, outcome_unknown=outcome_unknown
        )
    cls = _STATUS_CLASSES.get(status, APIStatusError)
    return cls(
        message, response=response, body=body, details=details, outcome_unknown=outcome_unknown
    )
