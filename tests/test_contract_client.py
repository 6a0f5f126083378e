"""One source of truth for every endpoint (issue 21, point 6): every ``Endpoint`` the client
declares (found by introspection) agrees with the OpenAPI document on its method, path, API
and auth scheme, rate buckets, query names and body names, and sends exactly those; and every
public method is complete: a raw twin, per-call ``options``, an ``api.md`` line and a case in
the per-call options test."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock, resources
from pleasurestock_async._http import Endpoint
from pleasurestock_async.sandbox import Sandbox
from pleasurestock_async.sandbox._openapi import openapi_document

from .calls import CALLS, public_methods, raw_twin
from .conftest import BASE, KEY
from .test_surface import CALLS as PER_CALL_OPTIONS

DOC = openapi_document()
API_MD = (Path(__file__).parent.parent / "api.md").read_text()
SCHEMES = {"standard": "ApiKeyAuth", "external": "BearerAuth"}
CLIENT = AsyncPleasureStock(KEY, base_url=BASE)


def endpoints() -> dict[str, Endpoint]:
    """Every ``Endpoint`` declared in a module of the resources package, by ``module.name``."""
    found: dict[str, Endpoint] = {}
    for info in pkgutil.iter_modules(resources.__path__):
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Endpoint):
                found[f"{info.name}.{name}"] = value
    return found


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """The document's operations that a client calls (not the webhook receiver, not the
    document itself), by method and path template."""
    return {
        (method.upper(), template(path)): op
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if op.get("x-api") in SCHEMES
    }


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = DOC
        for token in schema["$ref"][2:].split("/"):
            node = node[token]
        schema = node
    return schema


def body_names(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """``items``, ``items[].ps_id``, ...: the names of a request body's fields."""
    names: set[str] = set()
    for name, prop in resolve(schema).get("properties", {}).items():
        names.add(prefix + name)
        prop = resolve(prop)
        if prop.get("type") == "array" and "properties" in resolve(prop["items"]):
            names |= body_names(prop["items"], f"{prefix}{name}[].")
    return names


def sent_names(body: Any, prefix: str = "") -> set[str]:
    """The same names, of a body as sent."""
    names: set[str] = set()
    for name, value in body.items():
        names.add(prefix + name)
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict):
                names |= sent_names(item, f"{prefix}{name}[].")
    return names


ENDPOINTS = endpoints()


def test_every_endpoint_of_the_client_is_in_the_document_and_back() -> None:
    declared = {(e.method, template(e.path)) for e in ENDPOINTS.values()}
    assert declared == set(operations())
    assert len(ENDPOINTS) == len(declared) == 10  # each declared once


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_an_endpoint_agrees_with_the_document(name: str) -> None:
    endpoint = ENDPOINTS[name]
    op = operations()[(endpoint.method, template(endpoint.path))]
    assert op["x-api"] == endpoint.api
    assert op["security"] == [{SCHEMES[endpoint.api]: []}]
    assert set(op["x-rate-limit-buckets"]) == set(endpoint.buckets)
    assert endpoint.idempotent == (endpoint.method != "POST")
    query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert endpoint.query == query
    path_params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
    assert len(path_params) == endpoint.path.count("{")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    assert endpoint.body == (body_names(body["schema"]) if body else set())


def test_the_document_schemes_are_the_headers_the_client_sends() -> None:
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {**schemes["ApiKeyAuth"], "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"]["scheme"] == "bearer"


# -- what the client sends: exactly the declared names, with the declared auth -------------------


def _endpoint_of(request: httpx.Request) -> Endpoint:
    path = request.url.path.removeprefix("/api/v1")
    (found,) = [
        e
        for e in ENDPOINTS.values()
        if e.method == request.method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", e.path), path)
    ]
    return found


async def test_every_method_sends_the_names_and_auth_its_endpoint_declares(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(rate_limits=None, products=20, example_orders=True)
    seen: dict[Endpoint, tuple[set[str], set[str]]] = {}

    async def record(request: httpx.Request) -> None:
        endpoint = _endpoint_of(request)
        query, body = seen.setdefault(endpoint, (set(), set()))
        query |= set(request.url.params)
        if request.content:
            body |= sent_names(json.loads(request.content))
        auth = "Authorization" if endpoint.api == "external" else "X-API-Key"
        assert set(request.headers) & {"authorization", "x-api-key"} == {auth.lower()}
        if endpoint.api == "external":
            assert request.headers["Authorization"].startswith("Bearer ")

    http = httpx.AsyncClient(transport=sandbox.transport(), event_hooks={"request": [record]})
    async with AsyncPleasureStock(
        sandbox.api_keys[0], base_url=BASE, rate_limits=None, http_client=http
    ) as ps:
        for name, call in CALLS.items():
            await call(getattr(ps, name.split(".")[0]), tmp_path)
    await http.aclose()
    assert set(seen) == set(ENDPOINTS.values())  # every endpoint used by some method
    for endpoint, (query, body) in seen.items():
        assert query == endpoint.query, endpoint  # each name sent by the full calls
        assert body == endpoint.body, endpoint


# -- every public method is complete -------------------------------------------------------


def methods() -> Iterator[tuple[str, Any]]:
    for name, resource, method in public_methods(CLIENT):
        yield name, getattr(resource, method)


def left_out(name: str, kind: str) -> bool:
    """Whether the resource's raw twins leave ``name`` out as ``kind`` (``MANY_REQUESTS``,
    ``NO_REQUESTS``)."""
    resource, method = name.split(".")
    twins = type(getattr(CLIENT.with_raw_response, resource))
    return method in getattr(twins, kind, frozenset())


@pytest.mark.parametrize("name", [name for name, _ in methods()])
def test_a_public_method_is_complete(name: str) -> None:
    method = dict(methods())[name]
    assert f"`ps.{name}(" in API_MD, f"api.md has no line for ps.{name}"
    if left_out(name, "NO_REQUESTS"):  # a local state file's method: no request at all
        assert "options" not in inspect.signature(method).parameters
        assert raw_twin(CLIENT, name) is None and name in CALLS
        return
    options = inspect.signature(method).parameters.get("options")
    assert options is not None and options.kind is inspect.Parameter.KEYWORD_ONLY
    assert options.default is None
    if not left_out(name, "MANY_REQUESTS"):
        twin = raw_twin(CLIENT, name)
        assert twin is not None, f"ps.with_raw_response.{name} is missing"
        assert inspect.signature(twin) == inspect.signature(method)
        assert name in {case[0] for case in PER_CALL_OPTIONS}, f"{name}: no per-call case"
    else:
        assert raw_twin(CLIENT, name) is None


def test_the_lists_name_no_method_that_does_not_exist() -> None:
    names = {name for name, _ in methods()}
    assert set(re.findall(r"`ps\.(\w+\.\w+)\(", API_MD)) <= names
    assert {case[0] for case in PER_CALL_OPTIONS} <= names
    for resource in {name.split(".")[0] for name in names}:
        twins = type(getattr(CLIENT.with_raw_response, resource))
        left = set(getattr(twins, "MANY_REQUESTS", ())) | set(getattr(twins, "NO_REQUESTS", ()))
        assert left <= {n.split(".")[1] for n in names if n.startswith(resource + ".")}
