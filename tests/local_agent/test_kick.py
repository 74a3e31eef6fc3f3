"""The kick: a person's job asks the Web Connector to update now; harmless when nothing answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from local_agent import config as cfg
from local_agent import kick, qwc
from local_agent.agent import Agent
from local_agent.config import AgentConfig
from sandbox.quickbooks import Company, SimulatedQuickBooks
from sandbox.webconnector.autorun import AutoRun, ProtocolHandler
from sandbox.webconnector.qwc import read_qwc

from .cloud import Cloud
from .test_agent import connector, pair, qbxml, start_agent, wait

PORTAL = "acme.bitrix24.com"
ADD = "<CustomerAddRq><CustomerAdd><Name>Kitchen &amp; Bath Co</Name></CustomerAdd></CustomerAddRq>"


# -- when to kick (pure) --------------------------------------------------------------------------------


def test_a_persons_job_kicks_and_bulk_work_waits_for_the_schedule() -> None:
    policy = kick.KickPolicy(settle=30)
    assert policy.work_arrived(priority=5, now=0) is False  # background sync
    assert policy.work_arrived(priority=4, now=0) is False  # first sync
    assert policy.work_arrived(priority=1, now=0) is True  # a deal sync, a tab refresh


def test_one_kick_until_its_session_begins_or_it_is_given_up() -> None:
    policy = kick.KickPolicy(settle=30)
    assert policy.work_arrived(1, now=0) is True
    assert policy.work_arrived(1, now=5) is False  # the update already asked for takes this job too
    assert policy.work_arrived(1, now=31) is True  # no session came: ask again
    policy.session_started()
    policy.session_ended(work_left=False, now=40)
    assert policy.work_arrived(1, now=41) is True  # a new click after that session: a new kick


def test_a_job_during_a_session_is_remembered_and_kicked_after_it_if_still_waiting() -> None:
    policy = kick.KickPolicy()
    policy.session_started()
    assert policy.work_arrived(1, now=0) is False  # never a second session beside the running one
    assert policy.session_ended(work_left=True, now=2) is True
    policy.session_started()
    assert policy.work_arrived(1, now=3) is False
    assert policy.session_ended(work_left=False, now=4) is False  # that session served it already


def test_the_kick_setting() -> None:
    assert kick.opener_for("auto", platform="linux") is None  # no Web Connector off Windows: a no-op
    assert kick.opener_for("auto", platform="win32") is kick.windows_opener
    assert kick.opener_for("off", platform="win32") is None
    assert kick.opener_for("http://127.0.0.1:9000") is not None
    with pytest.raises(kick.KickError, match="auto, off or a http://127.0.0.1:PORT"):
        kick.opener_for("http://example.com:9000")


def test_the_trigger_names_the_app_as_the_qwc_does() -> None:
    """PG p.45–46: qbwc://docontrol/UpdateNow?async=true&AppName=…, AppName as in the .qwc."""
    name = etree.fromstring(qwc.render(qwc.from_config(AgentConfig())).encode()).findtext("AppName")
    assert name == "Bitrix24 CRM Sync"
    assert kick.update_now_url(name) == "qbwc://docontrol/UpdateNow?async=true&AppName=Bitrix24%20CRM%20Sync"


def test_run_every_n_seconds_is_an_option_written_alone_in_the_qwc() -> None:
    """PG p.37–38: RunEveryNSeconds shows as "Real Time"; with both elements the first one wins, so only
    one is written."""
    text = qwc.render(qwc.from_config(AgentConfig(run_every_seconds=15)))
    scheduler = etree.fromstring(text.encode()).find("Scheduler")
    assert scheduler is not None and [el.tag for el in scheduler] == ["RunEveryNSeconds"]
    assert read_qwc(text).run_every == timedelta(seconds=15)
    assert read_qwc(qwc.render(qwc.from_config(AgentConfig()))).run_every == timedelta(minutes=1)


# -- the agent, the real cloud relay and the Web Connector simulator ------------------------------------


@pytest.fixture
def quickbooks() -> SimulatedQuickBooks:
    return SimulatedQuickBooks(Company("Rock Castle Construction"))


def _agent_with_kick(
    cloud: Cloud, home: Path, capsys: pytest.CaptureFixture[str], url: str
) -> tuple[Agent, str]:
    password = pair(cloud, home, capsys)
    cfg.update(home, kick=url)
    agent = start_agent(home)
    assert wait(lambda: cloud.relay.online(PORTAL))
    return agent, password


