"""``POST /sales``: all-or-nothing batches, validated record by record, aggregated per product
and day (quantity SUM, stock_on_hand MAX) as the reference describes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import FIRST_DAY, LAST_DAY, MAX_COUNT, MAX_RECORDS
from ._catalog import SandboxProduct
from ._context import Context
from ._errors import ApiError, bad_request, json_response
from ._request import as_count, parse_day, read_json

__all__ = ["ID_EXPECTED", "post_sales"]

ID_EXPECTED = "UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or ps_id (ps_XXXXXXXXXX)"
_ID_LIKE = re.compile(
    r"ps_[A-Za-z0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
"""What a product id looks like: only used to word the refusal of an id the catalogue does
not hold (the reference's own examples send ``ps_abc123``; what exists decides)."""
_FIELDS = frozenset({"internal_id", "date", "quantity", "stock_on_hand"})

Row = tuple[SandboxProduct, date, int, int | None]


@dataclass(frozen=True, slots=True)
class _Invalid:
    """One entry of the reference's ``errors`` list (without its index)."""

    error: str
    expected: str
    received: object


def _check(ctx: Context, record: object) -> _Invalid | Row:
    """The record's first problem, or the row to store."""
    if not isinstance(record, dict):
        return _Invalid("Invalid record", "an object", record)
    if unknown := set(record) - _FIELDS:
        return _Invalid("Unknown field", ", ".join(sorted(_FIELDS)), sorted(unknown))
    internal_id = record.get("internal_id")
    product = ctx.state.catalogue.find(internal_id) if isinstance(internal_id, str) else None
    if product is None:
        if isinstance(internal_id, str) and _ID_LIKE.fullmatch(internal_id):
            return _Invalid("Product not found", "an internal_id from your catalogue", internal_id)
        return _Invalid("Invalid internal_id format", ID_EXPECTED, internal_id)
    day = parse_day(record.get("date"))
    if day is None:
        expected = f"YYYY-MM-DD between {FIRST_DAY} and {LAST_DAY}"
        return _Invalid("Invalid date format", expected, record.get("date"))
    quantity = as_count(record.get("quantity"))
    if quantity is None:
        expected = f"Non-negative integer up to {MAX_COUNT}"
        return _Invalid("Invalid quantity", expected, record.get("quantity"))
    raw_stock = record.get("stock_on_hand")
    stock = None if raw_stock is None else as_count(raw_stock)
    if raw_stock is not None and stock is None:
        expected = f"Non-negative integer up to {MAX_COUNT}"
        return _Invalid("Invalid stock_on_hand", expected, raw_stock)
    return product, day, quantity, stock


def _batch_error(message: str) -> ApiError:
    """A 400 for the batch as a whole, in the error format plus ``processed: 0``."""
    error = bad_request(message)
    return ApiError(400, "Invalid request", message, body={**error.body, "processed": 0})


async def post_sales(ctx: Context, request: Request) -> Response:
    """Store a batch of up to MAX_RECORDS records, or none of it."""
    body = await read_json(request)
    if unknown := set(body) - {"sales"}:
        raise _batch_error(f"Unknown field in the request body: {', '.join(sorted(unknown))}")
    sales = body.get("sales")
    if not isinstance(sales, list) or not sales:
        raise _batch_error("sales must be a non-empty array")
    if len(sales) > MAX_RECORDS:
        raise _batch_error(f"At most {MAX_RECORDS} records per request (got {len(sales)})")
    errors: list[dict[str, Any]] = []
    rows: list[Row] = []
    for index, record in enumerate(sales):
        found = _check(ctx, record)
        if isinstance(found, _Invalid):
            errors.append(
                {
                    "index": index,
                    "error": found.error,
                    "expected": found.expected,
                    "received": found.received,
                }
            )
        else:
            rows.append(found)
    if errors:
        body = {"error": "Validation errors", "errors": errors, "processed": 0}
        raise ApiError(400, "Validation errors", "Invalid sales records", body=body)
    for row in rows:
        ctx.state.store_sale(*row)
    ctx.after_store()
    return json_response(
        {"success": True, "message": "Sales data submitted successfully", "processed": len(rows)}
    )
