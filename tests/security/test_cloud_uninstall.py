"""Case 2 of issue 20: a real uninstall cuts every access at once — the portal's tokens, its page
sessions, its pairing codes, its agents' tokens and the agent's open link — and nothing of a deleted
portal comes back through a credential issued before."""

from __future__ import annotations

import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from local_agent import config as cfg

from ..cloud_app.harness import CLIENT_ID
from ..cloud_app.product import World, wait


def pairing_code(world: World) -> requests.Response:
    return world.api("POST", "/pairing-code")


def pair(world: World, code: str) -> requests.Response:
    return requests.post(
        world.cloud.url + "/api/agents/pair", json={"code": code, "hostname": "pc"}, timeout=5
    )


def agent_link_refused(world: World) -> bool:
    token = cfg.load(world.home).agent_token
    url = world.cloud.services.relay.url  # type: ignore[union-attr]
    try:
        connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5).close()
    except InvalidStatus as refused:
        return refused.response.status_code == 401
    return False


def test_uninstall_closes_the_agents_link_and_ends_sessions_and_codes(world: World) -> None:
    cloud, member = world.cloud, world.cloud.portal.member_id
    relay = cloud.services.relay
    assert relay is not None and relay.online(member)
    unused = pairing_code(world).json()["code"]
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=False)
    cloud.emu.wait_events()
    assert cloud.emu.deliveries[-1].event == "ONAPPUNINSTALL" and cloud.emu.deliveries[-1].status == 200
    assert not relay.online(member)  # closed before the event was answered
    assert agent_link_refused(world)
    job = cloud.services.agents.enqueue(member, "<QBXML/>", purpose="probe")
    assert wait(lambda: not relay.online(member), timeout=3)  # the agent's reconnects are refused
    assert cloud.services.agents.job(member, job).state == "queued"  # type: ignore[union-attr]
    assert world.api("GET", "/status").status_code == 401  # the page session issued before
    assert pairing_code(world).status_code == 401
    assert pair(world, unused).status_code in (404, 410)


def test_after_clean_uninstall_no_stale_credential_recreates_the_portal(world: World) -> None:
    cloud, member = world.cloud, world.cloud.portal.member_id
    unused = pairing_code(world).json()["code"]
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=True)
    cloud.emu.wait_events()
    assert cloud.services.portals.portal(member) is None
    assert pairing_code(world).status_code == 401
    assert pair(world, unused).status_code in (404, 410)
    assert agent_link_refused(world)
    again = requests.post(cloud.url + "/app", params=query, data=form, timeout=10)  # a frame from before
    assert again.status_code == 403
    assert requests.post(cloud.url + "/install", params=query, data=form, timeout=10).status_code == 403
    assert cloud.services.portals.portal(member) is None
    assert cloud.services.agents.agents(member) == []
