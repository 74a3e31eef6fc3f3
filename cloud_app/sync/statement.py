"""A customer's QuickBooks statement for the contact and company tabs: balance, credit limit and terms,
open invoices with their aging, recent payments and estimates — from the records QuickBooks returned.

Pure: records in (parsed qbXML ``*Ret`` mappings), a JSON-ready dict out. Money stays ``Decimal`` until
it is written as a string with two places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.qbxml.values import Ref

from . import crm, invoices

AGING = ("current", "1-30", "31-60", "61-90", "over 90")  # days past due, as QuickBooks' A/R aging
RECENT_DAYS = 90  # payments shown: received in the last 90 days
ESTIMATE_DAYS = 365


def _money(value: Any) -> str | None:
    return f"{value:.2f}" if isinstance(value, Decimal) else None


def _ref_name(value: Any) -> str | None:
    return value.full_name if isinstance(value, Ref) else None


def _day(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def aging_bucket(due: date | None, today: date) -> str:
    """Which aging column an open invoice falls in (not yet due: ``current``)."""
    late = (today - due).days if due is not None else 0
    if late <= 0:
        return AGING[0]
    if late <= 30:
        return AGING[1]
    if late <= 60:
        return AGING[2]
    if late <= 90:
        return AGING[3]
    return AGING[4]


def statement(
    customer: Mapping[str, Any],
    open_invoices: Sequence[Mapping[str, Any]],
    payments: Sequence[Mapping[str, Any]],
    estimates: Sequence[Mapping[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    today = now.date()
    aging = dict.fromkeys(AGING, Decimal(0))
    rows = []
    for inv in sorted(open_invoices, key=lambda r: r.get("DueDate") or r.get("TxnDate") or today):
        due = inv.get("DueDate") or inv.get("TxnDate")  # no due date: owed from the invoice's date
        due = due if isinstance(due, date) else None
        balance = inv.get("BalanceRemaining")
        bucket = aging_bucket(due, today)
        if isinstance(balance, Decimal):
            aging[bucket] += balance
        rows.append(
            {
                "txn_id": inv.get("TxnID"),
                "number": inv.get("RefNumber"),
                "date": _day(inv.get("TxnDate")),
                "due": _day(inv.get("DueDate")),
                "total": _money(invoices.total(inv)),
                "balance": _money(balance),
                "status": crm.document_status(inv, today),
                "days_overdue": max(0, (today - due).days) if due else 0,
                "aging": bucket,
            }
        )
    paid = [
        {
            "txn_id": p.get("TxnID"),
            "date": _day(p.get("TxnDate")),
            "number": p.get("RefNumber"),
            "amount": _money(p.get("TotalAmount")),
            "method": _ref_name(p.get("PaymentMethodRef")),
            "applied_to": [
                str(a.get("RefNumber") or "") for a in p.get("AppliedToTxnRet") or [] if a.get("RefNumber")
            ],
        }
        for p in sorted(payments, key=lambda r: r.get("TxnDate") or today, reverse=True)
    ]
    quoted = [
        {
            "txn_id": e.get("TxnID"),
            "number": e.get("RefNumber"),
            "date": _day(e.get("TxnDate")),
            "total": _money(e.get("TotalAmount")),
            "active": e.get("IsActive") is not False,
        }
        for e in sorted(estimates, key=lambda r: r.get("TxnDate") or today, reverse=True)
    ]
    return {
        "customer": {
            "list_id": customer.get("ListID"),
            "name": customer.get("FullName"),
            "balance": _money(customer.get("TotalBalance", customer.get("Balance"))),
            "credit_limit": _money(customer.get("CreditLimit")),
            "terms": _ref_name(customer.get("TermsRef")),
            "currency": _ref_name(customer.get("CurrencyRef")),
            "active": customer.get("IsActive") is not False,
        },
        "open_invoices": rows,
        "aging": {k: f"{v:.2f}" for k, v in aging.items()},
        "payments": paid,
        "estimates": quoted,
        "as_of": now.isoformat(timespec="seconds"),
    }
