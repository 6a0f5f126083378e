"""Issue 20, item 1: every public entry point, fuzzed. Each call ends in success, an SDK error
(:class:`PleasureStockError`) or, on the command line, a clean exit (a usage error is exit 2);
never a raw exception, a traceback or a hang.

The surface is found by introspection, so a new method or option is fuzzed without editing
this file: the client's constructor, ``copy`` and per-call options; every public method of
every resource of the client and of its ``with_raw_response`` twin; the functions and classes
of ``webhooks``; the readers of ``sales_files``; every command of the CLI with every option
and argument. Values are drawn per parameter: plausible ones (from the parameter's name) and
hostile ones (wrong types, huge and non-finite numbers, long and broken text, objects whose
``repr`` raises, iterables that fail part-way).

Bounded in the quick tier (``FUZZ_EXAMPLES`` examples per family); ``FUZZ_EXAMPLES=2000`` runs
a longer campaign. Every call runs under a bounded wait (a hang fails the test).
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pleasurestock_async import AsyncPleasureStock, cli, sales_files, webhooks
from pleasurestock_async.cli import _common as cli_common
from pleasurestock_async.errors import PleasureStockError
from pleasurestock_async.resources._base import Resource
from pleasurestock_async.sandbox import DEMO_API_KEY, Sandbox

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
"""Examples per family of entry points (the environment raises it for a longer campaign)."""

if EXAMPLES > 60:  # a campaign: long, and the CLI's webhook delivery polls in real time
    pytestmark = pytest.mark.slow

CALL_BOUND = 30.0
"""Seconds any one call may take (generous: a loaded machine); longer is a hang."""

FUZZ = settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)

"""Parameters whose raw exceptions another issue fixes: they get only plausible values here
until it lands (then delete their line, and the fuzz covers them too)."""

KNOWN = {
    "state": "sales.rebind_state('\\x00') raises ValueError (the state store of issue 19, "
    "merged): a state's path gets the test's own file until that is fixed",
}
"""What the fuzz found outside this issue's code, reported, and kept out until fixed."""

# -- values -----------------------------------------------------------------------------------


