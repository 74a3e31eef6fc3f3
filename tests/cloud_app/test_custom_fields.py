"""Custom fields (issue 25): chosen company/contact fields become the custom fields of the customer a deal's
sync creates — defined in QuickBooks first when it has room — and what QuickBooks' limits would refuse is
refused in the preview, with the reason and the fix, before anything is sent."""

from __future__ import annotations

from typing import Any

from cloud_app.b24_placement.server_words import MISSED

from .product import World, settled
from .test_classes import previewed
from .test_voids import QB

MAPPING = {"UF_CRM_REGION": "Region", "UF_CRM_ACCOUNT_NO": "Account Code"}


def fields(world: World) -> None:
    client = world.cloud.client()
    for name in ("REGION", "ACCOUNT_NO"):
        client.call("crm.company.userfield.add", {"fields": {"FIELD_NAME": name, "USER_TYPE_ID": "string"}})
    assert world.api("POST", "/settings", json={"custom.fields": MAPPING}).status_code == 200


def define(world: World, name: str, *objects: str) -> None:
    assigned = "".join(f"<AssignToObject>{o}</AssignToObject>" for o in objects)
    world.qb.process(QB.format(
        f"<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>{name}</DataExtName>"
        f"<DataExtType>STR255TYPE</DataExtType>{assigned}</DataExtDefAdd></DataExtDefAddRq>"))  # fmt: skip


def a_deal_of(world: World, company: str, values: dict[str, str]) -> int:
    client = world.cloud.client()
    company_id = client.call("crm.company.add", {"fields": {"TITLE": company, **values}})
    deal = client.call("crm.deal.add", {"fields": {"TITLE": f"{company} job", "COMPANY_ID": company_id,
                                                     "CURRENCY_ID": "USD"}})  # fmt: skip
    client.call("crm.deal.productrows.set", {"id": deal, "rows": [
        {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": "1"}]})  # fmt: skip
    return int(deal)


def custom_of(world: World, customer: str) -> list[tuple[str, str]]:
    [ret] = world.qb_query(
        f"<CustomerQueryRq><FullName>{customer}</FullName><OwnerID>0</OwnerID></CustomerQueryRq>"
    )
    exts: Any = ret.get("DataExtRet") or []
    exts = exts if isinstance(exts, list) else [exts]
    return [(str(e["DataExtName"]), str(e["DataExtValue"])) for e in exts]


def test_a_new_customer_gets_its_records_fields_as_quickbooks_custom_fields(world: World) -> None:
    fields(world)
    define(world, "Region", "Customer")
    deal = a_deal_of(
        world, "Custom Field Builders", {"UF_CRM_REGION": "West Coast", "UF_CRM_ACCOUNT_NO": "A-17"}
    )
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is True, detail["problems"]
    assert detail["custom_fields"] == [  # the preview says what will be set
        {"name": "Region", "value": "West Coast", "new": False},
        {"name": "Account Code", "value": "A-17", "new": True},
    ]
    assert any("“Account Code” is added" in n for n in detail["notes"])
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    # QuickBooks answers its custom fields by name, not in the order they were written
    assert custom_of(world, "Custom Field Builders") == [("Account Code", "A-17"), ("Region", "West Coast")]


def test_what_quickbooks_limits_would_refuse_is_refused_in_the_preview(world: World) -> None:
    MISSED.clear()
    fields(world)
    for n in range(12):  # QuickBooks Enterprise keeps 12 custom fields for customers
        define(world, f"Field {n}", "Customer")
    define(world, "Region", "Vendor")  # there, but not for customers
    deal = a_deal_of(world, "Full Fields Co", {"UF_CRM_REGION": "North", "UF_CRM_ACCOUNT_NO": "B-2"})
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is False
    problems = detail["problems"]
    assert any(
        "“Region”: QuickBooks has it, but not for customers" in p and "Define Fields" in p for p in problems
    )
    assert any("“Account Code”" in p and "already keeps 12 for customers" in p for p in problems), problems
    russian = world.api("GET", f"/syncs/{sync_id}", headers={"X-Lang": "ru"}).json()["detail"]["problems"]
    assert all(p.startswith("Дополнительное поле") for p in russian if "Account Code" in p or "Region" in p)
    world.api("POST", f"/syncs/{sync_id}/confirm", json={})  # confirmed anyway: nothing is sent
    assert settled(world, sync_id)["state"] == "failed"
    assert world.qb_query("<CustomerQueryRq><FullName>Full Fields Co</FullName></CustomerQueryRq>") == []
    assert MISSED == set(), MISSED

    long = a_deal_of(world, "Long Notes Co", {"UF_CRM_REGION": "x" * 256})
    assert (
        world.api("POST", "/settings", json={"custom.fields": {"UF_CRM_REGION": "Field 0"}}).status_code
        == 200
    )
    _, detail = previewed(world, long)
    assert any("256 characters" in p and "at most 255" in p for p in detail["problems"]), detail["problems"]


def test_the_setting_is_checked_against_quickbooks_limits_when_it_is_saved(world: World) -> None:
    too_many = {f"UF_CRM_F{n}": f"Field {n}" for n in range(13)}
    answer = world.api("POST", "/settings", json={"custom.fields": too_many})
    assert answer.status_code == 400 and "at most 12 custom fields for customers" in answer.text
    long_name = world.api("POST", "/settings", json={"custom.fields": {"UF_CRM_X": "y" * 32}})
    assert long_name.status_code == 400 and "31 characters" in long_name.text
    same = world.api("POST", "/settings", json={"custom.fields": {"UF_CRM_A": "Zone", "UF_CRM_B": "zone"}})
    assert same.status_code == 400
