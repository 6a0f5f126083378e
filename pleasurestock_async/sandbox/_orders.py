"""The external orders API: create (grouped by supplier), list, show and move an order through
its lifecycle, with a webhook for each change."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import (
    MAX_COMMENT,
    MAX_EXTERNAL_ID,
    MAX_ITEMS,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_ORDER_QUANTITY,
    MAX_PRICE,
)
from ._context import Context, stamp
from ._errors import ApiError, bad_request, json_response
from ._products import IMAGE_BASE
from ._request import as_count, is_number, query_int, read_json
from ._state import OrderLine, SandboxOrder, TransitionError
from ._status import SETTABLE, Status, display
from ._webhooks import created_event

__all__ = ["create_orders", "get_order", "list_orders", "update_status"]

DELIVERY_TIME = timedelta(days=10)
_ITEM_FIELDS = frozenset({"ps_id", "quantity", "customPrice"})
_CENT = Decimal("0.01")
_STATUSES = tuple(s.value for s in Status)


def _day_first(moment: datetime | None) -> str | None:
    """The list's day/month/year dates, as the reference shows them ("03/11/25")."""
    return None if moment is None else moment.strftime("%d/%m/%y")


def _optional_text(body: dict[str, Any], name: str, longest: int, details: list[str]) -> str | None:
    value = body.get(name)
    if value is not None and not (isinstance(value, str) and len(value) <= longest):
        details.append(f"{name}: must be null or a string of at most {longest} characters")
        return None
    return value


def _unknown(body: dict[str, Any], allowed: set[str], details: list[str]) -> None:
    details.extend(f"{name}: unknown field" for name in sorted(set(body) - allowed))


def _line(ctx: Context, index: int, item: object, details: list[str]) -> OrderLine | None:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        details.append(f"{where}: must be an object")
        return None
    before = len(details)
    details.extend(f"{where}.{name}: unknown field" for name in sorted(set(item) - _ITEM_FIELDS))
    ps_id = item.get("ps_id")
    product = (
        ctx.state.catalogue.find(ps_id)
        if isinstance(ps_id, str) and ps_id.startswith("ps_")
        else None
    )
    if product is None:
        shown = ps_id[:100] if isinstance(ps_id, str) else ps_id
        details.append(f"{where}.ps_id: unknown product {shown!r}")
    quantity = as_count(item.get("quantity"), MAX_ORDER_QUANTITY)
    if not quantity:
        details.append(f"{where}.quantity: must be an integer from 1 to {MAX_ORDER_QUANTITY}")
    custom = item.get("customPrice")
    if custom is not None and not is_number(custom, MAX_PRICE):
        details.append(f"{where}.customPrice: must be a number from 0 to {MAX_PRICE}")
    if len(details) > before or product is None or not quantity:
        return None
    if custom is None:
        return OrderLine(product, quantity, product.price, custom=False)
    price = Decimal(str(custom)).quantize(_CENT, ROUND_HALF_UP)
    return OrderLine(product, quantity, price, custom=True)


async def create_orders(ctx: Context, request: Request) -> Response:
    """One order per supplier of the items; each sends ``order.created``."""
    body = await read_json(request)
    details: list[str] = []
    _unknown(body, {"items", "externalOrderId", "comment"}, details)
    external = _optional_text(body, "externalOrderId", MAX_EXTERNAL_ID, details)
    comment = _optional_text(body, "comment", MAX_COMMENT, details)
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise bad_request(f"items must be an array of 1 to {MAX_ITEMS} items", details)
    lines = [_line(ctx, index, item, details) for index, item in enumerate(items)]
    if details:
        raise ApiError(400, "Validation failed", "Invalid order", details)
    orders = ctx.state.create_orders([x for x in lines if x is not None], external, comment)
    for order in orders:
        ctx.notify("order.created", created_event(order))
    ctx.after_store()
    return json_response(
        {
            "success": True,
            "data": {
                "orders": [
                    {
                        "orderNumber": o.number,
                        "deliveryId": o.delivery_id,
                        "supplierId": o.supplier.id,
                        "status": o.status.value,
                        "totalAmount": o.total,
                        "currency": o.supplier.currency,
                        "items": len(o.lines),
                        "createdAt": o.created_at,
                    }
                    for o in orders
                ],
                "totalOrders": len(orders),
                "totalAmount": sum((o.total for o in orders), Decimal(0)),
            },
        }
    )


def _header(o: SandboxOrder) -> dict[str, Any]:
    """The fields an order has in both the list and the detail."""
    return {
        "orderId": o.order_id,
        "orderNumber": o.number,
        "deliveryId": o.delivery_id,
        "externalOrderId": o.external_order_id,
        "status": o.status.value,
        "statusDisplay": display(o.status),
    }


