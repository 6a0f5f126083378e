"""``GET /products`` and ``GET /products/{id}``: the catalogue with its optional category,
TCC and TSP fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._bounds import MAX_IDS, MAX_LIMIT, MAX_PAGE, MAX_SEARCH, MAX_SUPPLIER_ID
from ._catalog import SandboxProduct
from ._context import Context, stamp
from ._errors import ApiError, bad_request, json_response
from ._request import query_bool, query_int, query_text

__all__ = ["get_product", "list_products"]

_CENT = Decimal("0.01")
IMAGE_BASE = "https://sandbox.pleasurestock.invalid/uploads/products/"


def _product(
    ctx: Context,
    p: SandboxProduct,
    *,
    detail: bool,
    images: bool,
    category: bool,
    tcc: bool,
    tsp: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id} if detail else {}
    out.update(
        internal_id=p.internal_id,
        name=p.name,
        sku=p.sku,
        price=f"{p.price:.2f}",
        currency=p.supplier.currency,
        supplier_id=p.supplier.id,
    )
    if images:
        out["images"] = [f"{IMAGE_BASE}{p.sku.lower()}-{n}.jpg" for n in (1, 2)]
    if category:
        out.update(
            category_id=p.category.id,
            category_name=p.category.name,
            category_name_en=p.category.name_en,
        )
    total_cost = (p.price * ctx.tcc_coefficient).quantize(_CENT)
    if tcc:
        out.update(
            tcc_enabled=True,
            tcc_coefficient=ctx.tcc_coefficient,
            tcc_total_cost=total_cost,
            tcc_currency=p.supplier.currency,
        )
    if tsp:
        out.update(
            tsp_enabled=True,
            tsp_value=ctx.tsp_formula(total_cost),
            tsp_formula=ctx.tsp_formula.text,
            tsp_currency=p.supplier.currency,
        )
    if not detail:
        out.update(created_at=stamp(p.created_at), updated_at=stamp(p.updated_at))
    return out


def _includes(request: Request, images_default: bool) -> dict[str, bool]:
    return {
        "images": query_bool(request, "withImages", images_default),
        "category": query_bool(request, "includeCategory", False),
        "tcc": query_bool(request, "includeTcc", False),
        "tsp": query_bool(request, "includeTsp", False),
    }


async def list_products(ctx: Context, request: Request) -> Response:
    """A page of the catalogue, filtered by ``ids``, ``supplier_id`` and ``search``."""
    page = query_int(request, "page", 1, 1, MAX_PAGE)
    limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
    include = _includes(request, images_default=False)
    catalogue = ctx.state.catalogue
    products = catalogue.products
    if (ids := request.query_params.get("ids")) is not None:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > MAX_IDS:
            raise bad_request(f"ids may list at most {MAX_IDS} products")
        found = {p.id: p for i in wanted if (p := catalogue.find(i)) is not None}
        products = list(found.values())
    if "supplier_id" in request.query_params:
        supplier_id = query_int(request, "supplier_id", 0, 0, MAX_SUPPLIER_ID)
        products = [p for p in products if p.supplier.id == supplier_id]
    if search := (query_text(request, "search", MAX_SEARCH) or "").strip().lower():
        products = [
            p
            for p in products
            if search in p.name.lower()
            or search in p.sku.lower()
            or search in p.description.lower()
        ]
    total = len(products)
    chunk = products[(page - 1) * limit : page * limit]
    return json_response(
        {
            "success": True,
            "data": [_product(ctx, p, detail=False, **include) for p in chunk],
            "pagination": {
                "page": page,
                "limit": limit,
                "total": total,
                "pages": -(-total // limit),
            },
        }
    )


async def get_product(ctx: Context, request: Request) -> Response:
    """One product by ``ps_`` id or UUID (images included unless ``withImages=false``)."""
    product_id = request.path_params["product_id"]
    include = _includes(request, images_default=True)
    product = ctx.state.catalogue.find(product_id)
    if product is None:
        raise ApiError(404, "Not Found", f"Product {product_id[:100]} not found")
    return json_response({"success": True, "data": _product(ctx, product, detail=True, **include)})
