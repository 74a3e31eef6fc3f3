"""One store behind both API families; multifields, product rows, deal contacts, user fields, pipelines,
timeline, duplicate search (contract §8, §12.9)."""

from __future__ import annotations

from .conftest import World


def test_both_families_see_one_record_in_their_own_shapes(world: World) -> None:
    new = world.call(
        "crm.deal.add",
        {
            "fields": {
                "TITLE": "Deck",
                "OPPORTUNITY": "1000",
                "CURRENCY_ID": "USD",
                "IS_MANUAL_OPPORTUNITY": "Y",
                "CONTACT_IDS": [3, 4],
            }
        },
        hook=True,
    ).json()["result"]
    assert isinstance(new, int)
    legacy = world.call("crm.deal.get", {"id": new}, hook=True).json()["result"]
    item = world.call("crm.item.get", {"entityTypeId": 2, "id": new}, hook=True).json()["result"]["item"]
    assert legacy["ID"] == str(new) and legacy["OPPORTUNITY"] == "1000.00" and legacy["CATEGORY_ID"] == "0"
    assert item["id"] == new and item["opportunity"] == 1000.0 and item["contactIds"] == [3, 4]
    assert legacy["DATE_CREATE"] == item["createdTime"] and legacy["DATE_CREATE"].endswith("+01:00")
    assert (
        world.call(
            "crm.item.update", {"entityTypeId": 2, "id": new, "fields": {"title": "Deck v2"}}, hook=True
        ).json()["result"]["item"]["title"]
        == "Deck v2"
    )
    assert world.call("crm.deal.get", {"id": new}, hook=True).json()["result"]["TITLE"] == "Deck v2"
    assert world.call("crm.item.delete", {"entityTypeId": 2, "id": new}, hook=True).json()["result"] == []
    assert world.call("crm.deal.get", {"id": new}, hook=True).json() == {
        "error": "",
        "error_description": "Not found",
    }
    assert (
        world.call("crm.item.get", {"entityTypeId": 2, "id": new}, hook=True).json()["error"] == "NOT_FOUND"
    )
    assert world.call("crm.deal.get", {"id": "abc"}, hook=True).json()["error_description"] == (
        "ID is not defined or invalid."
    )
    assert (
        world.call("crm.item.list", {"entityTypeId": 5}, hook=True).json()["error"]
        == "ENTITY_TYPE_NOT_SUPPORTED"
    )


def test_category_is_immutable_in_legacy_update_but_moves_with_crm_item(world: World) -> None:
    world.call("crm.deal.update", {"id": 1, "fields": {"CATEGORY_ID": 2}}, hook=True)
    assert world.call("crm.deal.get", {"id": 1}, hook=True).json()["result"]["CATEGORY_ID"] == "0"
    world.call("crm.item.update", {"entityTypeId": 2, "id": 1, "fields": {"categoryId": 2}}, hook=True)
    deal = world.call("crm.deal.get", {"id": 1}, hook=True).json()["result"]
    assert (deal["CATEGORY_ID"], deal["STAGE_ID"]) == ("2", "C2:NEW")


