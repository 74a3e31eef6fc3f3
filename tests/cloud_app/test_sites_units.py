"""Inventory sites and units of measure (issue 25), where the company uses them: the pipeline's site on the
document's inventory lines, a Bitrix24 row's measure as its line's unit when the item has that unit; a site
or unit QuickBooks would refuse is refused in the preview, before anything is sent."""

from __future__ import annotations

from typing import Any

from cloud_app.b24_placement.server_words import MISSED

from .product import World, a_deal, settled
from .test_classes import previewed
from .test_voids import QB

UOM = (
    "<UnitOfMeasureSetAddRq><UnitOfMeasureSetAdd><Name>Count</Name><UnitOfMeasureType>Count"
    "</UnitOfMeasureType><BaseUnit><Name>each</Name><Abbreviation>ea</Abbreviation></BaseUnit><RelatedUnit>"
    "<Name>box</Name><Abbreviation>bx</Abbreviation><ConversionRatio>10</ConversionRatio></RelatedUnit>"
    "</UnitOfMeasureSetAdd></UnitOfMeasureSetAddRq>"
)


def in_boxes(world: World, item: str) -> None:
    """The bookkeeper gives the item the "Count" unit of measure set."""
    [ret] = world.qb_query(f"<ItemInventoryQueryRq><FullName>{item}</FullName></ItemInventoryQueryRq>")
    world.qb.process(QB.format(
        f"<ItemInventoryModRq><ItemInventoryMod><ListID>{ret['ListID']}</ListID><EditSequence>"
        f"{ret['EditSequence']}</EditSequence><UnitOfMeasureSetRef><FullName>Count</FullName>"
        "</UnitOfMeasureSetRef></ItemInventoryMod></ItemInventoryModRq>"))  # fmt: skip


def measured(world: World, deal: int, code: int) -> None:
    client = world.cloud.client()
    rows = client.call("crm.deal.productrows.get", {"id": deal})
    client.call("crm.deal.productrows.set", {"id": deal, "rows": [
        {"PRODUCT_ID": r["PRODUCT_ID"], "PRODUCT_NAME": r["PRODUCT_NAME"], "PRICE": str(r["PRICE"]),
         "QUANTITY": str(r["QUANTITY"]), "MEASURE_CODE": code} for r in rows]})  # fmt: skip


def lines_of(world: World, customer: str) -> list[dict[str, Any]]:
    [invoice] = world.qb_query(
        f"<InvoiceQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )
    found: Any = invoice["InvoiceLineRet"]
    return list(found if isinstance(found, list) else [found])


def test_the_pipelines_site_and_the_rows_unit_go_on_the_lines_that_can_have_them(world: World) -> None:
    world.qb.process(QB.format(UOM))
    in_boxes(world, "Cabinets")
    site = "<InventorySiteAdd><Name>Main Warehouse</Name></InventorySiteAdd>"
    world.qb.process(QB.format(f"<InventorySiteAddRq>{site}</InventorySiteAddRq>"))
    with world.qb.lock:
        world.qb.company.multi_location = True  # Advanced Inventory's multiple locations, on
    changed = world.api("POST", "/settings", json={"site.pipelines": {"0": "Main Warehouse"},
                                                   "units.measures": {"778": "box"}})  # fmt: skip
    assert changed.status_code == 200, changed.text
    deal = a_deal(world, "Sited Builders", [(1, "Labor", "55.00", "2"), (2, "Cabinets", "125.00", "3")])
    measured(world, deal, 778)  # Bitrix24's code for a package
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is True, detail["problems"]
    assert [(ln["site"], ln["unit"]) for ln in detail["lines"]] == [(None, None), ("Main Warehouse", "box")]
    assert any("“Labor” has no unit of measure" in n for n in detail["notes"])  # a service: left as it is
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    labor, cabinets = lines_of(world, "Sited Builders")
    assert labor.get("InventorySiteRef") is None and labor.get("UnitOfMeasure") is None
    assert cabinets["InventorySiteRef"].full_name == "Main Warehouse" and cabinets["UnitOfMeasure"] == "box"


def test_a_site_or_unit_quickbooks_would_refuse_is_refused_with_the_fix(world: World) -> None:
    world.qb.process(QB.format(UOM))
    in_boxes(world, "Cabinets")
    chosen = {"site.pipelines": {"0": "Main Warehouse"}, "units.measures": {"778": "pallet"}}
    assert world.api("POST", "/settings", json=chosen).status_code == 200
    deal = a_deal(world, "Refused Sites Co", [(2, "Cabinets", "125.00", "1")])
    measured(world, deal, 778)
    MISSED.clear()
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is False
    problems = detail["problems"]
    russian = world.api("GET", f"/syncs/{sync_id}", headers={"X-Lang": "ru"}).json()["detail"]["problems"]
    assert any(p.startswith("Склад: QuickBooks не ведёт запасы по складам") for p in russian), russian
    assert any(p.startswith("Строка 1: «pallet» не входит") for p in russian), russian
    assert MISSED == set(), MISSED
    assert any("multiple locations are off" in p and "Advanced Inventory Settings" in p for p in problems)
    assert any("“pallet” is not one of the units of the item “Cabinets”" in p for p in problems), problems
    world.api("POST", f"/syncs/{sync_id}/confirm", json={})
    assert settled(world, sync_id)["state"] == "failed"
    assert world.qb_query("<CustomerQueryRq><FullName>Refused Sites Co</FullName></CustomerQueryRq>") == []

    with world.qb.lock:
        world.qb.company.multi_location = True
    _, detail = previewed(world, deal)
    assert any("no inventory site “Main Warehouse”" in p for p in detail["problems"]), detail["problems"]
    too_long = world.api("POST", "/settings", json={"site.pipelines": {"0": "x" * 32}})
    assert too_long.status_code == 400
