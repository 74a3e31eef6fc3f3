"""Classes (job costing) on a deal's document from the settings: the pipeline's on the document, a
product's own on its lines; a class QuickBooks lacks is refused in the preview, before anything is sent."""

from __future__ import annotations

from typing import Any

from .product import World, a_deal, settled, wait
from .test_voids import QB


def previewed(world: World, deal: int) -> tuple[str, dict[str, Any]]:
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()  # the lookup, with QuickBooks' class list
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    )
    return sync_id, status["detail"]


def test_the_pipelines_class_goes_on_the_document_and_a_products_class_on_its_line(world: World) -> None:
    world.qb.process(QB.format(
        "<ClassAddRq><ClassAdd><Name>Kitchens</Name><ParentRef><FullName>Remodel</FullName></ParentRef>"
        "</ClassAdd></ClassAddRq>"))  # fmt: skip
    changed = world.api(
        "POST",
        "/settings",
        json={"class.pipelines": {"0": "Remodel"}, "class.products": {"7": "Remodel:Kitchens"}},
    )
    assert changed.status_code == 200, changed.text
    deal = a_deal(
        world, "Classy Kitchens", [(1, "Labor", "55.00", "2"), (7, "Cabinet install", "300.00", "1")]
    )
    sync_id, detail = previewed(world, deal)
    assert detail["class"] == "Remodel"  # the preview says what will be set
    assert [ln["class"] for ln in detail["lines"]] == [None, "Remodel:Kitchens"]
    assert detail["can_send"] is True
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    invoice = world.qb_query(
        "<InvoiceQueryRq><EntityFilter><FullName>Classy Kitchens</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )[0]
    assert invoice["ClassRef"].full_name == "Remodel"
    lines = invoice["InvoiceLineRet"]
    assert [ln.get("ClassRef").full_name if ln.get("ClassRef") else None for ln in lines] == [
        None, "Remodel:Kitchens"
    ]  # fmt: skip


def test_a_class_quickbooks_does_not_have_is_refused_with_the_fix_and_nothing_is_sent(world: World) -> None:
    assert world.api("POST", "/settings", json={"class.pipelines": {"0": "Landscaping"}}).status_code == 200
    assert world.api("POST", "/settings", json={"class.pipelines": {"0": "x" * 160}}).status_code == 400
    deal = a_deal(world, "No Such Class Co", [(1, "Labor", "55.00", "1")])
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is False
    assert any("QuickBooks has no class “Landscaping”" in p and "Class List" in p for p in detail["problems"])
    world.api("POST", f"/syncs/{sync_id}/confirm", json={})  # confirmed anyway: not sent
    done = settled(world, sync_id)
    assert done["state"] == "failed" and "Landscaping" in done["outcome"]
    assert world.qb_query("<CustomerQueryRq><FullName>No Such Class Co</FullName></CustomerQueryRq>") == []

    world.qb.process(QB.format("<ClassAddRq><ClassAdd><Name>Landscaping</Name></ClassAdd></ClassAddRq>"))
    _, detail = previewed(world, deal)  # the bookkeeper added it: the next lookup sees that
    assert detail["can_send"] is True and detail["class"] == "Landscaping"
