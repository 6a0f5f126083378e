"""Turn pydantic validation failures into :class:`InputError` naming index and field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, Unpack, overload

import pydantic
from pydantic import TypeAdapter

from .errors import InputError, InputErrorDetail

__all__ = [
    "check_flag",
    "check_int",
    "check_sequence",
    "check_text",
    "deferred_adapter",
    "details_of",
    "validate_each",
    "validate_value",
]

T = TypeVar("T")


@overload
def deferred_adapter(kind: type[T], **config: Unpack[pydantic.ConfigDict]) -> TypeAdapter[T]: ...
@overload
def deferred_adapter(kind: Any, **config: Unpack[pydantic.ConfigDict]) -> TypeAdapter[Any]: ...
def deferred_adapter(kind: Any, **config: Unpack[pydantic.ConfigDict]) -> TypeAdapter[Any]:
    """A validator for ``kind`` built on first use (importing the SDK builds none)."""
    return TypeAdapter(kind, config=pydantic.ConfigDict(defer_build=True, **config))


def details_of(
    exc: pydantic.ValidationError,
    *,
    index: int | None = None,
    indexed: bool = False,
    name: str = "value",
) -> list[InputErrorDetail]:
    """The failures in ``exc``. With ``indexed``, the first location part is the record's index
    (shifted by ``index``); otherwise every failure belongs to record ``index``. ``name`` is
    the field reported for a failure of the value as a whole."""
    out = []
    for err in exc.errors(include_url=False):
        loc: tuple[Any, ...] = err["loc"]
        where = index
        if indexed and loc and isinstance(loc[0], int):
            where = (index or 0) + loc[0]
            loc = loc[1:]
        field = ".".join(str(p) for p in loc) or name
        message = err["msg"]
        if err["type"] == "missing":
            message = "is required"
        elif err["type"] == "extra_forbidden":
            message = "is not a known field"
        out.append(InputErrorDetail(where, field, message, err.get("input")))
    return out


def validate_value(
    adapter: pydantic.TypeAdapter[T], value: object, what: str, *, indexed: bool = False
) -> T:
    """Validate one argument, or raise :class:`InputError` naming its field (and, for a list
    with ``indexed``, the position of each bad element)."""
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        raise InputError(what, details_of(exc, indexed=indexed, name=what)) from None


def validate_each(model: type[T], records: Iterable[object], what: str) -> list[T]:
    """Validate every record (instances of ``model`` pass as they are); raise one
    :class:`InputError` listing every bad record with its index and field."""
    validator = pydantic.TypeAdapter(model)
    good: list[T] = []
    bad: list[InputErrorDetail] = []
    for i, record in enumerate(records):
        if isinstance(record, model):
            good.append(record)
            continue
        try:
            good.append(validator.validate_python(record))
        except pydantic.ValidationError as exc:
            bad.extend(details_of(exc, index=i))
    if bad:
        raise InputError(what, bad)
    return good


def check_int(name: str, value: object, *, low: int | None = 0, high: int | None = None) -> int:
    """An int argument within bounds (``None``: unbounded), or :class:`InputError` naming
    it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError.single(name, "must be an int", value)
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bound = f"between {low} and {high}"
        else:
            bound = f"at least {low}" if low is not None else f"at most {high}"
        raise InputError.single(name, f"must be {bound}", value)
    return value


def check_flag(name: str, value: object) -> bool | None:
    """A ``bool | None`` argument, or :class:`InputError` naming it."""
    if value is not None and not isinstance(value, bool):
        raise InputError.single(name, "must be True, False or None", value)
    return value


def check_text(name: str, value: object) -> str:
    """A str argument, or :class:`InputError` naming it."""
    if not isinstance(value, str):
        raise InputError.single(name, "must be a str", value)
    return value


def check_sequence(name: str, value: object) -> Sequence[Any]:
    """A list or tuple argument (a generator or a lone dict is refused: it would be read
    partly or wrongly), or :class:`InputError` naming it."""
    if not isinstance(value, list | tuple):
        raise InputError.single(name, f"must be a list or tuple, not {type(value).__name__}", value)
    return value
