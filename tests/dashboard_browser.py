"""Headless Chromium for the dashboard's browser tests and its screenshot script (Debian's `chromium` and
`chromium-driver` packages driven by Selenium; nothing is downloaded)."""

from __future__ import annotations

import shutil
import tempfile
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
