"""Kill the real agent (SIGKILL) in the two dangerous windows; restart; nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from local_agent.queue import Queue
from sandbox.quickbooks.host import SimulatedQuickBooks
from sandbox.quickbooks.seed import SeedSize, seed_company
from sandbox.webconnector.connector import WebConnector
from sandbox.webconnector.qwc import read_qwc

from .cloud import Cloud
from .test_agent import EchoQuickBooks, pair, qbxml, wait

PORTAL = "acme.bitrix24.com"
ROOT = Path(__file__).resolve().parents[2]


class AgentProcess:
    def __init__(self, home: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local_agent", "--home", str(home), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("Web Connector endpoint: "), line
        self.url = line.split()[3]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def session(agent: AgentProcess, home: Path, password: str, qb: EchoQuickBooks) -> str:
    qwc = read_qwc((home / "qb-bitrix24.qwc").read_text().replace("http://localhost:0/qbwc", agent.url))
    return WebConnector(qwc, password, qb, noop_pause=0, timeout=10).run_session().status


def test_killed_after_quickbooks_answered_but_before_the_cloud_acknowledged(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    agent = AgentProcess(home)
    job = cloud.store.enqueue(
        PORTAL, qbxml('<InvoiceAddRq requestID="1"><InvoiceAdd/></InvoiceAddRq>'), purpose="t"
    )
    cloud.relay.notify(PORTAL)
    assert wait(lambda: cloud.store.job(PORTAL, job).state == "acked")  # type: ignore[union-attr]
    cloud.relay.drop_acks = True
    qb = EchoQuickBooks()
    assert session(agent, home, password, qb) == "1 request, 0 errors"
    assert cloud.wait_results(1)[0].job_id == job  # stored in the cloud, never acknowledged
    agent.kill()
    queue = Queue(home / "queue.db")
    assert [r.job_id for r in queue.pending_results()] == [job]  # still in the agent's outbox
    queue.close()

    cloud.relay.drop_acks = False
    agent = AgentProcess(home)
    try:
        queue = Queue(home / "queue.db")
        assert wait(lambda: queue.depth()["results"] == 0)  # re-sent on reconnect, acknowledged this time
        queue.close()
        assert len(cloud.results) == 1  # the re-sent result was not taken as a new one
        # The restarted agent opens one session to learn QuickBooks' facts; there is nothing to run.
        assert session(agent, home, password, qb) == "No work is waiting for QuickBooks."
        assert sum("InvoiceAddRq" in x for x in qb.seen) == 1  # QuickBooks saw the add exactly once
    finally:
        agent.kill()


def test_killed_as_the_cloud_offered_a_job(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    agent = AgentProcess(home)
    assert wait(lambda: cloud.relay.online(PORTAL))
    job = cloud.store.enqueue(
        PORTAL, qbxml('<InvoiceAddRq requestID="1"><InvoiceAdd/></InvoiceAddRq>'), purpose="t"
    )
    cloud.relay.notify(PORTAL)
    agent.kill()  # somewhere between "offer sent" and "stored and acknowledged"
    state = cloud.store.job(PORTAL, job).state  # type: ignore[union-attr]
    assert state in ("queued", "offered", "acked")

    agent = AgentProcess(home)
    try:
        assert wait(lambda: cloud.store.job(PORTAL, job).state == "acked")  # type: ignore[union-attr]
        qb = EchoQuickBooks()
        assert session(agent, home, password, qb) == "1 request, 0 errors"
        assert [r.job_id for r in cloud.wait_results(1)] == [job]
        assert sum("InvoiceAddRq" in x for x in qb.seen) == 1
    finally:
        agent.kill()


def test_killed_in_the_middle_of_a_streamed_answer(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The answer is on disk: the restarted agent sends it again from its start; stored and acted on once,
    and QuickBooks is not asked again (issue 23)."""
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    qb = SimulatedQuickBooks(seed_company(sized=SeedSize(customers=400, invoices=0, estimates=0, payments=0)))
    agent = AgentProcess(home)
    job = cloud.store.enqueue(PORTAL, qbxml('<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>100'
                                            "</MaxReturned></CustomerQueryRq>"), purpose="t")  # fmt: skip
    cloud.relay.notify(PORTAL)
    assert wait(lambda: cloud.store.job(PORTAL, job).state == "acked")  # type: ignore[union-attr]
    cloud.relay.hold_at_piece = 1
    qwc = read_qwc((home / "qb-bitrix24.qwc").read_text().replace("http://localhost:0/qbwc", agent.url))
    assert WebConnector(qwc, password, qb, noop_pause=0, timeout=10).run_session().outcome == "ok"
    assert cloud.relay.held.wait(10)  # pieces 0 and 1 are in the cloud, the rest on their way
    agent.kill()
    assert not cloud.results  # nothing stored from half an answer
    asked = len(qb.history)
    agent = AgentProcess(home)
    try:
        [stored] = cloud.wait_results(1, timeout=20)
        assert stored.job_id == job and stored.response is not None
        assert stored.response.count("<CustomerRet>") == sum(1 for _ in qb.company.of_kind("Customer"))
        queue = Queue(home / "queue.db")
        assert wait(lambda: queue.depth()["results"] == 0)
        queue.close()
        assert len(cloud.results) == 1 and cloud.store.counts(PORTAL) == {"done": 1}
        assert len(qb.history) == asked  # answered from disk, not read from QuickBooks again
    finally:
        agent.kill()
