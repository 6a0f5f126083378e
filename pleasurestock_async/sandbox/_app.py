"""The sandbox's ASGI application: the routing table served under ``/api/v1``, every request
through one pipeline (count, latency, auth, rate limits, role, injected faults, handler), JSON
errors for unknown routes and methods, a last-resort JSON 500, and the webhook runner as the
ASGI lifespan. Beside the API: the request log, the inspection routes under
``/api/v1/_sandbox`` and the inspector's page at ``/``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth import Keys
from ._context import Context
from ._errors import ApiError, bad_request, error_body, json_response
from ._faults import DripResponse, corrupt
from ._inspect_routes import inspection_routes
from ._inspection import INSPECT_PREFIX, Inspection
from ._limits import ServerLimits, retry_after_header
from ._openapi import openapi_bytes
from ._page import is_page_path, page_routes
from ._request_log import RequestLog, RequestRecorder, entry_of
from ._routes import API_PREFIX, OPENAPI_PATH, ROUTES, RouteSpec

__all__ = ["LIFESPAN_GRACE", "SandboxApp"]

LIFESPAN_GRACE = 5.0
"""Seconds a served sandbox waits, when shutting down, for webhook deliveries under way."""

logger = logging.getLogger("pleasurestock_async.sandbox")


class _Guard:
    """Answers any exception that escapes a handler with the documented JSON 500 (and logs
    it), so a bug never shows as plain text or a dropped connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            return
        except Exception:
            logger.exception("sandbox: unexpected error on %s %s", scope["method"], scope["path"])
            if not started:
                body = error_body("Internal Server Error", "Unexpected error in the sandbox")
                await json_response(body, 500)(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"No route {request.method} {request.url.path[:200]}"
    return json_response(error_body("Not Found", message), 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    headers = exc.headers if isinstance(exc, HTTPException) and exc.headers else {}
    message = f"{request.method} is not allowed on {request.url.path[:200]}"
    return json_response(error_body("Method Not Allowed", message), 405, headers)


async def _openapi(request: Request) -> Response:
    return Response(openapi_bytes(), media_type="application/json")


class SandboxApp:
    """The routing table bound to one sandbox's context, keys, limits and faults."""

    def __init__(
        self,
        ctx: Context,
        keys: Keys,
        limits: ServerLimits | None,
        *,
        example_orders: bool = False,
    ) -> None:
        self.ctx = ctx
        self.keys = keys
        self.limits = limits
        self.request_counts: Counter[str] = Counter()
        self.rate_limited = 0
        self.log = RequestLog()
        inspection = Inspection(ctx, keys, limits, self.log, example_orders)
        by_path: dict[str, list[RouteSpec]] = {}
        for spec in ROUTES:
            by_path.setdefault(spec.path, []).append(spec)
        routes = [
            Route(API_PREFIX + path, self._endpoint(specs), methods=[s.method for s in specs])
            for path, specs in by_path.items()
        ]
        routes.append(Route(API_PREFIX + OPENAPI_PATH, _openapi, methods=["GET"]))
        routes.extend(inspection_routes(inspection, API_PREFIX))
        routes.extend(page_routes())
        inspector = API_PREFIX + INSPECT_PREFIX + "/"
        self.app = Starlette(
            routes=routes,
            middleware=[
                Middleware(
                    RequestRecorder,
                    log=self.log,
                    skip=lambda path: path.startswith(inspector) or is_page_path(path),
                    redact=keys.redact,
                ),
                Middleware(_Guard),
            ],
            exception_handlers={404: _not_found, 405: _not_allowed},
            lifespan=self._lifespan,
        )
        self.app.router.redirect_slashes = False

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        """Served over HTTP, webhooks are delivered by the server's own task group."""
        if self.ctx.sender is None:
            yield
            return
        async with self.ctx.sender.run(grace=LIFESPAN_GRACE):
            yield

    def _endpoint(self, specs: Sequence[RouteSpec]) -> Any:
        by_method = {s.method: s for s in specs}

        async def endpoint(request: Request) -> Response:
            spec = by_method["GET" if request.method == "HEAD" else request.method]
            self.request_counts[f"{spec.method} {spec.path}"] += 1
            faults = self.ctx.faults
            if faults.faults.latency:
                await self.ctx.clock.sleep(faults.faults.latency)
            try:
                response = await self._handle(spec, request)
            except ApiError as exc:
                response = exc.response()
            if 200 <= response.status_code < 300 and faults.hit(
                "corrupt_success", faults.faults.corrupt_success_rate
            ):
                response = corrupt(response)
            if faults.faults.drip_seconds:
                response = DripResponse(response, faults.faults.drip_seconds, self.ctx.clock)
            return response

        return endpoint

    async def _handle(self, spec: RouteSpec, request: Request) -> Response:
        faults = self.ctx.faults
        logged = entry_of(request.scope)
        if logged is not None:
            logged.api, logged.buckets = spec.api, spec.buckets
        if spec.api != "signed":
            key, role = self.keys.authenticate(request, spec.api)
            if logged is not None:
                logged.key = self.keys.label(key)
            if self.limits is not None and (wait := self.limits.check(key, spec.buckets)):
                self._too_many(retry_after_header(wait))
            if spec.write:
                self.keys.require_manager(role)
        if unknown := {name for name, _ in request.query_params.multi_items()} - spec.query:
            shown = ", ".join(repr(name[:50]) for name in sorted(unknown)[:10])
            raise bad_request(f"Unknown query parameter: {shown}")
        if faults.hit("rate_limit", faults.faults.rate_limit_rate):
            self._too_many(faults.retry_after())
        if faults.hit("error", faults.faults.error_rate):
            raise ApiError(500, "Internal Server Error", "Injected fault")
        return await spec.handler(self.ctx, request)

    def _too_many(self, retry_after: str) -> None:
        self.rate_limited += 1
        raise ApiError(
            429,
            "Too Many Requests",
            "Rate limit exceeded",
            [f"Retry after {retry_after} seconds"],
            headers={"Retry-After": retry_after},
        )
