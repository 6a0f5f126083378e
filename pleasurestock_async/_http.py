"""The one request pipeline: rate-limit buckets -> send -> retry decision -> error -> parse."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio
import httpx
import pydantic

from . import errors
from ._ratelimit import BucketName, RateLimiter
from ._retry import RetryPolicy, parse_retry_after
from .types.shared import RecordError

__all__ = ["ApiKey", "HTTPPipeline", "buckets_for"]

log = logging.getLogger("pleasurestock_async")

M = TypeVar("M", bound=pydantic.BaseModel)

_REDACTED = "[redacted]"


class ApiKey:
    """Holds the API key so that no repr, str or log line can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the auth header only."""
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced."""
        return text.replace(self._value, _REDACTED) if self._value else text

    def __repr__(self) -> str:
        return f"ApiKey({_REDACTED})"

    __str__ = __repr__


def buckets_for(path: str) -> tuple[BucketName, ...]:
    """The rate buckets a request to ``path`` spends (the smart bucket first: it is scarcest)."""
    api: BucketName = "external" if path.startswith("/external/") else "standard"
    if path.startswith(("/smart-reordering", "/external/smart-reorder")):
        return ("smart", api)
    return (api,)


def _auth_headers(path: str, key: ApiKey) -> dict[str, str]:
    if path.startswith("/external/"):
        return {"Authorization": f"Bearer {key.reveal()}"}
    return {"X-API-Key": key.reveal()}


def _wire_params(params: Mapping[str, Any] | None) -> dict[str, str | int | float]:
    """Drop unset values; booleans go as ``true``/``false`` as the reference writes them."""
    out: dict[str, str | int | float] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


_STATUS_ERRORS: dict[int, type[errors.APIStatusError]] = {
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
}


def _record_errors(items: list[Any]) -> list[RecordError]:
    """The server's per-record errors; an item not of the documented shape is left out rather
    than hiding the error it came with."""
    found = []
    for item in items:
        try:
            found.append(RecordError.model_validate(item))
        except pydantic.ValidationError:
            continue
    return found


@dataclass(frozen=True, slots=True)
class HTTPPipeline:
    """Sends every request of a client. Immutable: ``with_options`` derives a copy."""

    http: httpx.AsyncClient
    base_url: str
    api_key: ApiKey
    limiter: RateLimiter
    retry: RetryPolicy
    timeout: httpx.Timeout

    def with_options(
        self, *, max_retries: int | None = None, timeout: httpx.Timeout | None = None
    ) -> HTTPPipeline:
        """A copy with another retry budget or timeout, sharing the pool and the buckets."""
        retry = self.retry if max_retries is None else replace(self.retry, max_retries=max_retries)
        return replace(self, retry=retry, timeout=timeout or self.timeout)

    async def request(
        self,
        method: str,
        path: str,
        cast_to: type[M],
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> M:
        """Send one API request, retrying as the policy allows, and parse the typed result.

        ``before_send`` runs after the rate limit admits an attempt, right before the bytes
        leave; an exception from it stops the request unsent.
        """
        response = await self._send_with_retries(
            method, path, params=params, body=body, before_send=before_send
        )
        try:
            return cast_to.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise errors.APIResponseValidationError(
                f"the response did not match {cast_to.__name__}: {self.api_key.scrub(str(exc))}",
                response=response,
            ) from None

    async def _send_with_retries(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        before_send: Callable[[], None] | None,
    ) -> httpx.Response:
        buckets = buckets_for(path)
        headers = _auth_headers(path, self.api_key)
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self.http.build_request(
            method,
            self.base_url + path,
            params=_wire_params(params),
            content=body,
            headers=headers,
            extensions={"timeout": self.timeout.as_dict()},
        )
        retry = self.retry
        attempt = 0
        while True:
            lease = await self.limiter.acquire(buckets)
            try:
                if before_send is not None:
                    before_send()
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                failure: httpx.TransportError | None = exc
            else:
                failure = None
            finally:
                lease.release()
            if failure is not None:
                if attempt < retry.max_retries and retry.retries_exception(method, failure):
                    wait = retry.backoff(attempt)
                    self._log_retry(request, attempt, wait, type(failure).__name__)
                    await anyio.sleep(wait)
                    attempt += 1
                    continue
                raise self._transport_error(request, failure) from failure
            if response.is_success:
                return response
            status = response.status_code
            server_wait = (
                parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
            )
            if attempt < retry.max_retries and retry.retries_status(method, status):
                wait = retry.backoff(attempt) if server_wait is None else server_wait
                if status == 429:
                    self.limiter.pause(buckets, wait)
                self._log_retry(request, attempt, wait, f"HTTP {status}")
                await anyio.sleep(wait)
                attempt += 1
                continue
            if server_wait:
                self.limiter.pause(buckets, server_wait)
            raise self._status_error(response)

    def _log_retry(self, request: httpx.Request, attempt: int, wait: float, reason: str) -> None:
        log.warning(
            "retrying %s %s in %.2fs (retry %d of %d): %s",
            request.method,
            request.url.path,
            wait,
            attempt + 1,
            self.retry.max_retries,
            reason,
        )

    def _transport_error(
        self, request: httpx.Request, exc: httpx.TransportError
    ) -> errors.APIConnectionError:
        unknown = self.retry.outcome_unknown(request.method, exc)
        what = self.api_key.scrub(str(exc)) or type(exc).__name__
        message = f"{request.method} {request.url.path} failed: {type(exc).__name__}: {what}"
        cls = errors.APITimeoutError if isinstance(exc, httpx.TimeoutException) else None
        return (cls or errors.APIConnectionError)(message, request=request, outcome_unknown=unknown)

    def _status_error(self, response: httpx.Response) -> errors.APIStatusError:
        body, message, details = self._error_body(response)
        status = response.status_code
        if status == 400:
            raw_errors = body.get("errors") if isinstance(body, dict) else None
            record_errors = _record_errors(raw_errors if isinstance(raw_errors, list) else [])
            processed = body.get("processed") if isinstance(body, dict) else None
            return errors.BadRequestError(
                message,
                response=response,
                body=body,
                details=details,
                errors=record_errors,
                processed=processed if isinstance(processed, int) else None,
            )
        if status == 429:
            return errors.RateLimitError(
                message,
                response=response,
                body=body,
                details=details,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return errors.InternalServerError(
                message,
                response=response,
                body=body,
                details=details,
                outcome_unknown=self.retry.outcome_unknown(response.request.method, status),
            )
        cls = _STATUS_ERRORS.get(status, errors.APIStatusError)
        return cls(message, response=response, body=body, details=details)

    def _error_body(self, response: httpx.Response) -> tuple[object, str, list[Any]]:
        """The parsed body, the server's message and details, with the key scrubbed."""
        scrub = self.api_key.scrub
        text = response.text
        try:
            body: object = json.loads(text)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            snippet = " ".join(text.split())[:200]
            return scrub(text), scrub(f"non-JSON response ({kind}): {snippet!r}"), []
        if not isinstance(body, dict):
            return body, scrub(f"unexpected error body: {text[:200]!r}"), []
        parts = [str(body[k]) for k in ("error", "message") if isinstance(body.get(k), str)]
        message = ": ".join(dict.fromkeys(parts)) or response.reason_phrase or "error"
        raw_details = body.get("details")
        details = raw_details if isinstance(raw_details, list) else []
        return body, scrub(message), [scrub(d) if isinstance(d, str) else d for d in details]
