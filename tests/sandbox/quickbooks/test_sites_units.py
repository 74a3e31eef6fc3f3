"""Inventory sites and units of measure on document lines (Enterprise's Advanced Inventory; UOM sets)."""

from __future__ import annotations

from lxml import etree

from sandbox.quickbooks import SimulatedQuickBooks

from .helpers import add_customer, doc, fresh, invoice, ok, run

UOM = (
    "<UnitOfMeasureSetAddRq><UnitOfMeasureSetAdd><Name>Count</Name><UnitOfMeasureType>Count"
    "</UnitOfMeasureType><BaseUnit><Name>each</Name><Abbreviation>ea</Abbreviation></BaseUnit><RelatedUnit>"
    "<Name>box</Name><Abbreviation>bx</Abbreviation><ConversionRatio>10</ConversionRatio></RelatedUnit>"
    "</UnitOfMeasureSetAdd></UnitOfMeasureSetAddRq>"
)
SITE = "<InventorySiteRef><FullName>Main</FullName></InventorySiteRef>"


def line(extra: str) -> str:
    return (
        "<InvoiceLineAdd><ItemRef><FullName>Cabinets</FullName></ItemRef><Quantity>2</Quantity>"
        f"{extra}</InvoiceLineAdd>"
    )


def attempt(qb: SimulatedQuickBooks, extra: str) -> etree._Element:
    body = f"<CustomerRef><FullName>Acme</FullName></CustomerRef>{line(extra)}"
    return run(qb, doc(f"<InvoiceAddRq><InvoiceAdd>{body}</InvoiceAdd></InvoiceAddRq>"))[0]


def test_a_line_names_a_site_only_with_multiple_locations_on() -> None:
    """qbxmlops140.xml: PreferencesRet/MultiLocationInventoryPreferences and InvoiceLineAdd/InventorySiteRef
    (v10.0); a feature that is off answers 3250 (contract §7; text UNCONFIRMED)."""
    qb = fresh()
    add_customer(qb, "Acme")
    ok(
        run(
            qb,
            doc(
                "<InventorySiteAddRq><InventorySiteAdd><Name>Main</Name></InventorySiteAdd></InventorySiteAddRq>"
            ),
        )[0]
    )
    prefs = ok(run(qb, doc("<PreferencesQueryRq/>"))[0])[0]
    assert prefs.findtext("MultiLocationInventoryPreferences/IsMultiLocationInventoryEnabled") == "false"
    assert attempt(qb, SITE).get("statusCode") == "3250"
    qb.company.multi_location = True
    inv = invoice(qb, "Acme", line(SITE))
    assert inv.findtext("InvoiceLineRet/InventorySiteRef/FullName") == "Main"


def test_a_lines_unit_is_one_of_its_items_unit_of_measure_set() -> None:
    """qbxmlops140.xml UnitOfMeasureSetRet (BaseUnit, RelatedUnit with Name and Abbreviation) and
    InvoiceLineAdd/UnitOfMeasure; a unit outside the item's set is refused (code and text UNCONFIRMED)."""
    qb = fresh()
    add_customer(qb, "Acme")
    ok(run(qb, doc(UOM))[0])
    assert (
        attempt(qb, "<UnitOfMeasure>box</UnitOfMeasure>").get("statusCode") == "3210"
    )  # the item has no set
    found = run(qb, doc("<ItemNonInventoryQueryRq><FullName>Cabinets</FullName></ItemNonInventoryQueryRq>"))
    cabinets = ok(found[0])[0]
    mod = (
        f"<ListID>{cabinets.findtext('ListID')}</ListID><EditSequence>{cabinets.findtext('EditSequence')}"
        "</EditSequence><UnitOfMeasureSetRef><FullName>Count</FullName></UnitOfMeasureSetRef>"
    )
    ok(
        run(
            qb,
            doc(
                f"<ItemNonInventoryModRq><ItemNonInventoryMod>{mod}</ItemNonInventoryMod></ItemNonInventoryModRq>"
            ),
        )[0]
    )
    inv = invoice(qb, "Acme", line("<UnitOfMeasure>bx</UnitOfMeasure>"))
    assert inv.findtext("InvoiceLineRet/UnitOfMeasure") == "bx"
    assert attempt(qb, "<UnitOfMeasure>pallet</UnitOfMeasure>").get("statusCode") == "3210"
