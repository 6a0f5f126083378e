"""Reading a response body into its model: strictly, or tolerantly (the default).

The API adds and changes fields without notice. Read tolerantly, a value that does not have its
documented type is left out (an optional field: it becomes its default) or kept as sent (a
required one), and a warning names it; everything else is read as usual. The structure itself
(an object where the document has one, a list of objects) must be there, or the call fails: a
page without its items is not a page. Read strictly (``strict_response_validation=True``), any
such value fails the call.
"""

from __future__ import annotations

import json
import logging
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
    cannot be read: strictly, at the first wrong field; tolerantly, only when the body is not
    a JSON object at all."""
    try:
        return cls.model_validate_json(content)
    except pydantic.ValidationError as exc:
        if strict:
            raise
        failure = exc.with_traceback(None)  # kept below: no cycle through this frame
    problems: list[str] = []
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        model = None
    else:
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
        "%s: %d field(s) of the response could not be read as documented: %s "
        "(pass strict_response_validation=True to fail instead)",
        what,
        len(problems),
        scrub(shown),
    )
    return model


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
        else:
            if field.is_required():
                if _structural(field):
                    return None
                problems.append(f"{path}{key}: missing")
                values[name] = None
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
        elif _structural(field):
            return None
        elif field.is_required():
            problems.append(f"{path}{key}: {reason}; kept as sent ({_short(raw)})")
            values[name] = raw
        else:
            problems.append(f"{path}{key}: {reason}; left out ({_short(raw)})")
            values[name] = field.get_default(call_default_factory=True)
            present.discard(name)
    if cls.model_config.get("extra") == "allow":
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
