"""Models of the product catalogue: ``GET /products`` and ``GET /products/{id}``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from .shared import STRUCTURE, ApiModel, FiniteJson, FlexibleId, Money

__all__ = ["PagePagination", "Product", "ProductBatch", "ProductPage"]


class Product(ApiModel):
    """A catalogue product. Category, TCC and TSP fields are present only when requested."""

    id: str | None = None
    """The product's UUID (only ``products.get`` sends it)."""
    internal_id: str
    name: str | None = None
    sku: str
    description: str | None = None
    price: Money
    currency: str
    supplier_id: FlexibleId | None = None
    images: list[FiniteJson] | None = None

    category_id: str | None = None
    category_name: str | None = None
    category_name_en: str | None = None

    tcc_enabled: bool | None = None
    tcc_coefficient: Money | None = None
    tcc_total_cost: Money | None = None
    tcc_currency: str | None = None

    tsp_enabled: bool | None = None
    tsp_value: Money | None = None
    tsp_formula: str | None = None
    tsp_currency: str | None = None

    created_at: datetime | None = None
    updated_at: datetime | None = None


class PagePagination(ApiModel):
    """Page-number pagination: ``pages`` pages of ``limit`` items, ``total`` items in all."""

    page: Annotated[int, STRUCTURE]
    limit: Annotated[int, STRUCTURE]
    total: Annotated[int, STRUCTURE]
    pages: Annotated[int, STRUCTURE]


class ProductPage(ApiModel):
    """One page of products: ``data`` and ``pagination``."""

    success: bool = True
    data: list[Product]
    pagination: Annotated[PagePagination, STRUCTURE]

    @classmethod
    def other_shape(cls, body: Any) -> dict[str, Any] | None:
        """The page in the reference's shape when ``body`` has the shape of the vendor's
        public API page, ``{"data": {"products": [...], "pagination": {...}}, "meta": ...}``
        (its other keys are kept); else None."""
        if not isinstance(body, dict):
            return None
        inner = body.get("data")
        if not isinstance(inner, dict) or not isinstance(inner.get("products"), list):
            return None
        rest = {k: v for k, v in inner.items() if k not in ("products", "pagination")}
        page = {**rest, **body, "data": inner["products"]}
        if "pagination" in inner:
            page["pagination"] = inner["pagination"]
        return page


class ProductBatch(ApiModel):
    """The result of ``products.get_many``: found products in the order asked, and the ids
    the server did not return."""

    products: list[Product]
    missing: list[str]
