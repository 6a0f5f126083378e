"""Models of smart reordering: ``GET /smart-reordering`` and ``POST /external/smart-reorder``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

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
    """The product's PleasureStock id."""
    product_name: str
    """The product's name."""
    product_sku: str
    """The product's stock-keeping unit."""
    recommended_quantity: Decimal
    """How many units to reorder."""
    current_stock: Decimal
    """Units in stock now, from your sales data."""
    average_daily_sales: Decimal
    """Units sold a day on average (out-of-stock days left out)."""
    forecast_accuracy: Decimal
    """How accurate the forecast has been, from 0 to 1."""
    calculation_date: dt.datetime
    """When the recommendation was calculated."""


class SmartReorderingReport(ApiModel):
    """The answer of ``GET /smart-reordering``."""

    success: bool = True
    """True for a successful answer."""
    date: dt.date
    """The day the recommendations are for."""
    recommendations: list[Recommendation]
    """One recommendation per product."""
    total: int
    """How many recommendations there are."""


class SmartReorderProduct(RequestModel):
    """One product's sales for ``POST /external/smart-reorder`` (at least 7 days of history)."""

    ps_id: PsId
    """A product id starting with ``ps_`` (the reference asks only for the prefix)."""
    quantity: _NonNegativeNumber
    """Units to reorder, as you see it (a number from 0)."""
    current_stock: _NonNegativeNumber
    """Units in stock now (a number from 0)."""
    sales_history: Annotated[list[_Number], Field(min_length=7)]
    """At least 7 days of sales (the reference states no other bound)."""

    if TYPE_CHECKING:  # what type checkers see: any sequence of numbers for the history

        def __init__(
            self,
            *,
            ps_id: str,
            quantity: float,
            current_stock: float,
            sales_history: Sequence[float],
        ) -> None: ...


class SmartReorderAck(CamelModel):
    """What ``POST /external/smart-reorder`` stored."""

    smart_reorder_id: int | str
    """The id of what was stored."""
    last_updated: dt.datetime
    """When it was stored."""
    is_active: bool
    """Whether it is active."""
