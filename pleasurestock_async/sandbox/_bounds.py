"""Every limit the sandbox puts on a request, in one place (the OpenAPI document states the
same numbers, and a test keeps the two in step)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_AMOUNT",
    "MAX_BODY_BYTES",
    "MAX_COMMENT",
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_EXTERNAL_ID",
    "MAX_HISTORY",
    "MAX_IDS",
    "MAX_ITEMS",
    "MAX_LIMIT",
    "MAX_NUMBER_TEXT",
    "MAX_OFFSET",
    "MAX_ORDER_QUANTITY",
    "MAX_PAGE",
    "MAX_PRICE",
    "MAX_PS_ID",
    "MAX_RECORDS",
    "MAX_SEARCH",
    "MAX_SUPPLIER_ID",
]

MAX_BODY_BYTES = 1_048_576
"""Largest request body (1 MiB: a full batch of 1,000 sales records is about 100 KB)."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects in a request body."""
MAX_RECORDS = 1000
"""Sales records per ``POST /sales`` (the reference's batch size)."""
MAX_ITEMS = 1000
"""Lines per new order, and products per smart-reorder submission."""
MAX_HISTORY = 1000
"""Days of ``sales_history`` per smart-reorder product."""
MAX_COUNT = 1_000_000_000
"""Largest quantity or stock in sales and smart-reorder data."""
MAX_ORDER_QUANTITY = 1_000_000
"""Largest quantity of one order line."""
MAX_PRICE = Decimal("1000000")
"""Largest ``customPrice`` of an order line."""
MAX_AMOUNT = Decimal("1000000000000")
"""Largest amount ``/currency/convert-to-try`` converts."""
MAX_NUMBER_TEXT = 40
"""Longest text of a number in a query string."""
MAX_PAGE = 1_000_000
"""Largest ``page`` of the product list."""
MAX_LIMIT = 1000
"""Largest ``limit`` of a list (the reference's maximum page size)."""
MAX_OFFSET = 1_000_000_000
"""Largest ``offset`` of the order list."""
MAX_SUPPLIER_ID = 2_147_483_647
"""Largest ``supplier_id`` filter."""
MAX_PS_ID = 64
"""Longest ``ps_id`` of an order line or a smart-reorder product."""
MAX_IDS = 1000
"""Ids per ``GET /products?ids=``."""
MAX_SEARCH = 200
"""Longest ``search`` text."""
MAX_EXTERNAL_ID = 100
"""Longest ``externalOrderId``."""
MAX_COMMENT = 1000
"""Longest order or status ``comment``."""
FIRST_DAY = date(2000, 1, 1)
"""Earliest date of a sale or a smart-reordering report."""
LAST_DAY = date(2099, 12, 31)
"""Latest date of a sale or a smart-reordering report."""
