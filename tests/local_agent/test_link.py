"""The cloud link holds its ground (issue 20): whatever the cloud sends, however it refuses, whatever URL.

The hostile cloud is a real websockets server on loopback that misbehaves once, then behaves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import Self

import pytest
from websockets.asyncio.server import ServerConnection, serve

from local_agent.agent import Agent
from local_agent.link import Link
from local_agent.queue import Queue
from local_agent.retry import Refusals
from local_agent.urls import UrlError, check_ws_url
from shared import wire

from .cloud import Cloud
from .test_agent import wait

PORTAL = "acme.bitrix24.com"


def fast() -> Iterator[float]:
    return repeat(0.05)


class LoopbackCloud(ABC):
    """A websockets server on loopback, in its own thread, for a ``with`` block; ``_handler`` is the cloud."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._main(),), daemon=True
        )

    @abstractmethod
    async def _handler(self, ws: ServerConnection) -> None:
        """What this cloud does with one agent's connection."""

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, max_size=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/agent/ws"


class HostileCloud(LoopbackCloud):
    """Answers the first connection's Hello with ``first`` (any frame), later ones with a Welcome."""

    def __init__(self, first: str | bytes) -> None:
        super().__init__()
        self.first = first
        self.hellos: list[str | bytes] = []
        self.errors: list[str] = []

    async def _handler(self, ws: ServerConnection) -> None:
        self.hellos.append(await ws.recv())
        if len(self.hellos) == 1:
            await ws.send(self.first)
        else:
            await ws.send(wire.encode(wire.Welcome(protocol=1, portal=PORTAL, server_time=datetime.now(UTC))))
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "error":
                    self.errors.append(message["code"])
        except Exception:  # noqa: BLE001 - the agent hung up
            pass


def link_to(url: str, tmp_path: Path, **options: object) -> Link:
    queue = Queue(tmp_path / "queue.db")
    return Link(url, "token", queue, agent_id="agent-1", agent_version="test", delays=fast, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("[" * 100_000, id="nested 100,000 deep"),
        pytest.param('{"v":1,"type":"job.offer","a":' * 5000 + "1" + "}" * 5000, id="nested objects"),
        pytest.param("hello, agent", id="not JSON"),
        pytest.param(b"\xff\xfe\x00binary", id="binary junk"),
        pytest.param('{"v":1,"type":"self.destruct"}', id="unknown type"),
        pytest.param("[1,2,3]", id="a JSON array"),
        pytest.param("x" * (2 * 1024 * 1024), id="over the size cap"),
    ],
)
def test_any_frame_from_the_cloud_closes_the_link_and_it_dials_again(
    tmp_path: Path, frame: str | bytes
) -> None:
    """A deeply nested frame once killed the link's thread while the agent still showed "online"."""
    with HostileCloud(frame) as cloud:
        link = link_to(cloud.url, tmp_path, max_message=1024 * 1024).start()
        try:
            assert wait(lambda: len(cloud.hellos) >= 2 and link.status.portal == PORTAL), link.status
            assert link.online
            assert link.status.connects == 2
        finally:
            link.stop()
            link.queue.close()


def test_a_message_it_cannot_read_is_reported_to_the_cloud_before_hanging_up(tmp_path: Path) -> None:
    with HostileCloud("not json") as cloud:
        link = link_to(cloud.url, tmp_path).start()
        try:
            assert wait(lambda: len(cloud.hellos) >= 2)
            assert cloud.errors == ["bad_message"]
        finally:
            link.stop()
            link.queue.close()


def test_a_passing_401_is_tried_again_not_taken_as_revoked(
    cloud: Cloud, running: tuple[Agent, Path, str]
) -> None:
    """A single 401 once stopped the link for good; a cloud being redeployed refuses good tokens briefly."""
    agent, _, _ = running
    cloud.restart_relay(refuse_handshakes=2)
    assert wait(lambda: cloud.relay.online(PORTAL), timeout=20)
    assert cloud.relay.refuse_handshakes == 0  # it was refused twice on the way
    assert not agent.revoked


