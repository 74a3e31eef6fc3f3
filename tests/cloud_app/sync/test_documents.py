"""A deal's "Sync to QuickBooks" preview and the message set QuickBooks will receive."""

from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from cloud_app.sync.customers import CustomerDraft
from cloud_app.sync.documents import (
    DocumentPlan,
    Settings,
    item_lookups,
    item_name,
    marker,
    plan_document,
    row_key,
)
from shared.qbxml.builder import build
from shared.qbxml.values import Ref

DEAL = {"ID": "74", "TITLE": "Kitchen remodel — Ruiz"}
ROWS = [
    {"PRODUCT_ID": 450, "PRODUCT_NAME": "Framing labor", "PRICE": 60.14, "PRICE_EXCLUSIVE": 55.5,
     "QUANTITY": 2, "TAX_RATE": 8.375},
    {"PRODUCT_ID": 0, "PRODUCT_NAME": "Дополнительные материалы", "PRICE_EXCLUSIVE": "19.99", "QUANTITY": 3,
     "TAX_RATE": None},
]  # fmt: skip


def plan(**kw: Any) -> DocumentPlan:
    args: dict[str, Any] = dict(
        kind="Invoice", deal=DEAL, rows=ROWS, customer=Ref("80000001-1", "Ruiz, Anna"),
        items={"P450": "Labor:Framing"}, today=date(2026, 11, 25), job_id="job-1",
    )  # fmt: skip
    args.update(kw)
    return plan_document(**args)


def test_preview_shows_lines_items_and_totals() -> None:
    p = plan()
    assert p.can_send, p.problems
    assert [(ln.item, ln.item_action) for ln in p.lines] == [
        ("Labor:Framing", "matched"),
        ("Dopolnitelnye materialy", "create"),
    ]
    assert p.lines[0].amount == Decimal("111.00") and p.lines[1].amount == Decimal("59.97")
    assert p.subtotal == Decimal("170.97")
    assert p.tax == Decimal("9.30")  # 8.375 % of 111.00, rounded half up
    assert any("transliterated" in n for n in p.notes)


def test_one_message_set_in_dependency_order_that_quickbooks_accepts() -> None:
    draft = CustomerDraft({"Name": "Ruiz, Anna", "FirstName": "Anna", "LastName": "Ruiz"})
    p = plan(customer=draft)
    assert p.customer_action == "create"
    built = build(p.message_set("set-74-1"))
    msgs = etree.fromstring(built.xml.encode())[0]
    assert msgs.get("onError") == "stopOnError" and msgs.get("newMessageSetID") == "set-74-1"
    assert [rq.tag for rq in msgs] == ["CustomerAddRq", "ItemNonInventoryAddRq", "InvoiceAddRq"]
    inv = msgs[2][0]
    assert inv.findtext("CustomerRef/FullName") == "Ruiz, Anna"
    assert [ln.findtext("ItemRef/FullName") for ln in inv.findall("InvoiceLineAdd")] == [
        "Labor:Framing",
        "Dopolnitelnye materialy",
    ]
    assert inv.findtext("InvoiceLineAdd/Rate") == "55.5"
    assert inv.findtext("InvoiceLineAdd/SalesTaxCodeRef/FullName") == "Tax"
    assert inv.findall("InvoiceLineAdd")[1].findtext("SalesTaxCodeRef/FullName") == "Non"
    assert inv.findtext("ExternalGUID") == marker("74", "job-1")
    assert inv.findtext("Memo").startswith("Bitrix24 deal #74")


def test_estimates_and_sales_orders_use_their_own_requests() -> None:
    for kind in ("Estimate", "SalesOrder"):
        p = plan(kind=kind, items={"P450": "Labor:Framing", "NДополнительные материалы": "Materials"})
        assert [r.name for r in p.requests] == [f"{kind}AddRq"]
        assert p.can_send


def test_problems_are_found_before_sending() -> None:
    p = plan(rows=[], customer=CustomerDraft({}))
    assert not p.can_send
    assert any("no products" in x for x in p.problems) and any("no client" in x for x in p.problems)
    strict = plan(settings=Settings(create_missing_items=False))
    assert any("has no QuickBooks item" in x for x in strict.problems)
    old = plan(kind="SalesOrder", version="2.0")  # sales orders arrived in qbXML 2.1
    assert any("needs qbXML" in x for x in old.problems)


def test_the_same_product_twice_creates_one_item_and_the_marker_is_stable() -> None:
    p = plan(rows=[ROWS[1], ROWS[1]])
    assert [r.name for r in p.requests].count("ItemNonInventoryAddRq") == 1
    assert marker("74", "job-1") == marker("74", "job-1") != marker("74", "job-2")


def _text_row(name: str, price: str = "10") -> dict[str, object]:
    return {"PRODUCT_ID": 0, "PRODUCT_NAME": name, "PRICE_EXCLUSIVE": price, "QUANTITY": 1}


def test_a_free_text_row_quickbooks_has_an_item_for_is_matched_not_created() -> None:
    rows = [_text_row("Labor")]
    p = plan(rows=rows, items={row_key(rows[0]): "Labor"})
    assert [(ln.item, ln.item_action, ln.account) for ln in p.lines] == [("Labor", "matched", None)]
    assert [r.name for r in p.requests] == ["InvoiceAddRq"]


def test_rows_whose_names_fit_to_one_item_name_make_one_item_posting_to_the_income_account() -> None:
    rows = [_text_row("Site cleanup"), _text_row("Site cleanup", "20"), _text_row("site cleanup")]
    p = plan(rows=rows, items={}, settings=Settings(income_account="Other Income"))
    assert [r.name for r in p.requests] == ["ItemNonInventoryAddRq", "InvoiceAddRq"]
    assert {ln.item for ln in p.lines} == {"Site cleanup"}
    assert {ln.account for ln in p.lines} == {"Other Income"}
    assert p.requests[0].fields["ItemNonInventoryAdd"]["SalesOrPurchase"]["AccountRef"] == "Other Income"


def test_an_item_name_gets_no_colon_and_the_note_says_so() -> None:
    rows = [_text_row("Pipe 3:4 brass")]
    p = plan(rows=rows, items={})
    assert p.lines[0].item == "Pipe 3-4 brass"
    assert p.requests[0].fields["ItemNonInventoryAdd"]["Name"] == "Pipe 3-4 brass"
    assert any(n.startswith("Row 1 item") and "colon" in n for n in p.notes)
    assert item_name("Pipe 3:4 brass").value == "Pipe 3-4 brass"


def test_an_item_is_looked_up_by_its_quickbooks_path_first_then_by_the_name_we_would_give_it() -> None:
    assert item_lookups("Lumber: Trim") == ["Lumber:Trim", "Lumber - Trim"]
    assert item_lookups("Site cleanup") == ["Site cleanup"]
    assert item_lookups("A very long free text row name that is cut") == ["A very long free text row name"]