@pytest.fixture
def hourly_web_connector(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], quickbooks: SimulatedQuickBooks
) -> Iterator[tuple[Agent, AutoRun]]:
    """An agent whose kick reaches a running Web Connector simulator that would not update for an hour."""
    autorun: AutoRun | None = None
    handler: ProtocolHandler | None = None
    home = tmp_path / "agent"
    agent, password = _agent_with_kick(cloud, home, capsys, "http://127.0.0.1:1")
    try:
        web_connector = connector(agent, home, password, quickbooks)
        web_connector.run_every = timedelta(hours=1)
        autorun = AutoRun(web_connector).start()
        handler = ProtocolHandler(autorun).start()
        agent.kicker.opener = kick.loopback_opener(handler.base_url)
        yield agent, autorun
    finally:
        if handler is not None:
            handler.stop()
        if autorun is not None:
            autorun.stop()
        agent.stop()


def test_a_persons_job_starts_the_web_connector_at_once(
    cloud: Cloud, hourly_web_connector: tuple[Agent, AutoRun], quickbooks: SimulatedQuickBooks
) -> None:
    agent, autorun = hourly_web_connector
    job = cloud.store.enqueue(PORTAL, qbxml(ADD), purpose="deal", priority=1)
    cloud.relay.notify(PORTAL)
    (result,) = cloud.wait_results(1)
    assert result.job_id == job and "<Name>Kitchen &amp; Bath Co</Name>" in (result.response or "")
    assert wait(lambda: autorun.reports and autorun.idle())
    assert autorun.kicks == 1 and [r.outcome for r in autorun.reports] == ["ok"]
    assert agent.kicker.sent == 1 and agent.kicker.failed == 0


def test_when_nothing_takes_the_kick_the_scheduled_update_runs_the_job(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str], quickbooks: SimulatedQuickBooks
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the Web Connector is not there
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    home = tmp_path / "agent"
    agent, password = _agent_with_kick(cloud, home, capsys, f"http://127.0.0.1:{closed}")
    try:
        job = cloud.store.enqueue(PORTAL, qbxml(ADD), purpose="deal", priority=1)
        cloud.relay.notify(PORTAL)
        assert wait(lambda: agent.kicker.failed == 1)
        assert agent.queue.depth()["pending"] == 1  # the job waits, nothing lost
        report = connector(agent, home, password, quickbooks).run_session()  # the scheduled update
        assert report.outcome == "ok"
        (result,) = cloud.wait_results(1)
        assert result.job_id == job and result.response
    finally:
        agent.stop()


def test_qb_agent_qwc_every_seconds_writes_real_time_polling_and_zero_goes_back(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_agent import cli

    home = tmp_path / "agent"
    pair(cloud, home, capsys)
    assert cli.main(["--home", str(home), "qwc", "--every-seconds", "15"]) == 0
    assert read_qwc((home / "qb-bitrix24.qwc").read_text()).run_every == timedelta(seconds=15)
    assert cli.main(["--home", str(home), "qwc", "--every-seconds", "0"]) == 0
    assert read_qwc((home / "qb-bitrix24.qwc").read_text()).run_every == timedelta(minutes=1)
    assert cli.main(["--home", str(home), "qwc", "--every-seconds", "-5"]) == 2
    assert "--every-seconds must be 0" in capsys.readouterr().err


def test_the_kicker_opens_the_trigger_once_per_decision_on_its_own_thread() -> None:
    opened: list[str] = []
    kicker = kick.Kicker(opened.append, "Bitrix24 CRM Sync", clock=lambda: 0.0)
    kicker.session_started()
    kicker.work_arrived(1)  # mid-session: remembered
    kicker.work_arrived(1)
    assert opened == []
    kicker.session_ended(work_left=True)
    assert wait(lambda: kicker.sent == 1)
    assert opened == [kick.update_now_url("Bitrix24 CRM Sync")]


def test_a_failing_trigger_is_counted_and_the_next_decision_still_kicks() -> None:
    def refuse(url: str) -> None:
        raise OSError("no qbwc:// handler is registered")

    now = [0.0]
    kicker = kick.Kicker(refuse, "Bitrix24 CRM Sync", clock=lambda: now[0])
    kicker.work_arrived(1)
    assert wait(lambda: kicker.failed == 1)
    assert kicker.last_failure == "no qbwc:// handler is registered"
    now[0] = 31.0
    kicker.work_arrived(1)
    assert wait(lambda: kicker.failed == 2)
