"""QuickBooks customers and documents show up in Bitrix24 as the fields a person reads."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from cloud_app.sync.crm import (
    USER_FIELDS,
    company_update,
    contact_update,
    deal_update,
    document_status,
    timeline_text,
)
from shared.qbxml.values import Ref

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
RET = {
    "ListID": "80000001-1", "Name": "Sierra Builders", "CompanyName": "Sierra Builders LLC",
    "FirstName": "Anna", "LastName": "Ruiz", "Phone": "775-555-0100", "Fax": "775-555-0101",
    "Email": "office@sierra.example", "Balance": Decimal("100.00"), "TotalBalance": Decimal("4520"),
    "CreditLimit": Decimal("10000.00"), "TermsRef": Ref("1", "Net 30"),
    "BillAddress": {"Addr1": "1 Main St", "City": "Reno", "State": "NV", "PostalCode": "89501"},
}  # fmt: skip


def test_company_gets_title_balances_terms_and_exact_phone_operations() -> None:
    current = {"PHONE": [{"ID": "7", "VALUE_TYPE": "WORK", "VALUE": "+1 775 555 0100"}], "EMAIL": []}
    up = company_update(RET, current, "USD", NOW)
    f = up.fields
    assert f["TITLE"] == "Sierra Builders LLC"
    assert f["UF_CRM_QB_BALANCE"] == "4520.00|USD"  # jobs included
    assert f["UF_CRM_QB_CREDIT_LIMIT"] == "10000.00|USD" and f["UF_CRM_QB_TERMS"] == "Net 30"
    assert f["PHONE"] == [{"VALUE": "775-555-0101", "VALUE_TYPE": "FAX"}]  # the work phone is already there
    assert f["EMAIL"] == [{"VALUE": "office@sierra.example", "VALUE_TYPE": "WORK"}]
    assert up.address is not None and up.address["CITY"] == "Reno" and up.address["TYPE_ID"] == "6"


def test_contact_gets_its_name_parts() -> None:
    f = contact_update(RET, {}, "USD", NOW).fields
    assert (f["NAME"], f["LAST_NAME"]) == ("Anna", "Ruiz") and "TITLE" not in f


def test_invoice_status_as_people_say_it() -> None:
    today = date(2026, 11, 25)
    base = {"Subtotal": Decimal("100.00"), "BalanceRemaining": Decimal("100.00"),
            "DueDate": date(2026, 12, 1)}
    assert document_status(base, today) == "open"
    assert document_status({**base, "BalanceRemaining": Decimal("40.00")}, today) == "partially paid"
    assert document_status({**base, "DueDate": date(2026, 11, 1)}, today) == "overdue"
    assert document_status({**base, "IsPaid": True}, today) == "paid"


def test_deal_fields_and_timeline_for_a_new_invoice() -> None:
    inv = {"TxnID": "1A2B-1", "RefNumber": "1043", "Subtotal": Decimal("4520.00"),
           "BalanceRemaining": Decimal("4520.00"), "DueDate": date(2026, 12, 25)}
    f = deal_update("Invoice", inv, "USD", date(2026, 11, 25), NOW)
    assert f["UF_CRM_QB_DOC"] == "Invoice 1043" and f["UF_CRM_QB_STATUS"] == "open"
    assert f["UF_CRM_QB_BALANCE"] == "4520.00|USD" and f["UF_CRM_QB_TXN_ID"] == "1A2B-1"
    assert timeline_text("Invoice", inv, "USD") == "Invoice 1043 created in QuickBooks, 4,520.00 USD"


def test_user_field_names_fit_bitrix_rules() -> None:
    for uf in USER_FIELDS:
        assert uf.name.startswith("UF_CRM_") and len(uf.name) <= 50 and uf.name.replace("_", "").isalnum()
