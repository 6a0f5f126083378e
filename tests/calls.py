"""Every public method of the client, called with every argument it takes: the table that
the tests of all methods share (each test checks the table covers what the client has, so a
new method without an entry fails them)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.resources._base import Resource

__all__ = ["CALLS", "Call", "public_methods", "raw_twin", "resources"]

UUID = "db57e260-b151-4bf1-ac63-175baef9f96d"
SALE = {"internal_id": "ps_vj31ucxsab", "date": "2025-11-03", "quantity": 4, "stock_on_hand": 9}
REORDER = {
    "ps_id": "ps_1234567890",
    "quantity": 15,
    "current_stock": 85,
    "sales_history": [5, 8, 12, 6, 9, 11, 7],
}
ITEM = {"ps_id": "ps_1234567890", "quantity": 2, "customPrice": 25.5}
INCLUDE = {"with_images": True, "include_category": True, "include_tcc": True, "include_tsp": True}

Call = Callable[[Any, Path], Awaitable[Any]]
"""A method called with every argument: ``(resource or its raw twin, a scratch dir)``."""


async def _first_page(listing: Any) -> Any:
    return await listing


CALLS: dict[str, Call] = {
    "products.list": lambda r, tmp: _first_page(
        r.list(page=1, limit=10, supplier_id=12, search="Widget", **INCLUDE, options={})
    ),
    "products.get": lambda r, tmp: r.get("ps_1234567890", **INCLUDE, options={}),
    "products.get_many": lambda r, tmp: r.get_many(["ps_1234567890", UUID], **INCLUDE, options={}),
    "sales.submit": lambda r, tmp: r.submit([SALE], options={}),
    "sales.upload": lambda r, tmp: r.upload(
        [SALE],
        chunk_size=10,
        concurrency=1,
        on_invalid="skip",
        journal=tmp / "sales.journal",
        job="calls",
        merge_duplicates=True,
        options={},
    ),
    "sales.sync": lambda r, tmp: r.sync(
        [SALE], state=tmp / "sales-state.db", stock="always", concurrency=1, options={}
    ),
    # these two send nothing: they read or change the state file the sync above made
    "sales.state_status": lambda r, tmp: r.state_status(tmp / "sales-state.db"),
    "sales.rebind_state": lambda r, tmp: r.rebind_state(tmp / "sales-state.db", lock_wait=1.0),
    "smart_reordering.get": lambda r, tmp: r.get("2025-11-03", options={}),
    "smart_reordering.submit": lambda r, tmp: r.submit([REORDER], options={}),
    "currency.convert_to_try": lambda r, tmp: r.convert_to_try(100, "EUR", options={}),
    "orders.create": lambda r, tmp: r.create(
        [ITEM], external_order_id="ERP-1", comment="calls", options={}
    ),
    "orders.list": lambda r, tmp: _first_page(
        r.list(status="created", limit=5, offset=0, options={})
    ),
    "orders.get": lambda r, tmp: r.get("ORD-20251103-78XZ70", options={}),
    "orders.update_status": lambda r, tmp: r.update_status(
        "ORD-20251103-78XZ70", "paid", external_order_id="ERP-1", comment="calls", options={}
    ),
}


def resources(ps: AsyncPleasureStock) -> dict[str, Resource]:
    """The client's resources by attribute name, found on the client itself."""
    return {name: value for name, value in vars(ps).items() if isinstance(value, Resource)}


def public_methods(ps: AsyncPleasureStock) -> Iterator[tuple[str, Resource, str]]:
    """``("products.get", the resource, "get")`` for every public method of every resource."""
    for name, resource in resources(ps).items():
        for method, _ in inspect.getmembers(type(resource), inspect.isfunction):
            if not method.startswith("_"):
                yield f"{name}.{method}", resource, method


def raw_twin(ps: AsyncPleasureStock, qualified: str) -> Any:
    """The ``with_raw_response`` twin of a resource method, or None (a many-request one)."""
    resource, method = qualified.split(".")
    return getattr(getattr(ps.with_raw_response, resource), method, None)