class Unprintable:
    """An argument whose repr and str fail (what error messages show of a bad value)."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Unprintable()")  # how hypothesis shows it in a report


def failing_records() -> Iterator[dict[str, Any]]:
    """An input that yields a record, then fails (a broken file, a dropped cursor)."""
    yield {"internal_id": "ps_vj31ucxsab", "date": "2025-11-03", "quantity": 1}
    raise OSError("the export went away")


async def async_records(n: int) -> AsyncIterator[dict[str, Any]]:
    for i in range(n):
        yield {"internal_id": "ps_vj31ucxsab", "date": f"2025-10-{i % 28 + 1:02d}", "quantity": i}


HOSTILE = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            1,
            2**63,
            10**5000,
            -(10**5000),
            0.5,
            math.nan,
            math.inf,
            -math.inf,
            -0.0,
            1e308,
            "",
            " ",
            "x" * 5000,
            "\x00",
            "\ud800",
            "ps_vj31ucxsab",
            "../../etc/passwd",
            b"bytes",
            bytearray(b"ba"),
            [],
            [None],
            [{}],
            [[[[]]]],
            {},
            {"a": 1},
            {1: 2},
            (1, 2),
            {1, 2},
            Decimal("NaN"),
            Decimal("1e400"),
            dt.date(1, 1, 1),
            dt.date(9999, 12, 31),
            dt.datetime(2025, 11, 3, 12, 0),
            Path("/nonexistent/dir/file"),
            object(),
            Unprintable(),
            print,
        ]
    ),
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.lists(st.integers() | st.text(max_size=5), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)


def _sale(ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "internal_id": ids | HOSTILE,
            "date": st.sampled_from(["2025-11-03", "2025-02-30", "03/11/25"]) | HOSTILE,
            "quantity": st.integers(-1, 10**7) | HOSTILE,
        },
        optional={"stock_on_hand": st.integers(-1, 10**6) | HOSTILE, "extra": HOSTILE},
    )


IDS = st.sampled_from(
    ["ps_vj31ucxsab", "db57e260-b151-4bf1-ac63-175baef9f96d", "ps_1234567890", "ps_missing00"]
)
SALES = _sale(IDS)
RECORDS = st.one_of(
    st.lists(SALES, max_size=12),
    st.lists(SALES, max_size=3).map(tuple),
    st.lists(SALES, max_size=5).map(iter),
    st.integers(0, 30).map(async_records),
    st.just(None).map(lambda _: failing_records()),
    st.lists(HOSTILE, max_size=4),
)
ORDER_ITEMS = st.lists(
    st.fixed_dictionaries(
        {"ps_id": IDS | HOSTILE, "quantity": st.integers(-1, 1000) | HOSTILE},
        optional={"custom_price": st.sampled_from(["25.50", "-1", "1e400"]) | HOSTILE},
    ),
    max_size=4,
)
SMART = st.lists(
    st.fixed_dictionaries(
        {
            "ps_id": IDS | HOSTILE,
            "quantity": st.integers(-1, 100) | HOSTILE,
            "current_stock": st.integers(-1, 100) | HOSTILE,
            "sales_history": st.lists(st.integers(-1, 50), max_size=9) | HOSTILE,
        }
    ),
    max_size=3,
)
OPTIONS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            [
                "timeout",
                "attempt_timeout",
                "max_retries",
                "max_rate_limit_wait",
                "extra_headers",
                "extra_query",
                "unknown_option",
            ]
        ),
        st.one_of(
            st.floats(0.001, 30),
            st.integers(0, 3),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
            HOSTILE,
        ),
        max_size=3,
    ),
    HOSTILE,
)

PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "product_id": IDS,
    "ids": st.lists(IDS, max_size=5),
    "order_number": st.sampled_from(["ORD-20251103-78XZ70", "ORD-20251103-LMGYAQ", "ORD-404"]),
    "status": st.sampled_from(["created", "paid", "on_the_way", "accepted", "cancelled"]),
    "records": RECORDS,
    "items": ORDER_ITEMS,
    "products": SMART,
    "amount": st.sampled_from([100, "29.99", Decimal("0"), 1e15]),
    "currency": st.sampled_from(["EUR", "USD", "GBP", "TRY", "eur"]),
    "date": st.sampled_from([None, "2025-11-03", dt.date(2025, 11, 3)]),
    "page": st.integers(0, 5),
    "limit": st.integers(0, 1001),
    "offset": st.integers(-1, 50),
    "supplier_id": st.integers(0, 20),
    "search": st.sampled_from(["rabbit", "", "%"]),
    "chunk_size": st.integers(0, 1001),
    "concurrency": st.integers(0, 65),
    "on_invalid": st.sampled_from(["raise", "skip", "ignore"]),
    "job": st.sampled_from([None, "daily", ""]),
    "resolve": st.sampled_from([None, {0: "stored"}, {1: "not_stored"}, {"0": "stored"}]),
    "stock": st.sampled_from(["closed", "always", "never"]),
    "assume_unknown": st.sampled_from([None, "stored", "not_stored", "maybe"]),
    "timezone": st.sampled_from([None, "Europe/Istanbul", "UTC", "Mars/Olympus"]),
    "options": OPTIONS,
    "stop": st.sampled_from([None, 5]) | st.just(None).map(lambda _: anyio.Event()),
    "progress": st.sampled_from([None, print, 5]),
}
"""Plausible values by parameter name (flags and unknown names get booleans and hostile
values only)."""


def value_for(name: str, default: Any) -> st.SearchStrategy[Any]:
    """What a parameter may be given: plausible values, and hostile ones one time in four."""
    plausible = PLAUSIBLE.get(name)
    if plausible is None and isinstance(default, bool):
        plausible = st.booleans()
    if plausible is None:
        plausible = st.just(default) if default is not inspect.Parameter.empty else HOSTILE
    return st.integers(0, 3).flatmap(lambda n: HOSTILE if n == 0 else plausible)  # 1 in 4


# -- the surface --------------------------------------------------------------------------------


def _public_methods(owner: object) -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for name in dir(owner):
        if name.startswith("_"):
            continue
        member = getattr(owner, name)
        if callable(member) and not isinstance(member, type):
            found[name] = member
    return found


def client_methods(ps: AsyncPleasureStock) -> dict[str, Callable[..., Any]]:
    """Every public method of every resource of ``ps`` and of its raw-response twin, by
    ``resource.method`` (``raw.resource.method`` for the twins)."""
    found: dict[str, Callable[..., Any]] = {}
    for attribute, resource in vars(ps).items():
        if isinstance(resource, Resource):
            for name, method in _public_methods(resource).items():
                found[f"{attribute}.{name}"] = method
    for attribute, twin in vars(ps.with_raw_response).items():
        for name, method in vars(twin).items():
            if callable(method) and not name.startswith("_"):
                found[f"raw.{attribute}.{name}"] = method
    return found


def arguments(function: Callable[..., Any]) -> st.SearchStrategy[tuple[list[Any], dict[str, Any]]]:
    """Positional and keyword arguments for ``function``: every required parameter, and each
    optional one now and then."""
    positional: list[st.SearchStrategy[Any]] = []
    keywords: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name.startswith("_"):
            continue
        strategy = value_for(parameter.name, parameter.default)
        if parameter.kind is parameter.POSITIONAL_ONLY or (
            parameter.kind is parameter.POSITIONAL_OR_KEYWORD
            and parameter.default is parameter.empty
        ):
            positional.append(strategy)
        elif parameter.default is parameter.empty:
            keywords[parameter.name] = strategy
        else:
            optional[parameter.name] = strategy
    return st.tuples(
        st.tuples(*positional).map(list),
        st.fixed_dictionaries(keywords, optional=optional),
    )


def call_of(
    functions: dict[str, Callable[..., Any]],
) -> st.SearchStrategy[tuple[str, list[Any], dict[str, Any]]]:
    """One function of ``functions`` and arguments for it."""
    names = sorted(functions)
    return st.sampled_from(names).flatmap(
        lambda name: arguments(functions[name]).map(lambda args: (name, args[0], args[1]))
    )


async def finish(result: Any) -> Any:
    """Await what a method returned and walk it, as a caller would (a listing: some items)."""
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        seen = 0
        async for _ in result:
            seen += 1
            if seen >= 60:
                break
    return result


def shown(args: list[Any], kwargs: dict[str, Any]) -> str:
    return f"args={[type(a).__name__ for a in args]} kwargs={sorted(kwargs)}"


# -- the library ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(products=40, rate_limits=None, example_orders=True)


def test_the_fuzz_finds_the_whole_surface(sandbox: Sandbox) -> None:
    found = client_methods(sandbox.client())
    for name in (
        "products.list",
        "products.get",
        "products.get_many",
        "sales.submit",
        "sales.upload",
        "sales.sync",
        "smart_reordering.get",
        "smart_reordering.submit",
        "currency.convert_to_try",
        "orders.create",
        "orders.list",
        "orders.get",
        "orders.update_status",
        "raw.products.get",
        "raw.orders.create",
    ):
        assert name in found, name
    commands = leaf_commands()
    assert {"sales push", "sales sync", "sales journal show", "products export"} <= set(commands)


def on_a_client(sandbox: Sandbox, work: Callable[[AsyncPleasureStock], Awaitable[None]]) -> None:
    """Run ``work`` with a client of ``sandbox`` in an event loop of its own, on asyncio (the
    library calls are the same on trio; a test of its own event loop per example keeps
    hypothesis's own control flow out of the async runner)."""

    async def main() -> None:
        async with sandbox.client(max_retries=1, timeout=10.0) as client:
            with anyio.fail_after(CALL_BOUND):
                await work(client)

    anyio.run(main)


@FUZZ
@given(data=st.data())
def test_1_every_client_method_ends_in_success_or_an_sdk_error(
    sandbox: Sandbox, tmp_path: Path, data: st.DataObject
) -> None:
    methods = client_methods(sandbox.client())
    name, args, kwargs = data.draw(call_of(methods), label="call")
    if name.endswith("sales.upload") and data.draw(st.booleans(), label="with a journal"):
        kwargs["journal"] = tmp_path / f"{data.draw(st.integers(0, 2))}.journal"
    if "state" in KNOWN and "state" in inspect.signature(methods[name]).parameters:
        state = tmp_path / "state.db"
        if name.endswith("sales.sync"):
            kwargs["state"] = state
        else:
            args[0] = state

    async def call(client: AsyncPleasureStock) -> None:
        method = client_methods(client)[name]
        try:
            await finish(method(*args, **kwargs))
            event(f"{name}: ok")
        except PleasureStockError as exc:
            event(f"{name}: {type(exc).__name__}")
        except Exception as exc:  # the defect this test looks for
            raise AssertionError(
                f"{name}({shown(args, kwargs)}) raised {type(exc).__name__}: {exc!s:.300}"
            ) from exc

    on_a_client(sandbox, call)


@FUZZ
@given(data=st.data())
def test_1_building_and_copying_clients_ends_in_a_client_or_an_sdk_error(
    sandbox: Sandbox, data: st.DataObject
) -> None:
    args, kwargs = data.draw(arguments(AsyncPleasureStock.__init__), label="constructor")
    kwargs.pop("http_client", None)  # a pool of the test's own would be a client of ours
    _, changes = data.draw(arguments(AsyncPleasureStock.copy), label="copy")

    async def build(client: AsyncPleasureStock) -> None:
        try:
            made = AsyncPleasureStock(*args[1:], **kwargs)
        except PleasureStockError:
            pass
        except Exception as exc:
            raise AssertionError(
                f"AsyncPleasureStock({shown(args, kwargs)}): {exc!r:.300}"
            ) from exc
        else:
            await made.aclose()
        try:
            await client.copy(**changes).currency.convert_to_try(100, "EUR")
        except PleasureStockError:
            pass
        except Exception as exc:
            raise AssertionError(f"copy({sorted(changes)}): {exc!r:.300}") from exc

    on_a_client(sandbox, build)


WEBHOOK_BODY = json.dumps(
    {
        "event": "order.status_changed",
        "timestamp": "2025-01-14T11:00:00Z",
        "data": {
            "orderId": "550e8400-e29b-41d4-a716-446655440000",
            "orderNumber": "ORD-1",
            "oldStatus": "created",
            "newStatus": "paid",
        },
    }
).encode()


def webhook_calls() -> dict[str, Callable[..., Any]]:
    """The webhooks module's public functions, and the deduplicator's constructor and
    method."""
    found: dict[str, Callable[..., Any]] = {}
    for name in webhooks.__all__:
        member = getattr(webhooks, name)
        if inspect.isfunction(member):
            found[name] = member
    found["EventDeduplicator"] = webhooks.EventDeduplicator
    found["EventDeduplicator.first_time"] = webhooks.EventDeduplicator().first_time
    return found


PLAUSIBLE.update(
    {
        "payload": st.sampled_from([WEBHOOK_BODY, WEBHOOK_BODY.decode(), b"{}", b"not json"]),
        "headers": st.sampled_from([webhooks.sign(WEBHOOK_BODY, "whsec"), {}, [("a", "b")]]),
        "secret": st.sampled_from(["whsec", b"whsec", ["old", "whsec"], ""]),
        "signature": st.sampled_from(["sha256=" + "0" * 64, "sha1=x"]),
        "timestamp": st.sampled_from([1736850600, "1736850600", "-1"]),
        "tolerance": st.sampled_from([None, 300, 0]),
        "now": st.sampled_from([None, 1736850600.0]),
        "max_size": st.integers(0, 5),
        "ttl": st.sampled_from([1, 0.5, 3600.0]),
        # sales files
        "kind": st.sampled_from(["csv", "jsonl", "xml"]),
        "delimiter": st.sampled_from([None, ",", ";", "\t", ";;"]),
        "columns": st.sampled_from([None, {"Artikel": "internal_id"}, {"x": "nope"}]),
        "date_format": st.sampled_from([None, "%d/%m/%Y", "%Q", "%"]),
        "encoding": st.sampled_from(["utf-8", "cp1254", "latin-1", "rot13", "no-such-codec"]),
        "on_error": st.sampled_from(["raise", "skip", "ignore"]),
    }
)


@FUZZ
@given(data=st.data())
def test_1_webhook_functions_end_in_a_result_or_an_sdk_error(data: st.DataObject) -> None:
    functions = webhook_calls()
    name, args, kwargs = data.draw(call_of(functions), label="call")
    if name == "dedupe_key" and data.draw(st.booleans()):
        args = [webhooks.construct_event(WEBHOOK_BODY, webhooks.sign(WEBHOOK_BODY, "s"), "s")]
    try:
        functions[name](*args, **kwargs)
    except PleasureStockError:
        pass
    except Exception as exc:
        raise AssertionError(f"webhooks.{name}({shown(args, kwargs)}): {exc!r:.300}") from exc


@pytest.fixture(scope="module")
def sales_file_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("sales-files")
    files = {
        "good.csv": "internal_id,date,quantity\nps_vj31ucxsab,2025-11-03,2\n",
        "semicolon.csv": "internal_id;date;quantity\nps_vj31ucxsab;03/11/2025;x\n",
        "broken.csv": 'internal_id,date\n"unterminated,\n\xff',
        "good.jsonl": '{"internal_id": "ps_vj31ucxsab", "date": "2025-11-03", "quantity": 1}\n',
        "broken.jsonl": "{not json}\n[1, 2]\n",
        "empty.csv": "",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    (folder / "latin.csv").write_bytes(b"internal_id,date,quantity\n\xe9\xff,2025-11-03,1\n")
    return [str(folder / name) for name in sorted(files)] + [str(folder), str(folder / "no.csv")]


@FUZZ
@given(data=st.data())
def test_1_sales_file_readers_end_in_records_or_an_sdk_error(
    sales_file_paths: list[str], data: st.DataObject
) -> None:
    readers = {
        name: getattr(sales_files, name)
        for name in sales_files.__all__
        if inspect.isfunction(getattr(sales_files, name))
    }
    PLAUSIBLE["path"] = st.sampled_from(sales_file_paths)
    name, args, kwargs = data.draw(call_of(readers), label="call")

    async def read() -> None:
        with anyio.fail_after(CALL_BOUND):
            try:
                await finish(readers[name](*args, **kwargs))
            except PleasureStockError:
                pass
            except Exception as exc:
                raise AssertionError(
                    f"sales_files.{name}({shown(args, kwargs)}): {exc!r:.300}"
                ) from exc

    anyio.run(read)


# -- the command line ----------------------------------------------------------------------------


def leaf_commands() -> dict[str, click.Command]:
    """Every command of the CLI that runs something, by its full name."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = command

    walk(cli.cli, [])
    return found


NOT_RUN = {
    "demo": "runs the whole demo (10 s): its run is tested in test_cli.py; its options are "
    "click ranges and a flag, checked by click before anything runs",
}
"""Commands the fuzz leaves out, and why."""


def _mostly(
    plausible: st.SearchStrategy[str], other: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """``plausible`` five times in six, else ``other``: a command with many options still
    gets past its parsing often."""
    return st.integers(0, 5).flatmap(lambda n: other if n == 0 else plausible)


def _text(*choices: str) -> st.SearchStrategy[str]:
    # no NUL: a real command line cannot carry one (argv is C strings)
    # nor a lone surrogate but those of undecodable bytes (what Python makes of argv)
    chars = st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])
    free = st.text(chars | st.sampled_from(["\udc80", "\udcff"]), max_size=30)
    return _mostly(st.sampled_from(choices), free) if choices else free


OPTION_VALUES: dict[str, st.SearchStrategy[str]] = {
    "--limits": _text(
        "standard=2000/h,200/m,20/s", "standard=1/s;smart=1/h", "x=1", "standard=0/s"
    ),
    "--redis-url": _text("redis://127.0.0.1:9/0", "redis://:abc", "http://x", "redis://[::1"),
    # loopback only: a closed port answers at once (no DNS, no route to wait for)
    "--base-url": _text("http://127.0.0.1:9/api/v1", "https://127.0.0.1:9/api/v1", "ftp://x"),
    "--api-key-env": _text("PLEASURESTOCK_API_KEY", "NO_SUCH_VARIABLE"),
    "--column": _text("Artikel=internal_id", "x=nope", "=date"),
    "--resolve": _text("0=stored", "1=not-stored", "r0b0=stored", "x=maybe", "0=stored=1"),
    "--item": _text("ps_1234567890:10", "ps_1234567890:10:25.50", "a:b:c:d", "ps_x:1e400"),
    "--forward-to": _text("http://127.0.0.1:9/hooks", "ftp://x", "nothing"),
    # always given (see ALWAYS), never more than a few ms: retries really sleep
    "--retry-delays": st.sampled_from(["0", "0,0.01", "", "-1", "nan", "1e400", "x", "0,,0"]),
    "--date": _text("2025-11-03", "2025-02-30", "tomorrow"),
    "--date-format": _text("%d/%m/%Y", "%Q"),
    "--encoding": _text("utf-8", "cp1254", "no-such-codec"),
    "--delimiter": _text(",", "tab", ";;"),
    "--job": _text("daily", ""),
    "--secret-env": _text("WEBHOOK_SECRET", "NO_SUCH_VARIABLE"),
    "--webhook-secret-env": _text("WEBHOOK_SECRET", "NO_SUCH_VARIABLE"),
    "--webhook-url": _text("http://127.0.0.1:9/hooks", "nothing"),
    "--host": _text("127.0.0.1", "not a host"),
    "--signature": _text("sha256=" + "0" * 64, "x"),
    "--timestamp": _text("1736850600", "-1", "1e400"),
    "--include": _text("category,tcc,tsp", "nope"),
    "--search": _text("rabbit"),
}

ALWAYS = ("--retry-delays",)
"""Options given on every run of their command: their default would make the run sleep (the
sandbox's webhook retries after 2, 4 and 8 s)."""

NUMBERS = _mostly(
    st.integers(0, 100).map(str),
    st.sampled_from(["-1", "1e400", "nan", "inf", "-inf", "99999999999999999999", "1.5", "x"]),
)


def _option_value(option: click.Option, paths: dict[str, st.SearchStrategy[str]]) -> Any:
    name = max(option.opts, key=len)
    if name in paths:
        return paths[name]
    if name in OPTION_VALUES:
        return OPTION_VALUES[name]
    kind = option.type
    if isinstance(kind, click.Choice):
        return _mostly(st.sampled_from([str(c) for c in kind.choices]), _text())
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return NUMBERS
    if isinstance(kind, click.Path):
        return paths["path"]
    return _text()


@st.composite
def command_lines(draw: st.DrawFn, paths: dict[str, st.SearchStrategy[str]]) -> list[str]:
    """A command of the CLI with some of its options and its arguments."""
    commands = leaf_commands()
    name = draw(st.sampled_from(sorted(set(commands) - set(NOT_RUN))))
    command = commands[name]
    argv = ["--sandbox", *name.split()]
    for param in command.params:
        always = isinstance(param, click.Option) and (
            param.required or any(o in ALWAYS for o in param.opts)
        )
        if not always and not draw(st.booleans()):
            continue
        if isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            if flag in ("--help", "--version", "--sandbox"):
                continue
            if param.is_flag or param.count:
                argv.append(draw(st.sampled_from(param.opts + param.secondary_opts)))
                continue
            for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
                argv += [flag, draw(_option_value(param, paths))]
    for param in command.params:
        if isinstance(param, click.Argument):
            strategy = paths["files"] if param.nargs == -1 else paths["argument"]
            if param.nargs == -1:
                argv += draw(st.lists(strategy, min_size=0, max_size=2))
            elif isinstance(param.type, click.Choice):
                choices = st.sampled_from([str(c) for c in param.type.choices])
                argv.append(draw(_mostly(choices, _text())))
            else:
                argv.append(draw(_mostly(strategy, _text())))
    return argv


@pytest.fixture
def cli_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The commands' ``--sandbox`` on one small sandbox, waits for rate-limit slots cut to a
    second (so ``--limits 1/h`` ends, not hangs), and ``sandbox`` stopping where it would
    start serving; files to read."""
    shared = Sandbox(products=30, rate_limits=None, example_orders=True)

    @asynccontextmanager
    async def client(**options: Any) -> AsyncIterator[AsyncPleasureStock]:
        options.setdefault("max_rate_limit_wait", 1.0)
        async with shared.client(**options) as ps:
            yield ps

    monkeypatch.setattr(cli_common, "sandbox_client", client)
    import uvicorn

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw))
    ids = [p.internal_id for p in shared.products[:5]]
    good = tmp_path / "sales.csv"
    good.write_text("internal_id,date,quantity\n" + "".join(f"{i},2025-11-03,1\n" for i in ids))
    bad = tmp_path / "bad.csv"
    bad.write_text("internal_id,date,quantity\nps_nope,2025-02-30,-1\n\n\xff\n")
    jsonl = tmp_path / "sales.jsonl"
    jsonl.write_text("".join(json.dumps({"internal_id": i, "date": "2025-11-03",
                                         "quantity": 1}) + "\n" for i in ids))  # fmt: skip
    from pleasurestock_async.uploads import Journal

    journal = tmp_path / "existing.journal"
    Journal(journal).close()
    existing = [str(good), str(bad), str(jsonl), str(tmp_path), str(tmp_path / "missing.csv")]
    files = st.sampled_from([*existing, "-"])
    fresh = st.integers(0, 3).map(lambda n: str(tmp_path / f"run-{n}.db"))
    paths = {
        "files": files,
        "path": st.sampled_from(existing) | fresh,
        "argument": files | fresh | _text("ORD-20251103-78XZ70", "ORD-404", str(journal)),
        "--journal": fresh | st.sampled_from(existing),
        "--state": fresh | st.sampled_from(existing),
        "--output": fresh | st.sampled_from([str(tmp_path), str(tmp_path / "no/dir.csv"), "-"]),
    }
    return {"paths": paths, "stdin": good.read_text(), "served": served}


@FUZZ
@given(data=st.data())
def test_1_every_cli_command_and_option_exits_cleanly(
    cli_sandbox: dict[str, Any], data: st.DataObject
) -> None:
    argv = data.draw(command_lines(cli_sandbox["paths"]), label="argv")
    stdin = data.draw(st.sampled_from([cli_sandbox["stdin"], "", "{not json}\n"]))
    env = {"PLEASURESTOCK_API_KEY": DEMO_API_KEY, "WEBHOOK_SECRET": "whsec"}
    result = CliRunner().invoke(cli.cli, argv, input=stdin, env=env, catch_exceptions=True)
    event(f"{' '.join(argv[1:3])}: exit {result.exit_code}")
    raw = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not raw, f"{argv} raised {result.exception!r}"
    assert result.exit_code in (0, 1, 2, 3, 4, 5, 6), (argv, result.exit_code, result.output)
    assert "Traceback" not in result.output, (argv, result.output)
