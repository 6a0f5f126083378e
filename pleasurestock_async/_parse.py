"""Reading a response body into its model: strictly, or tolerantly (the default).

The API adds and changes fields without notice. Read tolerantly, an answer is read when it has
what it is about: extra fields are kept, an optional field that is missing or does not have its
documented type is left out (with a warning naming it), and odd but meaningful values are read
(money as a string or a number, int or UUID ids, day-first dates, statuses the SDK does not
know). An object without a required field (its identity: an id, a price, an amount) or with a
value of a required field that cannot be read fails the call, as does any number that is not
finite (NaN, Infinity, 1e400): a model never holds a value of another type than its own. Read
strictly (``strict_response_validation=True``), an optional field that cannot be read fails the
call too. Both read the other shapes of an answer that its model knows (an ``other_shape``
class method, e.g. :meth:`~pleasurestock_async.types.ProductPage.other_shape`).
"""

from __future__ import annotations

import json
import logging
import math
import types
from collections.abc import Callable
from typing import Any, TypeVar, Union, get_args, get_origin

import pydantic
from pydantic.fields import FieldInfo

from .types.shared import STRUCTURE

__all__ = ["read_model"]

log = logging.getLogger("pleasurestock_async")

M = TypeVar("M", bound=pydantic.BaseModel)

_UNREADABLE = object()


def read_model(
    cls: type[M], content: bytes, *, strict: bool, what: str, scrub: Callable[[str], str]
) -> M:
    """``content`` (JSON bytes) as ``cls``. Raises :class:`pydantic.ValidationError` when it
    cannot be read (see the module's rules)."""
    try:
        return cls.model_validate_json(content)
    except pydantic.ValidationError as exc:
        failure = exc.with_traceback(None)  # kept below: no cycle through this frame
    data = _load(content)
    model = None
    if data is not _UNREADABLE:
        reshaped = _other_shape(cls, data)
        if reshaped is not None:
            try:
                return cls.model_validate(reshaped)
            except pydantic.ValidationError as exc:
                failure, data = exc.with_traceback(None), reshaped
        if not strict:
            problems: list[str] = []
            model = _read_object(cls, data, "", problems)
    if model is None:
        try:
            raise failure from None
        finally:  # its traceback holds this frame, so the frame must not hold it (a cycle)
            del failure
    shown = "; ".join(problems[:5]) + (
        f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    log.warning(
        "%s: %d optional field(s) of the response could not be read as documented and were "
        "left out: %s (pass strict_response_validation=True to fail instead)",
        what,
        len(problems),
        scrub(shown),
    )
    return model


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _load(content: bytes) -> Any:
    """The body as strict JSON (no NaN, no Infinity, no number too large for a float), or
    ``_UNREADABLE``."""
    try:
        return json.loads(content, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        return _UNREADABLE


def _other_shape(cls: type[pydantic.BaseModel], data: Any) -> Any:
    """``data`` rearranged into ``cls``'s documented shape, when ``cls`` knows another shape
    of the same answer (an ``other_shape`` class method) and ``data`` has it; else None."""
    other: Callable[[Any], Any] | None = getattr(cls, "other_shape", None)
    return None if other is None else other(data)


def _read_object(cls: type[M], data: Any, path: str, problems: list[str]) -> M | None:
    if not isinstance(data, dict):
        return None
    scratch = cls.model_construct()
    validator = cls.__pydantic_validator__
    values: dict[str, Any] = {}
    present: set[str] = set()
    known: set[str] = set()
    for name, field in cls.model_fields.items():
        key = field.alias or name
        known.update((key, name))
        if key in data:
            raw = data[key]
        elif name in data:
            raw = data[name]
        elif field.is_required():
            return None
        else:
            continue
        present.add(name)
        try:
            validator.validate_assignment(scratch, name, raw)
            values[name] = getattr(scratch, name)
            continue
        except pydantic.ValidationError as exc:
            reason = exc.errors(include_url=False)[0]["msg"]
        fixed = _read_value(field.annotation, raw, f"{path}{key}", problems)
        if fixed is not _UNREADABLE:
            values[name] = fixed
        elif field.is_required() or _structural(field):
            return None
        else:
            problems.append(f"{path}{key}: {reason} ({_short(raw)})")
            values[name] = field.get_default(call_default_factory=True)
            present.discard(name)
    if cls.model_config.get("extra") == "allow":  # finite: _load refused any other number
        values.update({k: v for k, v in data.items() if k not in known})
    return cls.model_construct(_fields_set=present, **values)


def _read_value(annotation: Any, raw: Any, path: str, problems: list[str]) -> Any:
    """A nested model (or list of models) read field by field; else unreadable."""
    annotation = _without_none(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        found = _read_object(annotation, raw, f"{path}.", problems)
        return _UNREADABLE if found is None else found
    if get_origin(annotation) is list and isinstance(raw, list):
        (item_type,) = get_args(annotation) or (Any,)
        item_type = _without_none(item_type)
        if not (isinstance(item_type, type) and issubclass(item_type, pydantic.BaseModel)):
            return _UNREADABLE
        items = []
        for index, item in enumerate(raw):
            try:
                items.append(item_type.model_validate(item))
            except pydantic.ValidationError:
                found = _read_object(item_type, item, f"{path}[{index}].", problems)
                if found is None:
                    return _UNREADABLE
                items.append(found)
        return items
    return _UNREADABLE


def _structural(field: FieldInfo) -> bool:
    """Whether a field is the shape of the answer: marked so, or a list of objects."""
    if STRUCTURE in field.metadata:
        return True
    annotation = _without_none(field.annotation)
    if get_origin(annotation) is not list:
        return False
    (item,) = get_args(annotation) or (Any,)
    item = _without_none(item)
    return isinstance(item, type) and issubclass(item, pydantic.BaseModel)


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
