"""Inspection of what happened: orders with their status history, webhook deliveries (and a
resend), the request log, the live rate-limit windows, the sandbox's settings, and a reset."""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._delivery import Delivery
from ._errors import ApiError, bad_request, json_response
from ._inspection import Inspection, page_of, pagination, paging, refuse_other_sites
from ._limits import BUCKETS
from ._request_log import MAX_LOGGED
from ._state import SandboxOrder
from ._status import Status, display
from ._webhooks import EVENTS

__all__ = [
    "RESET_PARTS",
    "inspect_info",
    "inspect_limits",
    "inspect_order",
    "inspect_orders",
    "inspect_requests",
    "inspect_webhooks",
    "resend_webhook",
    "reset",
]

RESET_PARTS = ("sales", "orders", "webhooks", "requests", "limits")
"""What a reset can forget (all of it by default)."""


def _version() -> str:
    try:
        return metadata.version("pleasurestock-async")
    except metadata.PackageNotFoundError:
        return "unknown"


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.query_params.get(name)
    if raw is not None and raw not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}")
    return raw


def _order(o: SandboxOrder) -> dict[str, Any]:
    return {
        "order_number": o.number,
        "order_id": o.order_id,
        "delivery_id": o.delivery_id,
        "external_order_id": o.external_order_id,
        "status": o.status.value,
        "status_label": display(o.status)["label"],
        "supplier_id": o.supplier.id,
        "supplier_name": o.supplier.name,
        "total_amount": f"{o.total:.2f}",
        "currency": o.supplier.currency,
        "items": len(o.lines),
        "comment": o.comment,
        "created_at": o.created_at,
        "status_changed_at": o.status_changed_at,
        "history": [
            {"from": old.value, "to": new.value, "comment": comment, "at": at}
            for old, new, comment, at in o.history
        ],
    }


async def inspect_orders(ins: Inspection, request: Request) -> Response:
    """Orders, newest first (``status`` filters), each with its status history."""
    page, limit = paging(request)
    status = _choice(request, "status", tuple(s.value for s in Status))
    orders = [o for o in reversed(ins.ctx.state.orders) if status is None or o.status == status]
    return json_response(
        {
            "success": True,
            "data": [_order(o) for o in page_of(orders, page, limit)],
            "pagination": pagination(page, limit, len(orders)),
        }
    )


async def inspect_order(ins: Inspection, request: Request) -> Response:
    """One order with its history and lines."""
    number = request.path_params["order_number"]
    order = ins.ctx.state.find_order(number)
    if order is None:
        raise ApiError(404, "Not Found", f"Order {number[:100]} not found")
    lines = [
        {
            "internal_id": line.product.internal_id,
            "sku": line.product.sku,
            "name": line.product.name,
            "quantity": line.quantity,
            "unit_price": f"{line.unit_price:.2f}",
            "total_price": f"{line.total:.2f}",
            "custom_price": line.custom,
        }
        for line in order.lines
    ]
    return json_response({"success": True, "data": {**_order(order), "lines": lines}})


def _delivery(d: Delivery) -> dict[str, Any]:
    state = "delivered" if d.delivered else "failed" if d.finished else "pending"
    return {
        "id": d.id,
        "event": d.event,
        "url": d.url,
        "queued_at": d.queued_at,
        "state": state,
        "attempts": [
            {
                "at": a.at,
                "status": a.status if isinstance(a.status, int) else None,
                "error": a.status if isinstance(a.status, str) else None,
                "signature": a.signature,
                "timestamp": a.timestamp,
                "ms": round(a.seconds * 1000, 1),
            }
            for a in d.tries
        ],
        "payload": json.loads(d.body),
        "resent_from": d.resent_from,
    }


async def inspect_webhooks(ins: Inspection, request: Request) -> Response:
    """Webhook deliveries, newest first (``event`` filters): target, each attempt's status
    and signature headers, and the payload."""
    page, limit = paging(request)
    event = _choice(request, "event", EVENTS)
    sender = ins.ctx.sender
    deliveries = sender.deliveries if sender else []
    found = [d for d in reversed(deliveries) if event is None or d.event == event]
    return json_response(
        {
            "success": True,
            "data": [_delivery(d) for d in page_of(found, page, limit)],
            "pagination": pagination(page, limit, len(found)),
        }
    )


