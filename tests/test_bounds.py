"""Every bound of the OpenAPI document, walked through the SDK and the sandbox (issue 21,
point 4). A bound the reference states is checked by the SDK before sending (``InputError``,
nothing sent) and by the sandbox; a bound of the sandbox's own (``x-sandbox-bounds``) is left to
the server by the SDK (the sandbox's 400 arrives as a ``BadRequestError``). At every bound
itself, both accept: the SDK never refuses what the document allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import BadRequestError, InputError, NotFoundError
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.sandbox._openapi import openapi_document

from .business_rules import business_rule

DOC = openapi_document()
KEYWORDS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
ORDER = "ORD-20251103-78XZ70"
SALE = {"internal_id": "ps_vj31ucxsab", "date": "2025-11-03", "quantity": 1}
REORDER = {"ps_id": "ps_1234567890", "quantity": 1, "current_stock": 1, "sales_history": [1] * 7}
ITEM = {"ps_id": "ps_1234567890", "quantity": 1}


@dataclass(frozen=True)
class Bound:
    """One bound of the document: where, which keyword, its value, whose it is."""

    operation: str
    where: str
    keyword: str
    value: Any
    sandbox_only: bool
    schema: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.operation} {self.where} {self.keyword}={self.value}"


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = DOC
        for token in schema["$ref"][2:].split("/"):
            node = node[token]
        schema = node
    return schema


def schema_bounds(operation: str, where: str, schema: dict[str, Any]) -> Iterator[Bound]:
    schema = resolve(schema)
    own = set(schema.get("x-sandbox-bounds", ()))
    for keyword in KEYWORDS:
        if keyword in schema:
            yield Bound(operation, where, keyword, schema[keyword], keyword in own, schema)
    for side, day in schema.get("x-date-range", {}).items():
        yield Bound(operation, where, f"date {side}", day, "x-date-range" in own, schema)
    for name, prop in schema.get("properties", {}).items():
        yield from schema_bounds(operation, f"{where}.{name}", prop)
    if "items" in schema:
        yield from schema_bounds(operation, f"{where}[]", schema["items"])


def document_bounds() -> Iterator[Bound]:
    """Every bound of a request a client makes (the webhook receiver has no client)."""
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if op.get("x-api") not in ("standard", "external"):
                continue
            operation = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                yield from schema_bounds(
                    operation, f"{param['in']}.{param['name']}", param["schema"]
                )
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield from schema_bounds(operation, "body", body["schema"])


async def _page(listing: Any) -> Any:
    return await listing


Call = Callable[[AsyncPleasureStock, Any], Awaitable[Any]]


def _sale(field: str) -> Call:
    return lambda ps, v: ps.sales.submit([{**SALE, field: v}])


def _reorder(field: str) -> Call:
    return lambda ps, v: ps.smart_reordering.submit([{**REORDER, field: v}])


def _item(field: str) -> Call:
    return lambda ps, v: ps.orders.create([{**ITEM, field: v}])


CALLS: dict[tuple[str, str], Call] = {
    ("GET /products", "query.page"): lambda ps, v: _page(ps.products.list(page=v)),
    ("GET /products", "query.limit"): lambda ps, v: _page(ps.products.list(limit=v)),
    ("GET /products", "query.supplier_id"): lambda ps, v: _page(ps.products.list(supplier_id=v)),
    ("GET /products", "query.search"): lambda ps, v: _page(ps.products.list(search=v)),
    ("GET /products/{id}", "path.id"): lambda ps, v: ps.products.get(v),
    ("GET /smart-reordering", "query.date"): lambda ps, v: ps.smart_reordering.get(v),
    ("GET /currency/convert-to-try", "query.amount"): (
        lambda ps, v: ps.currency.convert_to_try(v, "EUR")
    ),
    ("GET /external/orders", "query.limit"): lambda ps, v: _page(ps.orders.list(limit=v)),
    ("GET /external/orders", "query.offset"): lambda ps, v: _page(ps.orders.list(offset=v)),
    ("GET /external/orders/{orderNumber}", "path.orderNumber"): lambda ps, v: ps.orders.get(v),
    ("PUT /external/orders/{orderNumber}/status", "path.orderNumber"): (
        lambda ps, v: ps.orders.update_status(v, "paid")
    ),
    ("PUT /external/orders/{orderNumber}/status", "body.externalOrderId"): (
        lambda ps, v: ps.orders.update_status(ORDER, "paid", external_order_id=v)
    ),
    ("PUT /external/orders/{orderNumber}/status", "body.comment"): (
        lambda ps, v: ps.orders.update_status(ORDER, "paid", comment=v)
    ),
    ("POST /sales", "body.sales"): lambda ps, n: ps.sales.submit([SALE] * n),
    **{
        ("POST /sales", f"body.sales[].{f}"): _sale(f)
        for f in ("date", "quantity", "stock_on_hand")
    },
    ("POST /external/smart-reorder", "body.products"): (
        lambda ps, n: ps.smart_reordering.submit([REORDER] * n)
    ),
    **{
        ("POST /external/smart-reorder", f"body.products[].{f}"): _reorder(f)
        for f in ("ps_id", "quantity", "current_stock")
    },
    ("POST /external/smart-reorder", "body.products[].sales_history"): (
        lambda ps, n: ps.smart_reordering.submit([{**REORDER, "sales_history": [1] * n}])
    ),
    ("POST /external/smart-reorder", "body.products[].sales_history[]"): (
        lambda ps, v: ps.smart_reordering.submit([{**REORDER, "sales_history": [v] * 7}])
    ),
    ("POST /external/orders", "body.items"): lambda ps, n: ps.orders.create([ITEM] * n),
    **{
        ("POST /external/orders", f"body.items[].{f}"): _item(f)
        for f in ("ps_id", "quantity", "customPrice")
    },
    ("POST /external/orders", "body.externalOrderId"): (
        lambda ps, v: ps.orders.create([ITEM], external_order_id=v)
    ),
    ("POST /external/orders", "body.comment"): lambda ps, v: ps.orders.create([ITEM], comment=v),
}
"""How the SDK sends a value at each place the document bounds (a length for a list)."""

BOUNDS = list(document_bounds())


def test_every_bound_of_the_document_is_walked() -> None:
    assert {(b.operation, b.where) for b in BOUNDS} == set(CALLS)
    assert len(BOUNDS) >= 45
    assert any(not b.sandbox_only for b in BOUNDS) and any(b.sandbox_only for b in BOUNDS)


def values(bound: Bound) -> tuple[Any, Any, Any]:
    """The value at the bound, one just past it, and one far past it (a bound the SDK
    invented would be there: for counts, still below the 2**53 that JSON keeps exact)."""
    keyword, value = bound.keyword, bound.value
    lower = keyword.endswith(("minimum", "minLength", "minItems"))
    if keyword.startswith("date"):
        day = date.fromisoformat(value)
        day_step = timedelta(days=-1 if lower else 1)
        return day.isoformat(), (day + day_step).isoformat(), (day + 300 * day_step).isoformat()
    if keyword in ("minimum", "maximum"):
        step = -1 if lower else 1
        return value, value + step, value + step * 10**6 * max(1, abs(value))
    if keyword in ("minItems", "maxItems"):
        return value, value - 1 if lower else value + 1, 0 if lower else 3 * value
    prefix = "ps_" if bound.schema.get("pattern", "").startswith("^ps_") else ""

    def text(length: int) -> str:
        return (prefix + "x" * length)[:length] if length > len(prefix) else ""

    if lower:
        return text(value), text(value - 1), ""
    return text(value), text(value + 1), text(3 * value)


def business_rule_of(bound: Bound, error: BadRequestError) -> str | None:
    """The documented business rule ``error`` is (a refusal for what exists), if any."""
    method, path = bound.operation.split(" ")
    return business_rule(method, path, error.status_code, error.body)


async def outcome(call: Call, value: Any) -> tuple[object, int]:
    """What a fresh sandbox and client make of one call, and how many requests it saw."""
    sandbox = Sandbox(rate_limits=None, products=10, example_orders=True)
    async with sandbox.client(max_retries=0) as ps:
        try:
            result: object = await call(ps, value)
        except (InputError, BadRequestError, NotFoundError) as exc:
            result = exc
    return result, sum(sandbox.request_counts.values())


@pytest.mark.parametrize("bound", BOUNDS, ids=str)
async def test_a_bound_is_the_same_for_the_sdk_and_the_sandbox(bound: Bound) -> None:
    at, past, far = values(bound)
    call = CALLS[(bound.operation, bound.where)]

    accepted, sent = await outcome(call, at)
    assert sent >= 1, f"the SDK refused {at!r}, which the document allows: {accepted}"
    if isinstance(accepted, BadRequestError):
        assert business_rule_of(bound, accepted), f"the sandbox refused {at!r}: {accepted}"

    for beyond in (past, far):
        refused, sent = await outcome(call, beyond)
        if bound.sandbox_only:  # the SDK leaves it to the server, however far past
            assert isinstance(refused, BadRequestError) and sent == 1, (beyond, refused)
        else:  # the reference's: the SDK refuses it before sending
            assert isinstance(refused, InputError) and sent == 0, (beyond, refused)
