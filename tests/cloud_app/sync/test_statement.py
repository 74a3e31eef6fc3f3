"""A customer's statement from QuickBooks records: aging columns, order, money as QuickBooks has it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from cloud_app.sync.statement import aging_bucket, card_fields, statement
from shared.qbxml.values import Ref

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TODAY = NOW.date()


def invoice(ref: str, due: date | None, balance: str, txn: date = date(2026, 8, 1)) -> dict[str, object]:
    out: dict[str, object] = {
        "TxnID": f"T{ref}",
        "RefNumber": ref,
        "TxnDate": txn,
        "Subtotal": Decimal("100.00"),
        "SalesTaxTotal": Decimal("0.00"),
        "BalanceRemaining": Decimal(balance),
    }
    if due is not None:
        out["DueDate"] = due
    return out


def test_each_open_invoice_falls_in_its_aging_column_by_days_past_due() -> None:
    assert aging_bucket(date(2026, 12, 5), TODAY) == "current"
    assert aging_bucket(TODAY, TODAY) == "current"
    assert [aging_bucket(date(2026, m, d), TODAY) for m, d in ((11, 30), (10, 31), (10, 1), (9, 1))] == [
        "1-30", "31-60", "61-90", "over 90"
    ]  # fmt: skip
    shown = statement(
        {"ListID": "80-1", "FullName": "Kowalski", "TotalBalance": Decimal("260.00"),
         "CreditLimit": Decimal("5000"), "TermsRef": Ref(full_name="Net 30")},
        [invoice("3", date(2026, 12, 20), "100.00"), invoice("1", None, "60.00"),
         invoice("2", date(2026, 11, 15), "100.00")],
        [{"TxnID": "P1", "TxnDate": date(2026, 11, 2), "TotalAmount": Decimal("40.00"), "RefNumber": "CHK 9",
          "PaymentMethodRef": Ref(full_name="Check"), "AppliedToTxnRet": [{"RefNumber": "1"}]}],
        [],
        NOW,
    )  # fmt: skip
    assert shown["customer"]["balance"] == "260.00" and shown["customer"]["terms"] == "Net 30"
    assert shown["customer"]["credit_limit"] == "5000.00"
    # oldest first; without a due date an invoice is owed from its own date (122 days: over 90)
    assert [(i["number"], i["aging"], i["days_overdue"]) for i in shown["open_invoices"]] == [
        ("1", "over 90", 122), ("2", "1-30", 16), ("3", "current", 0)
    ]  # fmt: skip
    assert shown["aging"] == {"current": "100.00", "1-30": "100.00", "31-60": "0.00", "61-90": "0.00",
                              "over 90": "60.00"}  # fmt: skip
    assert shown["open_invoices"][1]["status"] == "overdue"
    assert shown["payments"] == [{"txn_id": "P1", "date": "2026-11-02", "number": "CHK 9", "amount": "40.00",
                                  "method": "Check", "applied_to": ["1"]}]  # fmt: skip


def test_an_old_open_credit_counts_and_what_the_listed_documents_do_not_explain_is_shown() -> None:
    old_credit = {"TxnID": "C1", "RefNumber": "C1", "TxnDate": date(2023, 1, 5),
                  "TotalAmount": Decimal("40.00"), "CreditRemaining": Decimal("15.00")}  # fmt: skip
    used_credit = {**old_credit, "TxnID": "C2", "RefNumber": "C2", "CreditRemaining": Decimal("0.00")}
    customer = {"ListID": "80-1", "FullName": "Ortiz", "TotalBalance": Decimal("180.00")}
    st = statement(customer, [invoice("1", None, "100.00"), invoice("2", None, "100.00")], [], [], NOW,
                   credits=[old_credit, used_credit])  # fmt: skip
    assert [c["number"] for c in st["credits"]] == ["C1"]  # an old used one is not listed; an open one is
    assert st["balance_check"]["listed"] == "185.00"
    assert st["balance_check"]["not_listed"] == "-5.00"  # e.g. an older unused payment QuickBooks counts


def test_the_card_fields_say_what_is_overdue_and_the_last_payment_in_one_line() -> None:
    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    shown = statement(
        {"ListID": "80-1", "FullName": "Stark", "TotalBalance": Decimal("1630.00")},
        [
            {"TxnID": "1", "DueDate": date(2026, 10, 1), "BalanceRemaining": Decimal("300.00")},
            {"TxnID": "2", "DueDate": date(2026, 11, 20), "BalanceRemaining": Decimal("1000.00")},
            {"TxnID": "3", "DueDate": date(2026, 12, 20), "BalanceRemaining": Decimal("330.00")},
        ],
        [
            {"TxnID": "p1", "TxnDate": date(2026, 11, 28), "TotalAmount": Decimal("1220.5")},
            {"TxnID": "p0", "TxnDate": date(2026, 10, 3), "TotalAmount": Decimal("99.00")},
        ],
        [],
        now,
    )
    assert card_fields(shown, "USD") == {
        "UF_CRM_QB_BALANCE": "1630.00|USD",
        "UF_CRM_QB_OVERDUE": "1300.00|USD",  # what is past due; the invoice due on the 20th is not
        "UF_CRM_QB_LAST_PAYMENT": "1,220.50 USD on 2026-11-28",
    }
    nothing_paid = card_fields(statement({"TotalBalance": Decimal(0)}, [], [], [], now), "EUR")
    # no payment in the window: the last-payment field keeps what it had
    assert nothing_paid == {"UF_CRM_QB_BALANCE": "0.00|EUR", "UF_CRM_QB_OVERDUE": "0.00|EUR"}
