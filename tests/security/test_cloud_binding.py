"""Case 1 of issue 20: only an administrator, by Bitrix24's own word, changes which tokens and which
application token the cloud holds for a portal; uninstall is believed only from Bitrix24.

Each test performs the attack against the running cloud and the Bitrix24 emulator, and asserts the
refusal *and* that the portal still works for its real users."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.bitrix24 import Portal
from sandbox.bitrix24.emulator import User

from ..cloud_app.harness import CLIENT_ID, Cloud, running_cloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as c:
        c.install()
        yield c


def a_user(portal: Portal) -> User:
    """A sales person: can open the app, is no administrator."""
    return next(u for u in portal.users.values() if not u.admin)


def stored_token(cloud: Cloud) -> str:
    creds = cloud.services.portals.credentials(cloud.portal.member_id)
    assert creds is not None
    return creds.access_token


def event(cloud: Cloud, name: str, auth: dict[str, str], data: dict[str, str] | None = None) -> int:
    body = {"event": name, "ts": str(int(cloud.emu.clock()))}
    body.update({f"auth[{k}]": v for k, v in auth.items()})
    body.update({f"data[{k}]": v for k, v in (data or {}).items()})
    return requests.post(cloud.url + "/b24/events", data=body, timeout=10).status_code


def user_auth(cloud: Cloud, user: User, application_token: str) -> dict[str, str]:
    """What a user can put in a forged event: their own frame tokens (they see them in their browser)."""
    pair = cloud.emu.token_pair(cloud.portal, CLIENT_ID, user.id)
    return {
        "access_token": pair["access_token"],
        "refresh_token": pair["refresh_token"],
        "expires": str(pair["expires"]),
        "domain": cloud.portal.domain,
        "server_endpoint": cloud.emu.server_endpoint(),
        "client_endpoint": cloud.emu.client_endpoint(cloud.portal),
        "member_id": cloud.portal.member_id,
        "application_token": application_token,
    }


def test_a_users_frame_tokens_posted_to_the_installer_do_not_rebind_the_portal(cloud: Cloud) -> None:
    before = stored_token(cloud)
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, a_user(cloud.portal).id)
    form["APPLICATION_TOKEN"] = secrets.token_hex(16)
    answer = requests.post(cloud.url + "/install", params=query, data=form, timeout=30)
    assert answer.status_code == 403
    assert cloud.services.portals.rejected()[-1]["reason"] == "not a Bitrix24 administrator"
    assert stored_token(cloud) == before
    admin = cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id)
    assert admin.status_code == 200  # Bitrix24's real frames still pass


def test_a_forged_update_with_a_users_tokens_and_a_chosen_token_is_refused(cloud: Cloud) -> None:
    """The attack: ONAPPUPDATE with the user's tokens and a made-up application token, then
    ONAPPUNINSTALL CLEAN=1 with that token. Both are refused; nothing changes."""
    chosen = secrets.token_hex(16)
    before = stored_token(cloud)
    assert event(cloud, "ONAPPUPDATE", user_auth(cloud, a_user(cloud.portal), chosen),
                 {"VERSION": "2", "PREVIOUS_VERSION": "1"}) == 403  # fmt: skip
    assert "not a Bitrix24 administrator" in cloud.services.portals.rejected()[-1]["reason"]
    assert stored_token(cloud) == before
    auth = {"member_id": cloud.portal.member_id, "application_token": chosen}
    assert event(cloud, "ONAPPUNINSTALL", auth, {"CLEAN": "1"}) == 403
    portal = cloud.services.portals.portal(cloud.portal.member_id)
    assert portal is not None and portal.state == "active"
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, cloud.portal.admin().id).status_code == 200


def test_an_update_whose_tokens_are_another_apps_or_portals_is_refused(cloud: Cloud) -> None:
    cloud.install(cloud.other)
    theirs = user_auth(cloud, cloud.other.admin(), secrets.token_hex(16))
    pair = cloud.emu.token_pair(cloud.other, CLIENT_ID, cloud.other.admin().id)
    theirs.update(access_token=pair["access_token"])  # an administrator — of portal B
    assert event(cloud, "ONAPPUPDATE", theirs) == 403
    assert "member_id does not match" in cloud.services.portals.rejected()[-1]["reason"]


def test_a_real_update_that_rotates_the_application_token_is_believed(cloud: Cloud) -> None:
    cloud.emu.update_app(cloud.portal, CLIENT_ID)
    cloud.emu.wait_events()
    assert cloud.emu.deliveries[-1].event == "ONAPPUPDATE" and cloud.emu.deliveries[-1].status == 200
    stored = cloud.services.portals.portal(cloud.portal.member_id)
    assert stored is not None
    assert stored.application_token == cloud.portal.installs[CLIENT_ID].application_token
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, a_user(cloud.portal).id).status_code == 200


def test_an_uninstall_with_the_real_application_token_is_refused_while_bitrix24_has_the_app(
    cloud: Cloud,
) -> None:
    """Every user's frame carries APPLICATION_TOKEN (§1.3), so knowing it proves little. Bitrix24 sends
    ONAPPUNINSTALL after the app is removed: while our tokens still work, the event is forged."""
    auth = {"member_id": cloud.portal.member_id,
            "application_token": cloud.portal.installs[CLIENT_ID].application_token}  # fmt: skip
    assert event(cloud, "ONAPPUNINSTALL", auth, {"CLEAN": "1"}) == 403
    assert cloud.services.portals.rejected()[-1]["reason"] == "Bitrix24 says the app is still installed"
    assert cloud.services.portals.portal(cloud.portal.member_id) is not None
    cloud.emu.uninstall(cloud.portal, CLIENT_ID, clean=True)  # the real one
    cloud.emu.wait_events()
    assert cloud.services.portals.portal(cloud.portal.member_id) is None


def test_an_update_whose_event_was_lost_is_healed_by_an_administrators_frame_only(cloud: Cloud) -> None:
    """Bitrix24 never re-sends an event: if the ONAPPUPDATE that rotated the token is lost, a user's
    frame (new token) cannot re-key the portal, an administrator's can — after an update only."""
    cloud.emu.settings.drop_events = 1
    cloud.emu.update_app(cloud.portal, CLIENT_ID)
    cloud.emu.wait_events()
    user, admin = a_user(cloud.portal), cloud.portal.admin()
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, user.id).status_code == 403
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, admin.id).status_code == 200
    assert cloud.emu.open_app(cloud.portal, CLIENT_ID, user.id).status_code == 200
    query, form = cloud.emu.frame_fields(cloud.portal, CLIENT_ID, admin.id)
    form["APPLICATION_TOKEN"] = secrets.token_hex(16)  # no update since: an admin's frame re-keys nothing
    assert requests.post(cloud.url + "/app", params=query, data=form, timeout=30).status_code == 403
