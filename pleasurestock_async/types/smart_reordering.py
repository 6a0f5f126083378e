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

_NonNegativeNumber = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]
"""A number (an int or a float, never a bool or a string) that is zero or more."""


class Recommendation(ApiModel):
    """The AI's reorder recommendation for one product."""

    product_internal_id: str
    product_name: str | None = None
    product_sku: str | None = None
    recommended_quantity: Decimal
    current_stock: Decimal | None = None
    average_daily_sales: Decimal | None = None
    forecast_accuracy: Decimal | None = None
    calculation_date: dt.datetime | None = None


class SmartReorderingReport(ApiModel):
    """The answer of ``GET /smart-reordering``."""

    success: bool = True
    date: dt.date | None = None
    recommendations: list[Recommendation]
    total: int | None = None


class SmartReorderProduct(RequestModel):
    """One product's sales for ``POST /external/smart-reorder`` (at least 7 days of history)."""

    ps_id: PsId
    quantity: _NonNegativeNumber
    current_stock: _NonNegativeNumber
    sales_history: Annotated[list[_NonNegativeNumber], Field(min_length=7)]


class SmartReorderAck(CamelModel):
    """What ``POST /external/smart-reorder`` stored."""

    smart_reorder_id: int | str
    last_updated: dt.datetime | None = None
    is_active: bool | None = None
