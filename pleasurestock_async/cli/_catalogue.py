"""``pleasurestock products``, ``reorder`` and ``currency``: read the catalogue and prices."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import click
from rich.table import Table

from ._common import (
    dump,
    run_async,
    settings_of,
)

_EXPORT_FIELDS = {
    "base": [
        "internal_id",
        "name",
        "sku",
        "price",
        "currency",
        "supplier_id",
        "created_at",
        "updated_at",
    ],
    "category": ["category_id", "category_name", "category_name_en"],
    "tcc": ["tcc_enabled", "tcc_coefficient", "tcc_total_cost", "tcc_currency"],
    "tsp": ["tsp_enabled", "tsp_value", "tsp_formula", "tsp_currency"],
}


@click.group()
def products() -> None:
    """The product catalogue.

    \b
    Example:
      pleasurestock products export --include category,tcc,tsp -o catalogue.csv
    """


@products.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    help="Output format (default: csv; jsonl under --json).",
)
@click.option(
    "--include",
    default="",
    metavar="LIST",
    help="Extra fields: any of category,tcc,tsp (comma-separated).",
)
@click.option("--supplier-id", type=int, help="Only this supplier's products.")
@click.option("--search", help="Only products matching this text.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Output file (default: stdout).",
)
@click.pass_context
@run_async
async def products_export(
    ctx: click.Context,
    fmt: str | None,
    include: str,
    supplier_id: int | None,
    search: str | None,
    output: str,
) -> int:
    """Stream the catalogue to CSV or JSON Lines (with --json), page by page (never all in
    memory).

    \b
    Example:
      pleasurestock products export --include category,tcc,tsp -o catalogue.csv
    """
    settings = settings_of(ctx)
    fmt = fmt or ("jsonl" if settings.json else "csv")
    extras = [x.strip() for x in include.split(",") if x.strip()]
    unknown = sorted(set(extras) - {"category", "tcc", "tsp"})
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}", param_hint="--include")
    fields = _EXPORT_FIELDS["base"] + [f for x in extras for f in _EXPORT_FIELDS[x]]
    handle = _output(output)
    count = 0
    try:
        writer = csv.DictWriter(handle, fields, extrasaction="ignore") if fmt == "csv" else None
        if writer:
            writer.writeheader()
        async with settings.client() as ps:
            listing = ps.products.list(
                supplier_id=supplier_id,
                search=search,
                include_category="category" in extras or None,
                include_tcc="tcc" in extras or None,
                include_tsp="tsp" in extras or None,
            )
            async for page in listing.pages():
                for product in page.data:
                    row = product.model_dump(mode="json", include=set(fields))
                    if writer:
                        writer.writerow(row)
                    else:
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
                settings.err.print(f"exported {count} of {page.pagination.total}", highlight=False)
    finally:
        if handle is not sys.stdout:
            handle.close()
    return 0


def _output(path: str) -> IO[str]:
    """Standard output for ``-``, else the file opened for writing (before anything is
    fetched); a usage error (exit 2) when it cannot be."""
    if path == "-":
        return sys.stdout
    try:
        return Path(path).open("w", newline="", encoding="utf-8")
    except (OSError, ValueError) as exc:  # a missing directory, no permission, a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.BadParameter(f"cannot write {path!r}: {reason}", param_hint="-o") from None


@click.command()
@click.option("--date", "day", help="Target date, YYYY-MM-DD (default: today).")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.pass_context
@run_async
async def reorder(ctx: click.Context, day: str | None, limit: int) -> int:
    """Smart reordering recommendations as a table.

    \b
    Example:
      pleasurestock reorder --date 2025-11-03
    """
    settings = settings_of(ctx)
    async with settings.client() as ps:
        report = await ps.smart_reordering.get(day)
    rows = report.recommendations[:limit]
    if settings.json:
        settings.out.print(dump([r.model_dump(mode="json") for r in rows]), highlight=False)
        return 0
    table = Table("product", "sku", "recommended", "stock", "avg/day", "accuracy")
    for r in rows:
        table.add_row(
            r.product_internal_id,
            r.product_sku or "",
            str(r.recommended_quantity),
            str(r.current_stock),
            str(r.average_daily_sales),
            str(r.forecast_accuracy),
        )
    settings.out.print(table)
    settings.err.print(
        f"{len(rows)} of {report.total} recommendations for {report.date}", highlight=False
    )
    return 0


@click.command()
@click.argument("amount")
@click.argument("currency", type=click.Choice(["EUR", "USD", "GBP"], case_sensitive=False))
@click.pass_context
@run_async
async def currency(ctx: click.Context, amount: str, currency: str) -> int:
    """Convert an amount to Turkish lira.

    \b
    Example:
      pleasurestock currency 100 EUR
    """
    settings = settings_of(ctx)
    async with settings.client() as ps:
        conv = await ps.currency.convert_to_try(amount, currency.upper())
    settings.out.print(
        dump(conv)
        if settings.json
        else f"{conv.original_amount} {conv.original_currency} = {conv.converted_amount:.2f} TRY "
        f"(rate {conv.exchange_rate})",
        highlight=False,
    )
    return 0