def _summary(o: SandboxOrder) -> dict[str, Any]:
    custom = sum(1 for line in o.lines if line.custom)
    return {
        **_header(o),
        "supplierName": o.supplier.name,
        "totalAmount": f"{o.total:.2f}",
        "currency": o.supplier.currency,
        "itemsCount": len(o.lines),
        "hasCustomItems": custom > 0,
        "customItemsCount": custom,
        "catalogItemsCount": len(o.lines) - custom,
        "createdAt": _day_first(o.created_at),
        "statusChangedAt": _day_first(o.status_changed_at),
    }


async def list_orders(ctx: Context, request: Request) -> Response:
    """Newest first, optionally of one status, by ``limit`` and ``offset``."""
    limit = query_int(request, "limit", 20, 1, MAX_LIMIT)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    orders = list(reversed(ctx.state.orders))
    if (status := request.query_params.get("status")) is not None:
        if status not in _STATUSES:
            raise bad_request(f"status must be one of {', '.join(Status)}")
        orders = [o for o in orders if o.status == status]
    page = orders[offset : offset + limit]
    return json_response(
        {
            "success": True,
            "data": {
                "orders": [_summary(o) for o in page],
                "pagination": {"total": len(orders), "limit": limit, "offset": offset},
            },
        }
    )


def _order(ctx: Context, request: Request) -> SandboxOrder:
    number = request.path_params["order_number"]
    order = ctx.state.find_order(number)
    if order is None:
        raise ApiError(404, "Not Found", f"Order {number[:100]} not found")
    return order


async def get_order(ctx: Context, request: Request) -> Response:
    """One order with its lines and lifecycle dates."""
    o = _order(ctx, request)
    currency = o.supplier.currency
    return json_response(
        {
            "success": True,
            "data": {
                **_header(o),
                "supplier": {"id": o.supplier.uuid, "name": o.supplier.name},
                "hasCustomItems": any(line.custom for line in o.lines),
                "items": [
                    {
                        "productId": line.product.number,
                        "psId": line.product.internal_id,
                        "name": line.product.name,
                        "sku": line.product.sku,
                        "quantity": line.quantity,
                        "unitPrice": line.unit_price,
                        "totalPrice": line.total,
                        "currency": currency,
                        "imageUrl": f"{IMAGE_BASE}{line.product.sku.lower()}-1.jpg",
                    }
                    for line in o.lines
                ],
                "totalAmount": o.total,
                "currency": currency,
                "estimatedDeliveryDate": stamp(
                    (o.created_at + DELIVERY_TIME).replace(hour=0, minute=0, second=0)
                ),
                "actualDeliveryDate": stamp(o.delivered_at),
                "createdAt": stamp(o.created_at),
                "confirmedAt": stamp(o.created_at),
                "paidAt": stamp(o.paid_at),
                "shippedAt": stamp(o.shipped_at),
                "acceptedAt": stamp(o.accepted_at),
            },
        }
    )


async def update_status(ctx: Context, request: Request) -> Response:
    """Apply one lifecycle step; sends ``order.status_changed`` or ``order.cancelled``."""
    order = _order(ctx, request)
    body = await read_json(request)
    details: list[str] = []
    _unknown(body, {"status", "externalOrderId", "comment"}, details)
    external = _optional_text(body, "externalOrderId", MAX_EXTERNAL_ID, details)
    comment = _optional_text(body, "comment", MAX_COMMENT, details)
    raw = body.get("status")
    if not (isinstance(raw, str) and raw in _STATUSES):
        details.append(f"status: must be one of {', '.join(sorted(SETTABLE))}")
    if details:
        raise bad_request("Invalid status update", details)
    new = Status(str(raw))
    if new not in SETTABLE:
        raise bad_request(f"status {new.value} is set by the system")
    try:
        old = ctx.state.change_status(order, new, comment)
    except TransitionError as exc:
        raise ApiError(400, "Invalid status transition", str(exc)) from None
    if external is not None:
        order.external_order_id = external
    changed = {
        "orderId": order.order_id,
        "orderNumber": order.number,
        "oldStatus": old.value,
        "newStatus": new.value,
        "changedBy": "external_api",
        "comment": comment,
        "changedAt": stamp(order.status_changed_at),
    }
    if new is Status.CANCELLED:
        ctx.notify(
            "order.cancelled",
            {**changed, "reason": comment, "cancelledAt": stamp(order.status_changed_at)},
        )
    else:
        ctx.notify("order.status_changed", changed)
    ctx.after_store()
    return json_response(
        {
            "success": True,
            "data": {
                "orderId": order.order_id,
                "orderNumber": order.number,
                "status": new.value,
                "statusChangedAt": order.status_changed_at,
            },
        }
    )
