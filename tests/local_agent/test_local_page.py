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
from .test_agent import redial, wait


def _unpaired(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[threading.Thread, threading.Event, list[cfg.AgentConfig | None], int]:
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
            # the app's setup page links here with the code filled in; its address is typed (a link
            # could name any server)
            page.goto(f"http://localhost:{port}/?code={code}&server={cloud.url}")
            expect(page.locator("#code")).to_have_value(code)
            expect(page.locator("#server")).to_have_value("")
            page.locator("#server").fill(cloud.url)
            page.locator("#pair").click()
            expect(page.locator("#paired")).to_contain_text(f"Paired with {PORTAL}")
            password = page.locator("#password").inner_text()
            assert len(password) >= 12
    finally:
        stop.set()
        thread.join(10)
    config = got[0]
    assert isinstance(config, cfg.AgentConfig) and config.paired
    agent = Agent(home, cfg.load(home), follow_up_wait=0.5, delays=redial).start()
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


def _page_link(port: int, code: str, server: str) -> str:
    return requests.get(f"http://127.0.0.1:{port}/", params={"code": code, "server": server}, timeout=5).text


def test_a_link_cannot_choose_the_server_the_agent_pairs_with(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any web page can link here: ``?code=THEIRS&server=https://theirs`` and one click would have paired
    this PC's QuickBooks with their server. The link's address is filled in only when it is the one this
    agent is set up for; otherwise the person types it."""
    home = tmp_path / "agent"
    thread, stop, _, port = _unpaired(home, capsys)
    try:
        shown = _page_link(port, "THEIRCODE1", "https://qb.attacker.example")
        assert "value='THEIRCODE1'" in shown
        assert "qb.attacker.example" not in shown
        assert re.search(r"<input id='server' [^>]*value=''", shown)
        assert "id='server-note'" in shown and "Type the address shown beside the code" in shown
        cfg.update(home, server=cloud.url)  # set up for this app (an installer, an earlier pairing)
        ours = _page_link(port, "OURCODE123", cloud.url + "/")
        assert f"value='{cloud.url}/'" in ours and "server-note" not in ours
    finally:
        stop.set()
        thread.join(10)


def test_pairing_on_the_page_keeps_the_port_the_page_was_served_on(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config's port 0 (any free port) once went into the .qwc as ``localhost:0`` and the agent then
    ran on another port than the page the person had open."""
    home = tmp_path / "agent"
    thread, stop, _, port = _unpaired(home, capsys)
    url = f"http://127.0.0.1:{port}"
    try:
        said = requests.get(url + "/qbwc", timeout=5).text
        assert said == f"Pair the agent first: open http://localhost:{port}/"
        shown = requests.get(url + "/", timeout=5).text
        token = re.search(r"name='token' value='([^']+)'", shown).group(1)  # type: ignore[union-attr]
        form = {"code": cloud.store.new_pairing_code(PORTAL), "server": cloud.url, "token": token}
        done = requests.post(url + "/pair", data=form, timeout=15, headers={"Origin": url})
        assert done.status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert cfg.load(home).port == port
    assert read_qwc((home / "qb-bitrix24.qwc").read_text()).app_url == f"http://localhost:{port}/qbwc"


def test_the_page_speaks_russian_when_the_link_or_the_browser_asks(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app's pages offer English and Russian; the agent's page follows the app's link (``lang=ru``) or
    the browser's languages, and a refused code is said in Russian too (the cloud's refusal by its code)."""
    home = tmp_path / "agent"
    thread, stop, got, port = _unpaired(home, capsys)
    url = f"http://127.0.0.1:{port}"
    try:
        by_link = requests.get(url + "/", params={"code": "ABC", "lang": "ru"}, timeout=5).text
        assert "Код подключения" in by_link and "<html lang='ru'>" in by_link
        assert "Pairing code" not in by_link
        russian = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}
        by_browser = requests.get(url + "/", timeout=5, headers=russian)
        assert "Подключить агент" in by_browser.text
        english = requests.get(url + "/", timeout=5, headers={"Accept-Language": "de-DE,en;q=0.5"}).text
        assert "Pair this agent" in english and "<html lang='en'>" in english
        with chromium() as browser:
            page = browser.new_page(locale="ru-RU")
            page.goto(f"http://localhost:{port}/")
            page.locator("#code").fill("ZZZZZZZZZZ")
            page.locator("#server").fill(cloud.url)
            page.locator("#pair").click()
            expect(page.locator("#error")).to_contain_text("Подключиться не удалось")
            expect(page.locator("#error")).not_to_contain_text("pairing code")  # no English reason
        assert not cfg.load(home).paired
    finally:
        stop.set()
        thread.join(10)
    assert got == [None]
