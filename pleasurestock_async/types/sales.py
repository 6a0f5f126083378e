"""Models of ``POST /sales``."""

from __future__ import annotations

from datetime import date
from typing import NotRequired

from pydantic import StrictInt
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from .shared import ApiModel, NonNegativeInt, ProductId, RequestModel, SaleDate

__all__ = ["MAX_BATCH", "SaleRecord", "SaleRow", "SalesSubmitResult"]

MAX_BATCH = 1000
"""The most records one ``POST /sales`` may carry."""


class SaleRecord(RequestModel):
    """One day of sales of one product (one warehouse).

    Sending the same product and date again adds to it on the server: quantity is summed,
    stock_on_hand takes the maximum. ``stock_on_hand=0`` marks an out-of-stock day.
    """

    internal_id: ProductId
    date: SaleDate
    quantity: NonNegativeInt
    stock_on_hand: NonNegativeInt | None = None


class SaleRow(TypedDict):
    """One sale as sent on the wire: a validated :class:`SaleRecord` as a plain dict (the date
    a ``date`` or its ISO string; an absent stock is left out, never null)."""

    internal_id: str
    date: date | str
    quantity: int
    stock_on_hand: NotRequired[int]


class SalesSubmitResult(ApiModel):
    """The server's answer to one ``POST /sales``. ``processed`` is how many records it
    stored; an upload counts a batch as stored only when that equals what it sent."""

    success: bool
    message: str | None = None
    processed: StrictInt
