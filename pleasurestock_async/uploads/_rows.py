"""The rows a sync and its state store pass each other, whatever store keeps the state."""

from __future__ import annotations

from typing import Literal

__all__ = ["InputRow", "Noted", "PendingRow", "PendingState", "PlanRow"]

PendingState = Literal["planned", "sending", "unknown"]

InputRow = tuple[str, str, int, int | None, int]
"""product, day, quantity, stock, input index."""

PlanRow = tuple[str, str, int, int | None, int, int | None, int | None, str | None, str | None, int]
"""product, day, export quantity, export stock, first input index, stored quantity, stored
stock, pending state, pending batch, held (1: its product is in quarantine until later)."""

PendingRow = tuple[str, str, int, int | None]
"""product, day, quantity sent (a delta), stock sent."""

Noted = tuple[str, str, str, int, int | None, int | None, int | None, int]
"""A discrepancy: day, product, kind, export quantity, export stock, stored quantity, stored
stock, first input index."""
