"""Smart reordering: ``GET /smart-reordering`` (advice from the stored sales) and
``POST /external/smart-reorder`` (a partner's own sales summary)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import MAX_COUNT, MAX_HISTORY, MAX_ITEMS, MAX_PS_ID
from ._context import Context
from ._errors import ApiError, bad_request, json_response
from ._request import is_number, is_ps_id, query_day, read_json

__all__ = ["get_smart_reordering", "post_smart_reorder"]

_FIELDS = frozenset({"ps_id", "quantity", "current_stock", "sales_history"})


async def get_smart_reordering(ctx: Context, request: Request) -> Response:
    """Recommendations for ``date`` (default: today, UTC)."""
    target = query_day(request, "date", datetime.now(UTC).date())
    recommendations = ctx.state.recommendations(target)
    return json_response(
        {
            "success": True,
            "date": target,
            "recommendations": recommendations,
            "total": len(recommendations),
        }
    )


def _problems(index: int, p: Any) -> list[str]:
    where = f"products[{index}]"
    if not isinstance(p, dict):
        return [f"{where}: must be an object"]
    found = [f"{where}.{name}: unknown field" for name in sorted(set(p) - _FIELDS)]
    if not is_ps_id(p.get("ps_id"), MAX_PS_ID):
        found.append(
            f"{where}.ps_id: must start with ps_, at most {MAX_PS_ID} characters, without "
            "whitespace, control characters, /, \\, ?, # or commas"
        )
    for name in ("quantity", "current_stock"):
        if not is_number(p.get(name)):
            found.append(f"{where}.{name}: must be a non-negative number up to {MAX_COUNT}")
    history = p.get("sales_history")
    if not (
        isinstance(history, list)
        and 7 <= len(history) <= MAX_HISTORY
        and all(is_number(v) for v in history)
    ):
        found.append(
            f"{where}.sales_history: 7 to {MAX_HISTORY} days of numbers from 0 to {MAX_COUNT}"
        )
    return found


async def post_smart_reorder(ctx: Context, request: Request) -> Response:
    """Accept a validated submission and answer with its id."""
    body = await read_json(request)
    if unknown := set(body) - {"products"}:
        raise bad_request("Unknown field in the request body", sorted(unknown))
    products = body.get("products")
    if not isinstance(products, list) or not 1 <= len(products) <= MAX_ITEMS:
        raise bad_request(f"products must be an array of 1 to {MAX_ITEMS} products")
    details = [d for index, p in enumerate(products) for d in _problems(index, p)]
    if details:
        raise ApiError(400, "Validation failed", "Invalid smart reorder data", details)
    now = datetime.now(UTC).replace(microsecond=0)
    ctx.state.smart_reorders.append({"products": products, "at": now})
    ctx.after_store()
    return json_response(
        {
            "success": True,
            "data": {
                "smartReorderId": len(ctx.state.smart_reorders),
                "lastUpdated": now,
                "isActive": True,
            },
        }
    )
