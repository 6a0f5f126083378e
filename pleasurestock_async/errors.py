"""Exceptions raised by the SDK.

Every exception derives from :class:`PleasureStockError`. None of them ever holds the API key:
messages are built from the method, the path and the server's own words only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .types.shared import RecordError

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "InputError",
    "InputErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PleasureStockError",
    "RateLimitError",
    "SalesUploadError",
    "WebhookVerificationError",
]

_UNKNOWN_OUTCOME_HINT = (
    " The server may have processed this request, so it was not resent: a resend of a "
    "non-idempotent POST could double-count sales or create duplicate orders. Check the "
    "server's state before sending it again."
)


class PleasureStockError(Exception):
    """Base class of every error raised by pleasurestock-async."""


class ConfigurationError(PleasureStockError, ValueError):
    """The client was configured wrongly (missing key, insecure base URL, bad limits)."""


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
        return f"{where}{self.field}: {self.message} (got {self.value!r})"


class InputError(PleasureStockError, ValueError):
    """Arguments failed client-side validation; nothing was sent to the server."""

    def __init__(self, what: str, errors: Sequence[InputErrorDetail]) -> None:
        self.errors: list[InputErrorDetail] = list(errors)
        shown = "; ".join(f"{what}{e}" if e.index is not None else str(e) for e in errors[:5])
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__(f"invalid {what}: {shown}{more}")


class APIConnectionError(PleasureStockError):
    """The request could not be completed at the transport level.

    ``outcome_unknown`` is true when the request may have reached the server (a read timeout
    after the body was sent); such a non-idempotent request is never resent automatically.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, outcome_unknown: bool = False
    ) -> None:
        self.request = request
        self.outcome_unknown = outcome_unknown
        super().__init__(message + (_UNKNOWN_OUTCOME_HINT if outcome_unknown else ""))


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, waiting for a pooled connection, or reading)."""


class APIStatusError(PleasureStockError):
    """The server answered with a 4xx or 5xx status.

    ``message`` is the server's explanation, ``details`` its list of details (if any),
    ``body`` the parsed JSON body (or the raw text when it was not JSON), ``response`` the
    :class:`httpx.Response`.
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
        self.message = message
        self.details: list[Any] = details or []
        self.body = body
        self.response = response
        self.outcome_unknown = outcome_unknown
        request = response.request
        text = f"{request.method} {request.url.path} -> {response.status_code}: {message}"
        if self.details:
            text += f" (details: {self.details})"
        super().__init__(text + (_UNKNOWN_OUTCOME_HINT if outcome_unknown else ""))


class BadRequestError(APIStatusError):
    """400: the server rejected the request.

    ``errors`` lists the server's per-record validation errors (``index``, ``error``,
    ``expected``, ``received``) and ``processed`` how many records it accepted.
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
                f"[{e.index}] {e.error} (received {e.received!r})" for e in self.errors[:5]
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


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, or None."""

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


class APIResponseValidationError(PleasureStockError):
    """A successful response did not have the documented shape (for example, a proxy's HTML)."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        self.response = response
        request = response.request
        super().__init__(f"{request.method} {request.url.path}: {message}")


class SalesUploadError(PleasureStockError):
    """A sales upload stopped early. ``reason`` says why (``"invalid_record"``,
    ``"authentication"``, ``"journal_mismatch"``); ``result`` tells exactly what was sent and
    acknowledged before it stopped; ``errors`` lists the invalid values, if that was the cause.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        result: Any,
        errors: Sequence[InputErrorDetail] = (),
    ) -> None:
        self.reason = reason
        self.result = result
        self.errors: list[InputErrorDetail] = list(errors)
        super().__init__(message)


class WebhookVerificationError(PleasureStockError):
    """A webhook's signature, timestamp or payload failed verification. The reason says which."""
