"""Models of smart reordering: ``GET /smart-reordering`` and ``POST /external/smart-reorder``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from .shared import ApiModel, CamelModel, PsId, RequestModel

__all__ = [
    "Recommendation",
    "SmartReorderAck",
    "SmartReorderProduct",
    "SmartReorderingReport",
]

_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number: an int or a float, never a bool or a string (NaN and infinities are not
JSON)."""

_NonNegativeNumber = Annotated[_Number, Field(ge=0)]
"""A finite number from 0 (the reference: "must be non-negative number")."""


class Recommendation(ApiModel):
    """The AI's reorder recommendation for one product."""

    product_internal_id: str
    product_name: str
    product_sku: str
    recommended_quantity: Decimal
    current_stock: Decimal
    average_daily_sales: Decimal
    forecast_accuracy: Decimal
    calculation_date: dt.datetime


class SmartReorderingReport(ApiModel):
    """The answer of ``GET /smart-reordering``."""

    success: bool = True
    date: dt.date
    recommendations: list[Recommendation]
    total: int


class SmartReorderProduct(RequestModel):
    """One product's sales for ``POST /external/smart-reorder`` (at least 7 days of history)."""

    ps_id: PsId
    """A product id starting with ``ps_`` (the reference asks only for the prefix)."""
    quantity: _NonNegativeNumber
    current_stock: _NonNegativeNumber
    sales_history: Annotated[list[_Number], Field(min_length=7)]
    """At least 7 days of sales (the reference states no other bound)."""


class SmartReorderAck(CamelModel):
    """What ``POST /external/smart-reorder`` stored."""

    smart_reorder_id: int | str
    last_updated: dt.datetime
    is_active: bool
