"""A new customer's custom fields from its Bitrix24 record (cloud_app/sync/custom_fields.py): QuickBooks'
limits checked before sending, each refusal with its fix."""

from __future__ import annotations

import pytest

from cloud_app.sync.custom_fields import check_mapping, choose, text_of
from shared.qbxml.builder import MessageSet, build, validate


def defined(*names: str, objects: tuple[str, ...] = ("Customer",)) -> dict[str, object]:
    return {"custom_fields": [{"name": n, "objects": list(objects)} for n in names]}


def test_values_go_to_the_fields_quickbooks_has_and_new_ones_are_defined_first() -> None:
    record = {"UF_CRM_A": "West", "UF_CRM_B": ["x", "y"], "UF_CRM_C": ""}
    mapping = {"UF_CRM_A": "region", "UF_CRM_B": "Tags", "UF_CRM_C": "Empty"}
    chosen = choose(record, mapping, defined("Region"))
    assert chosen.values == [("Region", "West"), ("Tags", "x, y")]  # QuickBooks' spelling; nothing for ""
    assert chosen.new == ["Tags"] and chosen.problems == []
    requests = chosen.requests("Acme")
    assert [r.request_id for r in requests] == ["cfdef-0", "cf-0", "cf-1"]
    assert validate(MessageSet(requests), version="13.0") == []
    xml = build(MessageSet(requests), version="13.0").xml
    assert "<OwnerID>0</OwnerID>" in xml and "<ListDataExtType>Customer</ListDataExtType>" in xml


def test_quickbooks_limits_are_refused_with_the_fix() -> None:
    thirty = defined(*(f"F{n}" for n in range(30)), objects=("Vendor",))
    assert "already keeps 30" in choose({"UF_CRM_A": "v"}, {"UF_CRM_A": "New"}, thirty).problems[0]
    twelve = defined(*(f"F{n}" for n in range(12)))
    assert (
        "already keeps 12 for customers" in choose({"UF_CRM_A": "v"}, {"UF_CRM_A": "New"}, twelve).problems[0]
    )
    vendors = defined("Region", objects=("Vendor",))
    assert "not for customers" in choose({"UF_CRM_A": "v"}, {"UF_CRM_A": "Region"}, vendors).problems[0]
    long = choose({"UF_CRM_A": "x" * 256}, {"UF_CRM_A": "Region"}, defined("Region")).problems
    assert "256 characters" in long[0] and "at most 255" in long[0]
    assert "did not say" in choose({"UF_CRM_A": "v"}, {"UF_CRM_A": "Region"}, None).problems[0]
    assert choose({}, {"UF_CRM_A": "Region"}, None).problems == []  # nothing to set: nothing to ask


def test_text_quickbooks_cannot_store_is_written_in_latin_letters_with_a_note() -> None:
    chosen = choose({"UF_CRM_A": "Москва"}, {"UF_CRM_A": "City"}, defined("City"))
    assert chosen.values == [("City", "Moskva")] and "Latin letters" in chosen.notes[0]


def test_the_setting_names_fields_by_code_and_stays_within_quickbooks_limits() -> None:
    assert check_mapping({"UF_CRM_5": " Region "}) == {"UF_CRM_5": "Region"}
    for wrong in ({"uf_crm_5": "Region"}, {"UF_CRM_5": "x" * 32}, {"UF_CRM_1": "A", "UF_CRM_2": "a"},
                  {f"UF_CRM_{n}": f"F{n}" for n in range(13)}, ["UF_CRM_5"]):  # fmt: skip
        with pytest.raises(ValueError):
            check_mapping(wrong)
    assert text_of(None) == "" and text_of(True) == "True" and text_of({"VALUE": "v"}) == "v"
