"""One thin class per group of endpoints, and its ``with_raw_response`` twin."""

from .currency import Currency, CurrencyWithRawResponse
from .orders import Orders, OrdersWithRawResponse
from .products import Products, ProductsWithRawResponse
from .sales import Sales, SalesWithRawResponse
from .smart_reordering import SmartReordering, SmartReorderingWithRawResponse

__all__ = [
    "Currency",
    "CurrencyWithRawResponse",
    "Orders",
    "OrdersWithRawResponse",
    "Products",
    "ProductsWithRawResponse",
    "Sales",
    "SalesWithRawResponse",
    "SmartReordering",
    "SmartReorderingWithRawResponse",
]
