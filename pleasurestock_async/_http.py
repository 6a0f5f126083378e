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
import math
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import anyio
import httpx
import pydantic

from . import errors
from ._apikey import REDACTED, ApiKey
from ._body import ACCEPT_ENCODING, BodyReader, TooLargeError
from ._options import NOT_GIVEN, NotGiven, RequestOptions, check_headers, check_query
from ._parse import read_model
from ._response import RawCapture, capture, capturing
from ._retry import RetryPolicy, is_idempotent, never_sent, parse_retry_after
from .ratelimit import BucketName, Clock, MonotonicClock, RateLimiter
from .ratelimit._clock import within

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AttemptHooks",
    "ClientSettings",
    "Endpoint",
    "HTTPPipeline",
    "Lifecycle",
    "external",
    "standard",
]

log = logging.getLogger("pleasurestock_async")

M = TypeVar("M", bound=pydantic.BaseModel)

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""The largest answer read by default (decoded): a page of 1,000 products is about 1 MB."""

UNBOUNDED_PHASES_ATTEMPT = 300.0
"""The whole-attempt bound when per-phase timeouts are given as an :class:`httpx.Timeout`."""

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


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A client's defaults for every call (a call's ``options`` override them)."""

    timeout: httpx.Timeout
    attempt_timeout: float | NotGiven | None
    max_retries: int
    max_rate_limit_wait: float | None
    max_retry_after: float
    max_response_bytes: int
    strict_response_validation: bool
    call_timeout: float | None = None
    """``timeout`` when it was given as a number: it then bounds each call as a whole."""


@dataclass(frozen=True, slots=True)
class _Call:
    """The settings of one call, resolved."""

    timeout: httpx.Timeout
    attempt_timeout: float | None
    retry: RetryPolicy
    max_rate_limit_wait: float | None
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, Any]
    within: float | None
    """Seconds the whole call may take (``timeout`` + ``max_rate_limit_wait``), if bounded."""


def as_timeout(value: object, name: str = "timeout") -> httpx.Timeout:
    """A number of seconds, ``None`` or an :class:`httpx.Timeout` as an :class:`httpx.Timeout`."""
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    return httpx.Timeout(check_seconds(value, name, allow_none=False))


def call_timeout(value: object) -> float | None:
    """The whole-call bound a ``timeout`` sets: the number itself (an :class:`httpx.Timeout`
    bounds only the phases of each attempt; ``None``, nothing)."""
    if value is None or isinstance(value, httpx.Timeout):
        return None
    return check_seconds(value, "timeout", allow_none=False)


def check_seconds(value: object, name: str, *, allow_none: bool = True) -> float | None:
    """``value`` as seconds (a finite number >= 0), or a :class:`ConfigurationError`."""
    if value is None and allow_none:
        return None
    seconds = math.nan
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            seconds = math.inf
    if not math.isfinite(seconds):
        raise errors.ConfigurationError(
            f"{name} must be a finite number of seconds, got {errors.shorten(value)}"
        )
    if seconds < 0:
        raise errors.ConfigurationError(f"{name} must be 0 or more, got {errors.shorten(value)}")
    return seconds


def check_retries(value: object, name: str = "max_retries") -> int:
    """``value`` as a retry count (an int >= 0), or a :class:`ConfigurationError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.ConfigurationError(f"{name} must be an int >= 0, got {errors.shorten(value)}")
    return value


def _plus(*parts: float | None) -> float | None:
    """The sum of ``parts``; None (no bound) if any is None."""
    total = 0.0
    for part in parts:
        if part is None:
            return None
        total += part
    return total


class Deadline:
    """The moment a call must be over by, on ``clock`` (``None``: no bound). Every wait of the
    call is bounded by what is left of it."""

    __slots__ = ("at", "clock", "seconds")

    def __init__(self, clock: Clock, seconds: float | None) -> None:
        self.clock = clock
        self.seconds = seconds
        self.at = None if seconds is None else clock.now() + seconds

    def left(self) -> float | None:
        """Seconds left (0 once passed), or None without a bound."""
        return None if self.at is None else max(0.0, self.at - self.clock.now())

    def bound(self, seconds: float | None) -> float | None:
        """``seconds`` cut to what is left (None: neither bounds it)."""
        left = self.left()
        if left is None:
            return seconds
        return left if seconds is None else min(seconds, left)

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time to send before the end."""
        left = self.left()
        return left is None or wait < left


