"""Setup without a command line: an unpaired agent serves its own page at ``http://localhost:<port>/``;
a person pastes the pairing code there (in a real browser, Debian's Chromium), gets the Web Connector
password and the .qwc, and the agent goes online. The page refuses what another web page could send."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from demo.browser import chromium
from local_agent import cli
from local_agent import config as cfg
from local_agent.agent import Agent
from sandbox.webconnector.qwc import read_qwc

from .cloud import Cloud
from .conftest import PORTAL
from .test_agent import wait


def _unpaired(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[threading.Thread, threading.Event, list[object], int]:
    config = cfg.update(home, port=0)
    stop, got = threading.Event(), []
    thread = threading.Thread(
        target=lambda: got.append(cli.wait_for_pairing(home, config, stop)), daemon=True
    )
    thread.start()
    said = ""

    def announced() -> bool:
        nonlocal said
        said += capsys.readouterr().out
        return "Not paired yet. Open http://localhost:" in said

    assert wait(announced)
    port = int(re.search(r"http://localhost:(\d+)/", said).group(1))  # type: ignore[union-attr]
    return thread, stop, got, port


def test_pairing_by_pasting_the_code_into_the_agents_own_page(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    thread, stop, got, port = _unpaired(home, capsys)
    code = cloud.store.new_pairing_code(PORTAL)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 420, "height": 800})
            # the app's setup page links here with the code and its address filled in
            page.goto(f"http://localhost:{port}/?code={code}&server={cloud.url}")
            expect(page.locator("#code")).to_have_value(code)
            page.locator("#pair").click()
            expect(page.locator("#paired")).to_contain_text(f"Paired with {PORTAL}")
            password = page.locator("#password").inner_text()
            assert len(password) >= 12
    finally:
        stop.set()
        thread.join(10)
    config = got[0]
    assert isinstance(config, cfg.AgentConfig) and config.paired
    agent = Agent(home, cfg.load(home), follow_up_wait=0.5).start()
    try:
        assert wait(lambda: cloud.relay.online(PORTAL))
        base = f"http://127.0.0.1:{agent.endpoint.port}"
        shown = requests.get(base + "/", timeout=5).text
        assert PORTAL in shown and "Download qb-bitrix24.qwc" in shown
        qwc = requests.get(base + "/qb-bitrix24.qwc", timeout=5)
        assert qwc.headers["Content-Disposition"] == 'attachment; filename="qb-bitrix24.qwc"'
        assert read_qwc(qwc.text).app_url.endswith("/qbwc")
        soap_ok = requests.get(base + "/qbwc?wsdl", timeout=5)
        assert soap_ok.status_code == 200  # the Web Connector's endpoint is still there beside the page
    finally:
        agent.stop()


def test_a_wrong_code_is_said_on_the_page_and_nothing_is_paired(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    thread, stop, got, port = _unpaired(home, capsys)
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(f"http://localhost:{port}/")
            page.locator("#code").fill("ZZZZZZZZZZ")
            page.locator("#server").fill(cloud.url)
            page.locator("#pair").click()
            expect(page.locator("#error")).to_contain_text("Pairing failed")
            expect(page.locator("#server")).to_have_value(cloud.url)  # nothing typed is lost
        assert not cfg.load(home).paired
    finally:
        stop.set()
        thread.join(10)
    assert got == [None]


def test_another_web_page_cannot_pair_the_agent(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page on another site can POST a form to localhost; it has neither this page's origin nor its
    token. A rebinding name (evil.example resolving to 127.0.0.1) is not served at all."""
    home = tmp_path / "agent"
    thread, stop, _, port = _unpaired(home, capsys)
    url = f"http://127.0.0.1:{port}"
    code = cloud.store.new_pairing_code(PORTAL)
    form = {"code": code, "server": cloud.url}
    try:
        page = requests.get(url + "/", timeout=5).text
        token = re.search(r"name='token' value='([^']+)'", page).group(1)  # type: ignore[union-attr]
        foreign = requests.post(url + "/pair", data={**form, "token": token}, timeout=5,
                                headers={"Origin": "https://evil.example"})  # fmt: skip
        assert foreign.status_code == 403
        no_token = requests.post(url + "/pair", data=form, timeout=5, headers={"Origin": url})
        assert no_token.status_code == 403
        rebound = requests.get(url + "/", timeout=5, headers={"Host": f"evil.example:{port}"})
        assert rebound.status_code == 403
        assert rebound.headers["X-Frame-Options"] == "DENY"
        assert not cfg.load(home).paired
        done = requests.post(
            url + "/pair", data={**form, "token": token}, timeout=15, headers={"Origin": url}
        )
        assert done.status_code == 200 and "Paired with" in done.text  # the code was never used up
    finally:
        stop.set()
        thread.join(10)
