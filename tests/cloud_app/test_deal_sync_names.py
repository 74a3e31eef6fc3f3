"""The names a deal's sync sends QuickBooks, on the whole sandbox: identity by link, never by a cut name;
free-text rows looked up like catalog rows; no colon in a list record's name (issue 17, cases 2, 6, 10)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from .product import World, a_deal, settled, wait


def _preview(world: World, deal: int) -> tuple[str, dict[str, Any]]:
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()  # the lookup
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    ), status
    return sync_id, status["detail"]


def _confirm(world: World, sync_id: str) -> dict[str, Any]:
    answer = world.api("POST", f"/syncs/{sync_id}/confirm", json={})
    assert answer.status_code == 202, answer.text
    world.web_connector_runs()
    return settled(world, sync_id)


def _invoice_of(world: World, deal: int) -> dict[str, Any]:
    txn = world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    return world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]


def _linked_customer(world: World, deal: int) -> str | None:
    company = world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"]
    member = world.cloud.portal.member_id
    link = world.cloud.services.links.by_b24(
        member, world.cloud.services.company_file(member), "company", str(company)
    )
    return link.qb_id if link else None


def _customers_named(world: World, name: str) -> list[dict[str, Any]]:
    return world.qb_query(f"<CustomerQueryRq><FullName>{escape(name)}</FullName></CustomerQueryRq>")


def test_two_companies_sharing_their_first_41_characters_stay_two_customers(world: World) -> None:
    first = a_deal(world, "Northern Nevada Residential Construction Services", [(1, "Labor", "55.00", "1")])
    sync_id, shown = _preview(world, first)
    assert shown["customer"] == "Northern Nevada Residential Construction"  # cut to 41 on a word
    assert _confirm(world, sync_id)["state"] == "done"
    a_customer = _invoice_of(world, first)["CustomerRef"].list_id
    assert _linked_customer(world, first) == a_customer

    second = a_deal(world, "Northern Nevada Residential Construction Supply", [(1, "Labor", "55.00", "2")])
    sync_id, shown = _preview(world, second)
    # not "already in QuickBooks": the name matched only because both were cut
    assert shown["customer_action"] == "create", shown
    assert shown["customer"] != "Northern Nevada Residential Construction" and len(shown["customer"]) <= 41
    assert shown["customer"].startswith("Northern Nevada Residential")
    assert any("another" in n.lower() for n in shown["notes"]), shown["notes"]
    done = _confirm(world, sync_id)
    assert done["state"] == "done", done
    invoice = _invoice_of(world, second)
    assert invoice["CustomerRef"].list_id != a_customer  # the money is on the second company's account
    assert invoice["CustomerRef"].full_name == shown["customer"]  # exactly the name the preview showed
    assert _linked_customer(world, first) == a_customer  # the first company is still linked to its own
    assert _linked_customer(world, second) == invoice["CustomerRef"].list_id
    assert len(_customers_named(world, "Northern Nevada Residential Construction")) == 1


def test_a_customer_linked_to_another_company_is_never_taken_over(world: World) -> None:
    first = a_deal(world, "Twin Peaks Roofing", [(1, "Labor", "55.00", "1")])
    sync_id, _ = _preview(world, first)
    assert _confirm(world, sync_id)["state"] == "done"
    a_customer = _linked_customer(world, first)

    second = a_deal(world, "Twin Peaks Roofing", [(1, "Labor", "55.00", "3")])  # another company, same title
    sync_id, shown = _preview(world, second)
    assert shown["customer_action"] == "create" and shown["customer"] == "Twin Peaks Roofing (Customer)"
    assert _confirm(world, sync_id)["state"] == "done"
    assert _invoice_of(world, second)["CustomerRef"].full_name == "Twin Peaks Roofing (Customer)"
    assert _linked_customer(world, first) == a_customer
    assert _linked_customer(world, second) not in (None, a_customer)


def test_a_cut_name_taken_by_a_vendor_and_a_customer_gets_the_next_free_name(world: World) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
        "<CustomerAddRq><CustomerAdd><Name>Sierra Mountain Landscaping and Snow</Name></CustomerAdd>"
        "</CustomerAddRq><VendorAddRq><VendorAdd><Name>Sierra Mountain Landscaping (Customer)</Name>"
        "</VendorAdd></VendorAddRq></QBXMLMsgsRq></QBXML>"
    )
    deal = a_deal(world, "Sierra Mountain Landscaping and Snow Removal", [(1, "Labor", "55.00", "1")])
    sync_id, shown = _preview(world, deal)
    assert shown["customer_action"] == "create"
    assert shown["customer"] == "Sierra Mountain Landscaping (Customer 2)"
    assert _confirm(world, sync_id)["state"] == "done"
    assert _invoice_of(world, deal)["CustomerRef"].full_name == "Sierra Mountain Landscaping (Customer 2)"


def non_inventory(world: World) -> list[str]:
    return sorted(str(r["FullName"]) for r in world.qb_query("<ItemNonInventoryQueryRq/>"))


def test_free_text_rows_are_looked_up_by_name_and_made_once(world: World) -> None:
    before = non_inventory(world)
    rows = [(0, "Labor", "55.00", "2"), (0, "Site cleanup", "80.00", "1"), (0, "Site cleanup", "40.00", "1")]
    deal = a_deal(world, "Free Text Builders", rows)
    sync_id, shown = _preview(world, deal)
    labor, cleanup, again = shown["lines"]
    assert (labor["item"], labor["action"]) == ("Labor", "matched")  # QuickBooks has it: not created
    assert (cleanup["item"], cleanup["action"]) == ("Site cleanup", "create")
    assert cleanup["account"] == "Construction Income"  # what the preview says it posts to
    assert (again["item"], again["action"]) == ("Site cleanup", "create")
    done = _confirm(world, sync_id)
    assert done["state"] == "done", done
    assert non_inventory(world) == sorted([*before, "Site cleanup"])  # one item for the two rows

    second = a_deal(world, "Free Text Again", [(0, "Site cleanup", "80.00", "1")])
    sync_id, shown = _preview(world, second)
    assert [(ln["item"], ln["action"]) for ln in shown["lines"]] == [("Site cleanup", "matched")]
    assert _confirm(world, sync_id)["state"] == "done"
    assert non_inventory(world) == sorted([*before, "Site cleanup"])


def test_colons_are_replaced_in_every_name_we_send_and_the_preview_says_so(world: World) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<ItemNonInventoryAddRq><ItemNonInventoryAdd><Name>Trim</Name><ParentRef><FullName>Lumber"
        "</FullName></ParentRef><SalesOrPurchase><Price>2.50</Price><AccountRef><FullName>"
        "Construction Income</FullName></AccountRef></SalesOrPurchase></ItemNonInventoryAdd>"
        "</ItemNonInventoryAddRq></QBXMLMsgsRq></QBXML>"
    )
    rows = [
        (0, "Pipe 3:4 brass", "9.99", "2"),
        (7, "Slab:Type A", "25.00", "1"),
        (0, "Lumber: Trim", "2.5", "4"),
    ]
    deal = a_deal(world, "Acme: West Division", rows)
    sync_id, shown = _preview(world, deal)
    assert shown["customer"] == "Acme - West Division"
    assert [(ln["item"], ln["action"]) for ln in shown["lines"]] == [
        ("Pipe 3-4 brass", "create"),
        ("Slab-Type A", "create"),
        ("Lumber:Trim", "matched"),  # a colon naming QuickBooks' own hierarchy finds that item
    ]
    colon_notes = [n for n in shown["notes"] if "colon" in n]
    assert len(colon_notes) == 3, shown["notes"]  # the customer and both rows
    done = _confirm(world, sync_id)
    assert done["state"] == "done", done
    assert len(_customers_named(world, "Acme - West Division")) == 1
    assert {"Pipe 3-4 brass", "Slab-Type A"} <= set(non_inventory(world))
    lines = world.qb_query(
        f"<InvoiceQueryRq><TxnID>{_invoice_of(world, deal)['TxnID']}</TxnID>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )[0]["InvoiceLineRet"]
    assert [ln["Desc"] for ln in lines] == ["Pipe 3:4 brass", "Slab:Type A", "Lumber: Trim"]  # text keeps it


def test_an_item_linked_to_one_product_is_used_but_never_moved_to_another(world: World) -> None:
    first = a_deal(world, "Slab Buyers One", [(7, "Concrete Slab", "25.00", "1")])
    sync_id, _ = _preview(world, first)
    assert _confirm(world, sync_id)["state"] == "done"
    member = world.cloud.portal.member_id
    links, file = world.cloud.services.links, world.cloud.services.company_file(member)
    slab = links.by_b24(member, file, "product", "7")
    assert slab is not None

    second = a_deal(world, "Slab Buyers Two", [(8, "Concrete Slab", "27.00", "1")])  # another product
    sync_id, shown = _preview(world, second)
    assert [(ln["item"], ln["action"]) for ln in shown["lines"]] == [("Concrete Slab", "matched")]
    assert _confirm(world, sync_id)["state"] == "done"
    assert links.by_qb(member, file, "item", slab.qb_id).b24_id == "7"  # type: ignore[union-attr]
    assert links.by_b24(member, file, "product", "8") is None


def test_a_customer_linked_elsewhere_between_preview_and_confirm_gets_no_document(world: World) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<CustomerAddRq><CustomerAdd><Name>Raced Roofing</Name></CustomerAdd></CustomerAddRq>"
        "</QBXMLMsgsRq></QBXML>"
    )
    deal = a_deal(world, "Raced Roofing", [(1, "Labor", "55.00", "1")])
    sync_id, shown = _preview(world, deal)
    assert shown["customer_action"] == "matched"  # whole name, unlinked: it is this company's
    from cloud_app.links import Link

    member = world.cloud.portal.member_id
    links, file = world.cloud.services.links, world.cloud.services.company_file(member)
    found = _customers_named(world, "Raced Roofing")[0]
    links.link(member, file, Link("customer", found["ListID"], "Raced Roofing", "contact", "424242"))
    answer = world.api("POST", f"/syncs/{sync_id}/confirm", json={})
    status = settled(world, sync_id) if answer.status_code == 202 else {"state": "refused"}
    assert status["state"] in ("failed", "refused"), status
    assert links.by_qb(member, file, "customer", found["ListID"]).b24_id == "424242"  # type: ignore[union-attr]
    if world.agent.queue.depth()["pending"]:  # whatever was queued reaches QuickBooks
        world.web_connector_runs()
    invoices = world.qb_query(
        "<InvoiceQueryRq><EntityFilter><FullName>Raced Roofing</FullName></EntityFilter></InvoiceQueryRq>"
    )
    assert invoices == []
