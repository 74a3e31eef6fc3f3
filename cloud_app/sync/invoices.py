"""QuickBooks invoices and estimates of linked customers → Bitrix24 smart invoices and quotes (pure).

A document made from a deal shows on that deal; one made in QuickBooks (or before the app) lands as a
smart invoice (``entityTypeId`` 31) or a quote (7) of the customer's company or contact — a job's
(``Parent:Job``) on its parent's. Its number, dates, total, currency, stage (paid or not) and
responsible user follow QuickBooks; Bitrix24 edits to these records are not sent back (QuickBooks keeps
the books). The smart invoice carries ``xmlId`` ``QB:<TxnID>`` so it can be found again from either side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.qbxml.values import Ref

from .fingerprint import fingerprint

XML_ID_PREFIX = "QB:"


@dataclass(frozen=True)
class Target:
    entity_type_id: int
    b24_type: str  # as the mappings table names it


TARGETS = {"Invoice": Target(31, "smart_invoice"), "Estimate": Target(7, "quote")}


@dataclass(frozen=True)
class Stages:
    """The stage ids of the portal's default smart-invoice pipeline and its quote statuses."""

    invoice_open: str
    invoice_paid: str
    quote_open: str
    quote_accepted: str
    invoice_failed: str = ""  # the failure stage: a voided or deleted invoice ("" = none known)
    quote_declined: str = ""  # a deleted estimate ("" = the quote stays where it is)


def stages_from(statuses: Sequence[Mapping[str, Any]], category_id: int) -> Stages:
    """From ``crm.status.list`` rows: the success stage is "paid"; "sent" (``:S``) is an open invoice."""
    entity = f"SMART_INVOICE_STAGE_{category_id}"
    invoice = [s for s in statuses if s.get("ENTITY_ID") == entity]
    quote = [s for s in statuses if s.get("ENTITY_ID") == "QUOTE_STATUS"]
    prefix = f"DT31_{category_id}:"

    def pick(rows: list[Mapping[str, Any]], wanted: str, fallback: str) -> str:
        ids = [str(s.get("STATUS_ID")) for s in rows]
        return wanted if wanted in ids else (ids[0] if ids else fallback)

    paid = next((str(s["STATUS_ID"]) for s in invoice if s.get("SEMANTICS") == "S"), prefix + "P")
    return Stages(
        invoice_open=pick(invoice, prefix + "S", prefix + "N"),
        invoice_paid=paid,
        quote_open=pick(quote, "SENT", "DRAFT"),
        quote_accepted=next((str(s["STATUS_ID"]) for s in quote if s.get("SEMANTICS") == "S"), "APPROVED"),
        invoice_failed=next((str(s["STATUS_ID"]) for s in invoice if s.get("SEMANTICS") == "F"), ""),
        quote_declined=next((str(s["STATUS_ID"]) for s in quote if s.get("SEMANTICS") == "F"), ""),
    )


def total(ret: Mapping[str, Any]) -> Decimal | None:
    """What the customer is asked to pay: an invoice's subtotal plus sales tax; others say TotalAmount."""
    stated = ret.get("TotalAmount")
    if isinstance(stated, Decimal):
        return stated
    sub, tax = ret.get("Subtotal"), ret.get("SalesTaxTotal")
    if not isinstance(sub, Decimal):
        return None
    return sub + (tax if isinstance(tax, Decimal) else Decimal(0))


def customer_name(ret: Mapping[str, Any]) -> str:
    """The top-level customer a document belongs to (a job's parent)."""
    ref = ret.get("CustomerRef")
    name = ref.full_name if isinstance(ref, Ref) else ""
    return (name or "").split(":", 1)[0]


VOID_MEMO = "VOID:"  # what QuickBooks puts before a voided document's memo (see ``voids``)


def is_voided(ret: Mapping[str, Any]) -> bool:
    """Voided in QuickBooks: a ``VOID:`` memo and nothing left to pay or credit (``voids`` says why)."""
    memo, amount = ret.get("Memo"), total(ret)
    return isinstance(memo, str) and memo.startswith(VOID_MEMO) and (amount is None or amount == 0)


def is_paid(ret: Mapping[str, Any]) -> bool:
    """Paid in full — not a voided invoice, which QuickBooks also calls paid (nothing is owed)."""
    if is_voided(ret):
        return False
    if ret.get("IsPaid") is True:
        return True
    balance = ret.get("BalanceRemaining")
    return isinstance(balance, Decimal) and balance <= 0 and (total(ret) or 0) > 0


def view(kind: str, ret: Mapping[str, Any]) -> str:
    """What a change of the Bitrix24 record would be made of: no change here, nothing written."""
    return fingerprint(
        {
            "kind": kind,
            "number": ret.get("RefNumber"),
            "date": ret.get("TxnDate"),
            "due": ret.get("DueDate") or ret.get("ExpirationDate"),
            "total": total(ret),
            "balance": ret.get("BalanceRemaining"),
            "paid": is_paid(ret),
            "voided": is_voided(ret),
            "customer": customer_name(ret),
            "active": ret.get("IsActive"),
            "accepted": bool(ret.get("LinkedTxn")),
            "rep": _ref(ret.get("SalesRepRef")),
        }
    )


def _ref(value: Any) -> str | None:
    return value.list_id or value.full_name if isinstance(value, Ref) else None


def item_fields(
    kind: str,
    ret: Mapping[str, Any],
    owner: tuple[str, str],
    stages: Stages,
    currency: str,
    assigned: str | None,
) -> dict[str, Any]:
    """``crm.item.add``/``update`` fields (camelCase) for a smart invoice or a quote."""
    b24_type, b24_id = owner
    number = ret.get("RefNumber")
    label = "Invoice" if kind == "Invoice" else "Estimate"
    fields: dict[str, Any] = {
        "title": f"{label} {number}" if number else f"QuickBooks {label.lower()}",
        "opportunity": str(total(ret) or Decimal(0)),
        "isManualOpportunity": "Y",
        "currencyId": currency,
        "companyId": b24_id if b24_type == "company" else 0,
        "contactId": b24_id if b24_type == "contact" else 0,
    }
    when, due = ret.get("TxnDate"), ret.get("DueDate") or ret.get("ExpirationDate")
    if isinstance(when, date):
        fields["begindate"] = when.isoformat()
    if isinstance(due, date):
        fields["closedate"] = due.isoformat()
    if assigned:
        fields["assignedById"] = assigned
    if kind == "Invoice":
        fields["xmlId"] = XML_ID_PREFIX + str(ret["TxnID"])
        if number:
            fields["accountNumber"] = str(number)
        fields["stageId"] = stages.invoice_paid if is_paid(ret) else stages.invoice_open
        if is_voided(ret) and stages.invoice_failed:
            fields["stageId"] = stages.invoice_failed
    else:
        fields["stageId"] = stages.quote_accepted if ret.get("LinkedTxn") else stages.quote_open
    return fields
