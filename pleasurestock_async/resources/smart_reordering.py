"""``GET /smart-reordering`` and ``POST /external/smart-reorder``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from .._validation import validate_each, validate_value
from ..errors import InputError, InputErrorDetail
from ..types.envelopes import DataEnvelope
from ..types.shared import SaleDate
from ..types.smart_reordering import SmartReorderAck, SmartReorderingReport, SmartReorderProduct
from ._base import Resource

__all__ = ["SmartReordering"]

_DATE = pydantic.TypeAdapter(SaleDate)


class SmartReordering(Resource):
    """AI reorder recommendations, and the sales data that feeds them."""

    async def get(self, date: dt.date | str | None = None) -> SmartReorderingReport:
        """Recommendations for ``date`` (default: the server's today)."""
        day = None if date is None else validate_value(_DATE, date, "date").isoformat()
        return await self._http.request(
            "GET", "/smart-reordering", SmartReorderingReport, params={"date": day}
        )

    async def submit(
        self, products: Sequence[SmartReorderProduct | Mapping[str, Any]]
    ) -> SmartReorderAck:
        """Send per-product sales (at least 7 days of history each) to
        ``POST /external/smart-reorder``. Not idempotent: it is never resent on doubt."""
        valid = validate_each(SmartReorderProduct, products, "smart-reorder products")
        if not valid:
            raise InputError(
                "smart-reorder products", [InputErrorDetail(None, "products", "is empty", [])]
            )
        body = json.dumps(
            {"products": [p.model_dump(mode="json", exclude_none=True) for p in valid]}
        ).encode()
        envelope = await self._http.request(
            "POST", "/external/smart-reorder", DataEnvelope[SmartReorderAck], body=body
        )
        return envelope.data
