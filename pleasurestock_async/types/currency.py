"""Models of ``GET /currency/convert-to-try``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from .shared import CamelModel, Money

__all__ = ["CurrencyConversion", "SourceCurrency"]


class SourceCurrency(StrEnum):
    """Currencies the API converts to Turkish lira."""

    EUR = "EUR"
    USD = "USD"
    GBP = "GBP"


class CurrencyConversion(CamelModel):
    """An amount converted to TRY at the server's current rate."""

    success: bool = True
    original_amount: Money
    original_currency: str
    converted_amount: Money
    target_currency: str
    exchange_rate: Money
    last_updated: datetime
