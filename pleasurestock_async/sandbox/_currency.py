"""``GET /currency/convert-to-try``: EUR, USD and GBP to Turkish lira at fixed sandbox rates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import MAX_AMOUNT
from ._context import Context
from ._errors import bad_request, json_response
from ._request import query_decimal

__all__ = ["RATES_TO_TRY", "convert_to_try"]

RATES_TO_TRY = {"EUR": Decimal("34.875"), "USD": Decimal("32.450"), "GBP": Decimal("41.120")}
"""The sandbox's rates (EUR is the reference's example rate)."""
RATES_UPDATED = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


async def convert_to_try(ctx: Context, request: Request) -> Response:
    """Convert ``amount`` of ``currency`` to TRY, rounded to the kuruş."""
    currency = request.query_params.get("currency")
    if currency not in RATES_TO_TRY:
        raise bad_request("currency must be one of EUR, USD, GBP")
    amount = query_decimal(request, "amount", MAX_AMOUNT)
    rate = RATES_TO_TRY[currency]
    return json_response(
        {
            "success": True,
            "originalAmount": amount,
            "originalCurrency": currency,
            "convertedAmount": (amount * rate).quantize(Decimal("0.01")),
            "targetCurrency": "TRY",
            "exchangeRate": rate,
            "lastUpdated": RATES_UPDATED,
        }
    )
