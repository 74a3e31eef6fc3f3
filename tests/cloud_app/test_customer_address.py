"""The customer a deal sync proposes takes its address from the company's own requisite — never another's.

The address is read in one batch chained by ``$result[req][0][ID]``. When the company has no requisite,
Bitrix24 substitutes the reference as what it reached — an empty array (``CRestUtil::processBatchElement``,
contract errata 4) — and the address list may answer as if unfiltered (the emulator's default,
``Settings.empty_array_filter="ignored"``): the first requisite address of the whole portal.
"""

from __future__ import annotations

from pathlib import Path

from cloud_app.deal_sync import customer_for

from .harness import running_cloud


def test_a_company_without_a_requisite_gets_no_address_not_another_companys(tmp_path: Path) -> None:
    with running_cloud(tmp_path) as cloud:
        cloud.install()
        client = cloud.client()
        with_address = client.call("crm.company.add", {"fields": {"TITLE": "Harbor Supply"}})
        rid = client.call(
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": with_address, "PRESET_ID": 1, "NAME": "Harbor"}},
        )
        client.call(
            "crm.address.add",
            {
                "fields": {
                    "TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": rid,
                    "ADDRESS_1": "1 Dock Road", "CITY": "Portsmouth", "POSTAL_CODE": "03801",
                }
            },
        )  # fmt: skip
        bare = client.call("crm.company.add", {"fields": {"TITLE": "Bare Naked Ltd"}})
        services, member = cloud.services, cloud.portal.member_id

        # the portal itself: with the reference empty, the address list answers other records' rows
        raw = client.batch(
            {
                "req": ("crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": bare}}),
                "addr": (
                    "crm.address.list",
                    {"filter": {"ENTITY_TYPE_ID": 8, "ENTITY_ID": "$result[req][0][ID]"}},
                ),
            }
        )
        assert raw.result["req"] == [] and raw.result["addr"], "the emulator must show the hazard"

        shown, _ = customer_for(services, member, "", {"COMPANY_ID": str(bare)})
        assert shown["name"] == "Bare Naked Ltd"
        assert "BillAddress" not in shown["fields"] and "ShipAddress" not in shown["fields"]
        assert "1 Dock Road" not in str(shown)

        own, _ = customer_for(services, member, "", {"COMPANY_ID": str(with_address)})
        assert "1 Dock Road" in str(own["fields"]) and "Portsmouth" in str(own["fields"])
