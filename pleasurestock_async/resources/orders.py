"""The external orders API: ``/external/orders``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import pydantic

from .._validation import validate_each, validate_value
from ..errors import InputError, InputErrorDetail
from ..pagination import AsyncPaginator
from ..types.envelopes import DataEnvelope
from ..types.orders import (
    SETTABLE_STATUSES,
    Order,
    OrderCreateResult,
    OrderItem,
    OrderList,
    OrderStatus,
    OrderStatusUpdate,
    OrderSummary,
)
from ._base import Resource

__all__ = ["Orders"]

WALK_PAGE_SIZE = 100
"""Orders per request when walking every order (the server's default page is 20)."""

_ORDER_NUMBER = pydantic.TypeAdapter(
    str, config=pydantic.ConfigDict(str_min_length=1, str_max_length=100)
)
_TEXT = pydantic.TypeAdapter(str, config=pydantic.ConfigDict(str_max_length=1000))
_STATUS = pydantic.TypeAdapter(OrderStatus)


def _next_offset(page: DataEnvelope[OrderList], params: dict[str, Any]) -> dict[str, Any] | None:
    got = page.data.pagination
    offset = got.offset + len(page.data.orders)
    return None if offset >= got.total else {**params, "offset": offset}


def _references(external_order_id: str | None, comment: str | None) -> dict[str, str]:
    """The optional ``externalOrderId`` and ``comment`` of a request body, validated."""
    out: dict[str, str] = {}
    if external_order_id is not None:
        out["externalOrderId"] = validate_value(_TEXT, external_order_id, "external_order_id")
    if comment is not None:
        out["comment"] = validate_value(_TEXT, comment, "comment")
    return out


def _order_path(order_number: str) -> str:
    number = validate_value(_ORDER_NUMBER, order_number, "order_number")
    return f"/external/orders/{quote(number, safe='')}"


class Orders(Resource):
    """Orders placed with suppliers through the external B2B API."""

    async def create(
        self,
        items: Sequence[OrderItem | Mapping[str, Any]],
        *,
        external_order_id: str | None = None,
        comment: str | None = None,
    ) -> OrderCreateResult:
        """Create orders from ``items``; the server makes one order per supplier.

        Not idempotent: each call creates new orders, so it is never resent on doubt.
        """
        valid = validate_each(OrderItem, items, "order items")
        if not valid:
            raise InputError("order items", [InputErrorDetail(None, "items", "is empty", [])])
        payload: dict[str, Any] = {
            "items": [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in valid],
            **_references(external_order_id, comment),
        }
        envelope = await self._http.request(
            "POST",
            "/external/orders",
            DataEnvelope[OrderCreateResult],
            body=json.dumps(payload).encode(),
        )
        return envelope.data

    def list(
        self,
        *,
        status: OrderStatus | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> AsyncPaginator[DataEnvelope[OrderList], OrderSummary]:
        """List orders, newest first. ``await`` for one page (``.data.orders``,
        ``.data.pagination``); ``async for`` for every order matching ``status``."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be 1 or more, got {limit}")
        if offset is not None and offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        params = {
            "status": None if status is None else validate_value(_STATUS, status, "status").value,
            "limit": limit,
            "offset": offset,
        }
        return AsyncPaginator(
            self._fetch_page,
            {k: v for k, v in params.items() if v is not None},
            items=lambda page: page.data.orders,
            next_params=_next_offset,
            walk_defaults={"limit": WALK_PAGE_SIZE},
        )

    async def _fetch_page(self, params: dict[str, Any]) -> DataEnvelope[OrderList]:
        return await self._http.request(
            "GET", "/external/orders", DataEnvelope[OrderList], params=params
        )

    async def get(self, order_number: str) -> Order:
        """One order's full detail."""
        envelope = await self._http.request("GET", _order_path(order_number), DataEnvelope[Order])
        return envelope.data

    async def update_status(
        self,
        order_number: str,
        status: OrderStatus | str,
        *,
        external_order_id: str | None = None,
        comment: str | None = None,
    ) -> OrderStatusUpdate:
        """Move an order to ``status`` (part_paid, paid, on_the_way, delivered, accepted or
        cancelled); the server refuses transitions its lifecycle does not allow."""
        new_status = validate_value(_STATUS, status, "status")
        if new_status not in SETTABLE_STATUSES:
            allowed = ", ".join(sorted(s.value for s in SETTABLE_STATUSES))
            raise InputError(
                "status",
                [InputErrorDetail(None, "status", f"must be one of {allowed}", status)],
            )
        payload = {"status": new_status.value, **_references(external_order_id, comment)}
        envelope = await self._http.request(
            "PUT",
            _order_path(order_number) + "/status",
            DataEnvelope[OrderStatusUpdate],
            body=json.dumps(payload).encode(),
        )
        return envelope.data
