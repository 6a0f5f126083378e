"""A FastAPI backend on the SDK: one client for the whole application, given to each handler
as a dependency; the SDK's errors mapped to HTTP answers; and a webhook receiver that verifies,
answers at once, and handles each event once however often PleasureStock redelivers it.

Run it::

    export PLEASURESTOCK_API_KEY=pk_live_...            # or a sandbox: pleasurestock sandbox
    export PLEASURESTOCK_WEBHOOK_SECRET=whsec_...
    uvicorn examples.fastapi_backend.app:app

One client serves every request of the event loop (its connection pool and rate-limit windows
are shared), so it is made once in the lifespan and closed at shutdown, never per request.
Handlers use a copy with short limits: a web request waits at most 2 s for a rate-limit slot
and is not retried for long; a slow or refused call becomes a 503 or 504 the caller can retry.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pleasurestock_async import AsyncPleasureStock, webhooks
from pleasurestock_async.errors import (
    APIError,
    APITimeoutError,
    BadRequestError,
    InputError,
    NotFoundError,
    RateLimitError,
    RateLimitWaitError,
)
from pleasurestock_async.types import Order, OrderCreateResult, OrderItem, Product

__all__ = ["Backend", "NewOrder", "app", "create_app"]

log = logging.getLogger("examples.fastapi_backend")

WEBHOOK_PATH = "/webhooks/pleasurestock"


@dataclass
class Backend:
    """What the application holds for its lifetime."""

    ps: AsyncPleasureStock
    """The client handlers use (short timeouts and rate-limit waits)."""
    secret: str
    """The webhook signing secret."""
    inbox: MemoryObjectSendStream[webhooks.WebhookEvent]
    """Verified, first-seen events, for the worker that handles them."""
    seen: webhooks.EventDeduplicator = field(default_factory=webhooks.EventDeduplicator)
    """Keys of recent events: a redelivery is answered, not handled again."""
    handled: deque[str] = field(default_factory=lambda: deque(maxlen=100))
    """The latest handled events, as ``"<event> <order number>"``."""


def backend(request: Request) -> Backend:
    """The dependency every handler takes: the application's :class:`Backend`."""
    found: Backend = request.app.state.backend
    return found


Client = Annotated[Backend, Depends(backend)]


async def handle_events(
    backend: Backend, events: MemoryObjectReceiveStream[webhooks.WebhookEvent]
) -> None:
    """The worker: handles each verified event once, after its delivery was answered."""
    async with events:
        async for event in events:
            if isinstance(event, webhooks.OrderStatusChangedEvent):
                what = f"{event.event} {event.data.order_number} -> {event.data.new_status}"
            elif isinstance(event, webhooks.OrderCreatedEvent | webhooks.OrderCancelledEvent):
                what = f"{event.event} {event.data.order_number}"
            else:  # an event type this SDK does not know yet: data is plain JSON
                what = f"{event.event} (not handled)"
            backend.handled.append(what)
            log.info("handled %s", what)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
    """One client and one event worker for the application's lifetime."""
    send, receive = anyio.create_memory_object_stream[webhooks.WebhookEvent](1000)
    async with AsyncPleasureStock() as ps, anyio.create_task_group() as workers:
        state = Backend(
            ps=ps.copy(timeout=10.0, max_retries=1, max_rate_limit_wait=2.0),
            secret=os.environ["PLEASURESTOCK_WEBHOOK_SECRET"],
            inbox=send,
        )
        app.state.backend = state
        workers.start_soon(handle_events, state, receive)
        try:
            yield
        finally:
            send.close()  # the worker handles what is queued, then ends


def problem(status: int, title: str, **extra: object) -> JSONResponse:
    """An error answer: ``{"error": title, ...}``."""
    return JSONResponse({"error": title, **extra}, status_code=status)


async def not_found(request: Request, exc: Exception) -> Response:
    """``NotFoundError``: 404."""
    return problem(404, "not found")


