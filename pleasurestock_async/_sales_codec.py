"""Validate and encode ``POST /sales`` rows in pydantic-core, without building models.

Sales uploads push millions of rows, so rows are validated as typed dicts in one call per batch
and serialised straight to JSON bytes; :class:`SaleRecord` instances are accepted as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NotRequired

import pydantic
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from ._validation import details_of
from .errors import InputErrorDetail
from .types.sales import SaleRecord
from .types.shared import NonNegativeInt, ProductId, SaleDate

__all__ = ["MAX_BATCH", "SaleRow", "encode_sales", "validate_rows"]

MAX_BATCH = 1000
"""The most records one ``POST /sales`` may carry."""


class SaleRow(TypedDict):
    """A validated sale, as sent on the wire."""

    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")  # type: ignore[misc]

    internal_id: ProductId
    date: SaleDate
    quantity: NonNegativeInt
    stock_on_hand: NotRequired[NonNegativeInt | None]


_ROWS = pydantic.TypeAdapter(list[SaleRow])
_ROW = pydantic.TypeAdapter(SaleRow)


def _as_row_input(record: object) -> object:
    if isinstance(record, SaleRecord):
        row: dict[str, Any] = {
            "internal_id": record.internal_id,
            "date": record.date,
            "quantity": record.quantity,
        }
        if record.stock_on_hand is not None:
            row["stock_on_hand"] = record.stock_on_hand
        return row
    return record


def validate_rows(
    records: Sequence[SaleRecord | Mapping[str, Any]], first_index: int = 0
) -> tuple[list[SaleRow], list[int], list[InputErrorDetail]]:
    """Validate ``records``. Returns the valid rows, their positions within ``records``, and
    one error per bad field (indices are ``first_index`` + position)."""
    inputs = [_as_row_input(r) for r in records]
    try:
        return _ROWS.validate_python(inputs), list(range(len(inputs))), []
    except pydantic.ValidationError:
        pass
    rows: list[SaleRow] = []
    positions: list[int] = []
    errors: list[InputErrorDetail] = []
    for pos, item in enumerate(inputs):
        try:
            rows.append(_ROW.validate_python(item))
            positions.append(pos)
        except pydantic.ValidationError as exc:
            errors.extend(details_of(exc, index=first_index + pos))
    return rows, positions, errors


def encode_sales(rows: list[SaleRow]) -> bytes:
    """The ``POST /sales`` body for validated rows."""
    return b'{"sales":' + _ROWS.dump_json(rows, exclude_none=True) + b"}"


def row_key(row: SaleRow) -> tuple[str, date]:
    """The server's aggregation key: product and day."""
    return row["internal_id"], row["date"]
