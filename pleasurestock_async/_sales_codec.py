"""Validate and encode ``POST /sales`` rows in pydantic-core, without building models.

Sales uploads push millions of rows, so rows are validated as typed dicts in one call per batch
and serialised straight to JSON bytes; :class:`SaleRecord` instances are accepted as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, cast

import pydantic
import pydantic_core
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from ._validation import details_of
from .errors import InputErrorDetail
from .types.sales import SaleRecord
from .types.shared import NonNegativeInt, ProductId, SaleDate

__all__ = ["MAX_BATCH", "SaleRow", "encode_sales", "validate_rows"]

MAX_BATCH = 1000
"""The most records one ``POST /sales`` may carry."""


class SaleRow(TypedDict):
    """A validated sale, as sent on the wire (an absent stock is left out, never null)."""

    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")  # type: ignore[misc]

    internal_id: ProductId
    date: SaleDate
    quantity: NonNegativeInt
    stock_on_hand: NotRequired[NonNegativeInt]


_ROW = pydantic.TypeAdapter(SaleRow)


# The bulk pass ignores unknown keys (checking every key of every dict in pydantic-core costs
# a quarter of the validation time) and finds them by count instead: a row keeps exactly the
# known keys of its record, so the key counts differ iff some record had an unknown key.
class _SaleRowIgnoringExtra(SaleRow):
    __pydantic_config__ = pydantic.ConfigDict(extra="ignore")  # type: ignore[misc]


_ROWS_IGNORING_EXTRA = pydantic.TypeAdapter(list[_SaleRowIgnoringExtra])


def _as_row_input(record: object) -> object:
    """A SaleRecord as a row dict; a dict without its ``stock_on_hand: None``; else as is."""
    if isinstance(record, SaleRecord):
        row: dict[str, Any] = {
            "internal_id": record.internal_id,
            "date": record.date,
            "quantity": record.quantity,
        }
        if record.stock_on_hand is not None:
            row["stock_on_hand"] = record.stock_on_hand
        return row
    if (
        isinstance(record, Mapping)
        and "stock_on_hand" in record
        and record["stock_on_hand"] is None
    ):
        return {k: v for k, v in record.items() if k != "stock_on_hand"}
    return record


def validate_rows(
    records: Sequence[SaleRecord | Mapping[str, Any]], first_index: int = 0
) -> tuple[list[SaleRow], list[int], list[InputErrorDetail]]:
    """Validate ``records``. Returns the valid records as row dicts (the caller's own dicts
    where they were dicts already), their positions within ``records``, and one error per bad
    field (indices are ``first_index`` + position).

    The whole list is validated in one pydantic-core call, with no Python work per record;
    only a list that fails is converted (SaleRecords, ``stock_on_hand=None``) and, if it still
    fails, looked at record by record.
    """
    inputs: Sequence[Any] = records
    for attempt in range(2):
        try:
            rows = _ROWS_IGNORING_EXTRA.validate_python(inputs)
        except pydantic.ValidationError:
            rows = None
        if rows is not None and sum(map(len, inputs)) == sum(map(len, rows)):
            # Valid as given: send the records themselves; the copies are dropped at once.
            return cast(list[SaleRow], list(inputs)), list(range(len(rows))), []
        if attempt == 0:  # perhaps only SaleRecords, or dicts with stock_on_hand=None
            inputs = [_as_row_input(r) for r in records]
    valid: list[SaleRow] = []
    positions: list[int] = []
    errors: list[InputErrorDetail] = []
    for pos, item in enumerate(inputs):
        try:
            _ROW.validate_python(item)
            valid.append(item)
            positions.append(pos)
        except pydantic.ValidationError as exc:
            errors.extend(details_of(exc, index=first_index + pos))
    return valid, positions, errors


def encode_sales(rows: list[SaleRow]) -> bytes:
    """The ``POST /sales`` body for validated rows."""
    return b'{"sales":' + pydantic_core.to_json(rows) + b"}"
