"""Payments entered in QuickBooks show on the deals they paid, in plain words."""

from datetime import date
from decimal import Decimal

from cloud_app.sync.payments import affected_deals, timeline_text
from shared.qbxml.values import Ref

PAYMENT = {
    "TxnID": "P-1", "TxnDate": date(2026, 11, 20), "RefNumber": "5521", "TotalAmount": Decimal("1500.00"),
    "PaymentMethodRef": Ref("1", "Check"), "UnusedPayment": Decimal("500.00"),
    "AppliedToTxnRet": [{"TxnID": "INV-1", "TxnType": "Invoice", "RefNumber": "1043",
                         "Amount": Decimal("1000.00"), "BalanceRemaining": Decimal("3520.00")}],
}  # fmt: skip


def test_timeline_line_says_amount_date_method_and_invoice() -> None:
    assert timeline_text(PAYMENT, "USD") == (
        "Payment of 1,500.00 USD received on 2026-11-20 (Check, #5521), applied to invoice 1043; "
        "500.00 USD not yet applied."
    )


def test_payments_find_the_deals_of_the_invoices_they_paid() -> None:
    deals = affected_deals(PAYMENT, {"INV-1": "74", "INV-2": "75"})
    assert list(deals) == ["74"] and deals["74"][0].amount == Decimal("1000.00")
    assert deals["74"][0].balance_remaining == Decimal("3520.00")