def test_multifields_append_update_delete_and_fm(world: World) -> None:
    cid = world.call(
        "crm.contact.add",
        {"fields": {"NAME": "Ann", "PHONE": [{"VALUE": "+1 555 0100", "VALUE_TYPE": "WORK"}]}},
        hook=True,
    ).json()["result"]
    world.call("crm.contact.update", {"id": cid, "fields": {"PHONE": [{"VALUE": "+1 555 0199"}]}}, hook=True)
    phones = world.call("crm.contact.get", {"id": cid}, hook=True).json()["result"]["PHONE"]
    assert [p["VALUE"] for p in phones] == ["+1 555 0100", "+1 555 0199"]  # appended, not replaced
    world.call(
        "crm.contact.update",
        {
            "id": cid,
            "fields": {
                "PHONE": [
                    {"ID": phones[0]["ID"], "VALUE": "+1 555 0111", "VALUE_TYPE": "MOBILE"},
                    {"ID": phones[1]["ID"], "DELETE": "Y"},
                ]
            },
        },
        hook=True,
    )
    world.call("crm.contact.update", {"id": cid, "fields": {"EMAIL": []}}, hook=True)  # does nothing
    got = world.call("crm.contact.get", {"id": cid}, hook=True).json()["result"]
    assert [(p["VALUE"], p["VALUE_TYPE"]) for p in got["PHONE"]] == [("+1 555 0111", "MOBILE")]
    assert got["HAS_PHONE"] == "Y" and got["HAS_EMAIL"] == "N"
    world.call(
        "crm.item.update",
        {
            "entityTypeId": 3,
            "id": cid,
            "fields": {
                "fm": {
                    "n0": {"typeId": "EMAIL", "valueType": "WORK", "value": "ann@example.com"},
                    got["PHONE"][0]["ID"]: {"typeId": "PHONE", "value": ""},
                }
            },
        },
        hook=True,
    )
    item = world.call("crm.item.get", {"entityTypeId": 3, "id": cid}, hook=True).json()["result"]["item"]
    assert [(m["typeId"], m["value"]) for m in item["fm"]] == [("EMAIL", "ann@example.com")]
    bad = world.call("crm.contact.add", {"fields": {"EMAIL": [{"VALUE": "not-an-email"}]}}, hook=True).json()
    assert bad["error"] == "ERROR_CORE" and bad["error_description"].endswith("<br>")


