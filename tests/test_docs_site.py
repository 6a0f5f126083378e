"""The documentation site (issue 24, point 1): ``mkdocs build --strict`` builds it with no
warning, and in a real browser (headless Chromium) its home page and its API reference show
what users look for: the guides, and every resource method with its parameters."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import browser as browsers
from .browser import until

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

browser = browsers.browser
artifacts = browsers.artifacts

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "products": ("list", "get", "get_many"),
    "sales": ("submit", "upload", "sync", "rebind_state", "state_status"),
    "smart_reordering": ("get", "submit"),
    "currency": ("convert_to_try",),
    "orders": ("create", "list", "get", "update_status"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site, built as ``make docs`` builds it, served on a free loopback port."""
    folder = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.slow  # builds the whole site (about 10 s), then a browser reads it
def test_the_home_page_leads_to_every_guide(site: str, browser: WebDriver, artifacts: Path) -> None:
    browser.get(site + "/")
    until(browser, "h1", text="pleasurestock-async")
    for guide in (
        "An async web backend",
        "Sales sync from cron and containers",
        "Webhooks",
        "A worker fleet with Redis",
        "The sandbox and its inspector",
        "The command line",
    ):
        until(browser, "nav a", text=guide)
    browser.save_screenshot(str(artifacts / "docs-home.png"))


@pytest.mark.slow  # builds the whole site (about 10 s), then a browser reads it
def test_the_reference_shows_every_method_with_its_parameters(
    site: str, browser: WebDriver, artifacts: Path
) -> None:
    browser.get(site + "/reference/resources/")
    for resource, methods in METHODS.items():
        for method in methods:
            headings = until(browser, ".doc-heading .doc-object-name", text=method)
            assert headings, f"{resource}.{method}"
    until(browser, ".doc-section-title", text="Parameters")
    until(browser, "td code", text="chunk_size")  # sales.upload's parameter table
    browser.save_screenshot(str(artifacts / "docs-reference-resources.png"))
    browser.get(site + "/reference/types/")
    until(browser, ".doc-contents p", text="The PleasureStock id")  # a field's docstring
    browser.get(site + "/openapi/")
    until(browser, "h3 code", text="POST /sales")