async def resend_webhook(ins: Inspection, request: Request) -> Response:
    """Deliver a delivery's event again, as a new delivery."""
    refuse_other_sites(request)
    raw = request.path_params["delivery_id"]
    sender = ins.ctx.sender
    found = sender.find(int(raw)) if sender and raw.isdigit() and len(raw) < 19 else None
    if sender is None or found is None:
        raise ApiError(404, "Not Found", f"Webhook delivery {raw[:40]} not found")
    return json_response({"success": True, "data": _delivery(sender.resend(found))}, 202)


async def inspect_requests(ins: Inspection, request: Request) -> Response:
    """The request log, newest first."""
    page, limit = paging(request)
    entries = ins.log.newest((page - 1) * limit, limit)
    rows = [
        {
            "seq": e.seq,
            "id": e.id,
            "at": e.at,
            "method": e.method,
            "path": e.path,
            "status": e.status,
            "api": e.api,
            "buckets": list(e.buckets),
            "key": e.key,
            "ms": round(e.seconds * 1000, 2),
            "error": e.error,
        }
        for e in entries
    ]
    return json_response(
        {"success": True, "data": rows, "pagination": pagination(page, limit, len(ins.log))}
    )


async def inspect_limits(ins: Inspection, request: Request) -> Response:
    """Each key's windows per bucket, now: the requests each counts of its limit."""
    limits = ins.limits
    rows = []
    if limits is not None:
        for key, label, role in ins.keys.labels():
            for bucket in BUCKETS:
                windows = limits.usage(key, bucket)
                if not windows:
                    continue
                rows.append(
                    {
                        "key": label,
                        "role": role.value,
                        "bucket": bucket,
                        "refused": limits.refused[(key, bucket)],
                        "windows": [
                            {
                                "limit": w.limit,
                                "seconds": w.seconds,
                                "used": w.used,
                                "frees_in": None if w.frees_in is None else round(w.frees_in, 3),
                            }
                            for w in windows
                        ],
                    }
                )
    return json_response({"success": True, "enforced": limits is not None, "data": rows})


async def inspect_info(ins: Inspection, request: Request) -> Response:
    """The sandbox's settings: version, catalogue size, keys (labels only), limits, webhooks."""
    limits, sender = ins.limits, ins.ctx.sender
    return json_response(
        {
            "success": True,
            "data": {
                "version": _version(),
                "products": len(ins.ctx.state.catalogue.products),
                "keys": [
                    {"key": label, "role": role.value} for _, label, role in ins.keys.labels()
                ],
                "rate_limits": None
                if limits is None
                else {
                    bucket: [{"limit": w.limit, "seconds": w.seconds} for w in windows]
                    for bucket, windows in limits.config.windows().items()
                },
                "webhook_url": sender.url if sender else None,
                "webhook_retry_delays": list(sender.retry_delays) if sender else [],
                "example_orders": ins.example_orders,
                "request_log_size": MAX_LOGGED,
            },
        }
    )


async def reset(ins: Inspection, request: Request) -> Response:
    """Forget what the sandbox received (``only`` names parts; all of them by default): stored
    sales, orders (the example orders come back), webhook deliveries, the request log and the
    rate-limit windows."""
    refuse_other_sites(request)
    parts = request.query_params.getlist("only")
    if unknown := [p for p in parts if p not in RESET_PARTS]:
        raise bad_request(
            f"only must name {', '.join(RESET_PARTS)}", [f"unknown: {p[:40]}" for p in unknown[:5]]
        )
    if len(set(parts)) < len(parts):
        raise bad_request("only names a part more than once")
    chosen = [p for p in RESET_PARTS if p in parts] if parts else list(RESET_PARTS)
    if "sales" in chosen:
        ins.ctx.state.forget_sales()
    if "orders" in chosen:
        ins.ctx.state.forget_orders(examples=ins.example_orders)
    if "webhooks" in chosen:
        if ins.ctx.sender is not None:
            ins.ctx.sender.forget()
        ins.ctx.received_webhooks.clear()
    if "requests" in chosen:
        ins.log.clear()
    if "limits" in chosen and ins.limits is not None:
        ins.limits.reset()
    return json_response({"success": True, "reset": chosen})