def whole_attempt(timeout: httpx.Timeout, attempt_timeout: float | NotGiven | None) -> float | None:
    """The bound on one attempt as a whole: as given, else the single number of ``timeout``."""
    if not isinstance(attempt_timeout, NotGiven):
        return attempt_timeout
    phases = {timeout.connect, timeout.read, timeout.write, timeout.pool}
    if phases == {None}:
        return None
    if len(phases) == 1:
        return phases.pop()
    return UNBOUNDED_PHASES_ATTEMPT


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
        clock = getattr(limiter, "clock", None)
        self.clock: Clock = clock if isinstance(clock, Clock) else MonotonicClock()

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
        self._call(options)

    def _call(self, options: RequestOptions | None) -> _Call:
        s = self.settings
        if not options:
            if options is not None and not isinstance(options, Mapping):
                raise errors.ConfigurationError(
                    f"options must be a dict of request options, got {type(options).__name__}"
                )
            return _Call(
                s.timeout,
                whole_attempt(s.timeout, s.attempt_timeout),
                RetryPolicy(max_retries=s.max_retries),
                s.max_rate_limit_wait,
                {},
                {},
                _plus(s.call_timeout, s.max_rate_limit_wait),
            )
        if not isinstance(options, Mapping):
            raise errors.ConfigurationError(
                f"options must be a dict of request options, got {type(options).__name__}"
            )
        unknown = [name for name in options if name not in RequestOptions.__annotations__]
        if unknown:
            raise errors.ConfigurationError(
                f"unknown request option(s): {', '.join(map(errors.shorten, unknown))}; "
                f"known: {', '.join(RequestOptions.__annotations__)}"
            )
        timeout = s.timeout
        total = s.call_timeout
        if "timeout" in options:
            timeout = as_timeout(options["timeout"])
            total = call_timeout(options["timeout"])
        attempt: float | NotGiven | None = s.attempt_timeout
        if "attempt_timeout" in options:
            attempt = check_seconds(options["attempt_timeout"], "attempt_timeout")
        elif "timeout" in options:
            attempt = NOT_GIVEN
        retries = (
            check_retries(options["max_retries"]) if "max_retries" in options else s.max_retries
        )
        wait = (
            check_seconds(options["max_rate_limit_wait"], "max_rate_limit_wait")
            if "max_rate_limit_wait" in options
            else s.max_rate_limit_wait
        )
        return _Call(
            timeout,
            whole_attempt(timeout, attempt),
            RetryPolicy(max_retries=retries),
            wait,
            check_headers(options.get("extra_headers"), "extra_headers"),
            check_query(options.get("extra_query"), "extra_query"),
            _plus(total, wait),
        )

    def _build(
        self,
        endpoint: Endpoint,
        path_params: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        call: _Call,
    ) -> httpx.Request:
        headers = {**self.default_headers, **call.extra_headers}
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
        self.lifecycle.check()
        call = self._call(options)
        deadline = Deadline(self.clock, call.within)
        hooks = hooks or _NO_HOOKS
        request = self._build(endpoint, path_params, params, body, call)
        retry = call.retry
        attempt = 0
        while True:
            tried = await self._attempt(endpoint, request, call, deadline, hooks, attempt)
            response, content, failure = tried.response, tried.content, tried.failure
            cut_short = False  # a retry the call's deadline left no time for
            if failure is not None and (response is None or response.is_success):
                if response is None and never_sent(failure):
                    await hooks.not_stored()
                if attempt < retry.max_retries and _retries_failure(
                    retry, request.method, failure, response
                ):
                    wait = retry.backoff(attempt)
                    if deadline.allows(wait):
                        await self._backoff(request, retry, attempt, wait, _reason(failure))
                        attempt += 1
                        continue
                    cut_short = True
                error = self._failure_error(request, response, failure, retry)
                if cut_short:
                    error.add_note(_NOT_RETRIED)
                cause = failure if isinstance(failure, httpx.HTTPError) else None
                failure = tried.failure = None
                try:
                    raise error from cause
                finally:
                    # the traceback holds this frame: it must not hold the errors in turn (a
                    # cycle that keeps the request and its body until the collector runs)
                    del error, cause
            assert response is not None
            if failure is None and response.is_success:
                return _Answer(response, content, tried.elapsed, attempt)

            status = response.status_code
            if status == 429:
                await hooks.not_stored()
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), cap=self.settings.max_retry_after
                )
                pause = retry.backoff(attempt) if retry_after is None else retry_after
                await self.limiter.pause(endpoint.buckets, pause)
                limit = call.max_rate_limit_wait
                if (
                    attempt < retry.max_retries
                    and (limit is None or pause <= limit)
                    and deadline.allows(pause)
                ):
                    log.warning(
                        "%s %s answered 429: every request of the %s bucket pauses %.1f s "
                        "(retry %d of %d)",
                        request.method,
                        request.url.path,
                        "/".join(endpoint.buckets),
                        pause,
                        attempt + 1,
                        retry.max_retries,
                    )
                    attempt += 1
                    continue
                raise self._status_error(response, content, failure, retry, retry_after)
            if attempt < retry.max_retries and retry.retries_status(request.method, status):
                wait = retry.backoff(attempt)
                if deadline.allows(wait):
                    await self._backoff(request, retry, attempt, wait, f"HTTP {status}")
                    attempt += 1
                    continue
                cut_short = True
            error = self._status_error(response, content, failure, retry, None)
            if cut_short:
                error.add_note(_NOT_RETRIED)
            raise error

    async def _attempt(
        self,
        endpoint: Endpoint,
        request: httpx.Request,
        call: _Call,
        deadline: Deadline,
        hooks: AttemptHooks,
        attempt: int,
    ) -> _Attempt:
        """One attempt: a rate-limit slot, a connection, the exchange, the body.

        The slot comes first: a call waiting for its bucket holds no connection, so calls of
        other buckets are not queued behind it. The slot is then held through the (bounded)
        wait for a connection, which a request sent meanwhile cannot overtake.
        """
        waited_from = self.clock.now()
        max_wait = deadline.bound(call.max_rate_limit_wait)
        # the wait for a connection is bounded by the call's deadline alone (our queue is in
        # front of the pool: a bulk job may queue there as long as its calls allow)
        pool = deadline.left()
        run_for = deadline.bound(call.attempt_timeout)
        hold = _plus(pool, run_for, HOLD_MARGIN)
        try:
            lease = await self.limiter.acquire(endpoint.buckets, max_wait=max_wait, hold_for=hold)
        except errors.RateLimitWaitError as exc:
            if max_wait != call.max_rate_limit_wait:
                exc.add_note(
                    f"the call's deadline (timeout + max_rate_limit_wait) left {max_wait:.1f} s"
                )
            raise
        tried = _Attempt()
        try:
            got_slot = self.clock.now()
            if not await self._connection(pool):
                assert pool is not None
                tried.failure = httpx.PoolTimeout(
                    f"no connection was free within {pool:g} s; nothing was sent",
                    request=request,
                )
                self._log(request, tried, attempt, got_slot - waited_from)
                return tried
            # what is left of the call once a connection was free, if that is shorter
            run_for = deadline.bound(call.attempt_timeout)
            if run_for is not None and run_for <= 0 and deadline.left() == 0:
                tried.failure = _NotStartedError(
                    "the call's deadline passed before the request could be sent; nothing was sent",
                    request=request,
                )
                self.lifecycle.gate.release()
                return tried
            started = time.perf_counter()
            try:
                await hooks.before_send()
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
            finally:
                self.lifecycle.gate.release()
            tried.elapsed = time.perf_counter() - started
            self._log(request, tried, attempt, got_slot - waited_from)
            return tried
        finally:
            await lease.release()

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

    def _log(self, request: httpx.Request, tried: _Attempt, attempt: int, waited: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
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
        log.info(
            "%s %s -> %s in %.3f s%s",
            request.method,
            request.url.path,
            outcome,
            elapsed,
            f" ({', '.join(notes)})" if notes else "",
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
