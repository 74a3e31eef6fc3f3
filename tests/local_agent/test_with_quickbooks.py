"""The agent between the real cloud relay, the Web Connector simulator and the QuickBooks simulator."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from local_agent import cli
from local_agent.agent import Agent
from sandbox.quickbooks import Company, SimulatedQuickBooks
from sandbox.webconnector.soap import SoapClient
from shared import wire

from .cloud import Cloud
from .test_agent import connector, qbxml, wait

PORTAL = "acme.bitrix24.com"


@pytest.fixture
def quickbooks() -> SimulatedQuickBooks:
    qb = SimulatedQuickBooks(Company("Rock Castle Construction"))
    for start in range(0, 2000, 500):
        adds = "".join(
            f"<CustomerAddRq><CustomerAdd><Name>Customer {n:04}</Name></CustomerAdd></CustomerAddRq>"
            for n in range(start, start + 500)
        )
        qb.process(qbxml(adds))
    return qb


def send(cloud: Cloud, agent: Agent, *bodies: str) -> list[str]:
    before = agent.queue.depth()["pending"]
    ids = [cloud.store.enqueue(PORTAL, qbxml(body), purpose="test") for body in bodies]
    cloud.relay.notify(PORTAL)
    assert wait(lambda: agent.queue.depth()["pending"] == before + len(bodies))
    return ids


def test_a_session_with_several_jobs_and_an_iterator_over_2000_customers(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    ids = send(
        cloud,
        agent,
        '<CustomerQueryRq requestID="all" iterator="Start"><MaxReturned>250</MaxReturned></CustomerQueryRq>',
        "<CustomerAddRq><CustomerAdd><Name>Kitchen &amp; Bath Co</Name></CustomerAdd></CustomerAddRq>",
        "<CustomerQueryRq><FullName>Kitchen &amp; Bath Co</FullName></CustomerQueryRq>",
    )
    report = connector(agent, home, password, quickbooks).run_session()
    assert report.outcome == "ok", report
    assert report.status == "10 requests, 0 errors"  # 8 iterator pages + 2 documents, one session
    results = {r.job_id: r for r in cloud.wait_results(3)}
    assert set(results) == set(ids)
    merged = etree.fromstring(results[ids[0]].response.encode())  # type: ignore[union-attr]
    rs = merged.find("QBXMLMsgsRs/CustomerQueryRs")
    assert rs is not None and rs.get("iteratorRemainingCount") == "0"
    assert len(rs.findall("CustomerRet")) == 2000
    assert rs.findall("CustomerRet")[-1].findtext("Name") == "Customer 1999"
    assert "<Name>Kitchen &amp; Bath Co</Name>" in results[ids[2]].response  # type: ignore[operator]
    started = [e for e in cloud.events if isinstance(e, wire.SessionStarted)]
    assert started and started[0].company_file == quickbooks.company_file
    local = started[0].local_time  # the PC's own clock with its UTC offset: the company's calendar
    assert local is not None and local.utcoffset() == datetime.now().astimezone().utcoffset()


def test_a_document_quickbooks_refuses_fails_its_job_and_the_session_goes_on(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    bad, good = send(
        cloud,
        agent,
        "<CustomerAddRq><CustomerAdd><Phone>555</Phone></CustomerAdd></CustomerAddRq>",  # no Name
        "<CustomerAddRq><CustomerAdd><Name>Customer 0001</Name></CustomerAdd></CustomerAddRq>",
    )
    report = connector(agent, home, password, quickbooks).run_session()
    assert report.outcome == "ok" and report.status == "2 requests, 1 error"
    results = {r.job_id: r for r in cloud.wait_results(2)}
    assert results[bad].state == "failed" and results[bad].hresult == "0x80040400"
    assert results[bad].response is None
    assert "parsing" in (results[bad].message or "")
    # QuickBooks answered the second one, with its own error: that is a response, not a failure.
    assert results[good].hresult is None
    assert 'statusCode="3100"' in (results[good].response or "")


def test_quickbooks_not_running_is_a_connection_error_and_the_jobs_wait(
    cloud: Cloud,
    running: tuple[Agent, Path, str],
    quickbooks: SimulatedQuickBooks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agent, home, password = running
    send(cloud, agent, "<CustomerQueryRq><MaxReturned>1</MaxReturned></CustomerQueryRq>")
    quickbooks.not_running = True
    report = connector(agent, home, password, quickbooks).run_session()
    assert report.outcome == "connection_error"
    assert "connectionError" in report.calls
    assert wait(lambda: any(isinstance(e, wire.QuickBooksUnreachable) for e in cloud.events))
    event = next(e for e in cloud.events if isinstance(e, wire.QuickBooksUnreachable))
    assert event.hresult == "0x80040408"
    assert agent.queue.depth()["pending"] == 1  # nothing lost, nothing failed
    capsys.readouterr()
    assert cli.main(["--home", str(home), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["portal"] == PORTAL and status["link"] == "online"
    assert status["queue"]["pending"] == 1
    assert "0x80040408" in status["last_error"] or "Could not start QuickBooks" in status["last_error"]
    quickbooks.not_running = False
    assert connector(agent, home, password, quickbooks).run_session().outcome == "ok"
    assert cloud.wait_results(1)[0].state == "done"


def test_a_second_web_connector_during_a_session_is_told_busy(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    send(cloud, agent, *["<CustomerQueryRq><MaxReturned>5</MaxReturned></CustomerQueryRq>"] * 3)
    quickbooks.slow = 0.3
    first: list[str] = []
    thread = threading.Thread(
        target=lambda: first.append(connector(agent, home, password, quickbooks).run_session().outcome)
    )
    thread.start()
    assert wait(lambda: quickbooks.sessions_begun == 1 or bool(first))
    second = connector(agent, home, password, quickbooks).run_session()
    thread.join()
    assert second.outcome == "busy"
    assert first == ["ok"]
    assert len(cloud.wait_results(3)) == 3


def test_a_ticket_is_dead_after_close_connection(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    url = f"http://127.0.0.1:{agent.endpoint.port}/qbwc"
    with SoapClient(url, timeout=5) as client:
        answer = client.call("authenticate", {"strUserName": "qb-bitrix24", "strPassword": password})
        assert isinstance(answer, list) and answer[0]
        ticket = answer[0]
        assert client.call("closeConnection", {"ticket": ticket})
        send(cloud, agent, "<CustomerQueryRq><MaxReturned>1</MaxReturned></CustomerQueryRq>")
        again = client.call(
            "sendRequestXML",
            {
                "ticket": ticket,
                "strHCPResponse": "",
                "strCompanyFileName": "",
                "qbXMLCountry": "US",
                "qbXMLMajorVers": 13,
                "qbXMLMinorVers": 0,
            },
        )
        assert again == ""
        assert "Unknown or expired ticket" in str(client.call("getLastError", {"ticket": ticket}))
        late = client.call(
            "receiveResponseXML", {"ticket": ticket, "response": "<QBXML/>", "hresult": "", "message": ""}
        )
        assert late == -1
    assert agent.queue.depth()["pending"] == 1  # the job was not handed to a dead ticket
