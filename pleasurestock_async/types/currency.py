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
    """True for a successful answer."""
    original_amount: Money
    """The amount asked for."""
    original_currency: str
    """Its currency (``EUR``, ``USD`` or ``GBP``)."""
    converted_amount: Money
    """The amount in Turkish lira."""
    target_currency: str
    """``TRY``."""
    exchange_rate: Money
    """Lira per unit of the original currency."""
    last_updated: datetime
    """When the rate was last updated."""
