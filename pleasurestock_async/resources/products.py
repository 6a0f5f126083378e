"""``GET /products`` and ``GET /products/{id}``."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import anyio
import anyio.abc
import pydantic

from .._validation import validate_value
from ..errors import NotFoundError
from ..pagination import AsyncPaginator
from ..types.envelopes import DataEnvelope
from ..types.products import Product, ProductBatch, ProductPage
from ..types.shared import ProductId
from ._base import Resource

__all__ = ["Products"]

MAX_PAGE_SIZE = 1000
"""The largest ``limit`` the API accepts; walking uses it to spend the fewest requests."""

_IDS_PER_URL_CHARS = 1800
"""Room for the ``ids=`` value in one URL, so that proxies' ~2 KB limits are never reached."""

_ID = pydantic.TypeAdapter(ProductId)
_IDS = pydantic.TypeAdapter(list[ProductId])


def _include(
    with_images: bool | None,
    include_category: bool | None,
    include_tcc: bool | None,
    include_tsp: bool | None,
) -> dict[str, bool | None]:
    return {
        "withImages": with_images,
        "includeCategory": include_category,
        "includeTcc": include_tcc,
        "includeTsp": include_tsp,
    }


def _next_page(page: ProductPage, params: dict[str, Any]) -> dict[str, Any] | None:
    # The latest page's own numbers decide, so a catalogue that grows or shrinks mid-walk
    # ends the walk where the server now says it ends.
    if page.pagination.page >= page.pagination.pages:
        return None
    return {**params, "page": page.pagination.page + 1}


def _id_chunks(ids: builtins.list[str]) -> builtins.list[builtins.list[str]]:
    chunks: builtins.list[builtins.list[str]] = []
    size = 0
    for product_id in ids:
        cost = len(product_id) + 3  # the comma, percent-encoded
        if not chunks or size + cost > _IDS_PER_URL_CHARS or len(chunks[-1]) >= MAX_PAGE_SIZE:
            chunks.append([])
            size = 0
        chunks[-1].append(product_id)
        size += cost
    return chunks


class Products(Resource):
    """The product catalogue."""

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        supplier_id: int | None = None,
        search: str | None = None,
        with_images: bool | None = None,
        include_category: bool | None = None,
        include_tcc: bool | None = None,
        include_tsp: bool | None = None,
    ) -> AsyncPaginator[ProductPage, Product]:
        """List products. ``await`` for one page; ``async for`` for every matching product.

        Walking uses pages of 1000 unless ``limit`` is given (2,490 products cost 3 requests).
        """
        if limit is not None and not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        if page is not None and page < 1:
            raise ValueError(f"page must be 1 or more, got {page}")
        params = {
            "page": page,
            "limit": limit,
            "supplier_id": supplier_id,
            "search": search,
            **_include(with_images, include_category, include_tcc, include_tsp),
        }
        return AsyncPaginator(
            self._fetch_page,
            {k: v for k, v in params.items() if v is not None},
            items=lambda p: p.data,
            next_params=_next_page,
            walk_defaults={"limit": MAX_PAGE_SIZE},
        )

    async def _fetch_page(self, params: dict[str, Any]) -> ProductPage:
        return await self._http.request("GET", "/products", ProductPage, params=params)

    async def get(
        self,
        product_id: str,
        *,
        with_images: bool | None = None,
        include_category: bool | None = None,
        include_tcc: bool | None = None,
        include_tsp: bool | None = None,
    ) -> Product:
        """One product by its UUID or ``ps_`` id."""
        product_id = validate_value(_ID, product_id, "product id")
        envelope = await self._http.request(
            "GET",
            f"/products/{quote(product_id, safe='')}",
            DataEnvelope[Product],
            params=_include(with_images, include_category, include_tcc, include_tsp),
        )
        return envelope.data

    async def get_many(
        self,
        product_ids: Iterable[str],
        *,
        with_images: bool | None = None,
        include_category: bool | None = None,
        include_tcc: bool | None = None,
        include_tsp: bool | None = None,
    ) -> ProductBatch:
        """Several products by id (UUID and ``ps_`` forms may be mixed), with the batch query.

        Long lists are split into requests with short URLs, sent concurrently. Products come
        back in the order asked (each id once); ids the server did not return are in
        ``missing``. A product asked for by UUID that the list answer cannot be matched to
        costs one more request (the detail endpoint, which carries the UUID).
        """
        ids: builtins.list[str] = validate_value(
            _IDS, builtins.list(product_ids), "ids", indexed=True
        )
        wanted = builtins.list(dict.fromkeys(ids))
        include = _include(with_images, include_category, include_tcc, include_tsp)
        found: dict[str, Product] = {}

        async def fetch_one(product_id: str) -> None:
            with contextlib.suppress(NotFoundError):
                found[product_id] = await self.get(
                    product_id,
                    with_images=with_images,
                    include_category=include_category,
                    include_tcc=include_tcc,
                    include_tsp=include_tsp,
                )

        async def fetch(chunk: builtins.list[str], tg: anyio.abc.TaskGroup) -> None:
            params = {"ids": ",".join(chunk), "limit": len(chunk), **include}
            page = await self._fetch_page(params)
            asked = set(chunk)
            unclaimed = 0
            for product in page.data:
                found[product.internal_id] = product
                if product.id:
                    found[product.id] = product
                unclaimed += product.internal_id not in asked and product.id not in asked
            # List items carry no UUID, so a product asked for by UUID comes back under its
            # ps_ id; only the detail endpoint tells which UUID it was.
            if unclaimed:
                for product_id in chunk:
                    if product_id not in found:
                        tg.start_soon(fetch_one, product_id)

        async with anyio.create_task_group() as tg:
            for chunk in _id_chunks(wanted):
                tg.start_soon(fetch, chunk, tg)
        return ProductBatch(
            products=[found[i] for i in wanted if i in found],
            missing=[i for i in wanted if i not in found],
        )
