"""Headless Chromium from Debian's package (``/usr/bin/chromium``), driven by Playwright: the page tests
and the screenshot script open the sandbox portal's pages with it. Playwright's own browser download is
not used (it does not work here); ``QBB24_CHROMIUM`` points at another binary."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

# a closed network: no background connections, no component updates (each would be refused and retried)
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_path() -> str:
    wanted = os.environ.get("QBB24_CHROMIUM") or "/usr/bin/chromium"
    found = shutil.which(wanted) or (wanted if os.path.exists(wanted) else None)
    if found is None:
        raise RuntimeError(
            f"no Chromium at {wanted}: install Debian's package (apt-get install chromium) "
            "or set QBB24_CHROMIUM"
        )
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:  # Playwright gives each launch a new, empty profile
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()
