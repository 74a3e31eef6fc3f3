"""What a session takes on: a person's job first and alone, bulk work in short sessions and in its hours."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from local_agent import plan
from local_agent.agent import Agent
from sandbox.quickbooks import Company, SimulatedQuickBooks

from .cloud import Cloud
from .test_agent import connector, qbxml, wait

PORTAL = "acme.bitrix24.com"
BULK, PERSON = 5, 1


def read(n: int) -> str:
    return f'<CustomerQueryRq requestID="{n}"><MaxReturned>1</MaxReturned></CustomerQueryRq>'


def test_hours_over_midnight_and_within_a_day() -> None:
    nights = plan.parse_hours("19-7")
    assert nights is not None
    assert nights.allows(datetime(2026, 12, 2, 23)) and nights.allows(datetime(2026, 12, 2, 6))
    assert not nights.allows(datetime(2026, 12, 2, 7)) and not nights.allows(datetime(2026, 12, 2, 12))
    office = plan.parse_hours("9-17")
    assert office is not None and office.allows(datetime(2026, 12, 2, 9)) and not office.allows(
        datetime(2026, 12, 2, 17))
    assert plan.parse_hours("") is None
    with pytest.raises(plan.HoursError, match="like 19-7"):
        plan.parse_hours("7pm-7am")


def test_a_persons_session_takes_people_only_and_a_bulk_one_stops_taking_bulk_at_its_end() -> None:
    person = plan.plan_for(PERSON, now=0, bulk_seconds=60)
    assert person.limit(now=0) == 2
    bulk = plan.plan_for(BULK, now=0, bulk_seconds=60)
    assert bulk.limit(now=59) is None and bulk.limit(now=60) == 2


@pytest.fixture
def quickbooks() -> SimulatedQuickBooks:
    return SimulatedQuickBooks(Company("Rock Castle Construction"))


def offer(cloud: Cloud, agent: Agent, *jobs: tuple[int, str]) -> list[str]:
    before = agent.queue.depth()["pending"]
    ids = [cloud.store.enqueue(PORTAL, qbxml(body), purpose="test", priority=p) for p, body in jobs]
    cloud.relay.notify(PORTAL)
    assert wait(lambda: agent.queue.depth()["pending"] == before + len(jobs))
    return ids


def test_a_persons_job_goes_first_and_alone(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    bulk_1, bulk_2, person = offer(cloud, agent, (BULK, read(1)), (BULK, read(2)), (PERSON, read(3)))
    web_connector = connector(agent, home, password, quickbooks)
    first = web_connector.run_session()
    assert first.outcome == "ok" and first.round_trips == 1
    assert [r.job_id for r in cloud.wait_results(1)] == [person]
    assert agent.queue.depth()["pending"] == 2  # the bulk reads wait for the next run
    second = web_connector.run_session()
    assert second.round_trips == 2
    assert {r.job_id for r in cloud.wait_results(3)} == {person, bulk_1, bulk_2}


def test_bulk_work_is_cut_into_short_sessions(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    agent.relay.bulk_seconds = 0  # every bulk session ends after its first job
    offer(cloud, agent, (BULK, read(1)), (BULK, read(2)), (BULK, read(3)))
    web_connector = connector(agent, home, password, quickbooks)
    trips = [web_connector.run_session().round_trips for _ in range(3)]
    assert trips == [1, 1, 1]
    assert len(cloud.wait_results(3)) == 3


def test_outside_the_bulk_hours_bulk_work_waits_and_a_persons_job_does_not(
    cloud: Cloud, running: tuple[Agent, Path, str], quickbooks: SimulatedQuickBooks
) -> None:
    agent, home, password = running
    web_connector = connector(agent, home, password, quickbooks)
    offer(cloud, agent, (PERSON, read(0)))
    assert web_connector.run_session().outcome == "ok"  # the first session: QuickBooks is known now
    agent.relay.bulk_hours = plan.parse_hours("19-7")
    agent.relay.local_clock = lambda: datetime(2026, 12, 2, 12).astimezone()  # noon on the PC
    (bulk,) = offer(cloud, agent, (BULK, read(1)))
    assert web_connector.run_session().outcome == "none"  # nothing to do at noon: QuickBooks stays free
    (person,) = offer(cloud, agent, (PERSON, read(2)))
    report = web_connector.run_session()
    assert report.outcome == "ok" and report.round_trips == 1
    assert person in {r.job_id for r in cloud.wait_results(2)}
    agent.relay.local_clock = lambda: datetime(2026, 12, 2, 20).astimezone()  # 20:00
    assert web_connector.run_session().round_trips == 1
    assert bulk in {r.job_id for r in cloud.wait_results(3)}


def test_while_background_work_is_paused_the_cloud_offers_only_peoples_jobs(
    cloud: Cloud, running: tuple[Agent, Path, str]
) -> None:
    agent, _, _ = running
    paused = [True]
    cloud.relay.offer_limit = lambda portal: 2 if paused[0] else None
    bulk = cloud.store.enqueue(PORTAL, qbxml(read(1)), purpose="first sync", priority=4)
    (person,) = offer(cloud, agent, (PERSON, read(2)))  # only the person's job reaches the agent
    assert agent.queue.get_job(person) is not None and agent.queue.get_job(bulk) is None
    paused[0] = False
    cloud.relay.notify(PORTAL)  # the page lifts the pause
    assert wait(lambda: agent.queue.get_job(bulk) is not None)
