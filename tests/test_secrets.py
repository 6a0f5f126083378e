"""The API key never leaves the auth header: a server that echoes it in every field and header
of every answer, over real HTTP, with DEBUG logs of httpx, httpcore and this package captured;
exceptions (str, repr, body, details, per-record errors, request and response), upload results
and the journal file are searched for it (issue 10, item 5)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import AsyncPleasureStock
from pleasurestock_async.errors import (
    APIError,
    APIStatusError,
    BadRequestError,
    ConfigurationError,
    PleasureStockError,
    SalesUploadError,
)

from .sandbox_server import serve

KEY = "pk_live_EchoedSecretKey0123456789abcdef"


def _key_of(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    return request.headers.get("x-api-key") or auth.removeprefix("Bearer ")


async def echo(request: Request) -> Response:
    """Answers with the status the path names, echoing the key everywhere it can."""
    key = _key_of(request)
    status = int(request.path_params["status"])
    body: Any = {
        "success": False,
        "error": f"bad key {key}",
        "message": f"you sent {key}",
        "details": [f"key={key}", {"key": key, "nested": [key]}, 42],
        "errors": [{"index": 0, "error": f"no such {key}", "expected": key, "received": key}],
        "processed": 0,
        key: key,
    }
    if status == 299:  # a 2xx that is not the documented shape, echoing the key
        status, body = 200, {"processed": key, "success": key}
    text = json.dumps(body)
    if request.query_params.get("plain"):
        text = f"<html>{key}</html>"
    return Response(
        text,
        status,
        headers={"X-Echo": key, "Retry-After": "0", "WWW-Authenticate": f"Bearer {key}"},
        media_type="text/html" if request.query_params.get("plain") else "application/json",
    )


APP = Starlette(
    routes=[
        Route("/{status:int}/api/v1/{rest:path}", echo, methods=["GET", "POST", "PUT"]),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(APP, path="", check=False, log_level="error") as url:
        yield url


def _texts(exc: BaseException) -> list[str]:
    """Everything of an exception a user might print, log or keep."""
    found = [str(exc), repr(exc), *getattr(exc, "__notes__", [])]
    for name in ("message", "body", "details", "errors"):
        if hasattr(exc, name):
            found.append(repr(getattr(exc, name)))
    for name in ("request", "response"):
        part = getattr(exc, name, None)
        if part is not None:
            found += [repr(part), repr(list(part.headers.items()))]
            if name == "response":
                found.append(part.text)
                found.append(repr(list(part.request.headers.items())))
            else:
                found.append(part.content.decode(errors="replace"))
    if exc.__cause__ is not None:
        found += _texts(exc.__cause__)
    return found


def assert_no_key(texts: list[str]) -> None:
    leaked = [t for t in texts if KEY in t]
    assert not leaked, f"the key leaked into: {leaked[0][:300]}"


CALLS = [
    ("products.list", lambda ps: ps.products.list()),
    ("products.get", lambda ps: ps.products.get("ps_abcdefghij")),
    (
        "sales.submit",
        lambda ps: ps.sales.submit(
            [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
        ),
    ),
    ("smart_reordering.get", lambda ps: ps.smart_reordering.get()),
    ("currency", lambda ps: ps.currency.convert_to_try(1, "EUR")),
    ("orders.create", lambda ps: ps.orders.create([{"ps_id": "ps_abcdefghij", "quantity": 1}])),
    ("orders.list", lambda ps: ps.orders.list()),
    ("orders.get", lambda ps: ps.orders.get("ORD-1")),
    ("orders.update_status", lambda ps: ps.orders.update_status("ORD-1", "paid")),
]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 429, 500, 503, 299])
@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("plain", [False, True], ids=["json", "html"])
async def test_no_error_path_shows_the_key(
    server: str,
    caplog: pytest.LogCaptureFixture,
    status: int,
    name: str,
    call: Any,
    plain: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    for logger in ("httpx", "httpcore", "pleasurestock_async"):
        caplog.set_level(logging.DEBUG, logger=logger)  # restored after the test
    async with AsyncPleasureStock(
        KEY, base_url=f"{server}/{status}/api/v1", max_retries=1, rate_limits=None
    ) as ps:
        target = _Optioned(ps, {"extra_query": {"plain": "1"}}) if plain else ps
        try:
            result = await call(target)
        except PleasureStockError as exc:
            assert_no_key(_texts(exc))
        else:
            assert status == 299  # a 2xx read tolerantly: what it kept holds no key either
            assert_no_key([repr(result), str(result)])
        assert KEY not in repr(ps) and KEY not in str(vars(ps))
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # the logs were on
    assert_no_key([r.getMessage() for r in caplog.records])


class _Optioned:
    """A client whose every method gets ``options`` (here: to ask the echo server for HTML)."""

    def __init__(self, ps: AsyncPleasureStock, options: dict[str, Any]) -> None:
        self._ps = ps
        self._options = options

    def __getattr__(self, name: str) -> Any:
        resource = getattr(self._ps, name)
        options = self._options

        class _Resource:
            def __getattr__(self, method: str) -> Any:
                target = getattr(resource, method)
                return lambda *a, **k: target(*a, **k, options=options)

        return _Resource()


async def test_an_echoed_key_stays_out_of_bad_request_details(server: str) -> None:
    async with AsyncPleasureStock(KEY, base_url=f"{server}/400/api/v1", rate_limits=None) as ps:
        with pytest.raises(BadRequestError) as info:
            await ps.sales.submit(
                [{"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": 1}]
            )
    err = info.value
    assert err.errors[0].error == "no such [redacted]" and err.errors[0].received == "[redacted]"
    assert err.details[1] == {"key": "[redacted]", "nested": ["[redacted]"]}
    assert isinstance(err.body, dict) and "[redacted]" in err.body
    assert err.response.headers["X-Echo"] == "[redacted]"
    assert err.request is not None and err.request.headers["X-API-Key"] == "[redacted]"


async def test_uploads_and_journals_keep_no_key(server: str, tmp_path: Path) -> None:
    journal = tmp_path / "sales.journal"
    records = [
        {"internal_id": "ps_abcdefghij", "date": "2025-11-03", "quantity": n} for n in range(30)
    ]
    for status in (400, 500, 299, 401):
        async with AsyncPleasureStock(
            KEY, base_url=f"{server}/{status}/api/v1", rate_limits=None, max_retries=0
        ) as ps:
            try:
                result = await ps.sales.upload(
                    records, chunk_size=10, journal=journal, job=str(status)
                )
            except SalesUploadError as exc:
                assert_no_key(_texts(exc))
                result = exc.result
        texts = [repr(result)]
        texts += [b.error for b in result.failed_batches]
        texts += [repr(b.record_errors) for b in result.failed_batches]
        texts += [repr(e) for e in result.refused]
        assert_no_key(texts)
    for path in sorted(tmp_path.iterdir()):  # noqa: ASYNC240 (a test's own small files)
        assert KEY.encode() not in path.read_bytes(), path.name


@pytest.mark.parametrize("spaced", [f"{KEY}\n", f"  {KEY}\t", f"\n{KEY}\r\n"])
async def test_a_key_read_with_surrounding_whitespace_is_stripped(server: str, spaced: str) -> None:
    async with AsyncPleasureStock(spaced, base_url=f"{server}/401/api/v1") as ps:
        with pytest.raises(APIStatusError) as info:
            await ps.products.get("ps_abcdefghij")
    assert info.value.status_code == 401  # the request was sent, with the clean key
    assert_no_key(_texts(info.value))


@pytest.mark.parametrize(
    "broken", [f"{KEY[:10]} {KEY[10:]}", f"{KEY}\x00x", f"{KEY[:5]}\n{KEY[5:]}"]
)
def test_a_key_with_inner_whitespace_is_refused_without_showing_it(broken: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AsyncPleasureStock(broken, base_url="https://api.test/api/v1")
    message = str(info.value)
    assert "position" in message
    assert not re.search(r"pk_live_\w{6}", message)


def test_the_key_is_not_pickled_or_shown() -> None:
    ps = AsyncPleasureStock(KEY, base_url="https://api.test/api/v1")
    assert KEY not in repr(ps) and KEY not in repr(ps._http.api_key)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(ps._http.api_key)
    assert isinstance(APIError("x"), PleasureStockError)


@pytest.mark.parametrize("status", [400, 401, 500, 299])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_the_command_line_never_prints_or_keeps_the_key(
    server: str, tmp_path: Path, status: int, as_json: bool
) -> None:
    from click.testing import CliRunner

    from pleasurestock_async import cli

    path = tmp_path / "sales.csv"
    path.write_text("internal_id,date,quantity\n" + "ps_abcdefghij,2025-11-03,1\n" * 20)
    outputs = []
    for command in (
        ["sales", "push", str(path), "--journal", str(tmp_path / "j.db")],
        ["sales", "sync", str(path), "--state", str(tmp_path / "s.db")],
        ["orders", "show", "ORD-1"],
        ["products", "export"],
    ):
        result = CliRunner().invoke(
            cli.cli,
            [
                "--base-url",
                f"{server}/{status}/api/v1",
                *(["--json"] if as_json else []),
                "-vv",
                *command,
            ],
            env={"PLEASURESTOCK_API_KEY": KEY},
        )
        outputs += [result.output, repr(result.exception)]
    assert_no_key(outputs)
    for file in sorted(tmp_path.iterdir()):
        assert KEY.encode() not in file.read_bytes(), file.name


@pytest.mark.parametrize("escaped", ["\\/", "\\u002f"])
def test_a_key_echoed_json_escaped_is_scrubbed_too(escaped: str) -> None:
    from pleasurestock_async._apikey import ApiKey

    key = ApiKey("pk_live_with/slash_0123456789")
    echoed = f'{{"error": "bad key pk_live_with{escaped}slash_0123456789"}}'
    if escaped == "\\/":  # the form servers write (PHP's json_encode escapes slashes)
        assert "pk_live" not in key.scrub(echoed)
        assert b"pk_live" not in key.scrub_bytes(echoed.encode())
    assert "pk_live_with/slash" not in key.scrub(json.loads(echoed)["error"])
