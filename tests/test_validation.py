"""Bad input is refused before anything is sent, naming the field and the record's index."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import InputError
from pleasurestock_async.types import OrderItem, SaleRecord
from pleasurestock_async.uploads.codec import validate_rows

GOOD = {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("internal_id", ""),
        ("internal_id", "ps_abc 123"),
        ("internal_id", "ps_abc/123"),
        ("internal_id", "ps_abc,123"),
        ("internal_id", "ps_" + "x" * 198),
        ("internal_id", 12),
        ("date", "03/11/2025"),
        ("date", "2025-02-30"),
        ("date", "2025-11-03T00:00:00"),
        ("date", 1762128000),
        ("date", datetime(2025, 11, 3)),
        ("quantity", -1),
        ("quantity", True),
        ("quantity", 1.5),
        ("quantity", "3"),
        ("stock_on_hand", -5),
        ("stock_on_hand", False),
    ],
)
async def test_bad_sale_field_named_with_index(
    ps: AsyncPleasureStock, mock: respx.MockRouter, field: str, value: object
) -> None:
    route = mock.post("/sales")
    records = [GOOD, GOOD, {**GOOD, field: value}]
    with pytest.raises(InputError) as info:
        await ps.sales.submit(records)
    (detail,) = info.value.errors
    assert detail.index == 2 and detail.field == field and detail.value == value
    assert f"[2].{field}" in str(info.value)
    assert not route.called


async def test_missing_and_unknown_fields(ps: AsyncPleasureStock, mock: respx.MockRouter) -> None:
    with pytest.raises(InputError) as info:
        await ps.sales.submit(
            [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantty": 1}]
        )
    fields = {(e.index, e.field, e.message) for e in info.value.errors}
    assert (0, "quantity", "is required") in fields
    assert (0, "quantty", "is not a known field") in fields


async def test_more_than_1000_points_to_upload(ps: AsyncPleasureStock) -> None:
    with pytest.raises(InputError, match=r"sales\.upload"):
        await ps.sales.submit([GOOD] * 1001)


async def test_empty_submit_refused(ps: AsyncPleasureStock) -> None:
    with pytest.raises(InputError, match="empty"):
        await ps.sales.submit([])


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"ps_id": "ps_1234567890", "quantity": "3"}, "quantity"),
        ({"ps_id": "ps_1234567890", "quantity": True}, "quantity"),
        ({"ps_id": "db57e260-b151-4bf1-ac63-175baef9f96d", "quantity": 1}, "ps_id"),
        ({"ps_id": "ps_1234567890", "quantity": 1, "customPrice": "NaN"}, "customPrice"),
    ],
)
async def test_bad_order_items(
    ps: AsyncPleasureStock, mock: respx.MockRouter, item: dict[str, object], field: str
) -> None:
    route = mock.post("/external/orders")
    with pytest.raises(InputError) as info:
        await ps.orders.create([OrderItem(ps_id="ps_1234567890", quantity=1), item])
    assert info.value.errors[0].index == 1 and info.value.errors[0].field == field
    assert not route.called


@pytest.mark.parametrize("status", ["created", "shipped", "PAID", 3])
async def test_status_not_settable(ps: AsyncPleasureStock, status: object) -> None:
    with pytest.raises(InputError) as info:
        await ps.orders.update_status("ORD-1", status)  # type: ignore[arg-type]
    assert info.value.errors[0].field == "status"


@pytest.mark.parametrize(
    ("product", "field"),
    [
        (
            {"ps_id": "x_1234567890", "quantity": 1, "current_stock": 1, "sales_history": [1] * 7},
            "ps_id",
        ),
        (
            {
                "ps_id": "ps_1234567890",
                "quantity": -1,
                "current_stock": 1,
                "sales_history": [1] * 7,
            },
            "quantity",
        ),
        (
            {
                "ps_id": "ps_1234567890",
                "quantity": 1,
                "current_stock": -2,
                "sales_history": [1] * 7,
            },
            "current_stock",
        ),
        (
            {"ps_id": "ps_1234567890", "quantity": 1, "current_stock": 1, "sales_history": [1] * 6},
            "sales_history",
        ),
        (
            {
                "ps_id": "ps_1234567890",
                "quantity": 1,
                "current_stock": 1,
                "sales_history": [1, 2, 3, "x", 5, 6, 7],
            },
            "sales_history.3",
        ),
    ],
)
async def test_bad_smart_reorder_products(
    ps: AsyncPleasureStock, product: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError) as info:
        await ps.smart_reordering.submit([product])
    assert info.value.errors[0].index == 0 and info.value.errors[0].field == field


@pytest.mark.parametrize(
    "product_id", ["", "..", "ps_1234567890/../x", "../../sales", "ps_1?x=1", "ps_1#x", "a b"]
)
async def test_bad_product_id(ps: AsyncPleasureStock, product_id: str) -> None:
    with pytest.raises(InputError):
        await ps.products.get(product_id)


async def test_get_many_names_bad_id_index(ps: AsyncPleasureStock) -> None:
    with pytest.raises(InputError) as info:
        await ps.products.get_many(["ps_1234567890", "ps_a,ps_b"])
    assert info.value.errors[0].index == 1


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(float("inf"), "EUR"), (True, "EUR"), ("x", "EUR"), (1, "JPY"), (float("nan"), "USD")],
)
async def test_bad_currency_arguments(
    ps: AsyncPleasureStock, amount: object, currency: str
) -> None:
    with pytest.raises(InputError):
        await ps.currency.convert_to_try(amount, currency)  # type: ignore[arg-type]


async def test_bad_smart_reordering_date(ps: AsyncPleasureStock) -> None:
    with pytest.raises(InputError, match="date"):
        await ps.smart_reordering.get("yesterday")


_IDS = st.one_of(
    st.from_regex(r"\Aps_[A-Za-z0-9]{10}\Z"),
    st.uuids().map(str),
    st.text(max_size=40),
)
_RECORDS = st.fixed_dictionaries(
    {
        "internal_id": _IDS,
        "date": st.one_of(st.dates().map(str), st.dates(), st.text(max_size=12)),
        "quantity": st.one_of(st.integers(-5, 10**6), st.booleans(), st.floats()),
    },
    optional={
        "stock_on_hand": st.one_of(st.none(), st.integers(-5, 10**6)),
        "warehouse": st.just("A"),  # an unknown key: refused, never silently dropped
    },
)


@given(st.lists(_RECORDS, max_size=30))
def test_codec_agrees_with_model(records: list[dict[str, object]]) -> None:
    """The fast row validator accepts exactly what the SaleRecord model accepts."""
    rows, positions, bad = validate_rows(records)
    for pos, record in enumerate(records):
        try:
            model = SaleRecord.model_validate(record)
        except ValueError:
            assert pos not in positions
            assert any(e.index == pos for e in bad)
        else:
            row = rows[positions.index(pos)]
            assert row["internal_id"] == model.internal_id
            assert str(row["date"]) == model.date.isoformat()
            assert row["quantity"] == model.quantity
    assert len(rows) + len({e.index for e in bad}) == len(records)


def test_sale_record_model_accepts_date_objects() -> None:
    assert SaleRecord(internal_id="ps_abcdefghij", date=date(2025, 1, 2), quantity=0).date == date(
        2025, 1, 2
    )
