"""OpenTelemetry spans through httpx's instrumentation, as the observability guide shows them:
a span per attempt, and the key in none of their names, attributes or events."""

from __future__ import annotations

import httpx
import pytest

from pleasurestock_async import AsyncPleasureStock

from .conftest import BASE, KEY, fixture

pytest.importorskip("opentelemetry.instrumentation.httpx")

from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

PAGE = {"success": True, "data": [], "pagination": {"page": 1, "limit": 1, "total": 0, "pages": 0}}


CAPTURE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST"
SANITIZE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"


@pytest.mark.parametrize(
    "environment",
    [{}, {CAPTURE: ".*", SANITIZE: "x-api-key,authorization"}],
    ids=["default", "headers-captured-and-sanitized"],
)
async def test_spans_of_both_apis_and_of_a_retry_hold_no_key(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    answers = iter([httpx.Response(503, json={"success": False, "error": "busy"})])

    def server(request: httpx.Request) -> httpx.Response:
        assert request.headers.get("x-api-key") == KEY or KEY in request.headers["authorization"]
        if request.url.path.endswith("/products"):
            return next(answers, httpx.Response(200, json=PAGE))
        return httpx.Response(200, json=fixture("orders_list"))

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        HTTPXClientInstrumentor.instrument_client(http, tracer_provider=provider)
        async with AsyncPleasureStock(KEY, base_url=BASE, http_client=http) as ps:
            await ps.products.list(page=2)
            await ps.orders.list()
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GET", "GET", "GET"]  # the 503, its retry, orders
    # the attribute names follow the semantic conventions the instrumentation is set to
    attributes = [dict(span.attributes or {}) for span in spans]
    statuses = [a.get("http.response.status_code", a.get("http.status_code")) for a in attributes]
    assert statuses == [503, 200, 200]
    urls = [str(a.get("url.full", a.get("http.url"))) for a in attributes]
    assert urls[0] == urls[1] == f"{BASE}/products?page=2" and urls[2] == f"{BASE}/external/orders"
    for span in spans:
        dumped = span.to_json()
        assert KEY not in dumped and KEY[8:] not in dumped
