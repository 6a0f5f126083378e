"""Tolerant reading reads what is odd but meaningful and refuses garbage (issue 21, point 5):
an object without its identity (a required field: an id, a price, an amount) or with a number
that is not finite is an ``APIResponseValidationError``; extra fields, missing optional ones and
odd forms are read. The vendor's public page's product list shape is read too."""

from __future__ import annotations

import json
import logging
import math
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pydantic
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async._parse import read_model
from pleasurestock_async.errors import APIResponseValidationError
from pleasurestock_async.types import (
    CurrencyConversion,
    DataEnvelope,
    Order,
    OrderCreateResult,
    OrderList,
    OrderStatus,
    OrderStatusUpdate,
    Product,
    ProductPage,
    SalesSubmitResult,
    SmartReorderAck,
    SmartReorderingReport,
)

from .conftest import BASE, KEY

REFERENCE = Path(__file__).parent / "fixtures" / "reference"

ANSWERS: list[tuple[type[pydantic.BaseModel], str]] = [
    (ProductPage, "products_list_basic"),
    (ProductPage, "products_list_full"),
    (DataEnvelope[Product], "product_get"),
    (SalesSubmitResult, "sales_success"),
    (SmartReorderingReport, "smart_reordering_get"),
    (CurrencyConversion, "currency_convert"),
    (DataEnvelope[SmartReorderAck], "smart_reorder_response"),
    (DataEnvelope[OrderCreateResult], "orders_create_response"),
    (DataEnvelope[OrderList], "orders_list"),
    (DataEnvelope[Order], "order_get"),
    (DataEnvelope[OrderStatusUpdate], "order_status_response"),
]
"""Every 2xx answer the SDK reads, with the reference's example of it."""

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


def example(name: str) -> Any:
    return json.loads((REFERENCE / f"{name}.json").read_text())


def read(cls: type[pydantic.BaseModel], body: Any, *, strict: bool) -> pydantic.BaseModel:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_model(cls, content, strict=strict, what="test", scrub=str)


def refused_in_both_modes(cls: type[pydantic.BaseModel], body: Any) -> None:
    for strict in (False, True):
        with pytest.raises(pydantic.ValidationError):
            read(cls, body, strict=strict)


# -- what the SDK knows of each answer's objects ---------------------------------------------


