"""One thin class per group of endpoints."""

from .currency import Currency
from .orders import Orders
from .products import Products
from .sales import Sales
from .smart_reordering import SmartReordering

__all__ = ["Currency", "Orders", "Products", "Sales", "SmartReordering"]
