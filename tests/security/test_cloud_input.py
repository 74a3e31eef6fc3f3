"""Cases 5 and 6 of issue 20 (cloud side): malformed input gets a 4xx on every endpoint, the agent's
WebSocket reader survives any message, and agent status is taken only from a still-paired agent."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from cloud_app.agents.relay import AgentRelay
from cloud_app.agents.store import AgentStore
from shared import wire

from ..cloud_app.harness import CLIENT_ID, Cloud, running_cloud

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        c.install()
        yield c


def session(cloud: Cloud) -> str:
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    return re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]


def post(
    cloud: Cloud, path: str, body: str | bytes, *, token: str = "", kind: str = "application/json"
) -> int:
    headers = {"Content-Type": kind, "X-Session": token}
    return requests.post(cloud.url + path, data=body, headers=headers, timeout=30).status_code


def test_deeply_nested_json_is_a_400_everywhere_even_unauthenticated(cloud: Cloud) -> None:
    token, base = session(cloud), f"/api/portals/{cloud.portal.member_id}"
    for path in ("/api/agents/pair", f"{base}/settings", f"{base}/deals/1/sync", f"{base}/syncs/x/confirm",
                 f"{base}/agents/ag_x", f"{base}/initial-sync/review",
                 f"{base}/parties/contact/1/link"):  # fmt: skip
        assert post(cloud, path, DEEP, token=token) == 400, path


def test_a_body_that_is_not_one_json_object_is_refused(cloud: Cloud) -> None:
    token, base = session(cloud), f"/api/portals/{cloud.portal.member_id}"
    assert post(cloud, f"{base}/deals/1/sync", "[1, 2]", token=token) == 400
    assert post(cloud, f"{base}/deals/1/sync", '"preview"', token=token) == 400
    assert post(cloud, "/api/agents/pair", '{"code": "X"}', kind="text/plain") == 415  # a cross-site form
    assert post(cloud, "/api/agents/pair", "{" * 10 + "x") == 400
    assert post(cloud, "/api/agents/pair", '{"code": "' + "A" * 2_000_000 + '"}') == 413


def test_malformed_events_and_frames_are_refused_not_failed(cloud: Cloud) -> None:
    deep = {"event": "ONCRMDEALADD", "auth[member_id]": cloud.portal.member_id, "data" + "[x]" * 5000: "1"}
    assert requests.post(cloud.url + "/b24/events", data=deep, timeout=10).status_code == 403
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    form["AUTH_EXPIRES"] = "soon"
    assert requests.post(cloud.url + "/install", params=query, data=form, timeout=30).status_code == 200


# -- the agent link ---------------------------------------------------------------------------------------


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[AgentRelay]:
    seen: list[wire.Message] = []
    relay = AgentRelay(AgentStore(str(tmp_path / "cloud.db")), on_event=lambda p, m: seen.append(m))
    relay.seen = seen  # type: ignore[attr-defined]
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def linked(relay: AgentRelay, portal: str = "acme") -> tuple[ClientConnection, str]:
    store = relay.store
    _, token, _ = store.redeem(store.new_pairing_code(portal), agent_version="1", hostname="pc")
    ws = connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)
    ws.send(wire.encode(wire.Hello(protocol=1, agent_version="1", agent_id="x", resume=())))
    assert isinstance(wire.decode(ws.recv(timeout=5)), wire.Welcome)
    return ws, token


def heartbeat_answered(ws: ClientConnection) -> bool:
    ws.send(wire.encode(wire.Heartbeat(sent_at=datetime.now(UTC))))
    while True:
        message = wire.decode(ws.recv(timeout=5))
        if isinstance(message, wire.Heartbeat):
            return True


def test_a_deeply_nested_message_does_not_kill_the_reader(relay: AgentRelay) -> None:
    ws, _ = linked(relay)
    with ws:
        ws.send('{"v": 1, "type": "heartbeat", "x": ' + DEEP + "}")
        answer = wire.decode(ws.recv(timeout=5))
        assert isinstance(answer, wire.ErrorMessage) and answer.code == "bad_message"
        assert heartbeat_answered(ws)  # still listening: not online-but-deaf
        assert relay.online("acme")


def test_status_from_an_agent_revoked_while_linked_is_not_taken(relay: AgentRelay) -> None:
    """What the agent reports (the portal's "Last error") counts only from a still-paired agent."""
    ws, _ = linked(relay)
    with ws:
        agent_id = relay.store.agents("acme")[0].agent_id
        relay.store.revoke("acme", agent_id)  # revoked, link not yet cut
        ws.send(wire.encode(wire.QuickBooksUnreachable(session_id="s", hresult="0x80040408", message="x",
                                                       at=datetime.now(UTC))))  # fmt: skip
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    assert relay.seen == []  # type: ignore[attr-defined]


class LockedOnce(AgentStore):
    """A store whose next write fails as SQLite does under contention ("database is locked")."""

    fail_next = False

    def mark(self, portal: str, job_id: str, state: str) -> None:
        if self.fail_next:
            self.fail_next = False
            raise sqlite3.OperationalError("database is locked")
        super().mark(portal, job_id, state)


def test_a_failure_while_handling_closes_the_link_so_the_agent_reconnects(tmp_path: Path) -> None:
    store = LockedOnce(str(tmp_path / "cloud.db"))
    relay = AgentRelay(store).start()
    try:
        ws, token = linked(relay)
        with ws:
            store.fail_next = True
            ws.send(wire.encode(wire.JobAck(job_id="job_x")))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        assert wait_for(lambda: not relay.online("acme"))
        again = connect(relay.url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5)
        with again:  # the agent's reconnect is served as usual
            again.send(wire.encode(wire.Hello(protocol=1, agent_version="1", agent_id="x", resume=())))
            assert isinstance(wire.decode(again.recv(timeout=5)), wire.Welcome)
            assert heartbeat_answered(again)
    finally:
        relay.stop()


def wait_for(check: Callable[[], bool], timeout: float = 5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()