async def refused_input(request: Request, exc: Exception) -> Response:
    """``InputError`` (refused by the SDK, nothing sent) or ``BadRequestError`` (refused by
    the server, with its reasons per record): 422."""
    if isinstance(exc, BadRequestError):
        errors = [error.model_dump(mode="json") for error in exc.errors]
        return problem(422, "refused by PleasureStock", errors=errors)
    return problem(422, str(exc))


async def busy(request: Request, exc: Exception) -> Response:
    """No rate-limit slot within the handler's wait, or a 429: 503 with ``Retry-After``."""
    wait: float | None = None
    if isinstance(exc, RateLimitWaitError):
        wait = exc.wait
    elif isinstance(exc, RateLimitError):
        wait = exc.retry_after
    headers = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else None
    return JSONResponse({"error": "busy, try again later"}, status_code=503, headers=headers)


async def upstream(request: Request, exc: Exception) -> Response:
    """Any other failure of the API: 504 for a timeout, else 502; the upstream's details go
    to the log, not to the caller. ``outcome_unknown``: a create may have happened."""
    status = 504 if isinstance(exc, APITimeoutError) else 502
    unknown = bool(getattr(exc, "outcome_unknown", False))
    log.warning("PleasureStock call failed: %s", exc)
    return problem(status, "PleasureStock is unavailable", outcome_unknown=unknown)


class NewOrder(BaseModel):
    """The body of ``POST /orders``."""

    items: list[OrderItem] = Field(min_length=1)
    """The lines to order (``ps_id``, ``quantity``, optional ``customPrice``)."""
    external_order_id: str
    """Your reference: with it, an order whose creation had no answer can be found."""
    comment: str | None = None
    """An order comment."""


def create_app() -> FastAPI:
    """The application (the lifespan reads the key and secret from the environment)."""
    app = FastAPI(title="A backend on pleasurestock-async", lifespan=lifespan)
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(InputError, refused_input)
    app.add_exception_handler(BadRequestError, refused_input)
    app.add_exception_handler(RateLimitWaitError, busy)
    app.add_exception_handler(RateLimitError, busy)
    app.add_exception_handler(APIError, upstream)  # the most specific handler wins

    @app.get("/products/{product_id}")
    async def get_product(product_id: str, backend: Client) -> Product:
        return await backend.ps.products.get(product_id, include_tcc=True, include_tsp=True)

    @app.post("/orders", status_code=201)
    async def create_order(order: NewOrder, backend: Client) -> OrderCreateResult:
        # never retried on doubt by the SDK: a lost answer is a 502 with outcome_unknown
        return await backend.ps.orders.create(
            order.items, external_order_id=order.external_order_id, comment=order.comment
        )

    @app.get("/orders/{order_number}")
    async def get_order(order_number: str, backend: Client) -> Order:
        return await backend.ps.orders.get(order_number)

    @app.post(WEBHOOK_PATH, status_code=204)
    async def receive_webhook(request: Request, backend: Client) -> Response:
        body = await request.body()  # the raw bytes: the signature covers them
        try:
            event = webhooks.construct_event(body, request.headers, backend.secret)
        except webhooks.WebhookVerificationError as exc:
            log.warning("webhook refused: %s", exc)
            return Response(status_code=400)
        queued = backend.inbox.statistics()
        if queued.current_buffer_used >= queued.max_buffer_size:
            return Response(status_code=503)  # the worker is behind: PleasureStock redelivers
        if backend.seen.first_time(event):
            backend.inbox.send_nowait(event)  # answered now, handled by the worker
        else:
            log.info("webhook redelivered, already handled: %s", webhooks.dedupe_key(event))
        return Response(status_code=204)

    @app.get("/webhooks/handled")
    async def handled(backend: Client) -> list[str]:
        return list(backend.handled)

    return app


app = create_app()
