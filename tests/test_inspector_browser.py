"""The inspector's page in a real browser (headless Chromium) against sandboxes served on
loopback: what a user does with it, each tab's screenshot saved as an artifact.

What a client sent is text on the page, never HTML: a comment holding ``<script>`` and an
``<img onerror>`` shows as those characters and runs nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pleasurestock_async import AsyncPleasureStock, RateLimitConfig, Window
from pleasurestock_async.sandbox import DEMO_API_KEY, DEMO_VIEWER_KEY, Sandbox

from . import browser as browsers
from .browser import until
from .sandbox_server import serve

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

browser = browsers.browser
artifacts = browsers.artifacts

STD = {"X-API-Key": DEMO_API_KEY}
EXT = {"Authorization": f"Bearer {DEMO_API_KEY}"}
DAY = date(2025, 11, 3)
HOSTILE = '<img src=x onerror="window.__injected=1"><script>window.__injected=2</script>'
"""Client text that would run if the page ever rendered it as HTML."""


@pytest.fixture
def site() -> Iterator[tuple[Sandbox, str]]:
    """A sandbox served on a free port: (sandbox, root URL)."""
    sandbox = Sandbox(products=60, example_orders=True)
    with serve(sandbox) as base:
        yield sandbox, base.removesuffix("/api/v1")


def by_css(driver: WebDriver, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text_of(driver: WebDriver, selector: str) -> str:
    found = by_css(driver, selector)
    return str(found[0].text) if found else ""


def open_tab(driver: WebDriver, root: str, tab: str) -> None:
    driver.get(f"{root}/#{tab}")
    until(driver, f"#panel-{tab}:not([hidden])")


def shot(driver: WebDriver, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / f"inspector-{name}.png"))


def nothing_injected(driver: WebDriver) -> bool:
    """No script of a client ran, and no element of a client was made."""
    ran = driver.execute_script("return window.__injected === undefined")
    made = by_css(driver, "main img, main script")
    return bool(ran) and not made


def test_sales_tab_shows_the_totals_of_a_sync(
    site: tuple[Sandbox, str], browser: WebDriver, artifacts: Path, tmp_path: Path
) -> None:
    sandbox, root = site
    products = sandbox.products[:20]
    object.__setattr__(products[3], "name", HOSTILE)  # a catalogue's names are outside data
    records = [
        {
            "internal_id": p.internal_id,
            "date": DAY + timedelta(days=d),
            "quantity": (p.number * 3 + d) % 11,
            "stock_on_hand": 40 - d,
        }
        for p in products
        for d in range(7)
    ]

    async def sync() -> None:
        async with AsyncPleasureStock(DEMO_API_KEY, base_url=root + "/api/v1") as ps:
            result = await ps.sales.sync(records, state=tmp_path / "state.db")
            assert result.ok and result.sent == 140

    anyio.run(sync)
    open_tab(browser, root, "sales")
    until(browser, "#sales-total-days", text="140")
    quantity = sum(r["quantity"] for r in records)  # type: ignore[misc]
    assert text_of(browser, "#sales-total-quantity") == f"{quantity:,}"
    assert text_of(browser, "#sales-total-products") == "20"
    names = [cell.text for cell in by_css(browser, "#sales-table tbody td:nth-child(3)")]
    assert HOSTILE in names and nothing_injected(browser)

    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, "sales-product")
    field.send_keys(products[1].internal_id)
    browser.find_element(By.CSS_SELECTOR, "#sales-filter button[type=submit]").click()
    until(browser, "#sales-chart-svg rect.bar", count=7)
    shown = [int(c.text) for c in by_css(browser, "#sales-table tbody td:nth-child(5)")]
    stored = sandbox.daily_sales(products[1].internal_id)
    assert shown == [s.quantity for s in stored.values()]
    assert by_css(browser, "#sales-chart-svg polyline.stock")
    shot(browser, artifacts, "sales")


def test_orders_tab_shows_the_history_and_client_text_as_text(
    site: tuple[Sandbox, str], browser: WebDriver, artifacts: Path
) -> None:
    sandbox, root = site
    with httpx.Client(base_url=root + "/api/v1", timeout=10) as http:
        created = http.post(
            "/external/orders",
            json={"items": [{"ps_id": "ps_1234567890", "quantity": 4}], "comment": HOSTILE},
            headers=EXT,
        )
        number = created.json()["data"]["orders"][0]["orderNumber"]
        for status, comment in (("paid", "<b>paid</b> in full"), ("on_the_way", None)):
            moved = http.put(
                f"/external/orders/{number}/status",
                json={"status": status, "comment": comment},
                headers=EXT,
            )
            assert moved.status_code == 200
    open_tab(browser, root, "orders")
    (row,) = until(browser, f"tr[data-order='{number}']")
    assert "created → paid → on_the_way" in row.text
    row.click()
    steps = until(browser, "#order-history li", count=3)
    texts = [step.text for step in steps]
    assert texts[0].startswith("created ")
    assert texts[1].startswith("created → paid") and texts[1].endswith("— <b>paid</b> in full")
    assert texts[2].startswith("paid → on_the_way")
    assert text_of(browser, "#order-comment") == HOSTILE
    assert HOSTILE in row.text and nothing_injected(browser)
    assert sandbox.state.find_order(number).comment == HOSTILE  # type: ignore[union-attr]
    shot(browser, artifacts, "orders")


class Receiver:
    """A webhook receiver on loopback that counts what it gets."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=204)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


