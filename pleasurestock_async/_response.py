"""Raw responses: ``ps.with_raw_response.<resource>.<method>(...)`` gives the HTTP answer
(status, headers, elapsed time) beside the parsed result."""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Generic, ParamSpec, TypeVar

import httpx

__all__ = ["APIResponse", "RawCapture", "raw_response_wrapper"]

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class RawCapture:
    """The last answer of a call: the response (auth headers redacted), the time it took,
    and how many retries it needed."""

    response: httpx.Response
    elapsed: dt.timedelta
    retries_taken: int


_CAPTURE: contextvars.ContextVar[list[RawCapture] | None] = contextvars.ContextVar(
    "pleasurestock_raw_capture", default=None
)


def capturing() -> bool:
    """Whether the running call was made through ``with_raw_response``."""
    return _CAPTURE.get() is not None


def capture(record: RawCapture) -> None:
    """Keep the answer of the running call for its raw response (when one is wanted)."""
    found = _CAPTURE.get()
    if found is not None:
        found.append(record)


class APIResponse(Generic[T]):
    """One call's HTTP answer and its parsed result.

    ``status_code``, ``headers`` (those of the answer), ``elapsed`` (the last attempt, from
    sending to the last byte), ``retries_taken``, ``http_response`` (auth headers redacted),
    and :meth:`parse` for the typed result.
    """

    def __init__(self, capture: RawCapture, parsed: T) -> None:
        self.http_response: httpx.Response = capture.response
        self.elapsed: dt.timedelta = capture.elapsed
        self.retries_taken: int = capture.retries_taken
        self._parsed = parsed

    @property
    def status_code(self) -> int:
        """The HTTP status of the answer."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the answer."""
        return self.http_response.headers

    @property
    def content(self) -> bytes:
        """The body of the answer, decoded."""
        return self.http_response.content

    def parse(self) -> T:
        """The typed result, as the plain method returns it."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] {self.http_response.request.url.path}>"


def raw_response_wrapper(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[APIResponse[T]]]:
    """``method`` returning an :class:`APIResponse` around its usual result."""

    @wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        found: list[RawCapture] = []
        token = _CAPTURE.set(found)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            _CAPTURE.reset(token)
        return APIResponse(found[-1], parsed)

    return wrapped
