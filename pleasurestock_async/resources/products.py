"""``GET /products`` and ``GET /products/{id}``."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterable
from typing import Any, ClassVar

from .._http import standard
from .._options import RequestOptions
from .._response import raw_response_wrapper
from .._tasks import task_group
from .._validation import check_flag, check_int, check_text, deferred_adapter, validate_value
from ..errors import InputError, NotFoundError
from ..pagination import AsyncPaginator, PageNumberPage
from ..types.envelopes import DataEnvelope
from ..types.products import Product, ProductBatch, ProductPage
from ..types.shared import ProductId, is_uuid
from ._base import Resource

__all__ = ["Products", "ProductsWithRawResponse"]

MAX_PAGE_SIZE = 1000
"""The largest ``limit`` the API accepts; walking uses it to spend the fewest requests."""

_IDS_PER_URL_CHARS = 1800
"""Room for the ``ids=`` value in one URL, so that proxies' ~2 KB limits are never reached."""

_INCLUDE = ("withImages", "includeCategory", "includeTcc", "includeTsp")
_LIST = standard(
    "GET", "/products", query=("page", "limit", "supplier_id", "search", "ids", *_INCLUDE)
)
_GET = standard("GET", "/products/{product_id}", query=_INCLUDE)

_ID = deferred_adapter(ProductId)
_IDS = deferred_adapter(list[ProductId])


