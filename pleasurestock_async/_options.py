"""Per-call options (``options={...}`` on every method) and the not-given sentinel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, TypedDict

import httpx

__all__ = ["NOT_GIVEN", "NotGiven", "RequestOptions"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument left out, as distinct from ``None``
    (``ps.copy(timeout=None)`` turns the timeout off; leaving ``timeout`` out keeps it)."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class RequestOptions(TypedDict, total=False):
    """Settings for one call, overriding the client's: ``options={"timeout": 2.0}``.

    - ``timeout``: seconds (or an :class:`httpx.Timeout`) for each phase; ``None`` for none.
    - ``attempt_timeout``: seconds one attempt may take in all, connect to last byte.
    - ``max_retries``: retries allowed for this call.
    - ``max_rate_limit_wait``: the longest this call may wait for a rate-limit slot before
      it raises :class:`~pleasurestock_async.errors.RateLimitWaitError` (``None``: no bound).
    - ``extra_headers`` / ``extra_query``: sent with the request (the auth header cannot be
      replaced this way).
    """

    timeout: float | httpx.Timeout | None
    attempt_timeout: float | None
    max_retries: int
    max_rate_limit_wait: float | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, str | int | float | bool]
