"""The one request pipeline: rate-limit slot -> connection -> send -> retry decision -> error
or parse.

Every resource method names its :class:`Endpoint` (route, API and rate buckets); the pipeline
never guesses them from the path. Retries wrap acquire + send, so a retry spends budget like
any request. Each attempt is bounded in time as a whole (not only per read) and in size, and
every wait of a call (its rate-limit slot, a connection, each attempt, backoff and server
pauses) counts against one deadline: ``timeout`` (given as a number) plus
``max_rate_limit_wait`` after the call began.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, NoReturn, TypeVar
from urllib.parse import quote

import anyio
import httpx
import pydantic

from . import errors
from ._apikey import REDACTED, ApiKey
from ._body import ACCEPT_ENCODING, BodyReader, TooLargeError
from ._options import RequestOptions
from ._parse import read_model
from ._response import RawCapture, capture, capturing
from ._retry import RetryPolicy, is_idempotent, never_sent, parse_retry_after
from ._settings import (
    CallSettings,
    ClientSettings,
    Deadline,
    call_defaults,
    plus,
    resolve_call,
)
from .ratelimit import BucketName, Clock, Lease, RateLimiter
from .ratelimit._clock import within

__all__ = [
    "AttemptHooks",
    "Endpoint",
    "HTTPPipeline",
    "Lifecycle",
    "external",
    "standard",
]

log = logging.getLogger("pleasurestock_async")

M = TypeVar("M", bound=pydantic.BaseModel)

HOLD_MARGIN = 5.0
"""Seconds past an attempt's deadline that its rate-limit slot is still held."""

_AUTH_HEADERS = frozenset({"x-api-key", "authorization"})
_DROPPED_ON_COPY = frozenset({"content-encoding", "content-length", "transfer-encoding"})