def _include(
    with_images: bool | None,
    include_category: bool | None,
    include_tcc: bool | None,
    include_tsp: bool | None,
) -> dict[str, bool | None]:
    return {
        "withImages": check_flag("with_images", with_images),
        "includeCategory": check_flag("include_category", include_category),
        "includeTcc": check_flag("include_tcc", include_tcc),
        "includeTsp": check_flag("include_tsp", include_tsp),
    }


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
    """The product catalogue (standard API)."""

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
        options: RequestOptions | None = None,
    ) -> AsyncPaginator[PageNumberPage[Product], Product]:
        """List products: ``await`` it for one page, ``async for`` over it for every product.

        Args:
            page: The page to fetch (from 1; default 1).
            limit: Products per page, 1 to 1000 (default: the server's 100 for one page; 1000
                when walking, so 2,490 products cost 3 requests).
            supplier_id: Only this supplier's products.
            search: Only products whose name, SKU or description contain this text.
            with_images: Include image URLs.
            include_category: Include ``category_id``, ``category_name``, ``category_name_en``.
            include_tcc: Include the total current cost fields (``tcc_*``).
            include_tsp: Include the total sale price fields (``tsp_*``).
            options: Per-call settings (see :class:`RequestOptions`).

        Returns:
            A listing: awaited, a :class:`PageNumberPage` of :class:`Product`; iterated, every
            product of every page.

        Raises:
            InputError: An argument has the wrong type or is out of range (nothing is sent).
            APIError: The request failed (see :mod:`pleasurestock_async.errors`).

        Example::

            async for product in ps.products.list(include_tcc=True):
                print(product.internal_id, product.price, product.tcc_total_cost)
        """
        params = {
            "page": None if page is None else check_int("page", page, low=1),
            "limit": None
            if limit is None
            else check_int("limit", limit, low=1, high=MAX_PAGE_SIZE),
            "supplier_id": None
            if supplier_id is None
            else check_int("supplier_id", supplier_id, low=None),
            "search": None if search is None else check_text("search", search),
            **_include(with_images, include_category, include_tcc, include_tsp),
        }

        async def fetch(query: dict[str, Any]) -> PageNumberPage[Product]:
            found = await self._http.request(_LIST, ProductPage, params=query, options=options)
            return PageNumberPage(found.data, found.pagination, query, fetch)

        return AsyncPaginator(
            fetch,
            {k: v for k, v in params.items() if v is not None},
            walk_defaults={"limit": MAX_PAGE_SIZE},
        )

    async def get(
        self,
        product_id: str,
        *,
        with_images: bool | None = None,
        include_category: bool | None = None,
        include_tcc: bool | None = None,
        include_tsp: bool | None = None,
        options: RequestOptions | None = None,
    ) -> Product:
        """One product by its UUID or ``ps_`` id.

        Args:
            product_id: A UUID or a ``ps_`` id (any id the server gives; only what would break
                the URL is refused: whitespace, control characters, ``/``, ``\\``, ``?``,
                ``#``, more than 200 characters).
            with_images: Include image URLs (the server's default here is true).
            include_category: Include the category fields.
            include_tcc: Include the total current cost fields.
            include_tsp: Include the total sale price fields.
            options: Per-call settings.

        Returns:
            The :class:`Product` (with its UUID in ``id``).

        Raises:
            InputError: ``product_id`` is not a usable id (see above).
            NotFoundError: No such product.

        Example::

            product = await ps.products.get("ps_vj31ucxsab", include_tsp=True)
        """
        product_id = validate_value(_ID, product_id, "product id")
        envelope = await self._http.request(
            _GET,
            DataEnvelope[Product],
            path_params={"product_id": product_id},
            params=_include(with_images, include_category, include_tcc, include_tsp),
            options=options,
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
        options: RequestOptions | None = None,
    ) -> ProductBatch:
        """Several products by id, with the batch query (``ids=``).

        UUID and ``ps_`` forms may be mixed, even for one product. Long lists are split into
        requests with short URLs, sent concurrently. The list answer carries no UUIDs, so a
        UUID it cannot be matched to costs one more request (the detail endpoint); another
        id the list does not name is missing.

        Args:
            product_ids: The ids (duplicates are asked once).
            with_images: Include image URLs.
            include_category: Include the category fields.
            include_tcc: Include the total current cost fields.
            include_tsp: Include the total sale price fields.
            options: Per-call settings.

        Returns:
            A :class:`ProductBatch`: ``products`` in the order asked (one per distinct product
            asked for), ``missing`` the ids the server does not know.

        Raises:
            InputError: An id is not usable (its index is named): see :meth:`get`; a comma,
                which separates the ids of the batch query, is refused too.

        Example::

            batch = await ps.products.get_many(["ps_vj31ucxsab", "ps_w2as53xl1z"])
        """
        if isinstance(product_ids, str | bytes) or not isinstance(product_ids, Iterable):
            raise InputError.single("product_ids", "must be a list of ids", product_ids)
        ids: builtins.list[str] = validate_value(
            _IDS, builtins.list(product_ids), "ids", indexed=True
        )
        wanted = builtins.list(dict.fromkeys(ids))
        include = _include(with_images, include_category, include_tcc, include_tsp)
        found: dict[str, Product] = {}

        async def fetch_one(product_id: str) -> None:
            with contextlib.suppress(NotFoundError):
                product = await self._http.request(
                    _GET,
                    DataEnvelope[Product],
                    path_params={"product_id": product_id},
                    params=include,
                    options=options,
                )
                found[product_id] = product.data

        async def fetch(chunk: builtins.list[str]) -> None:
            params = {"ids": ",".join(chunk), "limit": len(chunk), **include}
            page = await self._http.request(_LIST, ProductPage, params=params, options=options)
            for product in page.data:
                found[product.internal_id] = product
                if product.id:
                    found[product.id.lower()] = product

        async with task_group() as tg:
            for chunk in _id_chunks(wanted):
                tg.start_soon(fetch, chunk)
        # A UUID the list answer did not name: only the detail endpoint tells which product
        # it is (it may also be one asked for by its ps_ id).
        async with task_group() as tg:
            for product_id in wanted:
                unmatched = product_id.lower() not in found and product_id not in found
                if unmatched and is_uuid(product_id):  # the list answer names no UUID
                    tg.start_soon(fetch_one, product_id)

        def lookup(product_id: str) -> Product | None:
            return found.get(product_id) or found.get(product_id.lower())

        products: builtins.list[Product] = []
        seen: set[str] = set()
        for product_id in wanted:
            product = lookup(product_id)
            if product is not None and product.internal_id not in seen:
                seen.add(product.internal_id)
                products.append(product)
        return ProductBatch(products=products, missing=[i for i in wanted if lookup(i) is None])


class ProductsWithRawResponse:
    """:class:`Products` methods returning an :class:`APIResponse` (status, headers, elapsed)
    around their usual result (``list`` gives the one page it names)."""

    MANY_REQUESTS: ClassVar[frozenset[str]] = frozenset({"get_many"})
    """The methods left out: each makes many requests, so no one answer is theirs."""

    def __init__(self, products: Products) -> None:
        self.list = raw_response_wrapper(products.list)
        self.get = raw_response_wrapper(products.get)
