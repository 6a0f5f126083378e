"""``GET /smart-reordering`` and ``POST /external/smart-reorder``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._http import external, standard
from .._options import RequestOptions
from .._response import raw_response_wrapper
from .._validation import check_sequence, deferred_adapter, validate_each, validate_value
from ..errors import InputError
from ..types.envelopes import DataEnvelope
from ..types.shared import SaleDate
from ._base import Resource

if TYPE_CHECKING:  # the models load with the first smart reordering call
    from ..types.smart_reordering import SmartReorderAck, SmartReorderingReport, SmartReorderProduct

__all__ = ["SmartReordering", "SmartReorderingWithRawResponse"]

_GET = standard("GET", "/smart-reordering", smart=True, query=("date",))
_SUBMIT = external(
    "POST",
    "/external/smart-reorder",
    smart=True,
    body=(
        "products",
        *(f"products[].{name}" for name in ("ps_id", "quantity", "current_stock", "sales_history")),
    ),
)
_DATE = deferred_adapter(SaleDate)


class SmartReordering(Resource):
    """AI reorder recommendations, and the sales data that feeds them. Both routes also spend
    the smart-reordering budget (100 requests an hour by default)."""

    async def get(
        self, date: dt.date | str | None = None, *, options: RequestOptions | None = None
    ) -> SmartReorderingReport:
        """The recommendations for ``date``.

        Args:
            date: The target day, a ``date`` or ``"YYYY-MM-DD"`` (default: the server's today).
            options: Per-call settings.

        Returns:
            :class:`SmartReorderingReport`: ``recommendations`` (largest first) and ``total``.

        Raises:
            InputError: ``date`` is not a date.

        Example::

            report = await ps.smart_reordering.get("2025-11-03")
        """
        from ..types.smart_reordering import SmartReorderingReport

        day = None if date is None else validate_value(_DATE, date, "date").isoformat()
        return await self._http.request(
            _GET, SmartReorderingReport, params={"date": day}, options=options
        )

    async def submit(
        self,
        products: Sequence[SmartReorderProduct | Mapping[str, Any]],
        *,
        options: RequestOptions | None = None,
    ) -> SmartReorderAck:
        """Send per-product sales to ``POST /external/smart-reorder``.

        Not idempotent: an attempt whose answer was lost is never resent.

        Args:
            products: :class:`SmartReorderProduct` or dicts: ``ps_id`` (starting ``ps_``),
                ``quantity`` and ``current_stock`` (numbers >= 0), ``sales_history`` (at least
                7 numbers >= 0).
            options: Per-call settings.

        Returns:
            :class:`SmartReorderAck` (``smart_reorder_id``, ``last_updated``, ``is_active``).

        Raises:
            InputError: A product is invalid (its index and field are named), or none given.

        Example::

            ack = await ps.smart_reordering.submit([{"ps_id": "ps_1234567890", "quantity": 15,
                "current_stock": 85, "sales_history": [5, 8, 12, 6, 9, 11, 7]}])
        """
        from ..types.smart_reordering import SmartReorderAck, SmartReorderProduct

        valid = validate_each(
            SmartReorderProduct, check_sequence("products", products), "smart-reorder products"
        )
        if not valid:
            raise InputError.single("products", "is empty", [])
        body = json.dumps(
            {"products": [p.model_dump(mode="json", exclude_none=True) for p in valid]}
        ).encode()
        envelope = await self._http.request(
            _SUBMIT, DataEnvelope[SmartReorderAck], body=body, options=options
        )
        return envelope.data


class SmartReorderingWithRawResponse:
    """:class:`SmartReordering` methods returning an :class:`APIResponse` around their
    result."""

    def __init__(self, smart_reordering: SmartReordering) -> None:
        self.get = raw_response_wrapper(smart_reordering.get)
        self.submit = raw_response_wrapper(smart_reordering.submit)
