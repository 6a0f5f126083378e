"""``pleasurestock sales status`` and ``pleasurestock sales state``: what a sync state holds,
settling its batches in doubt, moving it to another destination on purpose, and copying it to
another store (SQLite <-> PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

import click

from ..types.uploads import StateDestination, StateStatus
from ..uploads import Resolution
from ..uploads.location import state_label
from ..uploads.lock import check_wait
from ..uploads.store import open_state, read_status
from ..uploads.sync import settle
from ._common import EXIT_PARTIAL, STATE_ENV, dump, run_async, say, settings_of
from ._resolve import resolutions
from ._summary import quarantined_item

__all__ = ["state_group", "status_command"]

_STATE = click.option(
    "--state",
    required=True,
    envvar=STATE_ENV,
    metavar="FILE|URL",
    help=f"The sync state: a file, or a postgresql://...?state=NAME URL (default ${STATE_ENV}).",
)


def _when(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch).isoformat(timespec="seconds")


def _destination(found: StateDestination | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "base_url": found.base_url,
        "key_fingerprint": found.fingerprint,
        "since": _when(found.since),
    }


def _named(found: StateDestination | None) -> str:
    if found is None:
        return "(not bound yet)"
    return f"{found.base_url} (key {found.fingerprint})"


@click.command("status")
@_STATE
@click.pass_context
@run_async
async def status_command(ctx: click.Context, state: str) -> int:
    """What a sync state holds: its destination, the latest runs, the days acknowledged, the
    batches in doubt (with the command to settle each), the discrepancies the latest run saw
    (new or acknowledged) and the ids held in quarantine. Reads only: it changes nothing and
    works while a run holds the state. Exits 4 when a batch is in doubt or a discrepancy is
    not acknowledged, else 0.

    \b
    Example:
      pleasurestock sales status --state /data/sales-state.db
    """
    settings = settings_of(ctx)
    status = await read_status(state)
    report = _report(status, state_label(state))
    if settings.json:
        say(settings.out, dump(report))
    else:
        _print(settings.out, status, report)
    new = report["discrepancies"]["new"]
    return EXIT_PARTIAL if report["batches_in_doubt"] or new else 0


def _report(status: StateStatus, state: str) -> dict[str, Any]:
    def settle(batch: str, how: str) -> str:
        return shlex.join(
            ["pleasurestock", "sales", "state", "resolve", "--state", state, f"{batch}={how}"]
        )

    def day(d: Any) -> dict[str, Any]:
        kind = d.kind
        return {
            "kind": kind,
            "product": d.day.internal_id,
            "date": d.day.date.isoformat(),
            "stored": d.day.stored_quantity if kind == "quantity" else d.day.stored_stock,
            "export": d.day.export_quantity if kind == "quantity" else d.day.export_stock,
        }

    return {
        "state": status.state,
        "schema": status.schema,
        "destination": _destination(status.destination),
        "runs": [
            {
                "run": r.run,
                "started": _when(r.started),
                "finished": _when(r.finished),
                "today": r.today.isoformat(),
                "read": r.read,
                "sent": r.sent,
                "stored": r.stored,
                "outcome": r.outcome,
            }
            for r in status.runs
        ],
        "product_days": status.product_days,
        "products": status.products,
        "first_day": status.first_day.isoformat() if status.first_day else None,
        "last_day": status.last_day.isoformat() if status.last_day else None,
        "pending_rows": status.pending_rows,
        "batches_in_doubt": [
            {
                "batch": b.batch,
                "rows": b.rows,
                "state": b.state,
                "error": b.error,
                "since": _when(b.since),
                "settle": {
                    "stored": settle(b.batch, "stored"),
                    "not_stored": settle(b.batch, "not-stored"),
                },
            }
            for b in status.held_batches
        ],
        "discrepancies": {
            "new": [day(d) for d in status.discrepancies if not d.acknowledged],
            "acknowledged": [day(d) for d in status.discrepancies if d.acknowledged],
        },
        "quarantined": [quarantined_item(q) for q in status.quarantined],
    }


def _print(out: Any, status: StateStatus, report: dict[str, Any]) -> None:
    say(out, f"{status.state}: sync state (schema {status.schema})")
    bound = report["destination"]
    say(
        out,
        f"  destination: {_named(status.destination)}"
        + (f", since {bound['since']}" if bound and bound["since"] else ""),
    )
    if report["runs"]:
        say(out, "  latest runs:")
        for r in report["runs"][:5]:
            say(
                out,
                f"    run {r['run']} at {r['started']} (day {r['today']}): read {r['read']:,}, "
                f"sent {r['sent']:,}, stored {r['stored']:,}: {r['outcome']}",
            )
    span = f", {report['first_day']} to {report['last_day']}" if report["first_day"] else ""
    say(
        out,
        f"  acknowledged: {status.product_days:,} product-days of {status.products:,} "
        f"products{span}",
    )
    doubt = report["batches_in_doubt"]
    say(
        out, f"  rows in doubt (sent, answer lost): {status.pending_rows:,} in {len(doubt)} batches"
    )
    for b in doubt:
        say(
            out,
            f"    batch {b['batch']}: {b['rows']:,} rows, {b['state']} since {b['since']}: "
            f"{b['error'] or 'the run ended while it was in flight'}",
        )
        say(out, "      check the platform, then settle it with one of:")
        say(out, f"        {b['settle']['stored']}")
        say(out, f"        {b['settle']['not_stored']}")
    new, known = report["discrepancies"]["new"], report["discrepancies"]["acknowledged"]
    say(out, f"  discrepancies (latest run): {len(new)} new, {len(known)} acknowledged")
    for d in new:
        say(
            out,
            f"    new: {d['product']} {d['date']}: the server has {d['kind']} {d['stored']}, "
            f"the export {d['export']}",
        )
    quarantined = report["quarantined"]
    say(out, f"  quarantined ids (refused as unknown, not resent): {len(quarantined)}")
    for q in quarantined:
        say(
            out,
            f"    {q['internal_id']}: {q['error']} (since {q['since']}, last refused "
            f"{q['last_refused']}; tried again from {q['retry_on']}"
            + (", new in the latest run)" if q["new"] else ")"),
        )


@click.group("state")
def state_group() -> None:
    """Sync states: settle batches in doubt, move a state to another destination, or copy
    it to another store.

    \b
    Example:
      pleasurestock sales status --state /data/sales-state.db
      pleasurestock sales state resolve --state /data/sales-state.db r12b0=stored
      pleasurestock sales state rebind --state /data/sales-state.db
      pleasurestock sales state copy /data/sales-state.db 'postgresql://db/sales?state=s1'
    """


@state_group.command("resolve")
@_STATE
@click.argument(
    "batches",
    nargs=-1,
    callback=lambda _ctx, _param, values: resolutions(values, lambda name: name or None),
    metavar="BATCH=stored|not-stored...",
)
@click.option(
    "--all",
    "everything",
    type=click.Choice(["stored", "not-stored"]),
    help="How every batch in doubt ended (after the named ones).",
)
@click.option("--wait-lock", type=click.FloatRange(0), default=0.0, metavar="SECONDS")
@click.pass_context
@run_async
async def state_resolve(
    ctx: click.Context,
    state: str,
    batches: dict[str, Resolution],
    everything: str | None,
    wait_lock: float,
) -> int:
    """Settle batches in doubt (sent, answer lost) once you have checked the platform:
    ``stored`` records them as the server's, ``not-stored`` lets the next sync send them.

    \b
    Example:
      pleasurestock sales state resolve --state /data/sales-state.db r12b0=stored
    """
    settings = settings_of(ctx)
    if not batches and everything is None:
        raise click.UsageError("name batches (BATCH=stored|not-stored) or give --all")
    how: Resolution | None = None
    if everything is not None:
        how = "stored" if everything == "stored" else "not_stored"
    async with open_state(state, wait=check_wait(wait_lock), must_exist=True) as store:
        settled = await settle(store, how, batches or None)
        left = await store.uncertain_batches()
    name = state_label(state)
    if settings.json:
        say(settings.out, dump({"state": name, "settled_rows": settled, "in_doubt": left}))
    else:
        say(settings.out, f"{name}: settled {settled:,} rows; {len(left)} batches still in doubt")
    return EXIT_PARTIAL if left else 0


@state_group.command("rebind")
@_STATE
@click.option("--wait-lock", type=click.FloatRange(0), default=0.0, metavar="SECONDS")
@click.pass_context
@run_async
async def state_rebind(ctx: click.Context, state: str, wait_lock: float) -> int:
    """Move a sync state to the destination of this command (its --base-url and API key),
    keeping what it records. Only when the new destination holds the same data as the old:
    a new key or a new address of the same account. For another account or server (a
    rehearsal against the sandbox, then production), start a new state file instead.

    \b
    Example (the key was rotated):
      PLEASURESTOCK_API_KEY=pk_live_new... pleasurestock sales state rebind --state s.db
    """
    settings = settings_of(ctx)
    async with settings.client() as ps:
        old, new = await ps.sales.rebind_state(state, lock_wait=wait_lock)
    name = state_label(state)
    if settings.json:
        say(
            settings.out,
            dump({"state": name, "old": _destination(old), "new": _destination(new)}),
        )
    else:
        say(settings.out, f"{name}: {_named(old)} -> {_named(new)}")
    return 0


@state_group.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@click.option("--wait-lock", type=click.FloatRange(0), default=0.0, metavar="SECONDS")
@click.pass_context
@run_async
async def state_copy(ctx: click.Context, source: str, target: str, wait_lock: float) -> int:
    """Copy a sync state into another store: an SQLite file into PostgreSQL and back, or to
    a new name. Refused while a run holds either (exit 6; --wait-lock waits); DST must be a
    new file or state name. Everything moves (days acknowledged, batches in doubt, the UUID
    map, the quarantine, discrepancies, runs, the destination binding) in one transaction,
    kept only when DST's row counts and totals equal SRC's. SRC is left as it was: sync
    against DST from then on, never both.

    \b
    Example (the job moves into a container):
      export PGPASSWORD=...
      pleasurestock sales state copy /data/sales-state.db \\
          'postgresql://sync@db.internal/sales?state=shop-42'
    """
    from ..uploads.copy import copy_state

    settings = settings_of(ctx)
    report = await copy_state(source, target, wait=check_wait(wait_lock))
    if settings.json:
        say(
            settings.out,
            dump(
                {
                    "source": report.source,
                    "target": report.target,
                    "rows": report.rows,
                    "days": report.days,
                    "quantity": report.quantity,
                    "stock": report.stock,
                    "verified": True,
                }
            ),
        )
    else:
        rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
        say(settings.out, f"copied {report.source} -> {report.target}")
        say(settings.out, f"  rows: {rows}")
        say(
            settings.out,
            f"  verified: {report.days:,} days acknowledged, quantity {report.quantity:,}, "
            f"stock {report.stock:,} in both",
        )
    return 0
