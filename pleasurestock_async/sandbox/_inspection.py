"""What the inspection routes share: the sandbox's live parts they read (the same objects the
API's handlers use), paging, and their guard against other sites.

The routes live under :data:`INSPECT_PREFIX` inside the API's base URL, a prefix the real API
never uses; they need no key, spend no rate limit, get no injected fault and are not logged.
A write (reset, resend) sent by a page of another site is refused, so a web page cannot
reset a sandbox behind its user's back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ._auth import Keys
from ._bounds import MAX_PAGE
from ._context import Context
from ._errors import ApiError
from ._limits import ServerLimits
from ._request import query_int
from ._request_log import RequestLog

__all__ = [
    "INSPECT_PREFIX",
    "MAX_INSPECT_LIMIT",
    "InspectHandler",
    "Inspection",
    "pagination",
    "paging",
    "refuse_other_sites",
]

INSPECT_PREFIX = "/_sandbox"
"""Where the inspection routes live, under the API's ``/api/v1``."""
MAX_INSPECT_LIMIT = 1000
"""Largest page of an inspection list."""
DEFAULT_LIMIT = 100


@dataclass(slots=True)
class Inspection:
    """One sandbox's live parts, as its API uses them."""

    ctx: Context
    keys: Keys
    limits: ServerLimits | None
    log: RequestLog
    example_orders: bool


InspectHandler = Callable[[Inspection, Request], Awaitable[Response]]
"""An inspection route: the sandbox's parts and the request in, the answer out."""


def paging(request: Request) -> tuple[int, int]:
    """``page`` and ``limit`` of a list (at most :data:`MAX_INSPECT_LIMIT` a page)."""
    page = query_int(request, "page", 1, 1, MAX_PAGE)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_INSPECT_LIMIT)
    return page, limit


def pagination(page: int, limit: int, total: int) -> dict[str, int]:
    """The page-number pagination object of the product list, for ``total`` items."""
    return {"page": page, "limit": limit, "total": total, "pages": -(-total // limit)}


def page_of(items: Sequence[Any], page: int, limit: int) -> Sequence[Any]:
    """The items of one page."""
    return items[(page - 1) * limit : page * limit]


def refuse_other_sites(request: Request) -> None:
    """A 403 for a request a browser sent on behalf of another site."""
    origin = request.headers.get("origin")
    cross = request.headers.get("sec-fetch-site") == "cross-site"
    if cross or (origin is not None and urlsplit(origin).netloc != request.headers.get("host")):
        raise ApiError(
            403,
            "Forbidden",
            "Cross-site request refused",
            [
                "The inspector's writes are accepted from its own page and from tools, not from "
                "other sites"
            ],
        )
