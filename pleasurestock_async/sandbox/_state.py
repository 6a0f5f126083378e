"""The sandbox's in-memory state: stored sales, smart reordering, orders and their lifecycle."""

from __future__ import annotations

import math
import random
import string
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from ._catalog import Catalogue, SandboxProduct, Supplier
from ._reference import EXAMPLE_ORDER_TOTAL, EXAMPLE_ORDERS
from ._status import NEXT, Status

__all__ = [
    "COVERAGE_DAYS",
    "HISTORY_DAYS",
    "DaySales",
    "OrderLine",
    "SandboxOrder",
    "SandboxState",
    "TransitionError",
]

HISTORY_DAYS = 30
"""Days of history behind a recommendation."""
COVERAGE_DAYS = 30
"""Days of sales a recommended reorder should cover."""
_CENT = Decimal("0.01")


@dataclass(slots=True)
class DaySales:
    """One product's stored day: quantities summed, stock the maximum reported."""

    quantity: int = 0
    stock_on_hand: int | None = None


@dataclass(slots=True)
class OrderLine:
    """One line of a sandbox order."""

    product: SandboxProduct
    quantity: int
    unit_price: Decimal
    custom: bool

    @property
    def total(self) -> Decimal:
        """Unit price times quantity."""
        return self.unit_price * self.quantity


@dataclass(slots=True)
class SandboxOrder:
    """An order as the sandbox keeps it."""

    order_id: str
    number: str
    delivery_id: str
    supplier: Supplier
    lines: list[OrderLine]
    external_order_id: str | None
    comment: str | None
    created_at: datetime
    status: Status = Status.CREATED
    status_changed_at: datetime | None = None
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    accepted_at: datetime | None = None
    history: list[tuple[Status, Status, str | None, datetime]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.total for line in self.lines), Decimal(0))


