"""The pages' Content-Security-Policy blocks nothing of ours: in a real browser (headless Chromium) on the
sandbox portal, the app page and a deal tab draw themselves and the browser reports no violation; a
script smuggled into the page would be refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from demo.browser import chromium
from demo.world import CLIENT_ID, World


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Browser]]:
    with World(Path(tmp_path_factory.mktemp("policy"))) as world, chromium() as browser:
        yield world, browser


def test_our_pages_run_under_their_policy_and_a_smuggled_script_does_not(
    site: tuple[World, Browser],
) -> None:
    world, browser = site
    page = browser.new_page()
    said: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        said.append(message.text)

    page.on("console", heard)
    base = world.emu.portal_url(world.portal)
    page.goto(base + f"marketplace/app/{CLIENT_ID}/")
    app = page.frame_locator("iframe")
    expect(app.get_by_role("tab", name="First sync")).to_be_visible()  # qb.js ran and drew the page
    app.get_by_role("tab", name="First sync").click()
    expect(app.get_by_role("progressbar")).to_be_visible()
    page.goto(base + "crm/deal/details/1/")
    expect(page.frame_locator(".card iframe:not([hidden])").locator("#qb")).not_to_contain_text("Loading")
    assert not [s for s in said if "Content Security Policy" in s], said
    frame = next(f for f in page.frames if "/b24/" in f.url)
    frame.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
        " document.body.appendChild(s); }"
    )
    assert frame.evaluate("() => window.pwned === undefined")  # an inline script without the nonce
    page.close()
