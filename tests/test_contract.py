"""The OpenAPI 3.1 document: valid, true to the reference's examples, in step with the
sandbox's routing table and bounds, and served by the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pleasurestock_async import RateLimitConfig, Window
from pleasurestock_async.sandbox import Faults, Sandbox, _bounds
from pleasurestock_async.sandbox._openapi import openapi_bytes, openapi_document
from pleasurestock_async.sandbox._routes import ROUTES

from .business_rules import business_rule
from .sandbox_server import CONTRACT, checked_client

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
INDEX = json.loads((REFERENCE / "index.json").read_text())["examples"]
DOC = openapi_document()
BASE = "urn:doc"
REGISTRY: Registry[Any] = Registry().with_resource(
    BASE, Resource.from_contents(DOC, default_specification=DRAFT202012)
)


def template(path: str) -> str:
    """A path with its parameter names erased: /products/{} ."""
    parts = path.split("/")
    return "/".join("{}" if p.startswith("{") else p for p in parts)


def operation(name: str) -> tuple[str, dict[str, Any]]:
    method, path = name.split(" ")
    return f"/paths/{path.replace('/', '~1')}/{method.lower()}", DOC["paths"][path][method.lower()]


def errors_of(pointer: str, instance: object) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY, format_checker=FormatChecker()
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_document_is_valid_openapi_31() -> None:
    assert DOC["openapi"].startswith("3.1")
    validate_openapi(DOC)


@pytest.mark.parametrize("example", INDEX, ids=[e["file"] for e in INDEX])
def test_reference_example_is_valid(example: dict[str, Any]) -> None:
    body = json.loads((REFERENCE / example["file"]).read_text())
    if "request" in example:
        pointer, _ = operation(example["request"])
        pointer += "/requestBody/content/application~1json/schema"
    elif "response" in example:
        pointer, op = operation(example["response"])
        status = str(example["status"])
        response = op["responses"][status]
        pointer = response["$ref"][1:] if "$ref" in response else f"{pointer}/responses/{status}"
        pointer += "/content/application~1json/schema"
    else:
        pointer = f"/components/schemas/{example['schema']}"
    assert errors_of(pointer, body) == []


def test_every_reference_example_is_indexed() -> None:
    files = {p.name for p in REFERENCE.glob("*.json")} - {"index.json"}
    assert files == {e["file"] for e in INDEX}
    assert len(files) == 22


def test_request_examples_in_the_document_are_the_reference_ones() -> None:
    embedded = 0
    for item in DOC["paths"].values():
        for op in item.values():
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, example in content.get("examples", {}).items():
                assert example["value"] == json.loads((REFERENCE / f"{name}.json").read_text())
                embedded += 1
    assert embedded == 8


def test_routing_table_matches_the_document() -> None:
    documented = {
        (method.upper(), template(path)): op
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if path != "/openapi.json" and not op.get("x-sandbox-only")
    }
    assert set(documented) == {(r.method, template(r.path)) for r in ROUTES}
    schemes: dict[str, list[dict[str, list[str]]]] = {
        "standard": [{"ApiKeyAuth": []}],
        "external": [{"BearerAuth": []}],
        "signed": [],
    }
    for route in ROUTES:
        op = documented[(route.method, template(route.path))]
        assert op["x-api"] == route.api
        assert op["x-rate-limit-buckets"] == list(route.buckets)
        assert op["security"] == schemes[route.api]
        assert ("403" in op["responses"]) == route.write
        assert ("413" in op["responses"]) == (route.method in ("POST", "PUT"))
        query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert query == route.query, route.path
    assert DOC["paths"]["/openapi.json"]["get"]["security"] == []


def schema_at(pointer: str) -> Any:
    node: Any = DOC
    for token in pointer.strip("/").split("/"):
        node = node[token.replace("~1", "/")]
    return node


def param(path: str, method: str, name: str) -> dict[str, Any]:
    params = DOC["paths"][path][method]["parameters"]
    found: dict[str, Any] = next(p["schema"] for p in params if p["name"] == name)
    return found


def test_bounds_match_the_document() -> None:
    s = DOC["components"]["schemas"]
    assert param("/products", "get", "limit")["maximum"] == _bounds.MAX_LIMIT
    assert param("/products", "get", "page")["maximum"] == _bounds.MAX_PAGE
    assert param("/products", "get", "search")["maxLength"] == _bounds.MAX_SEARCH
    assert param("/products", "get", "supplier_id")["maximum"] == _bounds.MAX_SUPPLIER_ID
    assert param("/external/orders", "get", "limit")["maximum"] == _bounds.MAX_LIMIT
    assert param("/external/orders", "get", "offset")["maximum"] == _bounds.MAX_OFFSET
    assert param("/currency/convert-to-try", "get", "amount")["maximum"] == _bounds.MAX_AMOUNT
    assert s["SalesRequest"]["properties"]["sales"]["maxItems"] == _bounds.MAX_RECORDS
    record = s["SaleRecord"]["properties"]
    assert record["quantity"]["maximum"] == record["stock_on_hand"]["maximum"] == _bounds.MAX_COUNT
    item = s["OrderItem"]["properties"]
    assert item["quantity"]["maximum"] == _bounds.MAX_ORDER_QUANTITY
    assert item["customPrice"]["maximum"] == _bounds.MAX_PRICE
    assert s["OrderCreateRequest"]["properties"]["items"]["maxItems"] == _bounds.MAX_ITEMS
    assert s["OrderCreateRequest"]["properties"]["comment"]["maxLength"] == _bounds.MAX_COMMENT
    assert (
        s["OrderCreateRequest"]["properties"]["externalOrderId"]["maxLength"]
        == _bounds.MAX_EXTERNAL_ID
    )
    product = s["SmartReorderProduct"]["properties"]
    assert product["ps_id"]["maxLength"] == item["ps_id"]["maxLength"] == _bounds.MAX_PS_ID
    assert product["sales_history"]["maxItems"] == _bounds.MAX_HISTORY
    assert product["quantity"]["maximum"] == _bounds.MAX_COUNT
    assert str(_bounds.MAX_BODY_BYTES) in DOC["info"]["description"]
    assert str(_bounds.MAX_DEPTH) in DOC["info"]["description"]


def walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_each_sandbox_bound_is_a_bound_of_its_schema() -> None:
    marked = [node for node in walk(DOC) if "x-sandbox-bounds" in node]
    assert len(marked) >= 20
    for schema in marked:
        assert schema["x-sandbox-bounds"] and all(k in schema for k in schema["x-sandbox-bounds"])


def test_each_business_rule_is_described_where_it_applies() -> None:
    ruled = {
        (method.upper(), path): op
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if "x-business-rules" in op
    }
    assert set(ruled) == {
        ("POST", "/sales"),
        ("POST", "/external/orders"),
        ("PUT", "/external/orders/{orderNumber}/status"),
        ("POST", "/external/webhook"),
        ("GET", "/_sandbox/sales"),
    }
    for op in ruled.values():
        for rule in op["x-business-rules"]:
            assert f"Business rule ({rule['rule']})" in op["description"]
            assert str(rule["status"]) in op["responses"]
    assert "Business rules:" in DOC["info"]["description"]


async def test_inspected_sales_from_after_to_are_refused_by_a_documented_rule() -> None:
    """Both dates are valid by the document, and their order is a rule it lists: a fuzz found
    this 400 when the rule was only in the description."""
    async with checked_client(Sandbox(products=5, rate_limits=None)) as http:
        response = await http.get(
            "/_sandbox/sales", params={"from": "2043-09-15", "to": "2025-11-09"}
        )
        assert response.status_code == 400
        body = response.json()
    rule = business_rule("GET", "/_sandbox/sales", 400, body)
    assert rule == "date range"
    # an answer of another kind to the same operation is no business rule
    assert business_rule("GET", "/_sandbox/sales", 400, {**body, "message": "page is 0"}) is None


async def test_the_sandbox_serves_its_contract_without_auth_or_limits() -> None:
    tight = RateLimitConfig(standard=(Window(1, 3600.0),), external=(Window(1, 3600.0),))
    sandbox = Sandbox(products=5, rate_limits=tight, faults=Faults(error_rate=1.0))
    async with checked_client(sandbox) as http:
        for _ in range(5):
            response = await http.get("/openapi.json")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.content == openapi_bytes()
    assert sandbox.request_counts == {} and sandbox.rate_limited == 0


def test_the_document_ships_in_the_package() -> None:
    packaged = Path(__file__).parent.parent / "pleasurestock_async" / "openapi.json"
    assert openapi_bytes() == packaged.read_bytes()


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body", "complaint"),
    [
        ("GET", "/api/v1/products", 200, {"content-type": "application/json"}, b"{}", "required"),
        ("GET", "/api/v1/products", 418, {"content-type": "application/json"}, b"{}", "documented"),
        ("GET", "/api/v1/nope", 404, {"content-type": "text/plain"}, b"Not Found", "not JSON"),
        ("GET", "/api/v1/nope", 500, {"content-type": "application/json"}, b"{}", "unknown route"),
        (
            "GET",
            "/api/v1/currency/convert-to-try",
            400,
            {"content-type": "application/json"},
            b'{"success": false, "error": "x", "message": NaN}',
            "strict JSON",
        ),
        (
            "GET",
            "/api/v1/products",
            429,
            {"content-type": "application/json"},
            b'{"success": false, "error": "x", "message": "y"}',
            "Retry-After",
        ),
    ],
)
def test_the_contract_checker_catches_what_breaks_the_document(
    method: str, path: str, status: int, headers: dict[str, str], body: bytes, complaint: str
) -> None:
    problems = CONTRACT.problems(method, path, status, headers, body)
    assert problems and complaint in " ".join(problems)


async def test_every_sandbox_answer_in_the_suite_is_checked() -> None:
    """The suite-wide fixture (conftest) wraps every sandbox: an in-process client's answers
    are checked against the document too."""
    from pleasurestock_async.sandbox import Sandbox

    from .sandbox_server import CONTRACT

    before = CONTRACT.checked
    async with Sandbox(products=3, rate_limits=None).client() as ps:
        await ps.products.list()
        await ps.orders.list()
    assert CONTRACT.checked == before + 2
