"""Models of ``POST /sales``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NotRequired

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
    """The product: its ``ps_`` id or its UUID (as the server names it)."""
    date: SaleDate
    """The day sold: a ``datetime.date`` or a ``"YYYY-MM-DD"`` string."""
    quantity: NonNegativeInt
    """Units sold that day (in this warehouse), from 0."""
    stock_on_hand: NonNegativeInt | None = None
    """Units in stock that day (in this warehouse); 0 marks an out-of-stock day."""

    if TYPE_CHECKING:  # what type checkers see: a day may be given as its ISO string

        def __init__(
            self,
            *,
            internal_id: str,
            date: dt.date | str,
            quantity: int,
            stock_on_hand: int | None = None,
        ) -> None: ...


class SaleRow(TypedDict):
    """One sale as sent on the wire: a validated :class:`SaleRecord` as a plain dict (the date
    a ``date`` or its ISO string; an absent stock is left out, never null)."""

    internal_id: str
    """The product's ``ps_`` id or UUID."""
    date: dt.date | str
    """The day sold, a date or its ISO string."""
    quantity: int
    """Units sold that day."""
    stock_on_hand: NotRequired[int]
    """Units in stock that day (left out when not known)."""


class SalesSubmitResult(ApiModel):
    """The server's answer to one ``POST /sales``. ``processed`` is how many records it
    stored; an upload counts a batch as stored only when that equals what it sent."""

    success: bool
    """True when the server stored the request's records."""
    message: str | None = None
    """The server's note, e.g. ``"Sales data submitted successfully"``."""
    processed: StrictInt
    """How many records the server stored."""
