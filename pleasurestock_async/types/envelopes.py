"""Response envelopes that wrap a payload in ``{"success": true, "data": ...}``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from .shared import STRUCTURE, ApiModel

__all__ = ["DataEnvelope"]

T = TypeVar("T")


class DataEnvelope(ApiModel, Generic[T]):
    """``{"success": ..., "data": T}``."""

    success: bool = True
    """True for a successful answer."""
    data: Annotated[T, STRUCTURE]
    """The answer's payload."""
