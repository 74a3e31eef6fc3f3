"""Large answers go to the cloud from disk (issue 23): in pieces to a cloud that takes them, whole to an
older one — the same answer either way, stored and acted on once.

The answer is a real iterator read (all customers of a 700-customer company, pages of 200) from the
QuickBooks simulator, through the real Web Connector session, the agent's spool and queue, and the relay."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_agent import config as cfg
from local_agent.agent import Agent
from sandbox.quickbooks.host import SimulatedQuickBooks
from sandbox.quickbooks.seed import SeedSize, seed_company

from .cloud import Cloud
from .test_agent import connector, pair, qbxml, wait

PORTAL = "acme.bitrix24.com"
ALL_CUSTOMERS = qbxml('<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>200</MaxReturned>'
                      "</CustomerQueryRq>")  # fmt: skip
PIECE = 64 * 1024


@pytest.fixture(scope="module")
def company() -> SimulatedQuickBooks:
    sized = SeedSize(customers=700, invoices=0, estimates=0, payments=0)
    return SimulatedQuickBooks(seed_company(sized=sized))


@pytest.fixture
def agent_home(cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    home = tmp_path / "agent"
    return home, pair(cloud, home, capsys)


def started(home: Path) -> Agent:
    return Agent(home, cfg.load(home), follow_up_wait=0.5, chunk_bytes=PIECE).start()


@pytest.fixture
def agent(cloud: Cloud, agent_home: tuple[Path, str]) -> Iterator[Agent]:
    running = started(agent_home[0])
    try:
        yield running
    finally:
        running.stop()


def read_all_customers(cloud: Cloud, agent: Agent, home: Path, password: str, qb: SimulatedQuickBooks) -> str:
    """One session reads every customer; the job id. The cloud keeps from acknowledging, so the agent
    still holds its own copy of the answer to compare with."""
    assert wait(lambda: cloud.relay.online(PORTAL))
    cloud.relay.drop_acks = True
    job = cloud.store.enqueue(PORTAL, ALL_CUSTOMERS, purpose="t")
    cloud.relay.notify(PORTAL)
    assert wait(lambda: agent.queue.depth()["pending"] == 1)
    assert connector(agent, home, password, qb).run_session().outcome == "ok"
    return job


def customers_in(qb: SimulatedQuickBooks) -> int:
    return sum(1 for _ in qb.company.of_kind("Customer"))


def test_a_large_answer_reaches_the_cloud_in_pieces_and_is_stored_and_acted_on_once(
    cloud: Cloud, agent: Agent, agent_home: tuple[Path, str], company: SimulatedQuickBooks
) -> None:
    job = read_all_customers(cloud, agent, *agent_home, company)
    [stored] = cloud.wait_results(1)
    kept = agent.queue.pending_result(job)
    assert kept is not None and kept.response is not None and stored.response == kept.response
    assert stored.response.count("<CustomerRet>") == customers_in(company) > 900  # every page, merged
    assert stored.response.count("<CustomerQueryRs ") == 1
    size = len(stored.response.encode())
    assert size > 4 * PIECE
    assert "job.result" not in cloud.relay.seen
    assert cloud.relay.seen.count("result.chunk") == math.ceil(size / PIECE)
    assert cloud.relay.seen.count("result.end") == 1  # sent once on this connection, unacknowledged
    assert cloud.store.counts(PORTAL) == {"done": 1}


def test_an_older_cloud_gets_the_same_answer_whole(
    cloud: Cloud, agent_home: tuple[Path, str], company: SimulatedQuickBooks
) -> None:
    cloud.restart_relay(features=())  # a cloud from before answers in pieces
    agent = started(agent_home[0])
    try:
        job = read_all_customers(cloud, agent, *agent_home, company)
        [stored] = cloud.wait_results(1)
        kept = agent.queue.pending_result(job)
        assert kept is not None and stored.response == kept.response
        assert stored.response is not None and stored.response.count("<CustomerRet>") == customers_in(company)
        assert agent.link.wire_features == ()
        assert "result.chunk" not in cloud.relay.seen and cloud.relay.seen.count("job.result") == 1
    finally:
        agent.stop()


def test_an_answer_cut_off_by_a_lost_connection_is_sent_again_from_its_start_and_stored_once(
    cloud: Cloud, agent: Agent, agent_home: tuple[Path, str], company: SimulatedQuickBooks
) -> None:
    cloud.relay.hold_at_piece = 2  # the connection drops while the answer is on its way
    job = read_all_customers(cloud, agent, *agent_home, company)
    assert cloud.relay.held.wait(10)
    assert not cloud.results and cloud.store.job(PORTAL, job).state != "done"  # type: ignore[union-attr]
    cloud.relay.drop_acks = False
    cloud.restart_relay()
    [stored] = cloud.wait_results(1, timeout=20)
    assert wait(lambda: agent.queue.depth()["results"] == 0)  # acknowledged once whole
    assert stored.job_id == job and stored.response is not None
    assert stored.response.count("<CustomerRet>") == customers_in(company)
    assert cloud.store.counts(PORTAL) == {"done": 1}
    assert len(cloud.results) == 1  # acted on once
