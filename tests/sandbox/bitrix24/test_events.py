"""Online events with their faults, and the offline queue (contract §4, §12.5)."""

from __future__ import annotations

from .conftest import AppServer, World


def bind(world: World, token: str, handler: str, *events: str) -> None:
    for event in events:
        assert (
            world.call("event.bind", {"event": event, "handler": handler}, token=token).json()["result"]
            is True
        )


def test_changes_made_by_the_app_itself_fire_events(world: World, app_server: AppServer) -> None:
    token = world.installed()
    bind(
        world,
        token,
        app_server.url + "/events",
        "ONCRMDEALADD",
        "ONCRMDEALUPDATE",
        "ONCRMDEALMOVETOCATEGORY",
        "ONCRMDYNAMICITEMUPDATE",
        "ONCRMCONTACTUPDATE",
    )
    dup = world.call(
        "event.bind", {"event": "ONCRMDEALADD", "handler": app_server.url + "/events"}, token=token
    )
    assert dup.json()["error"] == "ERROR_CORE"
    assert (
        world.call("event.bind", {"event": "ONNOPE", "handler": app_server.url}, token=token).json()["error"]
        == "ERROR_EVENT_NOT_FOUND"
    )
    new = world.call("crm.deal.add", {"fields": {"TITLE": "Porch"}}, token=token).json()["result"]
    world.call("crm.deal.update", {"id": new, "fields": {"STAGE_ID": "PREPARATION"}}, token=token)
    world.call("crm.item.update", {"entityTypeId": 2, "id": new, "fields": {"categoryId": 1}}, token=token)
    world.call("crm.item.update", {"entityTypeId": 31, "id": 1, "fields": {"title": "Renamed"}}, token=token)
    world.call("crm.item.update", {"entityTypeId": 3, "id": 1, "fields": {"post": "Owner"}}, token=token)
    world.emu.wait_events()
    names = [e["event"] for e in app_server.events()]
    assert names == [
        "ONCRMDEALADD",
        "ONCRMDEALUPDATE",
        "ONCRMDEALMOVETOCATEGORY",
        "ONCRMDYNAMICITEMUPDATE",
        "ONCRMCONTACTUPDATE",
    ]  # a pipeline move fires only MOVETOCATEGORY
    add = app_server.events("ONCRMDEALADD")[0]
    assert add["data[FIELDS][ID]"] == str(new) and add["auth[member_id]"] == world.portal.member_id
    assert add["auth[access_token]"] and add["event_handler_id"]
    move = app_server.events("ONCRMDEALMOVETOCATEGORY")[0]
    assert move["data[FIELDS][CATEGORY_ID]"] == "1" and move["data[FIELDS][STAGE_ID]"] == "C1:NEW"
    assert app_server.events("ONCRMDYNAMICITEMUPDATE")[0]["data[FIELDS][ENTITY_TYPE_ID]"] == "31"
    assert (
        world.call(
            "crm.item.update", {"entityTypeId": 3, "id": 1, "fields": {"post": "Owner"}}, token=token
        ).status_code
        == 200
    )
    world.emu.wait_events()
    assert len(app_server.events("ONCRMCONTACTUPDATE")) == 1  # nothing changed: no event


def test_event_faults(world: World, app_server: AppServer) -> None:
    token = world.installed()
    bind(world, token, app_server.url + "/events", "ONCRMCONTACTUPDATE")
    settings = world.emu.settings

    def touch(n: int) -> None:
        world.call("crm.contact.update", {"id": 2, "fields": {"POST": f"v{n}"}}, token=token)

    settings.drop_events = 1
    touch(1)
    world.emu.wait_events()
    assert app_server.events() == [] and world.emu.deliveries[-1].fault == "dropped"
    settings.strip_event_tokens = True
    touch(2)
    settings.strip_event_tokens = False
    settings.wrong_application_token = True
    touch(3)
    settings.wrong_application_token = False
    settings.duplicate_events = True
    touch(4)
    settings.duplicate_events = False
    world.emu.wait_events()
    got = app_server.events()
    assert "auth[access_token]" not in got[0] and got[0]["auth[application_token]"]
    assert got[1]["auth[application_token]"] != got[0]["auth[application_token]"]
    assert len(got) == 4 and got[2] == got[3]
    settings.reorder_events = True
    world.call("crm.contact.update", {"id": 2, "fields": {"POST": "first"}}, token=token)
    world.call("crm.contact.update", {"id": 3, "fields": {"POST": "second"}}, token=token)
    world.emu.wait_events()
    assert len(app_server.events()) == 4  # held back: late
    world.emu.flush_events()
    world.emu.wait_events()
    assert [e["data[FIELDS][ID]"] for e in app_server.events()][-2:] == ["3", "2"]  # and out of order


