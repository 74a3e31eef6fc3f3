"""Voided and deleted QuickBooks documents, as the deal, the smart invoice and the tabs show them (pure).

QuickBooks has no "voided" flag on a document (``qbxmlops140.xml``: ``InvoiceRet`` has none): voiding
"sets its amount to zero but keeps a record of it" (Intuit's TxnVoid reference) and QuickBooks puts
``VOID:`` before the memo. So a document is voided when its memo starts so and its total is zero. A
deleted one is gone: only ``TxnDeletedQueryRq`` still names it (type, TxnID, RefNumber, TimeDeleted).
Only some kinds can be voided (``TxnVoidType``: invoices and credit memos among ours, not estimates or
sales orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import invoices

VOID_MEMO = invoices.VOID_MEMO
is_voided = invoices.is_voided
# TxnVoidType (qbxmlops140.xml), of the kinds this app writes or shows
VOIDABLE = ("Invoice", "CreditMemo", "SalesReceipt")
# TxnDelType (qbxmlops140.xml), of the kinds linked to deals, smart invoices and quotes
DELETED_KINDS = ("Invoice", "Estimate", "SalesOrder", "CreditMemo")
DELETE_ACTIONS = ("nothing", "void")  # a deal deleted in Bitrix24: its QuickBooks invoice …
LABELS = {
    "Invoice": "Invoice",
    "Estimate": "Estimate",
    "SalesOrder": "Sales order",
    "CreditMemo": "Credit memo",
}


def label(kind: str, number: Any) -> str:
    name = LABELS.get(kind, kind)
    return f"{name} {number}" if number else name


def voided_text(kind: str, number: Any) -> str:
    """The deal's timeline line when QuickBooks voided its document."""
    return f"{label(kind, number)} was voided in QuickBooks: it no longer asks for payment."


def deleted_text(kind: str, number: Any) -> str:
    return f"{label(kind, number)} was deleted in QuickBooks."


def deleted_fields(kind: str, number: Any, txn_id: str, now_iso: str, currency: str) -> dict[str, Any]:
    """The deal's QuickBooks fields once its document is deleted in QuickBooks (the id stays: it says
    which document it was)."""
    fields: dict[str, Any] = {
        "UF_CRM_QB_TXN_ID": txn_id,
        "UF_CRM_QB_DOC": label(kind, number),
        "UF_CRM_QB_STATUS": "deleted",
        "UF_CRM_QB_SYNCED_AT": now_iso,
    }
    if kind == "Invoice":
        fields["UF_CRM_QB_BALANCE"] = f"0.00|{currency}"
    return fields


@dataclass(frozen=True)
class VoidDecision:
    """Whether a deleted deal's invoice is voided, and why not."""

    void: bool
    reason: str  # why not: already_voided | paid (payments or credits are applied to it)


def decide_void(ret: Mapping[str, Any]) -> VoidDecision:
    """A deleted deal's invoice, as QuickBooks has it now: void it unless money was received on it (a
    bookkeeper decides about that one) or it is voided already."""
    if is_voided(ret):
        return VoidDecision(False, "already_voided")
    if any(t.get("TxnType") in ("ReceivePayment", "CreditMemo") for t in ret.get("LinkedTxn") or []):
        return VoidDecision(False, "paid")
    return VoidDecision(True, "")
