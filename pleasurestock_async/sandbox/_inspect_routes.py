"""The inspection routing table: every route under ``/api/v1/_sandbox``, the query parameters
it takes (any other one is a 400, as on the API), and its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._errors import ApiError, bad_request
from ._inspect_activity import (
    inspect_info,
    inspect_limits,
    inspect_order,
    inspect_orders,
    inspect_requests,
    inspect_webhooks,
    resend_webhook,
    reset,
)
from ._inspect_sales import inspect_products, inspect_sales
from ._inspection import INSPECT_PREFIX, InspectHandler, Inspection

__all__ = ["INSPECTION_ROUTES", "InspectRoute", "inspection_routes"]


@dataclass(frozen=True, slots=True)
class InspectRoute:
    """One inspection route."""

    method: str
    path: str
    handler: InspectHandler
    query: frozenset[str] = frozenset()


_PAGING = frozenset({"page", "limit"})

INSPECTION_ROUTES: tuple[InspectRoute, ...] = (
    InspectRoute("GET", "/info", inspect_info),
    InspectRoute("GET", "/sales", inspect_sales, _PAGING | {"product", "from", "to"}),
    InspectRoute("GET", "/products", inspect_products, _PAGING | {"search", "sold"}),
    InspectRoute("GET", "/orders", inspect_orders, _PAGING | {"status"}),
    InspectRoute("GET", "/orders/{order_number}", inspect_order),
    InspectRoute("GET", "/webhooks", inspect_webhooks, _PAGING | {"event"}),
    InspectRoute("POST", "/webhooks/{delivery_id}/resend", resend_webhook),
    InspectRoute("GET", "/requests", inspect_requests, _PAGING),
    InspectRoute("GET", "/limits", inspect_limits),
    InspectRoute("POST", "/reset", reset, frozenset({"only"})),
)


def _endpoint(ins: Inspection, spec: InspectRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            if unknown := set(request.query_params) - spec.query:
                shown = ", ".join(repr(name[:50]) for name in sorted(unknown)[:10])
                raise bad_request(f"Unknown query parameter: {shown}")
            response = await spec.handler(ins, request)
        except ApiError as exc:
            response = exc.response()
        # What clients stored is data: a browser opening a route must not sniff it as HTML.
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return endpoint


def inspection_routes(ins: Inspection, base: str) -> list[Route]:
    """The table as Starlette routes under ``base`` + :data:`INSPECT_PREFIX`."""
    return [
        Route(base + INSPECT_PREFIX + spec.path, _endpoint(ins, spec), methods=[spec.method])
        for spec in INSPECTION_ROUTES
    ]
