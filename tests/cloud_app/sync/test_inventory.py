"""Inventory sites and units of measure on lines (cloud_app/sync/inventory.py)."""

from __future__ import annotations

from typing import Any

from cloud_app.sync.inventory import choose

ROWS = [{"MEASURE_CODE": 796}, {"MEASURE_CODE": 778}, {"MEASURE_CODE": 778}]
ITEMS: dict[int, str | None] = {1: "Labor", 2: "Cabinets", 3: None}  # row 3: an item the sync creates


def answers(**over: Any) -> dict[str, Any]:
    fresh = {
        "multi_location": True,
        "sites": [{"name": "Main", "active": True}, {"name": "Old", "active": False}],
        "unit_sets": [{"name": "Count", "units": ["each", "ea", "box", "bx"]}],
        "items": {"labor": {"inventory": False, "uom_set": None},
                  "cabinets": {"inventory": True, "uom_set": "Count"}},
    }  # fmt: skip
    return {**fresh, **over}


def test_the_site_goes_on_inventory_lines_and_the_unit_where_the_items_set_has_it() -> None:
    placed = choose("0", ROWS, ITEMS, {"0": "main"}, {"778": "BX"}, answers())
    assert placed.sites == {2: "main"} and placed.units == {2: "BX"} and placed.problems == []
    assert choose("5", ROWS, ITEMS, {"0": "Main"}, {}, answers()).sites == {}  # another pipeline: none


def test_a_company_without_units_or_a_site_setting_changes_nothing() -> None:
    placed = choose("0", ROWS, ITEMS, {}, {"778": "box"}, answers(unit_sets=[]))
    assert (placed.sites, placed.units, placed.problems, placed.notes) == ({}, {}, [], [])


def test_what_quickbooks_would_refuse_is_a_problem_with_its_fix() -> None:
    off = choose("0", ROWS, ITEMS, {"0": "Main"}, {}, answers(multi_location=False)).problems
    assert "multiple locations are off" in off[0] and "Advanced Inventory Settings" in off[0]
    assert "no inventory site “Annex”" in choose("0", ROWS, ITEMS, {"0": "Annex"}, {}, answers()).problems[0]
    assert "inactive" in choose("0", ROWS, ITEMS, {"0": "Old"}, {}, answers()).problems[0]
    assert "did not say" in choose("0", ROWS, ITEMS, {"0": "Main"}, {}, None).problems[0]
    wrong = choose("0", ROWS, ITEMS, {}, {"778": "pallet"}, answers()).problems
    assert wrong == [
        "Row 2: “pallet” is not one of the units of the item “Cabinets” in QuickBooks (its set “Count”: "
        "each, ea, box, bx). Choose another in the app's Settings, or add it to the set in QuickBooks "
        "(Lists → U/M Set List)."
    ]