def test_product_rows_replace_all_and_recompute_the_amount(world: World) -> None:
    rows = [
        {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": 2},
        {"PRODUCT_NAME": "Trim", "PRICE": "10", "QUANTITY": 3, "TAX_RATE": 10},
    ]
    assert world.call("crm.deal.productrows.set", {"id": 2, "rows": rows}, hook=True).json()["result"] is True
    got = world.call("crm.deal.productrows.get", {"id": 2}, hook=True).json()["result"]
    assert [r["PRODUCT_NAME"] for r in got] == ["Labor", "Trim"]
    assert got[0]["ID"].isdigit() and got[0]["PRODUCT_ID"] == 1 and got[0]["PRICE"] == 55.0  # mixed types
    assert got[0]["PRICE_ACCOUNT"] == "55.00"
    deal = world.call("crm.deal.get", {"id": 2}, hook=True).json()["result"]
    assert deal["OPPORTUNITY"] == "143.00" and deal["TAX_VALUE"] == "3.00"
    world.call("crm.deal.productrows.set", {"id": 2, "rows": rows[:1]}, hook=True)
    assert len(world.call("crm.deal.productrows.get", {"id": 2}, hook=True).json()["result"]) == 1
    bad = world.call(
        "crm.deal.productrows.set", {"id": 2, "rows": [{"PRICE": 1, "DISCOUNT_SUM": 5}]}, hook=True
    )
    assert bad.json()["error"] == "ERROR_CORE" and "DISCOUNT_RATE" in bad.json()["error_description"]
    listed = world.call(
        "crm.item.productrow.list", {"filter": {"=ownerType": "D", "=ownerId": 2}}, hook=True
    ).json()["result"]["productRows"]
    assert listed[0]["productName"] == "Labor" and listed[0]["ownerType"] == "D"
    need = world.call("crm.item.productrow.list", {"filter": {"=ownerId": 2}}, hook=True)
    assert need.json()["error"] == "INVALID_ARG_VALUE"
    made = world.call(
        "crm.item.productrow.set",
        {
            "ownerType": "SI",
            "ownerId": 1,
            "productRows": [{"productName": "Design", "price": 75, "quantity": 2}],
        },
        hook=True,
    ).json()["result"]["productRows"]
    assert made[0]["price"] == 75.0 and made[0]["quantity"] == 2.0


def test_deal_contacts(world: World) -> None:
    world.call(
        "crm.deal.contact.items.set",
        {"id": 3, "items": [{"CONTACT_ID": 7}, {"CONTACT_ID": 8, "IS_PRIMARY": "Y"}]},
        hook=True,
    )
    items = world.call("crm.deal.contact.items.get", {"id": 3}, hook=True).json()["result"]
    assert items == [
        {"CONTACT_ID": 7, "SORT": 10, "ROLE_ID": 0, "IS_PRIMARY": "N"},
        {"CONTACT_ID": 8, "SORT": 20, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
    ]
    assert world.call("crm.item.get", {"entityTypeId": 2, "id": 3}, hook=True).json()["result"]["item"][
        "contactIds"
    ] == [7, 8]


def test_user_fields_names_and_values(world: World) -> None:
    made = world.call(
        "crm.deal.userfield.add",
        {
            "fields": {
                "FIELD_NAME": "qb_txn_id",
                "USER_TYPE_ID": "string",
                "EDIT_FORM_LABEL": {"en": "QB TxnID"},
            }
        },
        hook=True,
    )
    assert isinstance(made.json()["result"], int)
    listed = world.call("crm.deal.userfield.list", {"filter": {"FIELD_NAME": "UF_CRM_QB_TXN_ID"}}, hook=True)
    assert listed.json()["result"][0]["FIELD_NAME"] == "UF_CRM_QB_TXN_ID"
    too_long = world.call("crm.deal.userfield.add", {"fields": {"FIELD_NAME": "X" * 44}}, hook=True).json()
    assert too_long == {
        "error": "ERROR_CORE",
        "error_description": "Field name is too long (more than 50 characters).",
    }
    assert world.call("crm.deal.userfield.add", {"fields": {}}, hook=True).json()["error_description"] == (
        "The 'FIELD_NAME' field is not found."
    )
    world.call("crm.deal.update", {"id": 4, "fields": {"UF_CRM_QB_TXN_ID": "1A2B-1795"}}, hook=True)
    assert world.call(
        "crm.deal.list", {"filter": {"UF_CRM_QB_TXN_ID": "1A2B-1795"}, "select": ["ID", "UF_*"]}, hook=True
    ).json()["result"] == [{"ID": "4", "UF_CRM_QB_TXN_ID": "1A2B-1795"}]
    item = world.call("crm.item.get", {"entityTypeId": 2, "id": 4}, hook=True).json()["result"]["item"]
    assert item["ufCrm_QB_TXN_ID"] == "1A2B-1795"
    original = world.call(
        "crm.item.get", {"entityTypeId": 2, "id": 4, "useOriginalUfNames": "Y"}, hook=True
    ).json()["result"]["item"]
    assert original["UF_CRM_QB_TXN_ID"] == "1A2B-1795"


def test_status_and_userfield_lists_filter_like_every_list(world: World) -> None:
    """``crm.status.list`` and ``crm.*.userfield.list`` take ``filter`` and ``order`` like the other lists
    (docs api-reference/crm/status/crm-status-list.md, crm/deals/user-defined-fields/
    crm-deal-userfield-list.md). What an empty-array condition does is UNCONFIRMED
    (``Settings.empty_array_filter``, the same switch as every CRM list)."""
    by_sort = world.call(
        "crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE"}, "order": {"SORT": "DESC"}}, hook=True
    ).json()["result"]
    sorts = [int(s["SORT"]) for s in by_sort]
    assert sorts == sorted(sorts, reverse=True) and len(set(sorts)) > 1
    field = {"FIELD_NAME": "QB_ID", "USER_TYPE_ID": "string"}
    assert world.call("crm.deal.userfield.add", {"fields": field}, hook=True).status_code == 200

    def total(method: str, filt: dict[str, object]) -> int:
        return int(world.call(method, {"filter": filt}, hook=True).json()["total"])

    assert total("crm.status.list", {"ENTITY_ID": []}) > 0  # "ignored": the condition drops out
    assert total("crm.deal.userfield.list", {"FIELD_NAME": []}) == 1
    assert total("crm.deal.userfield.list", {"%FIELD_NAME": "QB_"}) == 1  # an operator, as in every list
    world.emu.settings.empty_array_filter = "nothing"
    assert total("crm.status.list", {"ENTITY_ID": []}) == 0
    assert total("crm.deal.userfield.list", {"FIELD_NAME": []}) == 0


