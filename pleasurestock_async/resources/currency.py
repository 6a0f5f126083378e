"""``GET /currency/convert-to-try``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pydantic

from .._http import standard
from .._options import RequestOptions
from .._response import raw_response_wrapper
from .._validation import deferred_adapter, validate_value
from ..errors import InputError
from ..types.currency import CurrencyConversion, SourceCurrency
from ._base import Resource

__all__ = ["Currency", "CurrencyWithRawResponse"]

_CONVERT = standard("GET", "/currency/convert-to-try", query=("amount", "currency"))
_AMOUNT = deferred_adapter(Annotated[Decimal, pydantic.Field(allow_inf_nan=False)])
_CURRENCY = deferred_adapter(SourceCurrency)


class Currency(Resource):
    """Exchange rates to Turkish lira (standard API)."""

    async def convert_to_try(
        self,
        amount: Decimal | int | float | str,
        currency: SourceCurrency | str,
        *,
        options: RequestOptions | None = None,
    ) -> CurrencyConversion:
        """Convert ``amount`` of ``currency`` to Turkish lira at the server's current rate.

        Args:
            amount: A finite number (a ``Decimal``, int, float or numeric string); the server
                decides which amounts it converts.
            currency: ``EUR``, ``USD`` or ``GBP``.
            options: Per-call settings.

        Returns:
            :class:`CurrencyConversion` (``converted_amount``, ``exchange_rate``, ...).

        Raises:
            InputError: The amount is not a finite number, or the currency is not one of the
                three.

        Example::

            conv = await ps.currency.convert_to_try(100, "EUR")
        """
        if isinstance(amount, bool):
            raise InputError.single("amount", "must be a number", amount)
        value = validate_value(_AMOUNT, amount, "amount")
        code = validate_value(_CURRENCY, currency, "currency")
        return await self._http.request(
            _CONVERT,
            CurrencyConversion,
            params={"amount": format(value, "f"), "currency": code.value},
            options=options,
        )


class CurrencyWithRawResponse:
    """:class:`Currency` methods returning an :class:`APIResponse` around their result."""

    def __init__(self, currency: Currency) -> None:
        self.convert_to_try = raw_response_wrapper(currency.convert_to_try)
