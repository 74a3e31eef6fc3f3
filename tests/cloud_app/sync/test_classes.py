"""Which QuickBooks classes a deal's document gets from the settings (pure)."""

from __future__ import annotations

from typing import Any

from cloud_app.sync.classes import choose

ROWS: list[dict[str, Any]] = [
    {"PRODUCT_ID": 1}, {"PRODUCT_ID": 7}, {"PRODUCT_ID": 0, "PRODUCT_NAME": "free text"}
]  # fmt: skip
FRESH = {"classes": [{"name": "Remodel", "active": True}, {"name": "Remodel:Kitchens", "active": True},
                     {"name": "Old Jobs", "active": False}]}  # fmt: skip


def test_the_pipelines_class_on_the_document_and_a_products_own_on_its_line() -> None:
    got = choose("3", ROWS, {"3": "Remodel", "0": "Repairs"}, {"7": "Remodel:Kitchens"}, FRESH)
    assert got.document == "Remodel" and got.lines == {2: "Remodel:Kitchens"} and got.problems == []
    assert choose("5", ROWS, {"3": "Remodel"}, {}, FRESH).document is None  # no class for that pipeline


def test_a_class_quickbooks_lacks_or_keeps_inactive_is_a_problem_with_the_fix() -> None:
    got = choose("0", ROWS, {"0": "Landscaping"}, {"1": "old jobs"}, FRESH)
    assert len(got.problems) == 2
    assert "no class “Landscaping”" in got.problems[0] and "Class List" in got.problems[0]
    assert "“old jobs” is inactive" in got.problems[1]
    assert choose("0", ROWS, {"0": "Landscaping"}, {}, None).problems == []  # not read: as set