def test_pipelines_stages_timeline_and_duplicates(world: World) -> None:
    cats = world.call("crm.category.list", {"entityTypeId": 2}, hook=True).json()
    assert [c["name"] for c in cats["result"]["categories"]] == [
        "General",
        "Work Orders",
        "Subcontractor Projects",
    ]
    stages = world.call("crm.status.list", {"filter": {"ENTITY_ID": "DEAL_STAGE_1"}}, hook=True).json()[
        "result"
    ]
    assert stages[0]["STATUS_ID"] == "C1:NEW" and stages[-1]["SEMANTICS"] == "F"
    assert any(s["STATUS_ID"] == "C1:WON" and s["EXTRA"]["SEMANTICS"] == "success" for s in stages)
    comment = world.call(
        "crm.timeline.comment.add",
        {"fields": {"ENTITY_ID": 1, "ENTITY_TYPE": "deal", "COMMENT": "Invoice 1043 created"}},
        hook=True,
    )
    assert isinstance(comment.json()["result"], int)
    upper = world.call(
        "crm.timeline.comment.add",
        {"FIELDS": {"ENTITY_ID": 1, "ENTITY_TYPE": "deal", "COMMENT": "x"}},
        hook=True,
    )
    assert upper.status_code == 400  # only lowercase 'fields'
    phone = world.call("crm.contact.get", {"id": 12}, hook=True).json()["result"]["PHONE"][0]["VALUE"]
    found = world.call(
        "crm.duplicate.findbycomm",
        {"type": "PHONE", "values": [phone.replace(" ", "") + " ext. 12"], "entity_type": "CONTACT"},
        hook=True,
    ).json()["result"]
    assert 12 in found["CONTACT"]
    none = world.call(
        "crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["nobody@nowhere.test"]}, hook=True
    )
    assert none.json()["result"] == []


def test_catalog_needs_iblock(world: World) -> None:
    no_iblock = world.call("catalog.product.list", {"select": ["id", "iblockId", "name"]}, hook=True)
    assert no_iblock.status_code == 400
    ok = world.call(
        "catalog.product.list", {"select": ["id", "iblockId", "name"], "filter": {"iblockId": 23}}, hook=True
    ).json()
    assert ok["total"] == 8 and set(ok["result"]["products"][0]) == {"id", "iblockId", "name"}


def test_activities_list_by_owner_with_paging_and_strings(world: World) -> None:
    answer = world.call(
        "crm.activity.list",
        {"filter": {"OWNER_TYPE_ID": 2}, "order": {"ID": "DESC"}, "select": ["ID", "OWNER_ID", "COMPLETED"]},
        hook=True,
    ).json()
    assert answer["total"] == len(world.portal.store.activities) > 50 and answer["next"] == 50
    first = answer["result"][0]
    assert set(first) == {"ID", "OWNER_ID", "COMPLETED"} and first["COMPLETED"] in ("Y", "N")
    assert first["ID"] == str(max(world.portal.store.activities))
    one = world.call("crm.activity.get", {"id": first["ID"]}, hook=True).json()["result"]
    assert one["OWNER_TYPE_ID"] == "2" and one["CREATED"][-6:] in ("+01:00", "+02:00")  # Berlin, DST-aware
    none = world.call("crm.activity.list", {"filter": {"OWNER_ID": 999999}}, hook=True).json()
    assert none["result"] == [] and none["total"] == 0


def test_timeline_comments_are_listed_by_their_owner(world: World) -> None:
    """``crm.timeline.comment.list``: ``filter`` needs ``ENTITY_ID`` and ``ENTITY_TYPE``; order by ``ID``;
    50 a page (``api-reference/crm/timeline/comments/crm-timeline-comment-list.md``). A filter without
    both is refused with 400 — UNCONFIRMED: its ``INVALID_ARG_VALUE`` code and text are ours (the page lists
    only "Access denied")."""
    for text in ("first", "second"):
        fields = {"ENTITY_ID": 2, "ENTITY_TYPE": "deal", "COMMENT": text}
        added = world.call("crm.timeline.comment.add", {"fields": fields}, hook=True)
        assert added.status_code == 200, added.text
    listed = world.call(
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": 2, "ENTITY_TYPE": "deal"}, "order": {"ID": "DESC"},
         "select": ["ID", "COMMENT"]},  # fmt: skip
        hook=True,
    ).json()["result"]
    assert [c["COMMENT"] for c in listed] == ["second", "first"] and set(listed[0]) == {"ID", "COMMENT"}
    refused = world.call("crm.timeline.comment.list", {"filter": {"ENTITY_ID": 2}}, hook=True)
    assert refused.status_code == 400
