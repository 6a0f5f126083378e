"""Building blocks shared by every model: base classes, money, flexible ids and dates."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    JsonValue,
    StrictInt,
)
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema

__all__ = [
    "ID_PATTERN",
    "MAX_COUNT",
    "MAX_ID_LENGTH",
    "PRODUCT_ID_PATTERN",
    "PS_ID_PATTERN",
    "STRUCTURE",
    "ApiModel",
    "CamelModel",
    "DayFirstDate",
    "FiniteJson",
    "FlexibleId",
    "Identifier",
    "Money",
    "NonNegativeInt",
    "ProductId",
    "PsId",
    "RecordError",
    "RequestModel",
    "SaleDate",
    "is_uuid",
]

MAX_ID_LENGTH = 200
"""The longest id sent: longer ones are surely not ids (the reference's are 13 to 36
characters), and an id travels in URLs."""

_NOT_IN_ID = r"\s\x00-\x1f\x7f-\x9f/\\?#"
"""What an id never holds, so that it stays one path segment and one token: whitespace,
control characters, path separators, and the ``?`` and ``#`` that end a URL's path."""

ID_PATTERN = rf"^[^{_NOT_IN_ID}]*[^{_NOT_IN_ID}.][^{_NOT_IN_ID}]*$"
"""An id: at least one character that is not a dot (``.`` and ``..`` are path steps), none
of the characters an id never holds. Whether it exists is the server's to say."""

PRODUCT_ID_PATTERN = ID_PATTERN.replace(_NOT_IN_ID, _NOT_IN_ID + ",")
"""A product id: an id without a comma, which separates the ids of a batch query. UUIDs,
``ps_`` ids of any length (the reference's own examples send ``ps_abc123``) and other forms
(``pl_`` on the vendor's public page) all pass: the server decides what exists."""

PS_ID_PATTERN = rf"^ps_[^{_NOT_IN_ID},]*$"
"""A product id in ``ps_`` form, where the reference asks for it (orders, smart reordering)."""

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(product_id: str) -> bool:
    """Whether a product id is a UUID (any letter case): the one form that a batch query's
    answer does not name, and the one form whose letter case does not matter. Every other id
    (``ps_``, ``pl_``, ...) is kept exactly as given."""
    return _UUID.fullmatch(product_id) is not None


def _finite(value: JsonValue) -> JsonValue:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("must be a finite number (NaN and infinities are not JSON)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


FiniteJson = Annotated[JsonValue, AfterValidator(_finite)]
"""Any JSON value whose numbers are all finite (a field the SDK does not type)."""


class ApiModel(BaseModel):
    """Base of every model: unknown fields are kept (the API adds fields often), as JSON
    values with finite numbers."""

    # Built on first use, not at import: most programs touch a few of the models.
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    __pydantic_extra__: dict[str, FiniteJson] = Field(init=False)


class CamelModel(ApiModel):
    """Base of models whose wire names are camelCase (orders, currency, webhooks)."""

    model_config = ConfigDict(alias_generator=to_camel)


Money = Decimal
"""Money is always :class:`~decimal.Decimal`; the wire sends strings ("29.99") and numbers."""

FlexibleId = int | str
"""An id that the API sends as an int in one response and as a UUID string in another."""

MAX_COUNT = 2**53 - 1
"""The largest count sent: JSON parsers that read numbers as doubles (JavaScript's among
them) change larger integers silently. The reference bounds counts only below (at 0)."""

NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
"""A count: an int (never a bool, a float or a string) from 0 to :data:`MAX_COUNT`."""


class _Matching:
    """A string matching ``pattern``, with ``message`` instead of pydantic's regex dump."""

    def __init__(self, pattern: str, message: str, max_length: int | None = None) -> None:
        self.pattern = pattern
        self.message = message
        self.max_length = max_length

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.custom_error_schema(
            core_schema.str_schema(pattern=self.pattern, max_length=self.max_length, strict=True),
            custom_error_type="id_format",
            custom_error_message=self.message,
        )


_NO_ID_CHARS = "no whitespace, control characters, '/', '\\', '?', '#'"

PsId = Annotated[
    str,
    _Matching(
        PS_ID_PATTERN,
        f"must start with 'ps_', with {_NO_ID_CHARS} or ','; at most {MAX_ID_LENGTH} characters",
        MAX_ID_LENGTH,
    ),
]
"""A product id the reference asks to start with ``ps_`` (orders, smart reordering)."""

ProductId = Annotated[
    str,
    _Matching(
        PRODUCT_ID_PATTERN,
        f"must be a product id (a UUID, a ps_ id, ...): 1 to {MAX_ID_LENGTH} characters, "
        f"{_NO_ID_CHARS} or ',', not only dots",
        MAX_ID_LENGTH,
    ),
]
"""A product id (UUID, ``ps_``, or any other form the server uses): only what would break a
request is refused (see :data:`PRODUCT_ID_PATTERN`)."""

Identifier = Annotated[
    str,
    _Matching(
        ID_PATTERN,
        f"must be 1 to {MAX_ID_LENGTH} characters, {_NO_ID_CHARS}, not only dots",
        MAX_ID_LENGTH,
    ),
]
"""Any other id that travels in a URL path (an order number)."""


_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


def _parse_day_first(value: Any) -> Any:
    """Parse "03/11/25" as 3 November 2025; ISO strings and date objects pass through."""
    if isinstance(value, str):
        match = _DAY_FIRST.match(value)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        if "T" in value or " " in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    if isinstance(value, datetime):
        return value.date()
    return value


DayFirstDate = Annotated[date, BeforeValidator(_parse_day_first)]
"""A date that the order list sends as day/month/year ("03/11/25"); ISO forms also accepted."""


_ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"


class _SaleDateSchema:
    """A date object (never a datetime) or a "YYYY-MM-DD" string, validated in pydantic-core.

    Lax ``date`` would also take unix timestamps and midnight datetimes; this does not, and it
    stays in Rust, which matters when a sales upload validates millions of rows.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [
                core_schema.chain_schema(
                    [
                        core_schema.str_schema(pattern=_ISO_DAY, strict=True),
                        core_schema.date_schema(),
                    ]
                ),
                core_schema.date_schema(strict=True),
            ],
            mode="left_to_right",
            custom_error_type="sale_date",
            custom_error_message="must be a date or a 'YYYY-MM-DD' string",
        )


SaleDate = Annotated[date, _SaleDateSchema()]
"""A sales day: a :class:`datetime.date` or a "YYYY-MM-DD" string, nothing looser."""


class _Structure:
    """Marks a field as the shape of an answer (see :data:`Structure`)."""

    def __repr__(self) -> str:
        return "STRUCTURE"


STRUCTURE = _Structure()
"""Metadata for a field that carries the answer itself (``data``, ``pagination``): read
tolerantly, a response without it fails instead of being kept with a hole (lists of objects
count as structure anyway)."""


class RequestModel(BaseModel):
    """Base of request models: unknown fields are refused, so a typo cannot drop data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class RecordError(ApiModel):
    """One record the server rejected: its index in the request and why."""

    index: int
    error: str
    expected: str | None = None
    received: FiniteJson = None
