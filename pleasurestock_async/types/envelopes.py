"""Response envelopes that wrap a payload in ``{"success": true, "data": ...}``."""

from __future__ import annotations

from typing import Generic, TypeVar

from .shared import ApiModel

__all__ = ["DataEnvelope"]

T = TypeVar("T")


class DataEnvelope(ApiModel, Generic[T]):
    """``{"success": ..., "data": T}``."""

    success: bool = True
    data: T
