"""``GET /currency/convert-to-try``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pydantic

from .._validation import validate_value
from ..errors import InputError, InputErrorDetail
from ..types.currency import CurrencyConversion, SourceCurrency
from ._base import Resource

__all__ = ["Currency"]

_AMOUNT = pydantic.TypeAdapter(Annotated[Decimal, pydantic.Field(ge=0, allow_inf_nan=False)])
_CURRENCY = pydantic.TypeAdapter(SourceCurrency)


class Currency(Resource):
    """Exchange rates to Turkish lira."""

    async def convert_to_try(
        self, amount: Decimal | int | float | str, currency: SourceCurrency | str
    ) -> CurrencyConversion:
        """Convert ``amount`` of ``currency`` (EUR, USD or GBP) to TRY at today's rate."""
        if isinstance(amount, bool):
            raise InputError(
                "amount", [InputErrorDetail(None, "amount", "must be a number", amount)]
            )
        value = validate_value(_AMOUNT, amount, "amount")
        code = validate_value(_CURRENCY, currency, "currency")
        return await self._http.request(
            "GET",
            "/currency/convert-to-try",
            CurrencyConversion,
            params={"amount": str(value), "currency": code.value},
        )
