"""Inspection of what the sandbox stored: sales per product and day (with totals over every
day the filter keeps, not just the page) and the products with their sales."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import FIRST_DAY, LAST_DAY, MAX_SEARCH
from ._catalog import SandboxProduct
from ._errors import ApiError, bad_request, json_response
from ._inspection import Inspection, pagination, paging
from ._request import query_bool, query_day, query_text

__all__ = ["inspect_products", "inspect_sales"]


def _product(ins: Inspection, request: Request) -> SandboxProduct | None:
    wanted = query_text(request, "product", 100)
    if wanted is None:
        return None
    found = ins.ctx.state.catalogue.find(wanted.strip())
    if found is None:
        raise ApiError(404, "Not Found", f"Product {wanted[:100]} not found")
    return found


async def inspect_sales(ins: Inspection, request: Request) -> Response:
    """Stored days by product (catalogue order) then date, filtered by ``product``, ``from``
    and ``to``; ``totals`` cover every day the filter keeps."""
    page, limit = paging(request)
    only = _product(ins, request)
    start = query_day(request, "from", FIRST_DAY)
    end = query_day(request, "to", LAST_DAY)
    if start > end:
        raise bad_request(f"from ({start}) is after to ({end})")
    stored = ins.ctx.state.sales
    offset, stop = (page - 1) * limit, page * limit
    rows: list[dict[str, Any]] = []
    count = quantity = products = 0
    first: date | None = None
    last: date | None = None
    for product in [only] if only else ins.ctx.state.catalogue.products:
        days = stored.get(product.id)
        if not days:
            continue
        chosen = sorted(d for d in days if start <= d <= end)
        if not chosen:
            continue
        products += 1
        quantity += sum(days[d].quantity for d in chosen)
        first = chosen[0] if first is None else min(first, chosen[0])
        last = chosen[-1] if last is None else max(last, chosen[-1])
        if count + len(chosen) > offset and count < stop:
            for day in chosen[max(0, offset - count) : stop - count]:
                rows.append(
                    {
                        "internal_id": product.internal_id,
                        "product_uuid": product.id,
                        "sku": product.sku,
                        "name": product.name,
                        "date": day,
                        "quantity": days[day].quantity,
                        "stock_on_hand": days[day].stock_on_hand,
                    }
                )
        count += len(chosen)
    return json_response(
        {
            "success": True,
            "data": rows,
            "totals": {
                "product_days": count,
                "products": products,
                "quantity": quantity,
                "first_day": first,
                "last_day": last,
            },
            "pagination": pagination(page, limit, count),
        }
    )


async def inspect_products(ins: Inspection, request: Request) -> Response:
    """The catalogue (``search`` by name, SKU or id; ``sold=true``: only products with stored
    sales), each with its stored days, units and latest day."""
    page, limit = paging(request)
    search = (query_text(request, "search", MAX_SEARCH) or "").strip().lower()
    sold = query_bool(request, "sold", False)
    stored = ins.ctx.state.sales
    products = [
        p
        for p in ins.ctx.state.catalogue.products
        if (not sold or stored.get(p.id))
        and (
            not search
            or search in p.name.lower()
            or search in p.sku.lower()
            or search in p.internal_id.lower()
            or search == p.id
        )
    ]
    rows = []
    for p in products[(page - 1) * limit : page * limit]:
        days = stored.get(p.id) or {}
        latest = max(days) if days else None
        rows.append(
            {
                "internal_id": p.internal_id,
                "uuid": p.id,
                "sku": p.sku,
                "name": p.name,
                "supplier_id": p.supplier.id,
                "supplier_name": p.supplier.name,
                "price": f"{p.price:.2f}",
                "currency": p.supplier.currency,
                "days": len(days),
                "quantity": sum(s.quantity for s in days.values()),
                "last_day": latest,
                "last_stock": days[latest].stock_on_hand if latest else None,
            }
        )
    return json_response(
        {"success": True, "data": rows, "pagination": pagination(page, limit, len(products))}
    )
