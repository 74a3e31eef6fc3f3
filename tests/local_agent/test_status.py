"""``qb-agent status`` tells the truth: an agent that is not running is said to be not running, whatever
its last ``status.json`` said ("online" is what a stopped or killed agent last knew)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_agent import cli
from local_agent.agent import Agent

from .cloud import Cloud
from .test_agent import wait


def _status(home: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli.main(["--home", str(home), "status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_running_agent_is_running_and_online(
    cloud: Cloud, running: tuple[Agent, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent, home, _ = running
    status = _status(home, capsys)
    assert status["agent"] == "running" and status["link"] == "online", status


def test_a_stopped_agent_is_not_running_and_says_how_to_start_it(
    cloud: Cloud, running: tuple[Agent, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    agent, home, _ = running
    agent.stop()
    status = _status(home, capsys)
    assert status["agent"] == "not running" and status["link"] == "not running", status
    assert "qb-agent run" in status["link_detail"]


def test_a_killed_agent_is_not_running_though_its_last_status_said_online(
    cloud: Cloud, running: tuple[Agent, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed: nothing wrote the stop down, so status.json still says running and online; the endpoint
    does not answer, and that is what status believes."""
    agent, home, _ = running
    assert wait(lambda: json.loads((home / "status.json").read_text()).get("link") == "online")
    agent.endpoint.stop()  # as a kill leaves it: no clean stop recorded
    agent.link.stop()
    saved = json.loads((home / "status.json").read_text())
    assert saved["running"] is True
    status = _status(home, capsys)
    assert status["agent"] == "not running" and status["link"] == "not running", status
    assert "last it knew, the link was" in status["link_detail"]
    agent.queue.close()
