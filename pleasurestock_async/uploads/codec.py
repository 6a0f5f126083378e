"""Validate and encode ``POST /sales`` rows in pydantic-core, without building models.

Sales uploads push millions of rows, so rows are validated as typed dicts in one call per batch
and serialised straight to JSON bytes; :class:`SaleRecord` instances are accepted as they are.
Valid dicts are sent as the caller gave them: the validated copies are only looked at, never
kept, and a date string stays a string (its calendar check is one dict lookup per row).

Records read from a sales file come as :class:`~.blocks.TextCells`, the text of their cells:
each field's column is validated in one pydantic-core call (number cells by a validator that
accepts only plain digits) and the row dicts are built from the results. Cells that this
refuses are converted the reader's way and validated as any other records, so the errors
reported (and what a user's own dicts may hold) are unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, NotRequired, cast

import pydantic
import pydantic_core
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from .._validation import details_of
from ..errors import InputErrorDetail
from ..types.sales import MAX_BATCH, SaleRecord, SaleRow
from ..types.shared import MAX_COUNT, NonNegativeInt, ProductId
from .blocks import TextCells

__all__ = ["MAX_BATCH", "canonical", "encode_sales", "validate_rows"]

_ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"
_DAY_ERROR = "must be a date or a 'YYYY-MM-DD' string"


class _DayShape:
    """A ``date`` (never a datetime) or a string shaped ``YYYY-MM-DD``, kept as given; whether
    the string is a real calendar day is checked afterwards, once per distinct string."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [
                core_schema.str_schema(pattern=_ISO_DAY, strict=True),
                core_schema.date_schema(strict=True),
            ],
            mode="left_to_right",
            custom_error_type="sale_date",
            custom_error_message=_DAY_ERROR,
        )


_Day = Annotated[object, _DayShape()]


class _CheckedRow(TypedDict):
    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")  # type: ignore[misc]

    internal_id: ProductId
    date: _Day
    quantity: NonNegativeInt
    stock_on_hand: NotRequired[NonNegativeInt]


# The bulk pass ignores unknown keys (checking every key of every dict in pydantic-core costs
# a quarter of the validation time) and finds them by count instead: a row keeps exactly the
# known keys of its record, so the key counts differ iff some record had an unknown key.
class _RowIgnoringExtra(_CheckedRow):
    __pydantic_config__ = pydantic.ConfigDict(extra="ignore")  # type: ignore[misc]


def _digits_schema() -> core_schema.CoreSchema:
    # Plain ASCII digits only: whatever else the reader would convert (spaces, a sign,
    # other scripts' digits) is left to the conversion path, so both agree on every value.
    return core_schema.chain_schema(
        [
            core_schema.str_schema(pattern=r"^[0-9]{1,10}$", strict=True),
            core_schema.int_schema(ge=0, le=MAX_COUNT),
        ]
    )


class _CellCount:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _digits_schema()


class _CellStock:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [
                _digits_schema(),
                core_schema.chain_schema(
                    [
                        core_schema.str_schema(pattern=r"^[ \t]*$", strict=True),
                        core_schema.no_info_plain_validator_function(lambda _: None),
                    ]
                ),
            ],
            mode="left_to_right",
        )


class _Adapters:
    """The validators, built on first use (not when the SDK is imported)."""

    @functools.cached_property
    def row(self) -> pydantic.TypeAdapter[_CheckedRow]:
        return pydantic.TypeAdapter(_CheckedRow)

    @functools.cached_property
    def rows(self) -> pydantic.TypeAdapter[list[_RowIgnoringExtra]]:
        return pydantic.TypeAdapter(list[_RowIgnoringExtra])

    # Text cells are validated a column at a time (the fields as in _CheckedRow).
    @functools.cached_property
    def ids(self) -> pydantic.TypeAdapter[list[ProductId]]:
        return pydantic.TypeAdapter(list[ProductId])

    @functools.cached_property
    def days(self) -> pydantic.TypeAdapter[list[_Day]]:
        return pydantic.TypeAdapter(list[_Day])

    @functools.cached_property
    def counts(self) -> pydantic.TypeAdapter[list[Annotated[int, _CellCount()]]]:
        return pydantic.TypeAdapter(list[Annotated[int, _CellCount()]])

    @functools.cached_property
    def stocks(self) -> pydantic.TypeAdapter[list[Annotated[int | None, _CellStock()]]]:
        return pydantic.TypeAdapter(list[Annotated[int | None, _CellStock()]])


_ADAPTERS = _Adapters()

_DATE = operator.itemgetter("date")

_REAL_DAYS: dict[str, bool] = {}
"""Day strings seen, and whether each is a real calendar day (a file has few distinct days)."""


