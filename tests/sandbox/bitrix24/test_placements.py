"""placement.bind/unbind/get/list (contract §3.1, §12.4)."""

from __future__ import annotations

from .conftest import AppServer, World


def test_bind_validates_and_a_second_bind_is_already_binded(world: World, app_server: AppServer) -> None:
    token = world.installed()
    tab = {
        "PLACEMENT": "CRM_DEAL_DETAIL_TAB",
        "HANDLER": app_server.url + "/tab",
        "TITLE": "QuickBooks",
        "OPTIONS": {"x": 1},
    }
    assert world.call("placement.bind", tab, token=token).json()["result"] is True
    again = world.call("placement.bind", tab, token=token)
    assert again.json() == {"error": "ERROR_CORE", "error_description": "Handler already binded"}
    missing = world.call("placement.bind", {"HANDLER": app_server.url}, token=token).json()
    assert missing["error"] == "ERROR_ARGUMENT" and missing["argument"] == "PLACEMENT"
    local = world.call(
        "placement.bind",
        {"PLACEMENT": "CRM_CONTACT_DETAIL_TAB", "HANDLER": "http://localhost/tab"},
        token=token,
    )
    assert local.json()["error"] == "ERROR_WRONG_HANDLER_URL"
    unknown = world.call(
        "placement.bind", {"PLACEMENT": "CRM_NOPE_TAB", "HANDLER": app_server.url}, token=token
    )
    assert unknown.json()["error"] == "ERROR_PLACEMENT_NOT_FOUND"
    user_mode = world.call(
        "placement.bind", {**tab, "PLACEMENT": "CRM_DEAL_LIST_MENU", "USER_ID": 3}, token=token
    )
    assert user_mode.json()["error"] == "ERROR_PLACEMENT_USER_MODE"
    [got] = world.call("placement.get", token=token).json()["result"]
    assert got == {
        "placement": "CRM_DEAL_DETAIL_TAB",
        "userId": 0,
        "handler": app_server.url + "/tab",
        "options": [],
        "title": "QuickBooks",
        "description": "",
        "langAll": {"en": {"TITLE": "QuickBooks", "DESCRIPTION": "", "GROUP_NAME": ""}},
    }
    assert world.call("placement.unbind", {"PLACEMENT": "CRM_DEAL_DETAIL_TAB"}, token=token).json()[
        "result"
    ] == {"count": 2}  # counted twice, as documented
    assert "CRM_DEAL_DETAIL_TOOLBAR" in world.call("placement.list", token=token).json()["result"]


def test_placement_methods_need_an_admin(world: World, app_server: AppServer) -> None:
    world.installed()
    user = world.tokens(user_id=5)["access_token"]
    denied = world.call(
        "placement.bind", {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": app_server.url}, token=user
    )
    assert denied.status_code == 403 and denied.json()["error"] == "ACCESS_DENIED"
