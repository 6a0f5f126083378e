"""A headless Chromium for the inspector's browser tests: the system's ``chromium`` driven by
Selenium through the system's ``chromedriver`` (nothing downloaded at run time), one browser per
test module, with a fresh profile in a temporary directory.

Without chromium, chromedriver or Selenium the tests are skipped with a note on how to get them;
in CI (``CI=true``) they fail instead, so a missing install cannot pass unnoticed. Screenshots
go to ``$PLEASURESTOCK_ARTIFACTS`` when set, else to a directory of the test session.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

__all__ = ["artifacts", "browser", "require_browser", "until"]

HOW_TO_GET_IT = (
    "the browser tests need Chromium and its driver (Debian/Ubuntu: apt-get install chromium "
    "chromium-driver) and Selenium (pip install -e '.[dev]')"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine may have no internet: without these Chromium keeps calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,860",
)
WAIT = 30.0
"""Seconds a test waits for the page to show something (generous: CI runs under load)."""


def require_browser() -> tuple[str, str]:
    """Chromium's and chromedriver's paths; skips the test without them (fails it in CI)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [
        name
        for name, found in (
            ("chromium", binary),
            ("chromedriver", driver),
            ("selenium", importlib.util.find_spec("selenium")),
        )
        if not found
    ]
    if missing:
        message = f"{', '.join(missing)} missing: {HOW_TO_GET_IT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: a missing browser is a failure)")
        pytest.skip(message)
    assert binary is not None and driver is not None
    return binary, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the tests of a module."""
    binary, driver = require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.set_page_load_timeout(WAIT)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests leave their screenshots and timings."""
    chosen = os.environ.get("PLEASURESTOCK_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


_UNTIL = """
const [selector, count, text, done] = arguments;
function found() {
  const all = Array.from(document.querySelectorAll(selector));
  const kept = text === null ? all : all.filter((e) => e.textContent.includes(text));
  return (count === null ? kept.length > 0 : kept.length === count) ? kept : null;
}
const now = found();
if (now) {
  done(now);
} else {
  const watcher = new MutationObserver(() => {
    const later = found();
    if (later) {
      watcher.disconnect();
      done(later);
    }
  });
  watcher.observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
}
"""


def until(
    driver: WebDriver, selector: str, *, text: str | None = None, count: int | None = None
) -> list[Any]:
    """The elements ``selector`` finds (those whose text holds ``text``; exactly ``count`` of
    them when given), once the page shows them. The page itself watches for them (a
    MutationObserver), so the test waits on the page's changes, not on a timer."""
    from selenium.common.exceptions import TimeoutException

    driver.set_script_timeout(WAIT)
    try:
        found: list[Any] = driver.execute_async_script(_UNTIL, selector, count, text)
    except TimeoutException:
        shown = driver.execute_script("return document.body.innerText.slice(0, 2000)")
        raise AssertionError(
            f"the page did not show {selector!r} (text {text!r}, count {count}) within "
            f"{WAIT:.0f} s; it shows:\n{shown}"
        ) from None
    return found
