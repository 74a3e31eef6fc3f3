"""Voided documents as the deal and the smart invoice show them (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cloud_app.sync import crm, invoices, voids

VOIDED = {"TxnID": "1-1", "RefNumber": "1043", "Subtotal": Decimal("0.00"), "SalesTaxTotal": Decimal("0.00"),
          "BalanceRemaining": Decimal("0.00"), "IsPaid": True, "Memo": "VOID: roof job"}  # fmt: skip


def test_a_voided_invoice_is_neither_paid_nor_open() -> None:
    assert voids.is_voided(VOIDED)
    assert not invoices.is_paid(VOIDED)  # QuickBooks says IsPaid: nothing is owed
    assert crm.document_status(VOIDED, date(2026, 12, 2)) == "voided"
    zeroed_by_hand = {**VOIDED, "Memo": "discounted to zero"}
    assert (
        not voids.is_voided(zeroed_by_hand)
        and crm.document_status(zeroed_by_hand, date(2026, 12, 2)) == "paid"
    )
    memo_only = {
        **VOIDED,
        "Subtotal": Decimal("10.00"),
        "BalanceRemaining": Decimal("10.00"),
        "IsPaid": False,
    }
    assert not voids.is_voided(memo_only)  # a memo starting "VOID:" on a live invoice


def test_a_voided_smart_invoice_goes_to_the_failure_stage_when_the_portal_has_one() -> None:
    statuses = [
        {"ENTITY_ID": "SMART_INVOICE_STAGE_0", "STATUS_ID": s, "SEMANTICS": sem}
        for s, sem in (("DT31_0:N", None), ("DT31_0:S", None), ("DT31_0:P", "S"), ("DT31_0:D", "F"))
    ]
    stages = invoices.stages_from(statuses, 0)
    assert stages.invoice_failed == "DT31_0:D" and stages.quote_declined == ""
    fields = invoices.item_fields("Invoice", VOIDED, ("company", "7"), stages, "USD", None)
    assert fields["stageId"] == "DT31_0:D" and Decimal(fields["opportunity"]) == 0


def test_a_deleted_deals_invoice_is_voided_only_without_money_on_it() -> None:
    live = {**VOIDED, "Memo": None, "Subtotal": Decimal("110.00"), "IsPaid": False}
    assert voids.decide_void(live).void
    paid = {**live, "LinkedTxn": [{"TxnType": "ReceivePayment", "Amount": Decimal("-50.00")}]}
    assert voids.decide_void(paid).reason == "paid"
    assert voids.decide_void(VOIDED).reason == "already_voided"
