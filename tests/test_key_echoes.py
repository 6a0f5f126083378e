"""Issue 20, item 4: a key echoed in part (without its ``pk_live_`` prefix, cut short, cut in
two) is scrubbed like the whole key, from every error a user can print, log or keep, and from
the locals of the frames a traceback holds (what error trackers record). Over real HTTP."""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import (
    APIResponseValidationError,
    APIStatusError,
    PleasureStockError,
)

from .sandbox_server import serve

SECRET = "Qm7xT2vLp9Rw4Zk8Nc3Hy6Bd"
KEY = f"pk_live_{SECRET}"
MIN_ECHO = 10

ECHOES = {
    "whole": KEY,  # scrubbed from errors before, but not from the locals of their frames
    "secret": SECRET,  # the key without its prefix
    "head": SECRET[:12],
    "tail": SECRET[-11:],
    "middle": SECRET[5:15],
    "split": f"{SECRET[:10]} ... {SECRET[10:]}",
    "json-escaped": json.dumps(SECRET)[1:-1],
}


def leaks(text: str) -> list[str]:
    """Every run of MIN_ECHO or more characters of the secret found in ``text``."""
    runs = {SECRET[i : i + MIN_ECHO] for i in range(len(SECRET) - MIN_ECHO + 1)}
    return [run for run in runs if run in text]


async def echo(request: Request) -> Response:
    """Answers with the status the path names, echoing part of the key (as the query says)
    in its message, details, headers and body."""
    sent = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert sent.endswith(SECRET)
    part = ECHOES[request.query_params.get("echo", "secret")]
    status = int(request.path_params["status"])
    body: Any = {
        "success": False,
        "error": f"unknown key {part}",
        "message": f"key {part} is not allowed",
        "details": [part, {"key": part}],
        "errors": [{"index": 0, "error": f"bad {part}", "expected": part, "received": part}],
        part: part,
    }
    text = json.dumps(body)
    if status == 298:  # a 2xx that is not JSON: unreadable, with the echo in it
        status, text = 200, f"<html>{part}</html>"
    elif status == 299:  # a 2xx of the wrong shape
        status, text = 200, json.dumps({"success": part, "processed": part})
    return Response(
        text,
        status,
        headers={"X-Echo": part, "WWW-Authenticate": f"Bearer {part}", "Retry-After": "0"},
        media_type="application/json",
    )


APP = Starlette(routes=[Route("/{status:int}/api/v1/{rest:path}", echo, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(APP, path="", check=False, log_level="error") as url:
        yield url


def everything_of(exc: BaseException) -> list[str]:
    """What a user or an error tracker may print or keep of an exception: its text, its
    fields, its request and response, and the traceback with every frame's locals."""
    texts = [str(exc), repr(exc), *getattr(exc, "__notes__", [])]
    for name in ("message", "body", "details", "errors"):
        if hasattr(exc, name):
            texts.append(repr(getattr(exc, name)))
    response = getattr(exc, "response", None)
    if response is not None:
        texts += [response.text, repr(list(response.headers.items()))]
    request = getattr(exc, "request", None)
    if request is not None:
        texts.append(repr(list(request.headers.items())))
    formatted = traceback.TracebackException.from_exception(exc, capture_locals=True)
    texts.append("".join(formatted.format()))
    return texts


CALLS = {
    "products.get": lambda ps: ps.products.get("ps_abcdefghij"),
    "sales.submit": lambda ps: ps.sales.submit(
        [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
    ),
    "orders.get": lambda ps: ps.orders.get("ORD-1"),
}


@pytest.mark.parametrize("echoed", sorted(ECHOES))
@pytest.mark.parametrize("status", [400, 401, 500, 298, 299])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_4_no_part_of_the_key_reaches_an_error(
    server: str, echoed: str, status: int, call: str
) -> None:
    async with AsyncPleasureStock(
        KEY, base_url=f"{server}/{status}/api/v1", rate_limits=None, max_retries=0
    ) as ps:
        result, error = await outcome(CALLS[call](_Echoing(ps, echoed)))
    if error is None:
        assert status == 299  # read tolerantly: what it kept holds no echo either
        assert not leaks(repr(result))
        return
    found = [t for t in everything_of(error) if leaks(t)]
    assert not found, f"{leaks(found[0])} leaked into: {found[0][:400]}"
    if status in (400, 401, 500):
        assert isinstance(error, APIStatusError) and "[redacted]" in error.message
    if status == 298:
        assert isinstance(error, APIResponseValidationError)


async def outcome(call: Awaitable[Any]) -> tuple[Any, PleasureStockError | None]:
    """The result of ``call``, or the SDK error it raised."""
    try:
        return await call, None
    except PleasureStockError as exc:
        return None, exc


class _Echoing:
    """A client whose calls ask the echo server for one kind of echo."""

    def __init__(self, ps: AsyncPleasureStock, echoed: str) -> None:
        self._ps = ps
        self._options = {"extra_query": {"echo": echoed}}

    def __getattr__(self, name: str) -> Any:
        resource = getattr(self._ps, name)
        options = self._options

        class _Resource:
            def __getattr__(self, method: str) -> Any:
                target = getattr(resource, method)
                return lambda *a, **k: target(*a, **k, options=options)

        return _Resource()


@pytest.mark.parametrize("echoed", sorted(ECHOES))
def test_4_scrubbing_covers_every_long_enough_run(echoed: str) -> None:
    from pleasurestock_async._apikey import ApiKey

    key = ApiKey(KEY)
    text = f"the server said: {ECHOES[echoed]}!"
    assert not leaks(key.scrub(text))
    assert not leaks(key.scrub_bytes(text.encode()).decode())


def test_4_short_runs_and_the_public_prefix_are_left_alone() -> None:
    from pleasurestock_async._apikey import ApiKey

    key = ApiKey(KEY)
    ordinary = f"keys look like pk_live_..., this one ends in {SECRET[-9:]}; id ps_{SECRET[:7]}"
    assert key.scrub(ordinary) == ordinary
    assert key.scrub(f"x{SECRET[3:13]}y") == "x[redacted]y"
    assert re.fullmatch(r"\[redacted\]", key.scrub(KEY))


def test_4_a_hostile_body_full_of_fragments_is_scrubbed_in_bounded_time() -> None:
    from pleasurestock_async._apikey import ApiKey

    key = ApiKey(KEY)
    body = (SECRET[:MIN_ECHO] + " ").encode() * 200_000  # 1.8 MB of fragments
    scrubbed = key.scrub_bytes(body)
    assert not leaks(scrubbed.decode())
    assert scrubbed.count(b"[redacted]") == 200_000
