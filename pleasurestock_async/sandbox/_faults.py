"""Failures to inject, for rehearsing what a real network and server do to a client.

Each fault draws from its own random stream, derived from ``Faults.seed`` and the fault's
name, so turning one fault on or off never changes which requests another one hits. No fault
touches the OpenAPI document route.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pleasurestock_async.ratelimit import Clock

__all__ = ["CORRUPT_GZIP", "DripResponse", "FaultStreams", "Faults", "FaultyTransport", "corrupt"]

Stream = Literal[
    "error",
    "error_after_store",
    "drop",
    "drop_after_store",
    "corrupt_success",
    "rate_limit",
    "retry_after",
]

CORRUPT_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff\xff\xff\xff\xff"
"""A gzip header followed by a deflate block of an invalid type: no decoder accepts it."""

_WRITES = frozenset({"POST", "PUT"})


@dataclass(frozen=True, slots=True)
class Faults:
    """Failures the sandbox injects; every rate is a share of requests, from 0 to 1.

    - ``error_rate``: answered 500 before any work.
    - ``error_after_store_rate``: writes (POST, PUT) answered 500 *after* the change was
      stored: the case that makes a blind resend double-count.
    - ``latency``: seconds added before every request is handled.
    - ``drop_rate``: the connection fails before the request reaches the sandbox; the client
      sees ``httpx.ConnectError`` (in-process clients from ``Sandbox.client()`` only).
    - ``drop_after_store_rate``: writes that the sandbox handles in full (storing what is
      valid), whose answer is then lost: the client sees ``httpx.ReadError`` (in-process
      clients only).
    - ``corrupt_success_rate``: a 2xx answer, after the work is done, whose body is declared
      ``Content-Encoding: gzip`` but is not gzip: the client fails to decode it.
    - ``rate_limit_rate``: answered 429 before any work, with a ``Retry-After`` picked from
      ``retry_after_values`` (which may hold hostile values such as ``"inf"``, ``"-5"``,
      ``"abc"``, to test a client's parsing). Counted in ``Sandbox.rate_limited``.
    - ``drip_seconds``: every answer's body is sent one byte at a time, this many seconds
      apart, over HTTP and in-process (for testing a client's total deadline; in-process,
      httpx hands the answer over once its last byte is sent).
    - ``seed``: the seed every fault's random stream derives from.
    """

    error_rate: float = 0.0
    error_after_store_rate: float = 0.0
    latency: float = 0.0
    drop_rate: float = 0.0
    drop_after_store_rate: float = 0.0
    corrupt_success_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_values: tuple[str, ...] = ("1",)
    drip_seconds: float = 0.0
    seed: int = 7

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not (0.0 <= value <= 1.0):
                raise ValueError(f"{f.name} must be between 0 and 1, got {value!r}")
        for name in ("latency", "drip_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 60.0):
                raise ValueError(f"{name} must be between 0 and 60 seconds, got {value!r}")
        if not self.retry_after_values or not all(
            isinstance(v, str) and len(v) <= 100 and v.isascii() and v.isprintable()
            for v in self.retry_after_values
        ):
            raise ValueError("retry_after_values must be printable ASCII header values")


class FaultStreams:
    """The independent random streams of one sandbox's faults."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rngs: dict[Stream, random.Random] = {}

    def _rng(self, stream: Stream) -> random.Random:
        rng = self._rngs.get(stream)
        if rng is None:
            rng = self._rngs[stream] = random.Random(f"{self.faults.seed}/{stream}")
        return rng

    def hit(self, stream: Stream, rate: float) -> bool:
        """Whether this request is one of the ``rate`` share that the fault hits."""
        return rate > 0 and self._rng(stream).random() < rate

    def retry_after(self) -> str:
        """The ``Retry-After`` of an injected 429."""
        return self._rng("retry_after").choice(self.faults.retry_after_values)


def corrupt(response: Response) -> Response:
    """The same status and headers, with a body that claims gzip and is not."""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-encoding")
    }
    headers["Content-Encoding"] = "gzip"
    return Response(CORRUPT_GZIP, response.status_code, headers=headers)


class DripResponse(Response):
    """Sends another response's body one byte every ``seconds`` (on ``clock``)."""

    def __init__(self, inner: Response, seconds: float, clock: Clock) -> None:
        super().__init__(bytes(inner.body), inner.status_code)
        self.raw_headers = list(inner.raw_headers)
        self.seconds = seconds
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        body = bytes(self.body)
        for n in range(len(body)):
            await send({"type": "http.response.body", "body": body[n : n + 1], "more_body": True})
            await self.clock.sleep(self.seconds)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class FaultyTransport(httpx.AsyncBaseTransport):
    """An in-process transport that loses connections (``drop_rate``) and answers
    (``drop_after_store_rate``) as a network would; requests to paths ``exempt`` accepts
    pass."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        streams: FaultStreams,
        exempt: Callable[[str], bool],
    ) -> None:
        self._inner = inner
        self._streams = streams
        self._exempt = exempt

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        faults = self._streams.faults
        if self._exempt(request.url.path):
            return await self._inner.handle_async_request(request)
        if self._streams.hit("drop", faults.drop_rate):
            raise httpx.ConnectError("sandbox: injected dropped connection", request=request)
        response = await self._inner.handle_async_request(request)
        if request.method in _WRITES and self._streams.hit(
            "drop_after_store", faults.drop_after_store_rate
        ):
            await response.aclose()
            raise httpx.ReadError(
                "sandbox: injected connection lost after storing", request=request
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
