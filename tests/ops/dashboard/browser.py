"""Headless Chromium (the Debian package) driven by Playwright, and how the page formats
numbers (the tests format the control service's values the same way to compare)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@contextmanager
def chromium() -> Iterator[Browser]:
    """Yield a headless Chromium; fail (never skip) when the Debian package is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install the Debian package `chromium` "
            "(apt-get update && apt-get install -y chromium); .ci/run does this"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def money(value: float) -> str:
    """Format like the page's ``money``: two decimals, thousands grouped."""
    return f"{value:,.2f}"


def qty(value: float) -> str:
    """Format like the page's ``qty``: up to 8 decimals, trailing zeros dropped."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