Api = Literal["standard", "external"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route of the API: its method, path template, API (which auth scheme), the rate
    buckets it spends (its API's, and the smart-reordering bucket for ``smart`` routes), and
    the names it sends: ``query`` parameters and ``body`` fields (``"items[].ps_id"`` for a
    field of a list's objects). A test checks all of it against the OpenAPI document."""

    method: Literal["GET", "POST", "PUT"]
    path: str
    api: Api
    smart: bool = False
    query: frozenset[str] = frozenset()
    body: frozenset[str] = frozenset()
    buckets: tuple[BucketName, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", ("smart", self.api) if self.smart else (self.api,))

    @property
    def idempotent(self) -> bool:
        """Whether sending it twice is harmless (GET, PUT)."""
        return is_idempotent(self.method)

    def render(self, **params: str) -> str:
        """The path with ``{name}`` placeholders filled in, each value percent-encoded."""
        return self.path.format(**{k: quote(v, safe="") for k, v in params.items()})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def standard(
    method: Literal["GET", "POST", "PUT"],
    path: str,
    *,
    smart: bool = False,
    query: Iterable[str] = (),
    body: Iterable[str] = (),
) -> Endpoint:
    """A route of the standard API (``X-API-Key``)."""
    return Endpoint(method, path, "standard", smart, frozenset(query), frozenset(body))


def external(
    method: Literal["GET", "POST", "PUT"],
    path: str,
    *,
    smart: bool = False,
    query: Iterable[str] = (),
    body: Iterable[str] = (),
) -> Endpoint:
    """A route of the external B2B API (``Authorization: Bearer``)."""
    return Endpoint(method, path, "external", smart, frozenset(query), frozenset(body))


MAX_CONNECTIONS = 20
"""Requests in the connection pool at once (the external API's 20 a second need no more). More
tasks wait in a FIFO queue of ours: the pool's own bookkeeping costs time per request in
proportion to its connections and to the requests queued in it (1,000 tasks on a pool of 100
cost 15 ms of CPU a request; on 20 behind this queue, 2.5 ms including the server)."""


class Lifecycle:
    """What a client and its copies share besides the pool: whether they are closed, which
    event loop they run in, and the queue in front of the pool."""

    __slots__ = ("_loop", "closed", "gate")

    def __init__(self) -> None:
        self.closed: bool = False
        self._loop: object = None
        self.gate: anyio.Semaphore = anyio.Semaphore(MAX_CONNECTIONS)

    def check(self) -> None:
        """Raise if the client is closed or runs in another event loop than before."""
        if self.closed:
            raise errors.ClientClosedError(
                "the client is closed (its async with block ended, or aclose() was called); "
                "create a new AsyncPleasureStock"
            )
        loop = _current_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise errors.EventLoopMismatchError(
                "this client was first used in another event loop: its connections and rate "
                "limits belong to that loop. Create one AsyncPleasureStock per event loop."
            )


def _current_loop() -> object:
    # a running loop means its library is imported: looking it up imports nothing
    asyncio: Any = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
    trio: Any = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        return trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None


class AttemptHooks:
    """Told about each attempt of a request, for callers that record what the server may
    have (the sales journal and sync state). Awaited, so records can be written off the event
    loop. The defaults do nothing."""

    async def before_send(self) -> None:
        """The rate limit admitted an attempt; its bytes leave once this returns. Raising
        here stops the request unsent."""

    async def not_stored(self) -> None:
        """An attempt certainly did not reach the server's storage (never sent, or answered
        429); another attempt may follow."""


_NO_HOOKS = AttemptHooks()

_NOT_RETRIED = (
    "not retried: the call's deadline (timeout + max_rate_limit_wait) left too little time"
)


class _DeadlineError(Exception):
    def __init__(self, seconds: float, by_call: bool) -> None:
        super().__init__(
            f"the call's deadline (timeout + max_rate_limit_wait) passed during the attempt, "
            f"{seconds:g} s after it was sent"
            if by_call
            else f"the attempt took longer than attempt_timeout={seconds:g} s"
        )


class _NotStartedError(httpx.PoolTimeout):
    """The call's deadline passed while it waited for its slot or a connection: the request
    never left (so it is never "unknown", even for a POST)."""


@dataclass(slots=True)
class _Answer:
    response: httpx.Response
    content: bytes
    elapsed: float
    retries: int


@dataclass(slots=True)
class _Attempt:
    """What one attempt gave: an answer (its body scrubbed), a failure, or both (an answer
    whose body could not be read)."""

    response: httpx.Response | None = None
    content: bytes = b""
    failure: Exception | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class _Sending:
    """One call on its way: its route, the request built once, its settings, its deadline
    and the hooks told about each attempt."""

    endpoint: Endpoint
    request: httpx.Request
    call: CallSettings
    deadline: Deadline
    hooks: AttemptHooks


@dataclass(slots=True)
class _Step:
    """What follows an attempt: its ``answer``, an ``error`` to raise (from ``cause``), or
    another attempt after ``wait`` seconds of backoff (``reason`` logged; none after a 429,
    whose pause the limiter keeps)."""

    answer: _Answer | None = None
    error: errors.APIError | None = None
    cause: Exception | None = None
    wait: float = 0.0
    reason: str | None = None


def _raise(step: _Step) -> NoReturn:
    """Raise the step's error. The traceback holds the frames it passes: none of them may
    hold the error or its cause in turn (a cycle that keeps the request and its body until
    the collector runs)."""
    error, cause = step.error, step.cause
    step.error = step.cause = None
    assert error is not None
    try:
        raise error from cause
    finally:
        del error, cause


def _fields(request: httpx.Request, **more: object) -> dict[str, object]:
    """The structured fields of a log record about ``request`` (``extra=``): its method and
    path (never its headers or query: no key)."""
    return {"method": request.method, "path": request.url.path, **more}


class HTTPPipeline:
    """Sends every request of a client and its copies."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: ApiKey,
        limiter: RateLimiter,
        settings: ClientSettings,
        lifecycle: Lifecycle,
        default_headers: Mapping[str, str],
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.api_key = api_key
        self.limiter = limiter
        self.settings = settings
        self.lifecycle = lifecycle
        self.default_headers: dict[str, str] = dict(default_headers)
        # Deadlines run on the limiter's clock: a simulated one moves them in tests too.
        self.clock: Clock = limiter.clock
        self._defaults = call_defaults(settings)  # a call without options

    # -- the public way in ----------------------------------------------------------------------

    async def request(
        self,
        endpoint: Endpoint,
        cast_to: type[M],
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        options: RequestOptions | None = None,
        hooks: AttemptHooks | None = None,
    ) -> M:
        """Send one API request, retrying as the policy allows, and parse the typed result."""
        answer = await self._send(endpoint, path_params, params, body, options, hooks)
        response = answer.response
        if capturing():
            capture(
                RawCapture(
                    self._redacted(response, answer.content),
                    timedelta(seconds=answer.elapsed),
                    answer.retries,
                )
            )
        try:
            return read_model(
                cast_to,
                answer.content,
                strict=self.settings.strict_response_validation,
                what=str(endpoint),
                scrub=self.api_key.scrub,
            )
        except pydantic.ValidationError as exc:
            raise errors.APIResponseValidationError(
                f"the answer is not a {cast_to.__name__}: {self.api_key.scrub(str(exc))}",
                response=self._redacted(response, answer.content),
                outcome_unknown=not endpoint.idempotent,
            ) from None

    # -- settings -------------------------------------------------------------------------------

    def check_options(self, options: RequestOptions | None) -> None:
        """Raise :class:`ConfigurationError` now for options no request could use."""
        resolve_call(self.settings, self._defaults, options)

    def _build(
        self,
        endpoint: Endpoint,
        path_params: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        call: CallSettings,
    ) -> httpx.Request:
        # names are case-insensitive: a call's header, then the SDK's own, replace any other
        headers = httpx.Headers(self.default_headers)
        headers.update(call.extra_headers)
        # only what the body reader decodes with a bound on memory
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        if endpoint.api == "external":
            headers["Authorization"] = f"Bearer {self.api_key.reveal()}"
        else:
            headers["X-API-Key"] = self.api_key.reveal()
        if body is not None:
            headers["Content-Type"] = "application/json"
        path = endpoint.render(**path_params) if path_params else endpoint.path
        return self.http.build_request(
            endpoint.method,
            self.base_url + path,
            params={**_wire_params(params), **_wire_params(call.extra_query)},
            content=body,
            headers=headers,
            extensions={"timeout": call.timeout.as_dict()},
        )

    # -- sending --------------------------------------------------------------------------------

    async def _send(
        self,
        endpoint: Endpoint,
        path_params: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        options: RequestOptions | None,
        hooks: AttemptHooks | None,
    ) -> _Answer:
        """Attempt after attempt until an answer, or an error: each attempt's outcome is
        judged into the next step (the answer, a retry after a wait, or the error)."""
        self.lifecycle.check()
        call = resolve_call(self.settings, self._defaults, options)
        sending = _Sending(
            endpoint,
            self._build(endpoint, path_params, params, body, call),
            call,
            Deadline(self.clock, call.within),
            hooks or _NO_HOOKS,
        )
        attempt = 0
        while True:
            tried = await self._attempt(sending, attempt)
            step = await self._judge(sending, tried, attempt)
            # the failure's traceback holds the frame that holds ``tried``: no cycle
            tried.failure = None
            del tried
            if step.answer is not None:
                return step.answer
            if step.error is not None:
                _raise(step)
            if step.reason is not None:
                await self._backoff(sending.request, call.retry, attempt, step.wait, step.reason)
            attempt += 1

    async def _judge(self, sending: _Sending, tried: _Attempt, attempt: int) -> _Step:
        """What follows an attempt: its answer, a retry, or an error."""
        response = tried.response
        if tried.failure is not None and (response is None or response.is_success):
            return await self._on_failure(sending, tried, attempt)
        assert response is not None
        if tried.failure is None and response.is_success:
            return _Step(answer=_Answer(response, tried.content, tried.elapsed, attempt))
        if response.status_code == 429:
            return await self._on_429(sending, tried, attempt)
        retry, status = sending.call.retry, response.status_code
        cut_short = False  # a retry the call's deadline left no time for
        if attempt < retry.max_retries and retry.retries_status(sending.request.method, status):
            wait = retry.backoff(attempt)
            if sending.deadline.allows(wait):
                return _Step(wait=wait, reason=f"HTTP {status}")
            cut_short = True
        error = self._status_error(response, tried.content, tried.failure, retry, None)
        if cut_short:
            error.add_note(_NOT_RETRIED)
        return _Step(error=error)

    async def _on_failure(self, sending: _Sending, tried: _Attempt, attempt: int) -> _Step:
        """An attempt that gave no usable answer: a retry when the method and the failure
        allow one and the deadline leaves time for it, else the error."""
        request, response, failure, retry = (
            sending.request,
            tried.response,
            tried.failure,
            sending.call.retry,
        )
        assert failure is not None
        if response is None and never_sent(failure):
            await sending.hooks.not_stored()
        cut_short = False
        if attempt < retry.max_retries and _retries_failure(
            retry, request.method, failure, response
        ):
            wait = retry.backoff(attempt)
            if sending.deadline.allows(wait):
                return _Step(wait=wait, reason=_reason(failure))
            cut_short = True
        error = self._failure_error(request, response, failure, retry)
        if cut_short:
            error.add_note(_NOT_RETRIED)
        cause = failure if isinstance(failure, httpx.HTTPError) else None
        return _Step(error=error, cause=cause)

    async def _on_429(self, sending: _Sending, tried: _Attempt, attempt: int) -> _Step:
        """The server's 429: every request of the bucket pauses (its ``Retry-After``, else a
        backoff); this one retries after the pause when its bounds allow, else the error."""
        response, retry, request = tried.response, sending.call.retry, sending.request
        assert response is not None
        await sending.hooks.not_stored()
        retry_after = parse_retry_after(
            response.headers.get("Retry-After"), cap=self.settings.max_retry_after
        )
        pause = retry.backoff(attempt) if retry_after is None else retry_after
        buckets = sending.endpoint.buckets
        await self.limiter.pause(buckets, pause)
        limit = sending.call.max_rate_limit_wait
        if (
            attempt < retry.max_retries
            and (limit is None or pause <= limit)
            and sending.deadline.allows(pause)
        ):
            bucket = "/".join(buckets)
            log.warning(
                "%s %s answered 429: every request of the %s bucket pauses %.1f s (retry %d of %d)",
                request.method,
                request.url.path,
                bucket,
                pause,
                attempt + 1,
                retry.max_retries,
                extra=_fields(request, status=429, attempt=attempt + 1, bucket=bucket, wait=pause),
            )
            return _Step()  # the limiter holds the next attempt until the pause ends
        return _Step(error=self._status_error(response, tried.content, None, retry, retry_after))

    async def _attempt(self, sending: _Sending, attempt: int) -> _Attempt:
        """One attempt: a rate-limit slot, a connection, the exchange, the body.

        The slot comes first: a call waiting for its bucket holds no connection, so calls of
        other buckets are not queued behind it. The slot is then held through the (bounded)
        wait for a connection, which a request sent meanwhile cannot overtake.
        """
        waited_from = self.clock.now()
        # the wait for a connection is bounded by the call's deadline alone (our queue is in
        # front of the pool: a bulk job may queue there as long as its calls allow)
        pool = sending.deadline.left()
        lease = await self._slot(sending, pool)
        try:
            waited = self.clock.now() - waited_from
            if await self._connection(pool):
                tried = await self._connected(sending)
            else:
                assert pool is not None
                tried = _Attempt(
                    failure=httpx.PoolTimeout(
                        f"no connection was free within {pool:g} s; nothing was sent",
                        request=sending.request,
                    )
                )
            if not isinstance(tried.failure, _NotStartedError):
                self._log(sending, tried, attempt, waited)
            return tried
        finally:
            await lease.release()

    async def _slot(self, sending: _Sending, pool: float | None) -> Lease:
        """The rate-limit slot of an attempt, held for as long as the attempt may last."""
        call, deadline = sending.call, sending.deadline
        max_wait = deadline.bound(call.max_rate_limit_wait)
        hold = plus(pool, deadline.bound(call.attempt_timeout), HOLD_MARGIN)
        try:
            return await self.limiter.acquire(
                sending.endpoint.buckets, max_wait=max_wait, hold_for=hold
            )
        except errors.RateLimitWaitError as exc:
            if max_wait != call.max_rate_limit_wait:
                exc.add_note(
                    f"the call's deadline (timeout + max_rate_limit_wait) left {max_wait:.1f} s"
                )
            raise

    async def _connected(self, sending: _Sending) -> _Attempt:
        """The exchange, on a connection of the pool (given back when it ends), within what
        is left of the attempt and of the call."""
        call, deadline, request = sending.call, sending.deadline, sending.request
        try:
            # what is left of the call once a connection was free, if that is shorter
            run_for = deadline.bound(call.attempt_timeout)
            if run_for is not None and run_for <= 0 and deadline.left() == 0:
                return _Attempt(
                    failure=_NotStartedError(
                        "the call's deadline passed before the request could be sent; "
                        "nothing was sent",
                        request=request,
                    )
                )
            tried = _Attempt()
            started = time.perf_counter()
            try:
                await sending.hooks.before_send()
                with anyio.fail_after(run_for):
                    tried.response = await self._exchange(request)
                    try:
                        tried.content = await self._read(tried.response)
                    finally:
                        await tried.response.aclose()
            except TimeoutError:
                assert run_for is not None
                tried.failure = _DeadlineError(run_for, run_for != call.attempt_timeout)
            except (httpx.HTTPError, TooLargeError) as exc:
                tried.failure = exc
            tried.elapsed = time.perf_counter() - started
            return tried
        finally:
            self.lifecycle.gate.release()

    async def _connection(self, bound: float | None) -> bool:
        """A place among the pool's connections (first come, first served), within ``bound``
        seconds; False when none came free in time."""
        gate = self.lifecycle.gate
        try:
            gate.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        if bound is None:
            await gate.acquire()
            return True
        return await within(self.clock, self.clock.now() + bound, gate.acquire)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; a pool closed under it is this client closed (nothing left)."""
        try:
            return await self.http.send(request, stream=True)
        except RuntimeError:
            if not self.http.is_closed:
                raise
            raise httpx.LocalProtocolError("the HTTP client is closed", request=request) from None

    async def _read(self, response: httpx.Response) -> bytes:
        """The decoded body, at most ``max_response_bytes`` of it, with any echo of the key
        scrubbed. Inflated piece by piece with that bound (see :mod:`._body`); on a failure no
        local here or below holds the raw bytes (tools that record the locals of a
        traceback's frames must not find the key in them)."""
        limit = self.settings.max_response_bytes
        if response.is_stream_consumed:  # a test double built with its body: httpx read it
            if len(response.content) > limit:
                raise TooLargeError(limit)
            return self.api_key.scrub_bytes(response.content)
        reader = BodyReader(response.headers, limit)
        chunk = b""
        unreadable: str | None = None
        too_large = False
        try:
            async for chunk in response.aiter_raw():
                reader.feed(chunk)
            return self.api_key.scrub_bytes(reader.finish())
        except httpx.DecodingError as exc:
            unreadable = str(exc)
        except TooLargeError:
            too_large = True
        finally:
            chunk = b""
            reader.discard()
        # raised here, outside the handlers: no chained exception keeps the frames that held
        # the body
        if too_large:
            raise TooLargeError(limit)
        raise httpx.DecodingError(unreadable or "unreadable answer", request=response.request)

    async def _backoff(
        self, request: httpx.Request, retry: RetryPolicy, attempt: int, wait: float, reason: str
    ) -> None:
        log.warning(
            "retrying %s %s in %.2f s (retry %d of %d): %s",
            request.method,
            request.url.path,
            wait,
            attempt + 1,
            retry.max_retries,
            reason,
            extra=_fields(request, attempt=attempt + 1, wait=wait, reason=reason),
        )
        await self.clock.sleep(wait)

    # -- errors ---------------------------------------------------------------------------------

    def _failure_error(
        self,
        request: httpx.Request,
        response: httpx.Response | None,
        failure: Exception,
        retry: RetryPolicy,
    ) -> errors.APIError:
        """The error for an attempt that gave no usable answer."""
        unknown = retry.outcome_unknown(request.method, failure)
        what = self.api_key.scrub(str(failure)) or type(failure).__name__
        if response is not None and isinstance(failure, httpx.DecodingError | TooLargeError):
            return errors.APIResponseValidationError(
                f"the answer ({response.status_code}) could not be read: {what}",
                response=self._redacted(response, b""),
                outcome_unknown=unknown,
            )
        message = f"{request.method} {request.url.path} failed: {type(failure).__name__}: {what}"
        timed_out = isinstance(failure, httpx.TimeoutException | _DeadlineError)
        cls = errors.APITimeoutError if timed_out else errors.APIConnectionError
        return cls(message, request=self._redacted_request(request), outcome_unknown=unknown)

    def _status_error(
        self,
        response: httpx.Response,
        content: bytes,
        failure: Exception | None,
        retry: RetryPolicy,
        retry_after: float | None,
    ) -> errors.APIStatusError:
        copy = self._redacted(response, content)
        error = errors.make_status_error(
            copy,
            scrub=self.api_key.scrub_json,
            outcome_unknown=retry.outcome_unknown(response.request.method, response.status_code),
            retry_after=retry_after,
        )
        if failure is not None:  # the error's own body could not be read
            error.add_note(f"its body could not be read: {self.api_key.scrub(str(failure))}")
        return error

    def _redacted_request(self, request: httpx.Request) -> httpx.Request:
        """A copy of ``request`` whose auth headers read ``[redacted]``."""
        headers = [
            (k, REDACTED if k.lower() in _AUTH_HEADERS else self.api_key.scrub(v))
            for k, v in request.headers.items()
        ]
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=request.content,
            extensions=request.extensions,
        )

    def _redacted(self, response: httpx.Response, content: bytes) -> httpx.Response:
        """A copy of ``response`` (its decoded body, headers scrubbed) tied to a redacted copy
        of its request: errors and raw responses may be logged or kept, so they hold no key."""
        headers = [
            (k, self.api_key.scrub(v))
            for k, v in response.headers.items()
            if k.lower() not in _DROPPED_ON_COPY
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=self.api_key.scrub_bytes(content),
            request=self._redacted_request(response.request),
            extensions={"http_version": response.extensions.get("http_version", b"HTTP/1.1")},
        )

    def _log(self, sending: _Sending, tried: _Attempt, attempt: int, waited: float) -> None:
        """One INFO record per attempt; its ``extra=`` fields: method, path, status (None
        without an answer), error (the failure's type, or None), elapsed, attempt (0 for the
        first), bucket and wait (seconds waited for the rate-limit slot)."""
        if not log.isEnabledFor(logging.INFO):
            return
        request = sending.request
        response, failure, elapsed = tried.response, tried.failure, tried.elapsed
        outcome = (
            str(response.status_code)
            if response is not None and failure is None
            else type(failure).__name__
        )
        notes = []
        if attempt:
            notes.append(f"retry {attempt}")
        if waited >= 0.001:
            notes.append(f"waited {waited:.3f} s for a rate-limit slot")
        fields = _fields(
            request,
            status=response.status_code if response is not None else None,
            error=None if failure is None else type(failure).__name__,
            elapsed=elapsed,
            attempt=attempt,
            bucket="/".join(sending.endpoint.buckets),
            wait=waited,
        )
        log.info(
            "%s %s -> %s in %.3f s%s",
            request.method,
            request.url.path,
            outcome,
            elapsed,
            f" ({', '.join(notes)})" if notes else "",
            extra=fields,
        )


def _retries_failure(
    retry: RetryPolicy, method: str, failure: Exception, response: httpx.Response | None
) -> bool:
    """A failure without a usable answer: retried for idempotent methods, and for any
    method when the request never left."""
    if response is None and isinstance(failure, httpx.HTTPError):
        return retry.retries_exception(method, failure)
    return is_idempotent(method)


def _reason(failure: Exception) -> str:
    return type(failure).__name__


def _wire_params(params: Mapping[str, Any] | None) -> dict[str, str | int | float]:
    """Drop unset values; booleans go as ``true``/``false`` as the reference writes them."""
    out: dict[str, str | int | float] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return out