class TransitionError(ValueError):
    """The lifecycle does not allow this status change."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class SandboxState:
    """Everything the sandbox remembers between requests."""

    def __init__(self, catalogue: Catalogue, seed: int) -> None:
        self.catalogue = catalogue
        self.sales: dict[str, dict[date, DaySales]] = defaultdict(dict)
        self.orders: list[SandboxOrder] = []
        self._by_number: dict[str, SandboxOrder] = {}
        self.smart_reorders: list[dict[str, object]] = []
        self._rng = random.Random(f"orders-{seed}")  # not the catalogue's sequence
        self._deliveries_per_day: dict[date, int] = defaultdict(int)

    # -- sales ---------------------------------------------------------------------------------

    def store_sale(
        self, product: SandboxProduct, day: date, quantity: int, stock: int | None
    ) -> None:
        """Aggregate one row as the real API does: quantity SUM, stock_on_hand MAX."""
        stored = self.sales[product.id].setdefault(day, DaySales())
        stored.quantity += quantity
        if stock is not None:
            stored.stock_on_hand = (
                stock if stored.stock_on_hand is None else max(stored.stock_on_hand, stock)
            )

    def forget_sales(self) -> None:
        """Forget every stored sale and smart-reorder submission."""
        self.sales.clear()
        self.smart_reorders.clear()

    def recommendations(self, target: date) -> list[dict[str, Any]]:
        """Reorder advice from the stored history up to ``target``, largest first.

        Average daily sales leave out out-of-stock days (stock 0); the recommendation covers
        COVERAGE_DAYS of sales minus the latest known stock; accuracy compares the last 7
        in-stock days with that average. Stored sums are unbounded integers, so the arithmetic
        runs with enough precision for any of them.
        """
        start = target - timedelta(days=HISTORY_DAYS - 1)
        found: list[dict[str, Any]] = []
        for product in self.catalogue.products:
            days = self.sales.get(product.id)
            if not days:
                continue
            window = sorted((d, s) for d, s in days.items() if start <= d <= target)
            in_stock = [s.quantity for _, s in window if s.stock_on_hand != 0]
            if not in_stock:
                continue
            stocks = [s.stock_on_hand for _, s in window if s.stock_on_hand is not None]
            current = stocks[-1] if stocks else 0
            with localcontext() as ctx:
                ctx.prec = 28 + len(str(max(in_stock))) + len(str(current))
                average = Decimal(sum(in_stock)) / len(in_stock)
                recommended = max(0, math.ceil(average * COVERAGE_DAYS - current))
                if recommended == 0:
                    continue
                recent = in_stock[-7:]
                error = sum((abs(q - average) for q in recent), Decimal(0)) / len(recent)
                accuracy = max(Decimal(0), 1 - error / average) if average else Decimal(0)
                average, accuracy = average.quantize(_CENT), accuracy.quantize(_CENT)
            found.append(
                {
                    "product_internal_id": product.internal_id,
                    "product_name": product.name,
                    "product_sku": product.sku,
                    "recommended_quantity": recommended,
                    "current_stock": current,
                    "average_daily_sales": average,
                    "forecast_accuracy": accuracy,
                    "calculation_date": datetime.combine(target, datetime.min.time(), UTC),
                }
            )
        found.sort(key=lambda r: (-r["recommended_quantity"], r["product_sku"]))
        return found

    # -- orders --------------------------------------------------------------------------------

    def _new_number(self, day: date) -> str:
        while True:
            suffix = "".join(self._rng.choices(string.ascii_uppercase + string.digits, k=6))
            number = f"ORD-{day:%Y%m%d}-{suffix}"
            if self.find_order(number) is None:
                return number

    def create_orders(
        self,
        lines: list[OrderLine],
        external_order_id: str | None,
        comment: str | None,
    ) -> list[SandboxOrder]:
        """One new order per supplier, in the order suppliers first appear."""
        by_supplier: dict[int, list[OrderLine]] = {}
        for line in lines:
            by_supplier.setdefault(line.product.supplier.id, []).append(line)
        now = _now()
        created = []
        for supplier_lines in by_supplier.values():
            day = now.date()
            self._deliveries_per_day[day] += 1
            order = SandboxOrder(
                order_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                number=self._new_number(day),
                delivery_id=f"PS-{day:%Y}-{day:%m%d}/{self._deliveries_per_day[day]}",
                supplier=supplier_lines[0].product.supplier,
                lines=supplier_lines,
                external_order_id=external_order_id,
                comment=comment,
                created_at=now,
                status_changed_at=now,
            )
            self._add(order)
            created.append(order)
        return created

    def add_example_orders(self) -> None:
        """Add the reference's two example orders (15 lines of Yiqing's, 5669.57 USD each).

        Their lines keep the unit prices of the day they were ordered; the last line's price
        makes the total the reference's. Nothing is added to a catalogue without Yiqing.
        """
        yiqing = [p for p in self.catalogue.products if p.supplier.name == "Yiqing"][:15]
        if not yiqing:
            return
        for example in EXAMPLE_ORDERS:
            lines = [OrderLine(p, 1, p.price, custom=False) for p in yiqing[:-1]]
            rest = int((EXAMPLE_ORDER_TOTAL - sum((x.total for x in lines), Decimal(0))) * 100)
            last = yiqing[-1]
            quantity = max(1, rest // int(last.price * 100))
            while rest % quantity:
                quantity -= 1
            lines.append(OrderLine(last, quantity, Decimal(rest // quantity) / 100, custom=False))
            order = SandboxOrder(
                order_id=example.order_id,
                number=example.number,
                delivery_id=example.delivery_id,
                supplier=last.supplier,
                lines=lines,
                external_order_id=None,
                comment=None,
                created_at=example.created_at,
                status_changed_at=example.status_changed_at,
            )
            if example.cancelled:
                order.status = Status.CANCELLED
                order.history.append(
                    (Status.CREATED, Status.CANCELLED, None, example.status_changed_at)
                )
            self._add(order)
            self._deliveries_per_day[example.created_at.date()] += 1

    def forget_orders(self, *, examples: bool) -> None:
        """Forget every order; the reference's two example orders come back with ``examples``."""
        self.orders.clear()
        self._by_number.clear()
        self._deliveries_per_day.clear()
        if examples:
            self.add_example_orders()

    def _add(self, order: SandboxOrder) -> None:
        self.orders.append(order)
        self._by_number[order.number] = order

    def find_order(self, number: str) -> SandboxOrder | None:
        """An order by its number."""
        return self._by_number.get(number)

    def change_status(self, order: SandboxOrder, new: Status, comment: str | None) -> Status:
        """Apply a lifecycle step; returns the old status or raises :class:`TransitionError`."""
        old = order.status
        allowed = NEXT[old] | (set() if old.is_final else {Status.CANCELLED})
        if new not in allowed:
            if old.is_final:
                raise TransitionError(f"order {order.number} is {old.value}, a final status")
            options = ", ".join(sorted(s.value for s in allowed))
            raise TransitionError(
                f"cannot change status from {old.value} to {new.value} (allowed: {options})"
            )
        now = _now()
        order.status = new
        order.status_changed_at = now
        if new is Status.PAID:
            order.paid_at = now
        elif new is Status.ON_THE_WAY:
            order.shipped_at = now
        elif new is Status.DELIVERED:
            order.delivered_at = now
        elif new is Status.ACCEPTED:
            order.accepted_at = now
        order.history.append((old, new, comment, now))
        return old