def _shaped_day(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-"


def _real_day(text: str) -> bool:
    known = _REAL_DAYS.get(text)
    if known is None:
        try:
            dt.date.fromisoformat(text)
            known = True
        except ValueError:
            known = False
        if len(_REAL_DAYS) < 100_000:
            _REAL_DAYS[text] = known
    return known


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
    if isinstance(record, Mapping) and (
        type(record) is not dict or ("stock_on_hand" in record and record["stock_on_hand"] is None)
    ):
        return {k: v for k, v in record.items() if not (k == "stock_on_hand" and v is None)}
    return record


def _days_real(days: Iterable[object]) -> bool:
    # A batch holds few distinct days: gather them in C, then look each up once.
    return all(_real_day(day) for day in set(days) if type(day) is str)


def _text_rows(cells: TextCells) -> list[Any] | None:
    """The row dicts of text cells (a blank stock left out), each column validated in one
    pydantic-core call; None if any cell is refused."""
    try:
        ids = _ADAPTERS.ids.validate_python(cells.ids)
        days = _ADAPTERS.days.validate_python(cells.days)
        counts = _ADAPTERS.counts.validate_python(cells.quantities)
        stock_cells = cells.stocks
        stocks = None if stock_cells is None else _ADAPTERS.stocks.validate_python(stock_cells)
    except pydantic.ValidationError:
        return None
    if not _days_real(days):
        return None
    if stocks is None:
        return [
            {"internal_id": i, "date": d, "quantity": q}
            for i, d, q in zip(ids, days, counts, strict=True)
        ]
    return [
        {"internal_id": i, "date": d, "quantity": q}
        if s is None
        else {"internal_id": i, "date": d, "quantity": q, "stock_on_hand": s}
        for i, d, q, s in zip(ids, days, counts, stocks, strict=True)
    ]


def validate_rows(
    records: Sequence[object], first_index: int = 0
) -> tuple[list[SaleRow], list[int], list[InputErrorDetail]]:
    """Validate ``records``. Returns the valid records as row dicts (the caller's own dicts
    where they were dicts already), their positions within ``records``, and one error per bad
    field (indices are ``first_index`` + position).

    The whole list is validated in one pydantic-core call (text cells: one per field), with no
    Python work per record but a day-string lookup; only a list that fails is converted
    (SaleRecords, ``stock_on_hand=None``) and, if it still fails, looked at record by record.
    """
    if type(records) is TextCells:
        text_rows = _text_rows(records)
        if text_rows is not None:
            return text_rows, list(range(len(text_rows))), []
        records = records.typed()
    inputs: Sequence[Any] = records
    for attempt in range(2):
        try:
            rows = _ADAPTERS.rows.validate_python(inputs)
        except pydantic.ValidationError:
            rows = None
        if (
            rows is not None
            and sum(map(len, inputs)) == sum(map(len, rows))
            and _days_real(map(_DATE, rows))
            and set(map(type, inputs)) <= {dict}  # sent as they are: dicts only
        ):
            return cast(list[SaleRow], list(inputs)), list(range(len(rows))), []
        if attempt == 0:  # perhaps only SaleRecords, or dicts with stock_on_hand=None
            inputs = [_as_row_input(r) for r in records]
    valid: list[SaleRow] = []
    positions: list[int] = []
    errors: list[InputErrorDetail] = []
    for pos, item in enumerate(inputs):
        found: list[InputErrorDetail] = []
        try:
            _ADAPTERS.row.validate_python(item)
        except pydantic.ValidationError as exc:
            found = details_of(exc, index=first_index + pos)
        day = item.get("date") if isinstance(item, Mapping) else None
        named = any(e.field == "date" for e in found)  # e.g. "2025-11-0x": refused by its shape
        if type(day) is str and not named and _shaped_day(day) and not _real_day(day):
            found.insert(0, InputErrorDetail(first_index + pos, "date", _DAY_ERROR, day))
        if found:
            errors.extend(sorted(found, key=lambda e: e.field))
            continue
        valid.append(item)
        positions.append(pos)
    return valid, positions, errors


def encode_sales(rows: Sequence[SaleRow]) -> bytes:
    """The ``POST /sales`` body for validated rows."""
    return b'{"sales":' + pydantic_core.to_json(rows) + b"}"


def canonical(row: SaleRow) -> str:
    """One line that is equal for two rows exactly when they send the same sale."""
    day = row["date"]
    stock = row.get("stock_on_hand")
    return (
        f"{row['internal_id']}|{day if isinstance(day, str) else day.isoformat()}|"
        f"{row['quantity']}|{'' if stock is None else stock}"
    )