def test_offline_queue_coalesces_reserves_and_skips_the_connectors_own_writes(world: World) -> None:
    world.portal.plan = "enterprise"
    token = world.installed()
    assert (
        world.call(
            "event.bind",
            {"event": "ONCRMDEALUPDATE", "event_type": "offline", "auth_connector": "qb"},
            token=token,
        ).json()["result"]
        is True
    )
    for n in range(3):
        world.call("crm.deal.update", {"id": 5, "fields": {"TITLE": f"v{n}"}}, token=token)
    world.call("crm.deal.update", {"id": 6, "fields": {"TITLE": "by a person"}}, token=token)
    world.call(
        "crm.deal.update", {"id": 7, "fields": {"TITLE": "by us"}, "auth_connector": "qb"}, token=token
    )
    peek = world.call("event.offline.list", {"auth_connector": "qb"}, token=token).json()
    assert peek["total"] == 2 and [r["PROCESS_ID"] for r in peek["result"]] == ["", ""]
    assert world.call("event.offline.list", token=token).json()["total"] == 0  # other connector's queue
    got = world.call("event.offline.get", {"clear": 0, "auth_connector": "qb"}, token=token).json()["result"]
    assert got["process_id"] and [e["EVENT_DATA"]["FIELDS"]["ID"] for e in got["events"]] == [5, 6]
    again = world.call("event.offline.get", {"clear": 0, "auth_connector": "qb"}, token=token).json()[
        "result"
    ]
    assert again["events"] == []  # reserved rows are not handed out twice
    first = got["events"][0]["MESSAGE_ID"]
    world.call("event.offline.error", {"process_id": got["process_id"], "message_id": [first]}, token=token)
    world.call(
        "event.offline.clear", {"process_id": got["process_id"], "id": [got["events"][1]["ID"]]}, token=token
    )
    left = world.call("event.offline.list", {"auth_connector": "qb"}, token=token).json()["result"]
    assert [(r["MESSAGE_ID"], r["ERROR"]) for r in left] == [(first, "1")]
    user = world.tokens(user_id=4)["access_token"]
    denied = world.call("event.offline.get", {}, token=user)
    assert denied.status_code == 403 and denied.json()["error_description"] == "Access denied!"
    assert world.call("feature.get", {"CODE": "rest_offline_extended"}, token=token).json()["result"] == {
        "value": "Y"
    }


def test_a_phone_changed_by_its_id_is_a_change_with_its_event(world: World, app_server: AppServer) -> None:
    """§8.4: an item with ID and a new VALUE modifies it; like any update that changes the record, it
    fires ONCRMCONTACTUPDATE (§4.4) and moves DATE_MODIFY (which the modify-date polling relies on)."""
    token = world.installed()
    bind(world, token, app_server.url + "/events", "ONCRMCONTACTUPDATE")
    phone = [{"VALUE": "650-555-0000", "VALUE_TYPE": "WORK"}]
    new = world.call("crm.contact.add", {"fields": {"NAME": "Olga", "PHONE": phone}}, token=token).json()
    record = world.call("crm.contact.get", {"id": new["result"]}, token=token).json()["result"]
    world.emu.clock.advance(60)
    edit = [{"ID": record["PHONE"][0]["ID"], "VALUE": "650-555-0001"}]
    world.call("crm.contact.update", {"id": new["result"], "fields": {"PHONE": edit}}, token=token)
    world.emu.wait_events()
    assert [e["data[FIELDS][ID]"] for e in app_server.events("ONCRMCONTACTUPDATE")] == [str(new["result"])]
    after = world.call("crm.contact.get", {"id": new["result"]}, token=token).json()["result"]
    assert [p["VALUE"] for p in after["PHONE"]] == ["650-555-0001"]
    assert after["DATE_MODIFY"] != record["DATE_MODIFY"]
