"""Paging of 50, start=-1, filter prefixes, select, list errors (contract §7, §12.8)."""

from __future__ import annotations

from .conftest import World


def test_pages_of_50_with_total_and_next_only_when_more(world: World) -> None:
    first = world.call("crm.contact.list", {"select": ["ID"]}, hook=True).json()
    assert len(first["result"]) == 50 and first["total"] == 560 and first["next"] == 50
    last = world.call("crm.contact.list", {"select": ["ID"], "start": 550}, hook=True).json()
    assert len(last["result"]) == 10 and "next" not in last
    fast = world.call(
        "crm.contact.list",
        {"select": ["ID"], "start": -1, "order": {"ID": "ASC"}, "filter": {">ID": 500}},
        hook=True,
    ).json()
    assert fast["total"] == 0 and "next" not in fast and fast["result"][0]["ID"] == "501"


def test_filter_prefixes(world: World) -> None:
    def ids(filt: dict[str, object], method: str = "crm.deal.list") -> list[int]:
        body = world.call(method, {"filter": filt, "select": ["ID"], "start": -1}, hook=True).json()
        return [int(r["ID"]) for r in body["result"]]

    assert ids({"@ID": [3, 5, 7]}) == [3, 5, 7]
    assert ids({"!@ID": list(range(1, 74))}) == [74]
    assert ids({">=ID": 72, "<ID": 74}) == [72, 73]
    assert ids({"!ID": 1, "<=ID": 3}) == [2, 3]
    assert ids({"%TITLE": "job #100", "<ID": 5}) == [1, 2, 3, 4]
    assert ids({"=%TITLE": "Deck job #100%", "<ID": 11}) == [
        i for i in range(1, 11) if i in ids({"%TITLE": "Deck", "<ID": 11})
    ]
    assert ids({"CATEGORY_ID": 1}) == ids({"@CATEGORY_ID": [1]})
    email = world.call("crm.contact.get", {"id": 10}, hook=True).json()["result"]["EMAIL"]
    if email:
        assert ids({"EMAIL": email[0]["VALUE"]}, "crm.contact.list") == [10]
        assert ids({"EMAIL": email[0]["VALUE"][:-3]}, "crm.contact.list") == []  # exact match only


def test_item_list_rejects_unknown_fields_and_legacy_rejects_a_scalar_filter(world: World) -> None:
    bad = world.call("crm.item.list", {"entityTypeId": 2, "filter": {"nope": 1}}, hook=True)
    assert bad.status_code == 400 and bad.json() == {
        "error": "INVALID_ARG_VALUE",
        "error_description": "Invalid filter: field 'nope' is not allowed in filter",
    }
    order = world.call("crm.item.list", {"entityTypeId": 2, "order": {"id": "UP"}}, hook=True)
    assert order.json()["error"] == "INVALID_ARG_VALUE"
    scalar = world.call("crm.deal.list", {"filter": "ID=1"}, hook=True)
    assert scalar.json() == {"error": "", "error_description": "Parameter 'filter' must be array."}
    ors = world.call(
        "crm.item.list",
        {
            "entityTypeId": 2,
            "select": ["id"],
            "filter": {"0": {"logic": "OR", "0": {"id": 2}, "1": {"id": 9}}},
        },
        hook=True,
    ).json()
    assert [i["id"] for i in ors["result"]["items"]] == [2, 9]


def test_select_semantics(world: World) -> None:
    star = world.call("crm.contact.list", {"select": ["*"], "start": -1}, hook=True).json()["result"][0]
    assert "PHONE" not in star and "NAME" in star  # multifields must be named
    named = world.call("crm.contact.list", {"select": ["ID", "PHONE"], "start": -1}, hook=True).json()[
        "result"
    ][0]
    assert set(named) == {"ID", "PHONE"}
    item = world.call("crm.item.list", {"entityTypeId": 3, "select": ["id", "name"]}, hook=True).json()
    assert set(item["result"]["items"][0]) == {"id", "name"}  # fm only with '*'
    full = world.call("crm.item.list", {"entityTypeId": 3, "select": ["*"]}, hook=True).json()
    assert "fm" in full["result"]["items"][0]