def test_refusals_that_hold_mean_revoked(cloud: Cloud, tmp_path: Path) -> None:
    link = link_to(cloud.relay.url, tmp_path, refusals=Refusals(tries=3, span=timedelta(0))).start()
    try:
        assert wait(lambda: link.status.state == "revoked")
        assert "Pair the agent again" in link.status.detail
        assert link.status.connects == 0
    finally:
        link.stop()


def test_refusals_that_do_not_hold_long_enough_are_retried(cloud: Cloud, tmp_path: Path) -> None:
    link = link_to(cloud.relay.url, tmp_path, refusals=Refusals(tries=3, span=timedelta(hours=1))).start()
    try:
        assert wait(lambda: "trying again" in link.status.detail, timeout=30)  # refused once, retrying
        assert not wait(lambda: link.status.state == "revoked", timeout=1.5)  # and refused again, not revoked
    finally:
        link.stop()


@pytest.mark.parametrize(
    "url", ["ws://qb.example.com/agent/ws", "ws://10.0.0.5/agent/ws", "http://qb.example.com/agent/ws"]
)
def test_an_unencrypted_cloud_url_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(UrlError):
        link_to(url, tmp_path)


@pytest.mark.parametrize(
    "url",
    ["wss://qb.example.com/agent/ws", "ws://127.0.0.1:8000/agent/ws", "ws://localhost/x", "ws://[::1]/x"],
)
def test_wss_anywhere_and_plain_ws_only_on_this_machine(url: str) -> None:
    assert check_ws_url(url) == url


def test_qb_agent_run_refuses_a_config_with_a_plain_ws_url_to_another_host(
    cloud: Cloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from local_agent import cli
    from local_agent import config as cfg

    from .test_agent import pair

    home = tmp_path / "agent"
    pair(cloud, home, capsys)
    cfg.update(home, ws_url="ws://qb.example.com/agent/ws")  # edited by hand, or an old pairing
    assert cli.main(["--home", str(home), "run"]) == 1
    err = capsys.readouterr().err
    assert "wss://" in err and "Pair the agent again" in err


class AskingCloud(LoopbackCloud):
    """Welcomes the agent (with a field from a newer release in the welcome), asks it for a session, and
    answers its WantWork with "no work"."""

    def __init__(self) -> None:
        super().__init__()
        self.wanted: list[str] = []

    async def _handler(self, ws: ServerConnection) -> None:
        await ws.recv()  # Hello
        welcome = wire.Welcome(protocol=1, portal=PORTAL, server_time=datetime.now(UTC))
        newer = {**json.loads(wire.encode(welcome)), "region_hint": "secret-looking-value"}
        await ws.send(json.dumps(newer))
        await ws.send(wire.encode(wire.WantWork(session_id="sync", max_jobs=10)))
        try:
            async for raw in ws:
                message = wire.decode(raw)
                if isinstance(message, wire.WantWork):
                    self.wanted.append(message.session_id)
                    await ws.send(wire.encode(wire.NoWork(session_id=message.session_id)))
        except Exception:  # noqa: BLE001 - the agent hung up
            pass


def test_once_the_cloud_had_no_work_the_agent_stops_asking_for_sessions(tmp_path: Path) -> None:
    """The cloud's request for a session was never cleared: every Web Connector run opened a session."""
    from local_agent.runtime import Relay

    with AskingCloud() as cloud:
        link = link_to(cloud.url, tmp_path)
        relay = Relay(link.queue, link, tmp_path / "status.json", follow_up_wait=5)
        link.on_no_work = relay.no_work
        link.start()
        try:
            assert wait(lambda: link.online and link.sync_requested.is_set())
            assert relay.wants_session()
            assert relay.next_job("s1") is None
            assert cloud.wanted == ["s1"]
            assert not relay.wants_session()
        finally:
            link.stop()
            link.queue.close()


def test_fields_from_a_newer_cloud_are_named_in_the_debug_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="qb_agent"), AskingCloud() as cloud:
        link = link_to(cloud.url, tmp_path).start()
        try:
            assert wait(lambda: "region_hint" in caplog.text)
        finally:
            link.stop()
            link.queue.close()
    assert "welcome" in caplog.text and "secret-looking-value" not in caplog.text
