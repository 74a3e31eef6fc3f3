"""A revoked refresh token (issue 18, case 6): "Sync to QuickBooks" answers a clear refusal instead of an
HTTP 500 page, and an administrator opening the app — which the attention text says reconnects it — does
reconnect it: the next click works, with nothing else done by hand."""

from __future__ import annotations

import re

from .harness import CLIENT_ID
from .product import World, a_deal, settled


def test_a_revoked_refresh_token_is_a_clear_refusal_and_opening_the_app_reconnects(world: World) -> None:
    cloud = world.cloud
    deal = a_deal(world, "Soylent", [(1, "Labor", "55.00", "1")])
    creds = cloud.services.portals.credentials(cloud.portal.member_id)
    assert creds is not None
    cloud.emu.refresh(CLIENT_ID, "market-secret", creds.refresh_token)  # spent elsewhere: ours is dead
    cloud.emu.expire_tokens(cloud.portal)

    click = world.api("POST", f"/deals/{deal}/sync", json={})
    assert click.status_code == 503, click.text  # not a 500 page
    assert click.json()["error"] == "needs_attention"
    assert "administrator opening the app once reconnects it" in click.json()["message"]
    russian = world.api("POST", f"/deals/{deal}/sync", json={}, headers={"X-Lang": "ru"})
    assert "переподключится" in russian.json()["message"]
    portal = cloud.services.portals.portal(cloud.portal.member_id)
    assert portal is not None and portal.state == "attention"
    assert "administrator opening the app once reconnects it" in (portal.attention or "")

    # a user who is not an administrator opening it changes nothing (their tokens have their rights)
    member = next(u for u in cloud.portal.users.values() if not u.admin and u.active)
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, member.id).status_code == 200
    still = cloud.services.portals.portal(cloud.portal.member_id)
    assert still is not None and still.state == "attention"
    page = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    assert page.status_code == 200
    portal = cloud.services.portals.portal(cloud.portal.member_id)
    assert portal is not None and portal.state == "active" and portal.attention is None
    world.session = re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
    again = world.api("POST", f"/deals/{deal}/sync", json={})
    assert again.status_code == 202, again.text
    world.web_connector_runs()
    assert settled(world, again.json()["sync_id"])["state"] == "done"
