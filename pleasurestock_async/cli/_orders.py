"""``pleasurestock orders``: list, show, create and move orders."""

from __future__ import annotations

from decimal import Decimal

import click
from rich.table import Table
from rich.text import Text

from ..types import SETTABLE_STATUSES, OrderItem, OrderStatus
from ._common import (
    dump,
    run_async,
    settings_of,
)


@click.group()
def orders() -> None:
    """Orders placed through the external B2B API.

    \b
    Example:
      pleasurestock orders list --status created
    """


@orders.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in OrderStatus]),
    help="Only orders with this status.",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many orders.")
@click.pass_context
@run_async
async def orders_list(ctx: click.Context, status: str | None, limit: int | None) -> int:
    """List orders as a table (every page).

    \b
    Example:
      pleasurestock orders list --status created
    """
    settings = settings_of(ctx)
    found = []
    async with settings.client() as ps:
        async for order in ps.orders.list(status=status):
            found.append(order)
            if limit and len(found) >= limit:
                break
    if settings.json:
        settings.out.print(dump([o.model_dump(mode="json") for o in found]), highlight=False)
        return 0
    table = Table("order", "delivery", "status", "supplier", "total", "items", "created")
    for o in found:
        table.add_row(
            o.order_number,
            o.delivery_id or "",
            str(o.status),
            o.supplier_name or "",
            f"{o.total_amount} {o.currency or ''}",
            str(o.items_count or ""),
            str(o.created_at or ""),
        )
    settings.out.print(table)
    return 0


@orders.command("show")
@click.argument("order_number")
@click.pass_context
@run_async
async def orders_show(ctx: click.Context, order_number: str) -> int:
    """Show one order in full.

    \b
    Example:
      pleasurestock orders show ORD-20251103-78XZ70
    """
    settings = settings_of(ctx)
    async with settings.client() as ps:
        order = await ps.orders.get(order_number)
    if settings.json:
        settings.out.print(dump(order), highlight=False)
        return 0
    out = settings.out
    out.print(
        Text.assemble(
            (order.order_number, "bold"), f"  {order.status}  delivery {order.delivery_id}"
        )
    )
    if order.supplier:
        out.print(f"supplier: {order.supplier.name}", highlight=False)
    table = Table("ps_id", "name", "qty", "unit", "total")
    for item in order.items:
        table.add_row(
            item.ps_id or "",
            item.name or "",
            str(item.quantity),
            str(item.unit_price or ""),
            str(item.total_price or ""),
        )
    out.print(table)
    out.print(f"total: {order.total_amount} {order.currency or ''}", highlight=False)
    return 0


@orders.command("set-status")
@click.argument("order_number")
@click.argument(
    "status",
    type=click.Choice(sorted(s.value for s in SETTABLE_STATUSES)),
)
@click.option("--comment", help="A note stored with the change.")
@click.option("--external-order-id", help="Your reference for the order.")
@click.pass_context
@run_async
async def orders_set_status(
    ctx: click.Context,
    order_number: str,
    status: str,
    comment: str | None,
    external_order_id: str | None,
) -> int:
    """Move an order to its next status.

    \b
    Example:
      pleasurestock orders set-status ORD-20251103-78XZ70 paid --comment "Payment confirmed"
    """
    settings = settings_of(ctx)
    async with settings.client() as ps:
        done = await ps.orders.update_status(
            order_number, status, comment=comment, external_order_id=external_order_id
        )
    settings.out.print(
        dump(done) if settings.json else f"{done.order_number}: {done.status}", highlight=False
    )
    return 0


def _item(text: str) -> OrderItem:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise click.BadParameter(f"{text!r}: expected ps_id:qty[:price]", param_hint="--item")
    try:
        return OrderItem(
            ps_id=parts[0],
            quantity=int(parts[1]),
            custom_price=Decimal(parts[2]) if len(parts) == 3 else None,
        )
    except (ValueError, ArithmeticError) as exc:
        raise click.BadParameter(f"{text!r}: {exc}", param_hint="--item") from None


@orders.command("create")
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    metavar="PS_ID:QTY[:PRICE]",
    help="A product line; repeat for more.",
)
@click.option("--external-order-id", help="Your reference for the order.")
@click.option("--comment", help="An order comment.")
@click.pass_context
@run_async
async def orders_create(
    ctx: click.Context,
    items: tuple[str, ...],
    external_order_id: str | None,
    comment: str | None,
) -> int:
    """Create orders (one per supplier).

    \b
    Example:
      pleasurestock orders create --item ps_1234567890:10:25.50 --item ps_0987654321:5
    """
    settings = settings_of(ctx)
    lines = [_item(i) for i in items]
    async with settings.client() as ps:
        created = await ps.orders.create(
            lines, external_order_id=external_order_id, comment=comment
        )
    if settings.json:
        settings.out.print(dump(created), highlight=False)
        return 0
    for o in created.orders:
        settings.out.print(
            f"{o.order_number}  {o.delivery_id}  {o.total_amount} {o.currency}", highlight=False
        )
    return 0
