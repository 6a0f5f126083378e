"""The routing table: every route of API v1, the API it belongs to, the rate buckets a
request spends, and whether it writes (and so needs a manager's key).

Each route also lists the query parameters it takes: any other one is refused, so a misspelt
filter (``?supplierId=12``) is an error instead of a silently unfiltered answer.

From the reference: standard routes spend ``standard``; ``GET /smart-reordering`` spends
``standard`` and ``smart``; ``POST /external/smart-reorder`` spends ``external`` and
``smart``; the other ``/external/...`` routes spend ``external``. The webhook receiver is
authenticated by signature, has no key, and so spends no key's budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._auth import Api
from ._context import Handler
from ._currency import convert_to_try
from ._limits import Bucket
from ._orders import create_orders, get_order, list_orders, update_status
from ._products import get_product, list_products
from ._sales import post_sales
from ._smart import get_smart_reordering, post_smart_reorder
from ._webhooks import receive_webhook

__all__ = ["API_PREFIX", "OPENAPI_PATH", "ROUTES", "RouteSpec"]

API_PREFIX = "/api/v1"
OPENAPI_PATH = "/openapi.json"
"""The API contract, served without auth, limits or faults."""


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route of the table."""

    method: str
    path: str
    api: Api
    buckets: tuple[Bucket, ...]
    write: bool
    handler: Handler
    query: frozenset[str] = frozenset()


_INCLUDES = ("withImages", "includeCategory", "includeTcc", "includeTsp")

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "GET",
        "/products",
        "standard",
        ("standard",),
        False,
        list_products,
        frozenset({"page", "limit", "supplier_id", "search", "ids", *_INCLUDES}),
    ),
    RouteSpec(
        "GET",
        "/products/{product_id}",
        "standard",
        ("standard",),
        False,
        get_product,
        frozenset(_INCLUDES),
    ),
    RouteSpec("POST", "/sales", "standard", ("standard",), True, post_sales),
    RouteSpec(
        "GET",
        "/smart-reordering",
        "standard",
        ("standard", "smart"),
        False,
        get_smart_reordering,
        frozenset({"date"}),
    ),
    RouteSpec(
        "GET",
        "/currency/convert-to-try",
        "standard",
        ("standard",),
        False,
        convert_to_try,
        frozenset({"amount", "currency"}),
    ),
    RouteSpec(
        "POST",
        "/external/smart-reorder",
        "external",
        ("external", "smart"),
        True,
        post_smart_reorder,
    ),
    RouteSpec("POST", "/external/orders", "external", ("external",), True, create_orders),
    RouteSpec(
        "GET",
        "/external/orders",
        "external",
        ("external",),
        False,
        list_orders,
        frozenset({"status", "limit", "offset"}),
    ),
    RouteSpec(
        "GET", "/external/orders/{order_number}", "external", ("external",), False, get_order
    ),
    RouteSpec(
        "PUT",
        "/external/orders/{order_number}/status",
        "external",
        ("external",),
        True,
        update_status,
    ),
    RouteSpec("POST", "/external/webhook", "signed", (), False, receive_webhook),
)
