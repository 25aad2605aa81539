"""The headless-browser harness shared by the offline tests (Data Docs, the review desk).

The browser is Debian's ``chromium`` (``apt-get install -y chromium``; ``.ci/run`` installs
it) driven by Playwright for Python with ``executable_path``: ``playwright install`` cannot
download browsers on these machines. ``SHIXIANG_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SHIXIANG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator:
    """A launched Chromium (pytest fails, naming the fix, when it or Playwright is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev dependency is missing
        pytest.fail("pip install playwright (the browser is Debian's chromium, not Playwright's)")
    if not Path(CHROMIUM).is_file():  # pragma: no cover
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (or set SHIXIANG_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class OfflinePage:
    """A page of ``context`` whose requests outside ``allowed`` (URL prefixes) are recorded
    and aborted, with its failed requests and script errors recorded too: ``check()``
    asserts there were none."""

    def __init__(self, context, allowed: tuple[str, ...], ignore_failed: tuple[str, ...] = ()):
        self.allowed = allowed
        self.ignore_failed = ignore_failed
        self.external: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        context.route(lambda url: not url.startswith(allowed), self._block)
        self.page = context.new_page()
        self.page.on("request", self._record)
        self.page.on("websocket", lambda ws: self.external.append(ws.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _block(self, route) -> None:
        self.external.append(route.request.url)
        route.abort()

    def _record(self, request) -> None:
        if not request.url.startswith((*self.allowed, "data:")):
            self.external.append(request.url)

    def check(self) -> None:
        assert self.external == [], f"requests outside {self.allowed}"
        assert [f for f in self.failed if not f.startswith(self.ignore_failed)] == []
        assert self.errors == []
