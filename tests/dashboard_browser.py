"""Headless Chromium for the dashboard's browser tests and its screenshot script (Debian's `chromium` and
`chromium-driver` packages driven by Selenium; nothing is downloaded), and what the browser tests do on a page."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

# Flags that let Chromium run as root in a container with no display, GPU or network, and keep it from calling
# home (updates, sync, field trials) while a test runs.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


class BrowserUnavailable(Exception):
    """Chromium, its driver or Selenium is missing; the message says which and how to install it."""


def find_chromium() -> tuple[str, str]:
    browser = next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
        raise BrowserUnavailable(
            f"{missing} not found: the dashboard's browser tests need Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver)"
        )
    return browser, driver


def start_chromium(download_dir: Path, window: tuple[int, int] = (1400, 1000), profile: Optional[Path] = None):
    """A Selenium Chrome driver on a fresh profile that saves downloads into `download_dir` without asking."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise BrowserUnavailable("selenium is not installed (pip install -e '.[test]')") from None
    browser, driver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.add_argument(f"--user-data-dir={profile or tempfile.mkdtemp(prefix='diswot-chromium-')}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def wait_until(condition, timeout=60.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)
    return value


def open_page(browser, url):
    """Load a page and wait for its first complete render; returns the milliseconds from navigation to it."""
    browser.get(url)
    wait_until(lambda: browser.execute_script("return document.documentElement.dataset.ready"), 30, f"{url} ready")
    return browser.execute_script("return performance.getEntriesByName('dashboard-ready')[0].startTime")


def by_id(browser, element_id):
    return browser.find_element("id", element_id)


def fill(browser, field, value):
    """Type into a form's field (opening its advanced section first if it is folded away)."""
    element = by_id(browser, f"field-{field}")
    browser.execute_script("const d = arguments[0].closest('details'); if (d) d.open = true", element)
    if element.tag_name == "select":
        browser.execute_script("arguments[0].value = arguments[1]", element, value)
    else:
        element.clear()
        element.send_keys(str(value))


def status_on_page(browser):
    return by_id(browser, "status").get_attribute("data-status")


def table_rows(browser, table_id):
    """The rendered text of each body cell, read in one step (a table redrawn meanwhile cannot go stale)."""
    return browser.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} tbody tr`)]"
        ".map(row => [...row.cells].map(cell => cell.innerText.trim()))", table_id)


def downloaded(directory: Path, name: str) -> Path:
    path = directory / name
    wait_until(lambda: path.exists() and path.stat().st_size > 0, 30, f"the download of {name}")
    return path


def console_errors(browser):
    """Severe console messages (failed loads, script errors, content-policy violations), less expected API answers."""
    expected = ("401 (Unauthorized)", "422 (Unprocessable", "404 (Not Found)")
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in expected)
    ]

