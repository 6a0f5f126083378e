"""Models of ``POST /sales``."""

from __future__ import annotations

from .shared import ApiModel, NonNegativeInt, ProductId, RequestModel, SaleDate

__all__ = ["SaleRecord", "SalesSubmitResult"]


class SaleRecord(RequestModel):
    """One day of sales of one product (one warehouse).

    Sending the same product and date again adds to it on the server: quantity is summed,
    stock_on_hand takes the maximum. ``stock_on_hand=0`` marks an out-of-stock day.
    """

    internal_id: ProductId
    date: SaleDate
    quantity: NonNegativeInt
    stock_on_hand: NonNegativeInt | None = None


class SalesSubmitResult(ApiModel):
    """The server's answer to one ``POST /sales``."""

    success: bool = True
    message: str | None = None
    processed: int
