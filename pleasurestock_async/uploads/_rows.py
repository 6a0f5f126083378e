"""The rows a sync and its state store pass each other, whatever store keeps the state."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "FINGERPRINTS",
    "STATE_TABLES",
    "InputRow",
    "Noted",
    "PendingRow",
    "PendingState",
    "PlanRow",
]

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

STATE_TABLES: dict[str, tuple[str, ...]] = {
    "days": ("product", "day", "quantity", "stock"),
    "pending": ("product", "day", "quantity", "stock", "state", "batch", "error", "updated_at"),
    "product_ids": ("uuid", "internal_id"),
    "quarantine": (
        "product",
        "error",
        "first_day",
        "last_day",
        "retry_on",
        "first_run",
        "last_run",
    ),
    "discrepancies": (
        "day",
        "product",
        "kind",
        "export_quantity",
        "export_stock",
        "stored_quantity",
        "stored_stock",
        "first_index",
        "accepted_stored",
        "accepted_export",
        "last_run",
    ),
    "runs": ("run", "started", "finished", "today", "read", "sent", "stored", "outcome"),
}
"""The tables of a state (besides its metadata) and their columns, in the order every store
reads and writes them (days as ``YYYY-MM-DD``): what a store must hold, and what ``state copy``
moves."""

FINGERPRINTS: dict[str, str] = {
    "days": "count(*), coalesce(sum(quantity), 0), coalesce(sum(stock), 0), count(stock)",
    "pending": "count(*), coalesce(sum(quantity), 0)",
    "product_ids": "count(*)",
    "quarantine": "count(*)",
    "discrepancies": "count(*)",
    "runs": "count(*), coalesce(max(run), 0)",
}
"""What each table of :data:`STATE_TABLES` adds up to (SQL aggregates): a copy of a state is
exact when these agree on both sides."""
