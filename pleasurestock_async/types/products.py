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
    """The PleasureStock id (``ps_...``): the id sales and orders use."""
    name: str | None = None
    """The product's name."""
    sku: str
    """The supplier's stock-keeping unit."""
    description: str | None = None
    """The product's description, when the API sends one."""
    price: Money
    """The supplier's unit price, in ``currency``."""
    currency: str
    """The currency of ``price`` (``EUR``, ``USD``, ...)."""
    supplier_id: FlexibleId | None = None
    """The supplier (an int in lists; other answers may send a UUID)."""
    images: list[FiniteJson] | None = None
    """The product's images as the API sends them (``with_images=True``)."""

    category_id: str | None = None
    """The category's UUID (``include_category=True``)."""
    category_name: str | None = None
    """The category's name in the platform's language."""
    category_name_en: str | None = None
    """The category's name in English."""

    tcc_enabled: bool | None = None
    """Whether TCC (Total Current Cost) is set up (``include_tcc=True``)."""
    tcc_coefficient: Money | None = None
    """The coefficient for shipping, taxes and customs: TCC = price x it."""
    tcc_total_cost: Money | None = None
    """Your procurement cost: the supplier's price times the coefficient."""
    tcc_currency: str | None = None
    """The currency of ``tcc_total_cost``."""

    tsp_enabled: bool | None = None
    """Whether TSP (Total Sale Price) is set up (``include_tsp=True``)."""
    tsp_value: Money | None = None
    """Your recommended retail price, from TCC by your formula."""
    tsp_formula: str | None = None
    """The formula of ``tsp_value``, e.g. ``"TCC * 1.5"``."""
    tsp_currency: str | None = None
    """The currency of ``tsp_value``."""

    created_at: datetime | None = None
    """When the product was created."""
    updated_at: datetime | None = None
    """When the product last changed."""


class PagePagination(ApiModel):
    """Page-number pagination: ``pages`` pages of ``limit`` items, ``total`` items in all."""

    page: Annotated[int, STRUCTURE]
    """This page's number, from 1."""
    limit: Annotated[int, STRUCTURE]
    """Items per page (at most 1000)."""
    total: Annotated[int, STRUCTURE]
    """Items in all pages."""
    pages: Annotated[int, STRUCTURE]
    """How many pages there are."""


class ProductPage(ApiModel):
    """One page of products: ``data`` and ``pagination``."""

    success: bool = True
    """True for a successful answer."""
    data: list[Product]
    """The products of this page."""
    pagination: Annotated[PagePagination, STRUCTURE]
    """Where this page is among all of them."""

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
    """The products found, in the order asked (each once)."""
    missing: list[str]
    """The ids asked for that the server did not return, as given."""
