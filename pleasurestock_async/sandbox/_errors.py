"""The reference's error format and JSON answers.

Every error is ``{"success": false, "error", "message", "details"}`` with a 4xx or 5xx status,
except a sales batch with invalid records, which gets the reference's own sales format
``{"error": "Validation errors", "errors": [...], "processed": 0}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

from ._json import encode

__all__ = ["ApiError", "bad_request", "error_body", "json_response"]


def error_body(error: str, message: str, details: Sequence[str] = ()) -> dict[str, Any]:
    """The documented error object."""
    return {"success": False, "error": error, "message": message, "details": list(details)}


class ApiError(Exception):
    """Answer the request with ``status`` and an error body (the documented one by default)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Sequence[str] = (),
        *,
        headers: Mapping[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})
        self.body = body if body is not None else error_body(error, message, details)

    def response(self) -> Response:
        """This error as a JSON response."""
        return json_response(self.body, self.status, self.headers)


def bad_request(message: str, details: Sequence[str] = ()) -> ApiError:
    """A 400 for a malformed request."""
    return ApiError(400, "Invalid request", message, details)


def json_response(
    data: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``data`` as an exact JSON response."""
    return Response(
        encode(data), status, headers=dict(headers or {}), media_type="application/json"
    )
