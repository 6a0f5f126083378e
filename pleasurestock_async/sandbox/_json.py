"""JSON both ways, strictly: bodies in are bounded in depth and may hold only finite numbers
and valid Unicode; answers out are exact (a ``Decimal`` is written digit for digit, so money
keeps its cents at any size) and can never contain ``NaN`` or ``Infinity``."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from ._bounds import MAX_DEPTH

__all__ = ["BodyError", "decode", "encode"]


class BodyError(ValueError):
    """The bytes are not a JSON document the sandbox accepts; the message says why."""


def encode(value: object) -> bytes:
    """``value`` as compact UTF-8 JSON; raises ``ValueError`` for a non-finite number."""
    parts: list[str] = []
    _write(value, parts)
    # A lone surrogate can only sit inside a string; backslashreplace writes it as the JSON
    # escape \udxxx, which keeps the document valid instead of failing to encode.
    return "".join(parts).encode("utf-8", "backslashreplace")


def _write(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"refusing to write a non-finite number: {value}")
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"refusing to write a non-finite number: {value}")
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if n:
                out.append(",")
            out.append(encode_basestring(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, datetime):
        out.append(f'"{value.isoformat().replace("+00:00", "Z")}"')
    elif isinstance(value, date):
        out.append(f'"{value.isoformat()}"')
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text[:40]}")
    return number


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def decode(raw: bytes) -> Any:
    """Parse a request body; raises :class:`BodyError` for anything but strict, bounded JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("The request body is not UTF-8") from None
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyError(f"The request body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BodyError(f"The request body is not valid JSON: {str(exc)[:120]}") from None
    _check(value)
    return value


def _check(value: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and strings that are not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _unicode(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise BodyError(f"The request body nests deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    _unicode(key)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _unicode(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyError("The request body holds a lone surrogate (not valid Unicode)") from None
