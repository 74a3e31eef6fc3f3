"""Sales tax by the admin's mapping of Bitrix24 VAT rates to QuickBooks tax codes and items: QuickBooks
computes the tax, the deal's tab shows QuickBooks' total to the cent and how far it is from the deal's own;
a rate with no mapping is refused in the preview with the fix, before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cloud_app.sync import salestax

from .product import World, settled
from .test_classes import previewed

MAPPING = {"7.75": {"code": "Tax", "item": "San Tomas"}, "0": {"code": "Non"}}


def taxed_deal(world: World, company: str, rows: list[tuple[str, str, str, str, str]]) -> int:
    """rows: (name, price, quantity, VAT rate, tax included Y/N)."""
    client = world.cloud.client()
    company_id = client.call("crm.company.add", {"fields": {"TITLE": company}})
    deal = client.call(
        "crm.deal.add", {"fields": {"TITLE": company, "COMPANY_ID": company_id, "CURRENCY_ID": "USD"}}
    )
    client.call("crm.deal.productrows.set", {"id": deal, "rows": [
        {"PRODUCT_ID": 1 if name == "Labor" else 7, "PRODUCT_NAME": name, "PRICE": price, "QUANTITY": qty,
         "TAX_RATE": rate, "TAX_INCLUDED": included}
        for name, price, qty, rate, included in rows
    ]})  # fmt: skip
    return int(deal)


def test_mapped_rates_set_each_lines_code_and_the_documents_tax_item_and_the_tab_shows_quickbooks_total(
    world: World,
) -> None:
    assert world.api("POST", "/settings", json={"tax.rates": MAPPING}).status_code == 200
    deal = taxed_deal(world, "Taxed Cabinets", [("Cabinet install", "333.33", "3", "7.75", "N"),
                                                ("Labor", "55.00", "2", "0", "N")])  # fmt: skip
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is True and detail["tax_item"] == "San Tomas"
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    inv: dict[str, Any] = world.qb_query(
        "<InvoiceQueryRq><EntityFilter><FullName>Taxed Cabinets</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )[0]
    assert inv["ItemSalesTaxRef"].full_name == "San Tomas"
    assert [ln["SalesTaxCodeRef"].full_name for ln in inv["InvoiceLineRet"]] == ["Tax", "Non"]
    assert inv["SalesTaxTotal"] == Decimal("77.50")  # QuickBooks' 7.75% of 999.99, rounded its way
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]
    qb_total = inv["Subtotal"] + inv["SalesTaxTotal"]
    assert tab["total"] == f"{qb_total}" and tab["bitrix24_total"] == detail["total"]
    assert Decimal(tab["difference"]) == qb_total - Decimal(detail["total"])


def test_a_rate_with_no_mapping_is_refused_with_the_fix_before_anything_is_sent(world: World) -> None:
    assert world.api("POST", "/settings", json={"tax.rates": MAPPING}).status_code == 200
    deal = taxed_deal(world, "Eighteen Percent Ltd", [("Labor", "100.00", "1", "18", "Y")])
    _, detail = previewed(world, deal)
    assert detail["can_send"] is False
    assert any(
        "VAT 18% has no QuickBooks tax code" in p and "Settings → Sales tax" in p for p in detail["problems"]
    )
    assert (
        world.qb_query("<CustomerQueryRq><FullName>Eighteen Percent Ltd</FullName></CustomerQueryRq>") == []
    )
    missing = {"7.75": {"code": "Tax", "item": "Nowhere County"}}
    assert world.api("POST", "/settings", json={"tax.rates": missing}).status_code == 200
    deal = taxed_deal(world, "Nowhere Taxes Inc", [("Labor", "10.00", "1", "7.75", "N")])
    _, detail = previewed(world, deal)
    assert any("no sales tax item “Nowhere County”" in p for p in detail["problems"])


@pytest.mark.parametrize(
    ("mapping", "said"),
    [
        ({"x": {"code": "Tax"}}, "not one"),
        ({"20": {"item": "VAT"}}, "needs a QuickBooks tax code"),
        ({"20": {"code": "TAXABLE"}}, "at most 3 characters"),
        ({"120": {"code": "Tax"}}, "between 0 and 100"),
    ],
)
def test_a_wrong_mapping_is_refused_with_what_is_wrong(mapping: dict[str, Any], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        salestax.check_mapping(mapping)


def test_rates_are_one_whatever_their_spelling_and_two_tax_items_cannot_share_a_document() -> None:
    assert (
        salestax.rate_key("20.00") == salestax.rate_key(20) == "20" and salestax.rate_key("7.750") == "7.75"
    )
    mapping = {"20": {"code": "Tax", "item": "VAT 20"}, "10": {"code": "Tax", "item": "VAT 10"}}
    got = salestax.choose([(1, "A", Decimal(20)), (2, "B", Decimal("10.0"))], mapping, None)
    assert got.item is None and "one tax item to a document" in got.problems[0]
