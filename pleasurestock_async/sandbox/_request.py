"""Reading a request: its JSON body (size, depth and type checked) and its query parameters
(each parsed strictly and bounded), answering anything else with a documented 4xx."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from ._bounds import FIRST_DAY, LAST_DAY, MAX_BODY_BYTES, MAX_COUNT, MAX_NUMBER_TEXT
from ._errors import ApiError, bad_request
from ._json import BodyError, decode

__all__ = [
    "as_count",
    "is_number",
    "is_ps_id",
    "parse_day",
    "query_bool",
    "query_day",
    "query_decimal",
    "query_int",
    "query_text",
    "read_body",
    "read_json",
]

DRAIN_LIMIT = 64 * MAX_BODY_BYTES
"""How much of an oversized body is read and thrown away before the 413, so that a client
still sending gets the answer instead of a reset connection."""

_INT = re.compile(r"-?[0-9]{1,20}")
_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NOT_IN_ID = re.compile(r"[\s\x00-\x1f\x7f-\x9f/\\?#,]")


def _too_large() -> ApiError:
    return ApiError(
        413,
        "Payload Too Large",
        f"The request body is larger than {MAX_BODY_BYTES} bytes",
    )


async def read_body(request: Request) -> bytes:
    """The raw body, or a 413 when it is larger than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise bad_request("Content-Length is not a number")
    if declared is not None and int(declared) > DRAIN_LIMIT:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            break
    if size > MAX_BODY_BYTES:
        raise _too_large()
    return b"".join(chunks)


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 (not strict JSON, not an object) or 413 (too big)."""
    try:
        body = decode(await read_body(request))
    except BodyError as exc:
        raise bad_request(str(exc)) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter between ``low`` and ``high`` (``default`` when absent)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise bad_request(f"{name} must be an integer between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise bad_request(f"{name} must be an integer between {low} and {high}")
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    """A boolean parameter: true/false or 1/0."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false")


def query_text(request: Request, name: str, longest: int) -> str | None:
    """A text parameter of at most ``longest`` characters."""
    raw = request.query_params.get(name)
    if raw is not None and len(raw) > longest:
        raise bad_request(f"{name} must be at most {longest} characters")
    return raw


def query_decimal(request: Request, name: str, high: Decimal) -> Decimal:
    """A required number between 0 and ``high``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise bad_request(f"{name} is required")
    if len(raw) > MAX_NUMBER_TEXT or not _NUMBER.fullmatch(raw):
        raise bad_request(f"{name} must be a number")
    value = Decimal(raw)
    if not 0 <= value <= high:
        raise bad_request(f"{name} must be between 0 and {high}")
    return value.copy_abs() if value.is_zero() else value


def as_count(value: object, high: int = MAX_COUNT) -> int | None:
    """A JSON integer from 0 to ``high`` as an int, or None. An integer is what JSON Schema
    calls one: a number without a fraction, so ``5.0`` is 5 (a JavaScript server cannot tell
    them apart either); a boolean is not one."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high:
        return value
    return None


def is_number(value: object, high: Decimal | int = MAX_COUNT) -> bool:
    """A JSON number (not a boolean) from 0 to ``high``."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= high


def is_ps_id(value: object, longest: int) -> bool:
    """A ``ps_`` product id of at most ``longest`` characters, without whitespace, control
    characters, ``/``, ``\\``, ``?``, ``#`` or a comma (any other shape: what exists is up to
    the catalogue)."""
    return (
        isinstance(value, str)
        and value.startswith("ps_")
        and len(value) <= longest
        and _NOT_IN_ID.search(value) is None
    )


def parse_day(raw: object) -> date | None:
    """A ``YYYY-MM-DD`` date between FIRST_DAY and LAST_DAY, or None."""
    if not isinstance(raw, str) or not _DAY.fullmatch(raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def query_day(request: Request, name: str, default: date) -> date:
    """A date parameter (see :func:`parse_day`)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    day = parse_day(raw)
    if day is None:
        raise bad_request(f"{name} must be a date YYYY-MM-DD between {FIRST_DAY} and {LAST_DAY}")
    return day
