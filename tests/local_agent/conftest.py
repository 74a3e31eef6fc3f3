"""Fixtures for the agent tests: the real cloud pieces on loopback, and an agent paired and online."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_agent.agent import Agent

from .cloud import Cloud, running_cloud
from .test_agent import pair, start_agent, wait

PORTAL = "acme.bitrix24.com"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        yield c


@pytest.fixture
def running(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Agent, Path, str]]:
    """(agent, its home, the Web Connector password): paired through the CLI, its link online."""
    home = tmp_path / "agent"
    password = pair(cloud, home, capsys)
    agent = start_agent(home)
    assert wait(lambda: cloud.relay.online(PORTAL))
    try:
        yield agent, home, password
    finally:
        agent.stop()
