"""The order lifecycle of the reference: statuses, who may set them, the allowed steps, and
the ``statusDisplay`` badge of each."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NEXT", "SETTABLE", "Status", "display"]


class Status(StrEnum):
    """An order status."""

    CREATED = "created"
    PART_PAID = "part_paid"
    PAID = "paid"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """Whether the order can no longer change (accepted, cancelled)."""
        return self in (Status.ACCEPTED, Status.CANCELLED)


SETTABLE = frozenset(Status) - {Status.CREATED}
"""What ``PUT /external/orders/{n}/status`` may set (``created`` is the system's)."""

NEXT: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.PART_PAID, Status.PAID}),
    Status.PART_PAID: frozenset({Status.PAID}),
    Status.PAID: frozenset({Status.ON_THE_WAY}),
    Status.ON_THE_WAY: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset({Status.ACCEPTED}),
    Status.ACCEPTED: frozenset(),
    Status.CANCELLED: frozenset(),
}
"""The forward steps; any status that is not final may also become ``cancelled``."""

_BADGES: dict[Status, tuple[str, str]] = {
    Status.CREATED: ("Created", "blue"),
    Status.PART_PAID: ("Partially paid", "yellow"),
    Status.PAID: ("Paid", "green"),
    Status.ON_THE_WAY: ("On the way", "indigo"),
    Status.DELIVERED: ("Delivered", "purple"),
    Status.ACCEPTED: ("Accepted", "emerald"),
    Status.CANCELLED: ("Cancelled", "red"),
}


def display(status: Status) -> dict[str, str]:
    """The ``statusDisplay`` object: label, colour and Tailwind classes."""
    label, color = _BADGES[status]
    return {"label": label, "color": color, "cssClass": f"bg-{color}-100 text-{color}-800"}
