"""The OpenAPI 3.1 document of API v1, shipped in the package as ``openapi.json``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["openapi_bytes", "openapi_document"]


@cache
def openapi_bytes() -> bytes:
    """The document as shipped."""
    return resources.files("pleasurestock_async").joinpath("openapi.json").read_bytes()


def openapi_document() -> dict[str, Any]:
    """The document, parsed (a fresh copy each call)."""
    document: dict[str, Any] = json.loads(openapi_bytes())
    return document
