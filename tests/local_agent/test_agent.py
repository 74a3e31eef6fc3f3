"""The whole agent: paired with the real cloud relay, driven by the Web Connector simulator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local_agent import cli
from local_agent import config as cfg
from local_agent.agent import Agent
from local_agent.retry import backoff
from sandbox.qbport import QuickBooksHost, QuickBooksSession
from sandbox.webconnector.connector import WebConnector
from sandbox.webconnector.qwc import add_application
from shared.qbxml.xml import parse_xml

from .cloud import Cloud

FILE = "C:\\Company Files\\Rock Castle Construction.qbw"


class EchoSession:
    """Answers every request with an empty OK response — enough to watch jobs travel."""

    def __init__(self, host: EchoQuickBooks) -> None:
        self.host = host

    @property
    def company_file(self) -> str:
        return FILE

    def process(self, request_xml: str) -> str:
        self.host.seen.append(request_xml)
        root = parse_xml(request_xml)
        parts = []
        box = root.find("QBXMLMsgsRq")
        for rq in box if box is not None else []:
            name = str(rq.tag)[:-2] + "Rs"
            rid = rq.get("requestID")
            attr = f' requestID="{rid}"' if rid else ""
            if name == "HostQueryRs":
                parts.append(
                    f'<HostQueryRs{attr} statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
                    "<HostRet><ProductName>QuickBooks Pro 2024</ProductName><MajorVersion>34</MajorVersion>"
                    "<MinorVersion>0</MinorVersion><Country>US</Country>"
                    "<SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>"
                    "<SupportedQBXMLVersion>16.0</SupportedQBXMLVersion></HostRet></HostQueryRs>"
                )
            else:
                parts.append(
                    f'<{name}{attr} statusCode="0" statusSeverity="Info" statusMessage="Status OK"/>'
                )
        return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{"".join(parts)}</QBXMLMsgsRs></QBXML>'

    def close(self) -> None:
        pass


class EchoQuickBooks:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def begin_session(
        self, *, company_file: str, app_name: str, owner_id: str, file_id: str
    ) -> QuickBooksSession:
        return EchoSession(self)


def qbxml(body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML>'
        f'<QBXMLMsgsRq onError="stopOnError">{body}</QBXMLMsgsRq></QBXML>'
    )


def pair(cloud: Cloud, home: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = cloud.store.new_pairing_code("acme.bitrix24.com")
    assert cli.main(["--home", str(home), "pair", code, "--server", cloud.url, "--port", "0"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"Web Connector password: (\S+)", out)
    assert match, out
    return match.group(1)


def wait(predicate: Callable[[], object], timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def redial() -> Iterator[float]:
    """The link's pauses between dials in tests: the product's backoff (doubling, jittered) from 50 ms
    up to half a second instead of from 1 s up to a minute, so a cloud back from a restart is found
    again in a moment."""
    return backoff(initial=0.05, maximum=0.5)


def start_agent(home: Path) -> Agent:
    return Agent(home, cfg.load(home), follow_up_wait=0.5, delays=redial).start()


def connector(agent: Agent, home: Path, password: str, qb: QuickBooksHost) -> WebConnector:
    # added as the Web Connector adds it: QBWC's rules, and the agent's AppSupport page reached (issue 19)
    qwc = add_application((home / "qb-bitrix24.qwc").read_text().replace(":0/", f":{agent.endpoint.port}/"))
    return WebConnector(qwc, password, qb, noop_pause=0, timeout=10)


def test_jobs_flow_from_the_cloud_through_the_web_connector_and_back(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    agent = start_agent(home)
    try:
        assert wait(lambda: cloud.relay.online("acme.bitrix24.com"))
        ids = [
            cloud.store.enqueue(
                "acme.bitrix24.com", qbxml(f'<CustomerQueryRq requestID="{i}"/>'), purpose="test"
            )
            for i in range(3)
        ]
        cloud.relay.notify("acme.bitrix24.com")
        assert wait(lambda: agent.queue.depth()["pending"] == 3)
        qb = EchoQuickBooks()
        report = connector(agent, home, password, qb).run_session()
        assert report.outcome == "ok", report
        assert report.status == "3 requests, 0 errors"
        results = cloud.wait_results(3)
        assert sorted(r.job_id for r in results) == sorted(ids)
        assert all(r.state == "done" and r.response and "CustomerQueryRs" in r.response for r in results)
        assert wait(lambda: agent.queue.depth()["results"] == 0)  # acknowledged, so forgotten
        assert all(cloud.store.job("acme.bitrix24.com", i).sent_at for i in ids)  # type: ignore[union-attr]
        assert any(type(e).__name__ == "SessionStarted" for e in cloud.events)
    finally:
        agent.stop()
    assert cfg.load(home).company_file == FILE  # pinned on first use


def test_a_revoked_token_stops_the_link_and_status_says_pair_again(
    cloud: Cloud,
    running: tuple[Agent, Path, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cloud closes a revoked agent's link ("token revoked") and then refuses it: believed at once."""
    agent, home, _ = running
    assert cloud.store.revoke("acme.bitrix24.com", cfg.load(home).agent_id)
    cloud.relay.disconnect("acme.bitrix24.com")
    assert wait(lambda: agent.revoked)
    assert "Pair the agent again" in agent.link_detail
    # the link's thread logs it right after it marks itself revoked: wait for the line, do not race it
    errors = lambda: [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]  # noqa: E731
    assert wait(lambda: any("Pair the agent again" in m for m in errors()))
    capsys.readouterr()
    assert cli.main(["--home", str(home), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["link"] == "revoked"
    assert "qb-agent pair" in status["link_detail"]


def test_the_agents_files_are_readable_only_by_its_user(
    cloud: Cloud, running: tuple[Agent, Path, str]
) -> None:
    """Its databases and config were created 0644; they hold the token's hash and QuickBooks' answers."""
    agent, home, password = running
    cloud.store.enqueue("acme.bitrix24.com", qbxml("<CustomerQueryRq/>"), purpose="test")
    cloud.relay.notify("acme.bitrix24.com")
    assert wait(lambda: agent.queue.depth()["pending"] == 1)
    assert connector(agent, home, password, EchoQuickBooks()).run_session().outcome == "ok"
    files = [p for p in home.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"agent.json", "queue.db", "status.json", "qb-bitrix24.qwc"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}
    assert oct(home.stat().st_mode & 0o777) == "0o700"


def test_wrong_password_gets_nvu(cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "agent"
    pair(cloud, home, capsys)
    agent = start_agent(home)
    try:
        report = connector(agent, home, "not-the-password", EchoQuickBooks()).run_session()
        assert report.outcome == "nvu"
    finally:
        agent.stop()


def test_when_the_cloud_restarts_the_agent_reconnects_and_nothing_is_lost(
    cloud: Cloud, running: tuple[Agent, Path, str]
) -> None:
    agent, home, password = running
    first = cloud.store.enqueue("acme.bitrix24.com", qbxml("<CustomerQueryRq/>"), purpose="test")
    cloud.relay.notify("acme.bitrix24.com")
    assert wait(lambda: agent.queue.depth()["pending"] == 1)
    cloud.relay.drop_acks = True  # the cloud stores the result, then dies before acknowledging it
    assert connector(agent, home, password, EchoQuickBooks()).run_session().outcome == "ok"
    assert [r.job_id for r in cloud.wait_results(1)] == [first]
    assert agent.queue.depth()["results"] == 1  # kept until acknowledged
    second = cloud.store.enqueue("acme.bitrix24.com", qbxml("<VendorQueryRq/>"), purpose="test")
    cloud.restart_relay(down_for=0.5)
    assert wait(lambda: cloud.relay.online("acme.bitrix24.com"), timeout=15)  # backoff, then back
    assert agent.link.status.connects >= 2
    assert wait(lambda: agent.queue.depth()["results"] == 0)  # re-sent, acknowledged this time
    assert wait(lambda: agent.queue.depth()["pending"] == 1)  # the job queued while it was down
    assert connector(agent, home, password, EchoQuickBooks()).run_session().outcome == "ok"
    done = cloud.wait_results(2)
    assert sorted(r.job_id for r in done) == sorted([first, second])  # each stored once
    assert cloud.store.counts("acme.bitrix24.com") == {"done": 2}


def test_wrong_passwords_pause_sign_ins_and_status_says_why(
    cloud: Cloud, running: tuple[Agent, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent, home, password = running
    for _ in range(5):
        assert connector(agent, home, "not-the-password", EchoQuickBooks()).run_session().outcome == "nvu"
    # Now even the right password is refused, at once, until the brake lets go.
    assert connector(agent, home, password, EchoQuickBooks()).run_session().outcome == "nvu"
    capsys.readouterr()
    assert cli.main(["--home", str(home), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert "sign-ins are paused" in status["last_error"] and "Check the password" in status["last_error"]
