"""The agent recovers its own unknowns at start *and after every session* (issue 18, case 1): a job left
"sent" by a session that is over — QuickBooks had it, its answer was never stored — is resolved when the
next session ends, without restarting the agent: a read is asked again, a write is reported "answer lost"
(never sent twice) so the cloud runs QuickBooks' error recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.wire import ANSWER_LOST

from .cloud import Cloud
from .test_agent import EchoQuickBooks, connector, pair, qbxml, start_agent, wait

PORTAL = "acme.bitrix24.com"


def test_jobs_a_finished_session_left_sent_are_resolved_when_the_next_session_ends(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    agent = start_agent(home)
    try:
        assert wait(lambda: cloud.relay.online(PORTAL))
        write = cloud.store.enqueue(PORTAL, qbxml('<InvoiceAddRq requestID="1"><InvoiceAdd/></InvoiceAddRq>'),
                                    purpose="t")  # fmt: skip
        read = cloud.store.enqueue(PORTAL, qbxml('<CustomerQueryRq requestID="2"/>'), purpose="t")
        cloud.relay.notify(PORTAL)
        assert wait(lambda: agent.queue.depth()["pending"] == 2)
        # a session that is gone handed both to QuickBooks, and nothing stored their answers (what a
        # Web Connector that died mid-session leaves once its ticket is dropped)
        agent.queue.mark_sent(write, "a-session-that-is-over")
        agent.queue.mark_sent(read, "a-session-that-is-over")
        assert agent.queue.depth()["sent"] == 2

        qb = EchoQuickBooks()
        connector(agent, home, password, qb).run_session()  # an ordinary session, the agent not restarted
        assert agent.queue.depth()["sent"] == 0  # never left "sent"
        lost = [r for r in cloud.wait_results(1) if r.job_id == write]
        assert lost and lost[0].hresult == ANSWER_LOST and lost[0].response is None  # the cloud recovers it
        assert not any("InvoiceAddRq" in x for x in qb.seen)  # the write was not sent again

        connector(agent, home, password, qb).run_session()  # the read, asked again
        assert wait(lambda: any(r.job_id == read and r.state == "done" for r in cloud.results))
        assert sum("CustomerQueryRq" in x for x in qb.seen) == 1
        assert not any("InvoiceAddRq" in x for x in qb.seen)
    finally:
        agent.stop()
