"""The agent's own AppSupport page, and its ``.qwc`` added the way the Web Connector adds it (issue 19)."""

from __future__ import annotations

from pathlib import Path

import requests

from local_agent.agent import Agent
from sandbox.webconnector.connector import WebConnector
from sandbox.webconnector.qwc import add_application

from .test_agent import EchoQuickBooks


def _qwc_as_written(agent: Agent, home: Path) -> str:
    """The file ``qb-agent pair`` wrote, its port the one the test agent got (the config says 0)."""
    return (home / "qb-bitrix24.qwc").read_text().replace(":0/", f":{agent.endpoint.port}/")


def test_the_products_qwc_is_added_as_qbwc_adds_it_and_a_session_runs(
    running: tuple[Agent, Path, str],
) -> None:
    """PG Appendix A: no IP host (QBWC1001/1002), https or localhost (QBWC1010), AppURL and AppSupport on
    one domain (QBWC1000), AppSupport answering 200/202 when the file is added (QBWC1003/1004)."""
    agent, home, password = running
    qwc = add_application(_qwc_as_written(agent, home))  # the real GET of AppSupport, as QBWC does it
    assert qwc.app_support == f"http://localhost:{agent.endpoint.port}/support"
    report = WebConnector(qwc, password, EchoQuickBooks(), noop_pause=0, timeout=10).run_session()
    # a first session with nothing queued: the agent reads the host query, then says there is no work
    assert report.calls[:3] == ("serverVersion", "clientVersion", "authenticate"), report
    assert "sendRequestXML" in report.calls and report.calls[-1] == "closeConnection", report
    assert report.status == "No work is waiting for QuickBooks."


def test_the_support_page_says_what_the_agent_is_and_how_it_is_doing(
    running: tuple[Agent, Path, str],
) -> None:
    agent, home, _ = running
    url = f"http://localhost:{agent.endpoint.port}/support"
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "QuickBooks connector for Bitrix24" in text and "acme.bitrix24.com" in text
    assert 'href="https://acme.bitrix24.com/marketplace/"' in text
    assert "<th>Connection to the cloud</th><td>connected</td>" in text
    for secret in (agent.config.agent_token, agent.config.password_hash):
        assert secret and secret not in text
    russian = requests.get(url, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}, timeout=10)
    assert "Коннектор QuickBooks для Битрикс24" in russian.text and "<td>есть</td>" in russian.text


def test_the_support_page_is_refused_to_another_host_name(running: tuple[Agent, Path, str]) -> None:
    """A page on the web rebinding its own name to 127.0.0.1 cannot read it (the door's Host check)."""
    agent, _, _ = running
    answer = requests.get(
        f"http://localhost:{agent.endpoint.port}/support", headers={"Host": "evil.example"}, timeout=10
    )
    assert answer.status_code == 403
    assert "acme" not in answer.text