def _model(annotation: Any) -> tuple[type[pydantic.BaseModel] | None, bool]:
    """The model an annotation holds, and whether as a list of them."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        found, _ = _model(item)
        return found, True
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation, False
    return None, False


Where = tuple[tuple[str | int, ...], type[pydantic.BaseModel]]


def objects(
    cls: type[pydantic.BaseModel], data: Any, path: tuple[str | int, ...] = ()
) -> Iterator[Where]:
    """Every object of ``data`` with the model that reads it, ``(path, model)``."""
    if not isinstance(data, dict):
        return
    yield path, cls
    for name, field in cls.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        inner, many = _model(field.annotation)
        if inner is None:
            continue
        if many and isinstance(data[key], list):
            for index, item in enumerate(data[key]):
                yield from objects(inner, item, (*path, key, index))
        elif not many:
            yield from objects(inner, data[key], (*path, key))


def at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def numbers(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The path of every number (not a boolean) in ``data``."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from numbers(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from numbers(value, (*path, index))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path


def assert_sound(model: pydantic.BaseModel) -> None:
    """Every field holds a value of its type (the model reads its own dump back, without a
    serialisation warning) and no number anywhere is infinite or NaN."""
    type(model).model_validate_json(model.model_dump_json(by_alias=True))
    stack: list[Any] = [model.model_dump()]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, Decimal):
            assert value.is_finite()
        elif isinstance(value, float):
            assert math.isfinite(value)


# -- the cases the issue names -------------------------------------------------------------


def test_every_reference_answer_reads_strictly() -> None:
    for cls, name in ANSWERS:
        assert_sound(read(cls, example(name), strict=True))


def test_a_detail_wrapped_in_another_object_is_refused() -> None:
    product = example("product_get")["data"]
    refused_in_both_modes(DataEnvelope[Product], {"success": True, "data": {"product": product}})


@pytest.mark.parametrize("strict", [False, True])
async def test_the_client_raises_its_validation_error_for_them(
    mock: respx.MockRouter, strict: bool
) -> None:
    product = example("product_get")["data"]
    mock.get("/products/ps_vj31ucxsab").respond(
        json={"success": True, "data": {"product": product}}
    )
    mock.get("/currency/convert-to-try").respond(
        json={"success": True, "data": example("currency_convert")}
    )
    async with AsyncPleasureStock(
        KEY, base_url=BASE, rate_limits=None, strict_response_validation=strict
    ) as ps:
        with pytest.raises(APIResponseValidationError, match="internal_id"):
            await ps.products.get("ps_vj31ucxsab")
        with pytest.raises(APIResponseValidationError, match="convertedAmount"):
            await ps.currency.convert_to_try(100, "EUR")


def test_a_wrapped_currency_answer_is_refused() -> None:
    refused_in_both_modes(
        CurrencyConversion, {"success": True, "data": example("currency_convert")}
    )


@pytest.mark.parametrize("token", NON_FINITE)
@pytest.mark.parametrize("field", ["price", "tcc_total_cost", "brand_new_score"])
def test_a_number_that_is_not_finite_is_refused(token: str, field: str) -> None:
    """In a required money field, an optional one, and a field the SDK does not know."""
    body = example("product_get")
    body["data"][field] = "__N__"
    content = json.dumps(body).replace('"__N__"', token).encode()
    refused_in_both_modes(DataEnvelope[Product], content)


def test_an_unreadable_required_date_is_refused_and_an_optional_one_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    orders = example("orders_list")
    orders["data"]["orders"][0]["createdAt"] = "11/13/25"  # no 13th month, day first
    refused_in_both_modes(DataEnvelope[OrderList], orders)
    detail = example("order_get")
    detail["data"]["paidAt"] = "11/13/25"
    caplog.set_level(logging.WARNING, logger="pleasurestock_async")
    order = read(DataEnvelope[Order], detail, strict=False)
    assert isinstance(order, DataEnvelope) and order.data.paid_at is None
    assert "paidAt" in caplog.text
    with pytest.raises(pydantic.ValidationError, match="paidAt"):
        read(DataEnvelope[Order], detail, strict=True)


def test_odd_but_meaningful_values_are_read_in_both_modes() -> None:
    body = example("orders_list")
    first = body["data"]["orders"][0]
    first.update(status="on_hold", totalAmount=5669.57, orderId=77, brandNew={"x": [1.5]})
    for strict in (False, True):
        page = read(DataEnvelope[OrderList], body, strict=strict)
        assert isinstance(page, DataEnvelope)
        order = page.data.orders[0]
        assert order.status == "on_hold" and isinstance(order.status, OrderStatus)
        assert order.total_amount == Decimal("5669.57") and order.order_id == 77
        assert order.model_extra == {"brandNew": {"x": [1.5]}}


# -- the vendor's public page ------------------------------------------------------------------


def vendor_page(products: list[dict[str, Any]], page: int = 1, pages: int = 2) -> dict[str, Any]:
    return {
        "success": True,
        "data": {
            "products": products,
            "pagination": {"page": page, "limit": len(products), "total": 2, "pages": pages},
        },
        "meta": {"timestamp": "2025-07-30T12:00:00Z", "version": "1.0"},
    }


def vendor_product(n: int) -> dict[str, Any]:
    return {**example("products_list_basic")["data"][0], "internal_id": f"pl_123456789{n}"}


@pytest.mark.parametrize("strict", [False, True])
def test_the_vendor_page_shape_is_read(strict: bool) -> None:
    page = read(ProductPage, vendor_page([vendor_product(0)]), strict=strict)
    assert isinstance(page, ProductPage)
    assert [p.internal_id for p in page.data] == ["pl_1234567890"]
    assert page.pagination.total == 2 and page.model_extra is not None
    assert page.model_extra["meta"]["version"] == "1.0"
    refused_in_both_modes(ProductPage, {"success": True, "data": {"products": []}, "meta": {}})
    pagination = {"page": 1, "limit": 1, "total": 1, "pages": 1}
    beside = read(
        ProductPage,
        {"data": {"products": [vendor_product(0)]}, "pagination": pagination},
        strict=strict,
    )
    assert isinstance(beside, ProductPage) and len(beside.data) == 1  # pagination beside it


async def test_a_client_walks_the_vendor_page_shape(mock: respx.MockRouter) -> None:
    mock.get("/products", params={"page": "2"}).respond(
        json=vendor_page([vendor_product(1)], page=2)
    )
    mock.get("/products").respond(json=vendor_page([vendor_product(0)]))
    async with AsyncPleasureStock(KEY, base_url=BASE, rate_limits=None) as ps:
        found = [p.internal_id async for p in ps.products.list(limit=1)]
    assert found == ["pl_1234567890", "pl_1234567891"]


# -- generated: any answer, broken or odd in any place -----------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.sampled_from(ANSWERS), data=st.data())
def test_an_object_without_a_required_field_is_refused(
    answer: tuple[type[pydantic.BaseModel], str], data: st.DataObject
) -> None:
    cls, name = answer
    body = example(name)
    found = [
        (path, model, field.alias or key)
        for path, model in objects(cls, body)
        for key, field in model.model_fields.items()
        if field.is_required() and (field.alias or key) in at(body, path)
    ]
    path, _, key = data.draw(st.sampled_from(found))
    del at(body, path)[key]
    refused_in_both_modes(cls, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.sampled_from(ANSWERS), data=st.data())
def test_a_number_anywhere_that_is_not_finite_is_refused(
    answer: tuple[type[pydantic.BaseModel], str], data: st.DataObject
) -> None:
    cls, name = answer
    body = example(name)
    places = list(numbers(body))
    where, _ = data.draw(st.sampled_from(list(objects(cls, body))))
    if data.draw(st.booleans()) and places:  # a number of the answer, or a new field
        *parent, last = data.draw(st.sampled_from(places))
        at(body, tuple(parent))[last] = "__N__"
    else:
        at(body, where)["zz_new"] = [1, {"deep": "__N__"}]
    token = data.draw(st.sampled_from(NON_FINITE))
    refused_in_both_modes(cls, json.dumps(body).replace('"__N__"', token).encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=st.sampled_from(ANSWERS), data=st.data())
def test_extra_missing_optional_and_unreadable_optional_fields_are_read_soundly(
    answer: tuple[type[pydantic.BaseModel], str], data: st.DataObject
) -> None:
    cls, name = answer
    body = example(name)
    for _ in range(data.draw(st.integers(1, 4))):
        path, model = data.draw(st.sampled_from(list(objects(cls, body))))
        target = at(body, path)
        optional = [
            field.alias or key
            for key, field in model.model_fields.items()
            if not field.is_required() and _model(field.annotation)[0] is None
        ]
        change = data.draw(st.sampled_from(["extra", "drop", "garbage"]))
        if change == "extra" or not optional:
            target["zz_" + data.draw(st.text("abc", min_size=1, max_size=3))] = data.draw(_JSON)
            continue
        key = data.draw(st.sampled_from(optional))
        if change == "drop":
            target.pop(key, None)
        else:
            target[key] = data.draw(st.sampled_from(["garbage", [1], {"a": 1}, -1.5]))
    assert_sound(read(cls, body, strict=False))
