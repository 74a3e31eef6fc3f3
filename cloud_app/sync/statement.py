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


def _remaining(credit: Mapping[str, Any]) -> Decimal:
    left = credit.get("CreditRemaining")
    return left if isinstance(left, Decimal) else Decimal(0)


def _open(credit: Mapping[str, Any]) -> bool:
    """A credit memo with credit left: it lowers the customer's balance until used or refunded."""
    return _remaining(credit) > 0


def _recent(record: Mapping[str, Any], today: date) -> bool:
    when = record.get("TxnDate")
    return isinstance(when, date) and (today - when).days <= ESTIMATE_DAYS


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
    credits: Sequence[Mapping[str, Any]] = (),
    refunds: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """``credits``: every credit memo of the customer (open ones count against the balance, as
    QuickBooks counts them); ``refunds``: credit-card refunds of the last year."""
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
    credit_rows = [
        {
            "txn_id": c.get("TxnID"),
            "number": c.get("RefNumber"),
            "date": _day(c.get("TxnDate")),
            "total": _money(invoices.total(c)),
            "remaining": _money(c.get("CreditRemaining")),
            "status": "voided" if invoices.is_voided(c) else ("open" if _open(c) else "used"),
        }
        for c in sorted(credits, key=lambda r: r.get("TxnDate") or today, reverse=True)
        if _open(c) or _recent(c, today)
    ]
    refund_rows = [
        {
            "txn_id": r.get("TxnID"),
            "number": r.get("RefNumber"),
            "date": _day(r.get("TxnDate")),
            "amount": _money(r.get("TotalAmount")),
            "method": _ref_name(r.get("PaymentMethodRef")),
            "credits": [
                str(a.get("RefNumber") or "")
                for a in r.get("RefundAppliedToTxnRet") or []
                if a.get("RefNumber")
            ],
        }
        for r in sorted(refunds, key=lambda r: r.get("TxnDate") or today, reverse=True)
    ]
    open_total = sum(
        (b for i in open_invoices if isinstance(b := i.get("BalanceRemaining"), Decimal)), Decimal(0)
    )
    open_credit = sum((_remaining(c) for c in credits), Decimal(0))
    unused = sum((u for p in payments if isinstance(u := p.get("UnusedPayment"), Decimal)), Decimal(0))
    balance = customer.get("TotalBalance", customer.get("Balance"))
    listed = open_total - open_credit - unused
    return {
        "balance_check": {  # the card's balance as the documents listed add up to it
            "open_invoices": _money(open_total),
            "open_credits": _money(open_credit),
            "unused_payments": _money(unused),
            "listed": _money(listed),
            "not_listed": _money(balance - listed) if isinstance(balance, Decimal) else None,
        },
        "credits": credit_rows,
        "refunds": refund_rows,
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


def card_fields(shown: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """The company's or contact's QuickBooks fields a phone shows, from a :func:`statement`: balance,
    what is overdue (every aging column past ``current``) and the last payment as one line, "220.00 USD
    on 2026-11-28". No payment in the statement's window: the last-payment field is left as it is."""
    fields: dict[str, Any] = {}
    balance = (shown.get("customer") or {}).get("balance")
    if balance is not None:
        fields["UF_CRM_QB_BALANCE"] = crm.money(Decimal(balance), currency)
    aging = shown.get("aging") or {}
    overdue = sum((Decimal(aging[k]) for k in AGING[1:] if aging.get(k)), Decimal(0))
    fields["UF_CRM_QB_OVERDUE"] = crm.money(overdue, currency)
    dated = [p for p in shown.get("payments") or [] if p.get("date") and p.get("amount")]
    if dated:
        last = max(dated, key=lambda p: str(p["date"]))  # ISO dates sort as dates
        fields["UF_CRM_QB_LAST_PAYMENT"] = last_payment(Decimal(last["amount"]), currency, str(last["date"]))
    return fields


def last_payment(amount: Decimal, currency: str, day: str) -> str:
    return f"{amount.quantize(Decimal('0.01')):,} {currency} on {day}"