def test_webhooks_tab_shows_a_delivery_and_resends_it(browser: WebDriver, artifacts: Path) -> None:
    receiver = Receiver()
    with serve(receiver.app(), path="/hooks") as hook_url:
        sandbox = Sandbox(products=20, webhook_url=hook_url, webhook_retry_delays=(0.05,))
        with serve(sandbox) as base:
            root = base.removesuffix("/api/v1")
            with httpx.Client(base_url=base, timeout=10) as http:
                body = {"items": [{"ps_id": "ps_1234567890", "quantity": 1}], "comment": HOSTILE}
                number = http.post("/external/orders", json=body, headers=EXT).json()["data"][
                    "orders"
                ][0]["orderNumber"]
                http.put(
                    f"/external/orders/{number}/status",
                    json={"status": "cancelled", "comment": HOSTILE},
                    headers=EXT,
                )
            open_tab(browser, root, "webhooks")
            (first,) = until(browser, "tr[data-delivery='2']", text="delivered")
            assert "order.cancelled" in first.text and hook_url in first.text
            assert first.find_element("css selector", "td.attempts").text == "204"
            first.click()
            payload = until(browser, "#webhook-payload", text="orderNumber")[0].text
            assert json.loads(payload)["data"]["reason"] == HOSTILE and nothing_injected(browser)
            assert "sha256=" in text_of(browser, "#webhook-detail")
            until(browser, "tr[data-delivery='1'] button.resend")[0].click()
            (again,) = until(browser, "tr[data-delivery='3']", text="delivered")
            assert "order.created" in again.text and "(resend of #1)" in again.text
            shot(browser, artifacts, "webhooks")
    assert len(receiver.bodies) == 3 and receiver.bodies[0] == receiver.bodies[2]
    assert [d.resent_from for d in sandbox.webhook_deliveries] == [None, None, 1]


def test_requests_tab_lists_requests_live(
    site: tuple[Sandbox, str], browser: WebDriver, artifacts: Path
) -> None:
    _, root = site
    open_tab(browser, root, "requests")
    until(browser, "#requests-table tbody", text="No requests yet.")
    with httpx.Client(base_url=root + "/api/v1", timeout=10) as http:
        answers = [http.get("/products", params={"limit": n}, headers=STD) for n in (1, 2, 3)]
        http.get("/products", headers={"X-API-Key": DEMO_VIEWER_KEY})
        http.get("/products", params={"supplierId": 12}, headers=STD)
    rows = until(browser, "#requests-table tbody tr[data-id]", count=5)
    newest, viewer, *_, oldest = rows
    assert "/api/v1/products?supplierId=12" in newest.text and "400" in newest.text
    assert "Unknown query parameter" in newest.text
    assert "viewer" in viewer.text and DEMO_API_KEY not in text_of(browser, "main")
    assert oldest.get_attribute("data-id") == answers[0].headers["x-request-id"]
    shot(browser, artifacts, "requests")


def test_limits_tab_fills_as_a_burst_arrives(browser: WebDriver, artifacts: Path) -> None:
    limits = RateLimitConfig(
        standard=(Window(50, 3600.0), Window(6, 60.0)),
        external=(Window(100, 3600.0),),
        smart=(Window(5, 3600.0),),
    )
    sandbox = Sandbox(products=10, rate_limits=limits)
    with serve(sandbox) as base:
        root = base.removesuffix("/api/v1")
        open_tab(browser, root, "limits")
        minute = "[data-key='manager'][data-bucket='standard'] .window[data-seconds='60']"
        until(browser, minute + "[data-used='0']")
        with httpx.Client(base_url=base, timeout=10) as http:
            statuses = [http.get("/products", headers=STD).status_code for _ in range(3)]
            until(browser, minute + "[data-used='3']:not(.full)")
            statuses += [http.get("/products", headers=STD).status_code for _ in range(5)]
        until(browser, minute + "[data-used='6'].full")
        card = "[data-key='manager'][data-bucket='standard']"
        assert statuses == [200] * 6 + [429] * 2
        assert until(browser, card, text="2 refused (429)")
        shot(browser, artifacts, "limits")


def test_the_sales_tab_pages_100000_product_days_on_the_server(
    browser: WebDriver, artifacts: Path
) -> None:
    sandbox = Sandbox(products=2000, rate_limits=None)
    for product in sandbox.products:
        for d in range(50):
            sandbox.state.store_sale(product, DAY + timedelta(days=d), d % 9, 100)
    with serve(sandbox) as base:
        root = base.removesuffix("/api/v1")
        browser.get("about:blank")
        open_tab(browser, root, "sales")
        until(browser, "#sales-total-days", text="100,000")
        rendered = browser.execute_script(
            "return performance.getEntriesByName('sales-rendered')[0].startTime"
        )
    rows = by_css(browser, "#sales-table tbody tr")
    assert len(rows) == 100 and "page 1 of 1,000" in text_of(browser, "#sales-pager")
    timing = {"product_days": 100_000, "first_page_ms_since_navigation": round(rendered, 1)}
    (artifacts / "inspector-sales-timing.json").write_text(json.dumps(timing))
    print(f"sales tab, 100,000 product-days: first page shown {rendered:.0f} ms after navigation")
    assert rendered < 10_000  # the target is 1 s; the bound only catches an unpaged page


def test_a_missing_browser_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        browsers.require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: a missing browser is a failure"):
        browsers.require_browser()
