"""Shared sandbox test helpers.

:func:`serve` serves a sandbox (or any ASGI app) over real HTTP: uvicorn on a free loopback
port in a background thread, with its lifespan (so a sandbox delivers webhooks), shut down
within a bounded wait. A sandbox served this way has every response checked against the
OpenAPI document by :class:`Contract`, which also gives in-process httpx clients a response
hook doing the same.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.sandbox._openapi import openapi_document
from pleasurestock_async.sandbox._page import is_page_path

__all__ = ["CONTRACT", "Contract", "checked_client", "free_port", "serve"]

API_PREFIX = "/api/v1"
_BASE = "urn:pleasurestock-openapi"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class Contract:
    """Checks responses against the OpenAPI document: documented status, JSON body valid
    against the response schema (strict JSON: no NaN or Infinity), required headers."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document or openapi_document()
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._operations = [
            (
                method.upper(),
                re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"),
                f"/paths/{_escape(path)}/{method}",
            )
            for path, item in self.document["paths"].items()
            for method in item
        ]
        self.checked = 0
        self.violations: list[str] = []

    def _resolve(self, pointer: str) -> Any:
        node: Any = self.document
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def _validator(self, pointer: str) -> Draft202012Validator:
        found = self._validators.get(pointer)
        if found is None:
            found = Draft202012Validator(
                {"$ref": f"{_BASE}#{pointer}"},
                registry=self._registry,
                format_checker=FormatChecker(),
            )
            self._validators[pointer] = found
        return found

    def problems(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """What is wrong with one response (an empty list when it conforms)."""
        self.checked += 1
        where = f"{method} {path} -> {status}"
        page = is_page_path(path)  # the inspector's page and its files: not the API
        if page and status == 200:
            return []
        head = method == "HEAD"
        method = "GET" if head else method
        local = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else None
        found = [
            (m, op)
            for m, pattern, op in self._operations
            if local is not None and pattern.match(local)
        ]
        operation = next((op for m, op in found if m == method), None)
        if operation is None:
            if status not in (404, 405) or (not page and (status == 405) != bool(found)):
                return [f"{where}: an unknown route or method must be a 404 or a 405"]
            pointer = "/components/responses/NotFound"
        else:
            pointer = f"{operation}/responses/{status}"
            try:
                entry = self._resolve(pointer)
            except KeyError:
                return [f"{where}: status {status} is not documented"]
            if "$ref" in entry:
                pointer = entry["$ref"][1:]
        entry = self._resolve(pointer)
        lower = {k.lower(): v for k, v in headers.items()}
        found_problems = [
            f"{where}: missing header {name}"
            for name, spec in entry.get("headers", {}).items()
            if "$ref" in spec
            and self._resolve(spec["$ref"][1:]).get("required")
            and name.lower() not in lower
        ]
        if head or lower.get("content-encoding") == "gzip":
            return found_problems  # no body, or the corrupt_success fault's undecodable one
        if not lower.get("content-type", "").startswith("application/json"):
            return [*found_problems, f"{where}: not JSON ({lower.get('content-type')})"]
        try:
            data = json.loads(body, parse_constant=_refuse_constant)
        except ValueError as exc:
            return [*found_problems, f"{where}: body is not strict JSON: {exc}"]
        validator = self._validator(f"{pointer}/content/application~1json/schema")
        found_problems.extend(
            f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator.iter_errors(data)
        )
        return found_problems

    async def check_response(self, response: httpx.Response) -> None:
        """An httpx response hook: raise AssertionError when the response breaks the contract."""
        await response.aread()
        found = self.problems(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.headers,
            response.content,
        )
        if found:
            raise AssertionError("\n".join(found))

    def wrap(self, app: Any) -> Any:
        """An ASGI app that records in ``violations`` every response of ``app`` that breaks
        the contract."""

        async def checked(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def recording(message: Any) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        headers = {
                            k.decode("latin-1"): v.decode("latin-1")
                            for k, v in start.get("headers", [])
                        }
                        self.violations.extend(
                            self.problems(
                                scope["method"],
                                scope["path"],
                                start["status"],
                                headers,
                                b"".join(chunks),
                            )
                        )
                await send(message)

            await app(scope, receive, recording)

        return checked


CONTRACT = Contract()
"""One checker for the whole suite (its validators are built once)."""


def checked_client(app: Any, **options: Any) -> httpx.AsyncClient:
    """An in-process httpx client on ``app`` (a ``Sandbox`` or an ASGI app) whose every
    response is checked against the contract."""
    transport = httpx.ASGITransport(app=getattr(app, "app", app))
    options.setdefault("base_url", "http://sandbox" + API_PREFIX)
    return httpx.AsyncClient(
        transport=transport, event_hooks={"response": [CONTRACT.check_response]}, **options
    )


START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    app: Any, *, path: str = API_PREFIX, check: bool | None = None, log_level: str = "warning"
) -> Iterator[str]:
    """Serve ``app`` (a ``Sandbox`` or an ASGI app) and yield its base URL,
    ``http://127.0.0.1:PORT`` + ``path``. With ``check`` (the default for a ``Sandbox``),
    every response is checked against the contract and any violation fails on exit.

    The socket is bound before the server starts, so tests in parallel processes never race
    for a port."""
    is_sandbox = isinstance(app, Sandbox)
    asgi = app.app if is_sandbox else app
    contract = Contract() if (is_sandbox if check is None else check) else None
    if contract is not None:
        asgi = contract.wrap(asgi)
    # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on each accepted connection (with
    # protocol 0 it does not, and every keep-alive request waits 40 ms for a delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        lifespan="auto",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.01)  # returns at once if the server's thread ended
    if not server.started:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()
        raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"
    if contract is not None:
        assert not contract.violations, "\n".join(contract.violations)
