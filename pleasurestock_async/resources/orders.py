"""The external orders API: ``/external/orders``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._http import AttemptHooks, external
from .._options import RequestOptions
from .._response import raw_response_wrapper
from .._validation import check_int, check_sequence, deferred_adapter, validate_each, validate_value
from ..errors import BadRequestError, InputError
from ..pagination import AsyncPaginator, OffsetPage
from ..types.envelopes import DataEnvelope
from ..types.shared import Identifier
from ._base import Resource

if TYPE_CHECKING:  # the order models load with the first orders call
    from ..types.orders import (
        Order,
        OrderCreateResult,
        OrderItem,
        OrderStatus,
        OrderStatusUpdate,
        OrderSummary,
    )

__all__ = ["Orders", "OrdersWithRawResponse"]

WALK_PAGE_SIZE = 100
"""Orders per request when walking every order (the server's default page is 20)."""

_REFERENCES = ("externalOrderId", "comment")
_CREATE = external(
    "POST",
    "/external/orders",
    body=("items", "items[].ps_id", "items[].quantity", "items[].customPrice", *_REFERENCES),
)
_LIST = external("GET", "/external/orders", query=("status", "limit", "offset"))
_GET = external("GET", "/external/orders/{order_number}")
_STATUS = external("PUT", "/external/orders/{order_number}/status", body=("status", *_REFERENCES))

_ORDER_NUMBER = deferred_adapter(Identifier)
_TEXT = deferred_adapter(str, strict=True)


def _known_status(value: object, settable: bool = False) -> OrderStatus:
    from ..types.orders import SETTABLE_STATUSES, OrderStatus

    allowed = SETTABLE_STATUSES if settable else frozenset(OrderStatus)
    if isinstance(value, str):
        status = OrderStatus(value) if value else None
        if status is not None and status in allowed:
            return status
    names = ", ".join(sorted(s.value for s in allowed))
    raise InputError.single("status", f"must be one of {names}", value)


def _references(external_order_id: str | None, comment: str | None) -> dict[str, str]:
    """The optional ``externalOrderId`` and ``comment`` of a request body, validated."""
    out: dict[str, str] = {}
    if external_order_id is not None:
        out["externalOrderId"] = validate_value(_TEXT, external_order_id, "external_order_id")
    if comment is not None:
        out["comment"] = validate_value(_TEXT, comment, "comment")
    return out


def _order_number(value: object) -> dict[str, str]:
    return {"order_number": validate_value(_ORDER_NUMBER, value, "order_number")}


class Orders(Resource):
    """Orders placed with suppliers through the external B2B API."""

    async def create(
        self,
        items: Sequence[OrderItem | Mapping[str, Any]],
        *,
        external_order_id: str | None = None,
        comment: str | None = None,
        options: RequestOptions | None = None,
    ) -> OrderCreateResult:
        """Create orders from ``items``; the server makes one order per supplier.

        Not idempotent: each call creates new orders, so an attempt whose answer was lost is
        never resent (the error says ``outcome_unknown``); look the order up by
        ``external_order_id`` before trying again.

        Args:
            items: :class:`OrderItem` or dicts (``ps_id``, ``quantity``, optional
                ``customPrice``/``custom_price``).
            external_order_id: Your reference.
            comment: An order comment.
            options: Per-call settings.

        Returns:
            :class:`OrderCreateResult`: ``orders`` (one per supplier), ``total_orders``,
            ``total_amount``.

        Raises:
            InputError: An item is invalid (its index and field are named), or none given.
            BadRequestError: The server refused the items (for example an unknown product).

        Example::

            created = await ps.orders.create([OrderItem(ps_id="ps_1234567890", quantity=10)])
        """
        from ..types.orders import OrderCreateResult, OrderItem

        valid = validate_each(OrderItem, check_sequence("items", items), "order items")
        if not valid:
            raise InputError.single("items", "is empty", [])
        payload: dict[str, Any] = {
            "items": [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in valid],
            **_references(external_order_id, comment),
        }
        envelope = await self._http.request(
            _CREATE,
            DataEnvelope[OrderCreateResult],
            body=json.dumps(payload).encode(),
            options=options,
        )
        return envelope.data

    def list(
        self,
        *,
        status: OrderStatus | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        options: RequestOptions | None = None,
    ) -> AsyncPaginator[OffsetPage[OrderSummary], OrderSummary]:
        """List your company's orders, newest first: ``await`` it for one page, ``async for``
        over it for every order.

        Args:
            status: Only orders with this status (for example ``"created"``: active orders).
            limit: Orders per page (default: the server's 20 for one page; 100 when walking).
            offset: Orders to skip (default 0).
            options: Per-call settings.

        Returns:
            A listing: awaited, an :class:`OffsetPage` of :class:`OrderSummary`; iterated,
            every matching order.

        Raises:
            InputError: An unknown status, a limit below 1 or a negative offset.

        Example::

            async for order in ps.orders.list(status="created"):
                print(order.order_number, order.status_display.label)
        """
        from ..types.orders import OrderList

        params = {
            "status": None if status is None else _known_status(status).value,
            "limit": None if limit is None else check_int("limit", limit, low=1),
            "offset": None if offset is None else check_int("offset", offset),
        }

        async def fetch(query: dict[str, Any]) -> OffsetPage[OrderSummary]:
            found = await self._http.request(
                _LIST, DataEnvelope[OrderList], params=query, options=options
            )
            return OffsetPage(found.data.orders, found.data.pagination, query, fetch)

        return AsyncPaginator(
            fetch,
            {k: v for k, v in params.items() if v is not None},
            walk_defaults={"limit": WALK_PAGE_SIZE},
        )

    async def get(self, order_number: str, *, options: RequestOptions | None = None) -> Order:
        """One order's full detail: supplier, lines, amounts and lifecycle dates.

        Args:
            order_number: For example ``"ORD-20251103-78XZ70"``.
            options: Per-call settings.

        Returns:
            The :class:`Order`.

        Raises:
            NotFoundError: No such order.

        Example::

            order = await ps.orders.get("ORD-20251103-78XZ70")
        """
        from ..types.orders import Order

        envelope = await self._http.request(
            _GET, DataEnvelope[Order], path_params=_order_number(order_number), options=options
        )
        return envelope.data

    async def update_status(
        self,
        order_number: str,
        status: OrderStatus | str,
        *,
        external_order_id: str | None = None,
        comment: str | None = None,
        options: RequestOptions | None = None,
    ) -> OrderStatusUpdate:
        """Move an order to ``status``; the server refuses steps its lifecycle does not allow.

        A change whose answer was lost (a timeout, a dropped connection, a 5xx) is retried.
        When the server then refuses the retry, the lost attempt may have been applied: the
        order is read back, and if it has ``status`` the result says so with
        ``confirmed_by_reading`` (the change's ``comment`` and ``external_order_id`` may not
        have been stored). A refusal of a change that was never in doubt is raised as it is.

        Args:
            order_number: The order.
            status: ``part_paid``, ``paid``, ``on_the_way``, ``delivered``, ``accepted`` or
                ``cancelled``.
            external_order_id: Your reference, stored with the change.
            comment: A note stored with the change.
            options: Per-call settings.

        Returns:
            :class:`OrderStatusUpdate` with the new status and when it changed.

        Raises:
            InputError: ``status`` is not one a client may set.
            BadRequestError: The lifecycle does not allow the step.
            NotFoundError: No such order.

        Example::

            await ps.orders.update_status("ORD-20251103-78XZ70", "paid", comment="Paid")
        """
        from ..types.orders import OrderStatusUpdate

        target = _known_status(status, settable=True)
        path = _order_number(order_number)
        payload = {"status": target.value, **_references(external_order_id, comment)}
        attempts = _Attempts()
        try:
            envelope = await self._http.request(
                _STATUS,
                DataEnvelope[OrderStatusUpdate],
                path_params=path,
                body=json.dumps(payload).encode(),
                options=options,
                hooks=attempts,
            )
        except BadRequestError:
            if not attempts.earlier_in_doubt():
                raise
            order = await self.get(path["order_number"], options=options)
            if order.status != target:
                raise
            return OrderStatusUpdate.read_back(order)
        return envelope.data


class _Attempts(AttemptHooks):
    """Which attempts of one request left and may have reached the server."""

    def __init__(self) -> None:
        self._in_doubt: list[bool] = []

    async def before_send(self) -> None:
        self._in_doubt.append(True)

    async def not_stored(self) -> None:
        if self._in_doubt:
            self._in_doubt[-1] = False

    def earlier_in_doubt(self) -> bool:
        """Whether an attempt before the last one was sent and its outcome is unknown."""
        return any(self._in_doubt[:-1])


class OrdersWithRawResponse:
    """:class:`Orders` methods returning an :class:`APIResponse` (status, headers, elapsed)
    around their usual result (``list`` gives the one page it names)."""

    def __init__(self, orders: Orders) -> None:
        self.create = raw_response_wrapper(orders.create)
        self.list = raw_response_wrapper(orders.list)
        self.get = raw_response_wrapper(orders.get)
        self.update_status = raw_response_wrapper(orders.update_status)
