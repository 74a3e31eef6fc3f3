"""Install, installFinish gating, lifecycle events, uninstall (contract §1.2–§1.7, §12.3)."""

from __future__ import annotations

import json

from .conftest import AppServer, World


def test_the_installer_gets_every_frame_field(world: World, app_server: AppServer) -> None:
    world.emu.install(world.portal, world.app.client_id)
    post = app_server.got[-1]
    assert post.path == "/install"
    assert set(post.query) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert post.query["DOMAIN"] == "acme.bitrix24.com"
    assert set(post.form) == {
        "AUTH_ID",
        "AUTH_EXPIRES",
        "REFRESH_ID",
        "SERVER_ENDPOINT",
        "APPLICATION_TOKEN",
        "APPLICATION_SCOPE",
        "member_id",
        "status",
        "PLACEMENT",
    }
    assert post.form["PLACEMENT"] == "DEFAULT" and post.form["member_id"] == world.portal.member_id
    assert post.form["SERVER_ENDPOINT"] == world.emu.server_endpoint()


def test_nothing_is_delivered_and_no_placement_shows_until_install_finish(
    world: World, app_server: AppServer
) -> None:
    token = world.installed(finish=False)
    assert world.call("app.info", token=token).json()["result"]["INSTALLED"] is False
    handler = app_server.url + "/events"
    for event in ("ONAPPINSTALL", "ONCRMDEALUPDATE"):
        assert (
            world.call("event.bind", {"event": event, "handler": handler}, token=token).json()["result"]
            is True
        )
    assert (
        world.call(
            "placement.bind",
            {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": app_server.url + "/tab", "TITLE": "QuickBooks"},
            token=token,
        ).status_code
        == 200
    )
    world.call("crm.deal.update", {"id": 1, "fields": {"TITLE": "Changed before finish"}}, token=token)
    world.emu.wait_events()
    assert app_server.events() == []
    try:
        world.emu.open_app(world.portal, world.app.client_id, 1, "CRM_DEAL_DETAIL_TAB", {"ID": "1"})
        raise AssertionError("a placement showed before installFinish")
    except Exception as exc:  # noqa: BLE001 - the emulator refuses with an ApiError
        assert "not fully installed" in str(exc)
    world.emu.install_finish(world.portal, world.app.client_id)
    world.emu.wait_events()
    installed = app_server.events("ONAPPINSTALL")
    assert len(installed) == 1
    assert installed[0]["auth[refresh_token]"] and installed[0]["auth[application_token]"]
    assert installed[0]["data[VERSION]"] == "1"
    tab = world.emu.open_app(world.portal, world.app.client_id, 1, "CRM_DEAL_DETAIL_TAB", {"ID": "1"})
    assert tab.status_code == 200
    assert json.loads(app_server.got[-1].form["PLACEMENT_OPTIONS"]) == {"ID": "1"}


def test_uninstall_sends_no_tokens_kills_them_and_removes_bindings(
    world: World, app_server: AppServer
) -> None:
    token = world.installed()
    world.call("event.bind", {"event": "ONAPPUNINSTALL", "handler": app_server.url + "/events"}, token=token)
    world.call("app.option.set", {"options": {"company_file": "Rock Castle"}}, token=token)
    world.emu.uninstall(world.portal, world.app.client_id, clean=False)
    world.emu.wait_events()
    [gone] = app_server.events("ONAPPUNINSTALL")
    assert gone["data[CLEAN]"] == "0"
    assert "auth[access_token]" not in gone and gone["auth[application_token]"]
    assert world.call("crm.deal.get", {"id": 1}, token=token).status_code == 401
    token = world.installed()  # re-install: options kept (CLEAN=0), bindings gone
    assert (
        world.call("app.option.get", {"option": "company_file"}, token=token).json()["result"]
        == "Rock Castle"
    )
    assert world.call("event.get", token=token).json()["result"] == []
    world.emu.uninstall(world.portal, world.app.client_id, clean=True)
    token = world.installed()
    assert world.call("app.option.get", token=token).json()["result"] == []


def test_an_update_rotates_the_application_token_and_says_so(world: World, app_server: AppServer) -> None:
    token = world.installed()
    world.call("event.bind", {"event": "ONAPPUPDATE", "handler": app_server.url + "/events"}, token=token)
    before = world.portal.installs[world.app.client_id].application_token
    world.emu.update_app(world.portal, world.app.client_id)
    world.emu.wait_events()
    [update] = app_server.events("ONAPPUPDATE")
    assert (update["data[VERSION]"], update["data[PREVIOUS_VERSION]"]) == ("2", "1")
    assert update["auth[application_token]"] != before and update["auth[refresh_token]"]
    lead = world.call("crm.item.get", {"entityTypeId": 1, "id": 1}, token=token).json()["result"]["item"]
    assert lead["id"] == 1 and lead["title"].startswith("Lead 1:")


def test_only_an_administrator_can_install_unless_the_card_allows_users(
    world: World, app_server: AppServer
) -> None:
    """§1.2: "Can be installed by user without administrative rights" is a card option, off by default."""
    user = next(u for u in world.portal.users.values() if not u.admin)
    try:
        world.emu.install(world.portal, world.app.client_id, user.id)
        raise AssertionError("a non-administrator installed the app")
    except PermissionError as exc:
        assert "not an administrator" in str(exc)
    assert world.app.client_id not in world.portal.installs and app_server.got == []
    world.app.user_install = True
    assert world.emu.install(world.portal, world.app.client_id, user.id).status_code == 200


def test_user_admin_says_whether_the_tokens_user_may_manage_the_app(world: World) -> None:
    """``user.admin`` (docs:api-reference/common/users/user-admin.md): any user may call it; a bool."""
    world.installed()
    user = next(u for u in world.portal.users.values() if not u.admin)
    assert world.call("user.admin", token=world.tokens()["access_token"]).json()["result"] is True
    theirs = world.tokens(user.id)["access_token"]
    assert world.call("user.admin", token=theirs).json()["result"] is False
    assert world.call("profile", token=theirs).json()["result"]["ADMIN"] is False
