"""QuickBooks payments → what Bitrix24 shows: which documents they paid and a timeline line (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.qbxml.values import Ref


@dataclass(frozen=True)
class Applied:
    txn_id: str
    ref_number: str | None
    amount: Decimal
    balance_remaining: Decimal | None


def applied_to(ret: Mapping[str, Any]) -> list[Applied]:
    out = []
    for a in ret.get("AppliedToTxnRet") or []:
        amount, left = a.get("Amount"), a.get("BalanceRemaining")
        out.append(Applied(
            txn_id=str(a.get("TxnID")),
            ref_number=a.get("RefNumber"),
            amount=amount if isinstance(amount, Decimal) else Decimal("0"),
            balance_remaining=left if isinstance(left, Decimal) else None,
        ))  # fmt: skip
    return out


def timeline_text(ret: Mapping[str, Any], currency: str) -> str:
    """'Payment of 1,000.00 USD received on 2026-11-20 (Check, #5521), applied to invoice 1043.'"""
    total = ret.get("TotalAmount")
    amount = f"{total:,.2f} {currency}" if isinstance(total, Decimal) else "a payment"
    when = ret.get("TxnDate")
    method = ret.get("PaymentMethodRef")
    details = [
        x
        for x in (
            method.full_name if isinstance(method, Ref) else None,
            f"#{ret['RefNumber']}" if ret.get("RefNumber") else None,
        )
        if x
    ]
    text = f"Payment of {amount} received"
    if isinstance(when, date):
        text += f" on {when.isoformat()}"
    if details:
        text += f" ({', '.join(details)})"
    applied = [a for a in applied_to(ret) if a.ref_number]
    if applied:
        text += ", applied to invoice " + ", ".join(str(a.ref_number) for a in applied)
    unused = ret.get("UnusedPayment")
    if isinstance(unused, Decimal) and unused > 0:
        text += f"; {unused:,.2f} {currency} not yet applied"
    return text + "."


def affected_deals(ret: Mapping[str, Any], deal_by_txn: Mapping[str, str]) -> dict[str, list[Applied]]:
    """Deal id → the applications of this payment to that deal's QuickBooks documents."""
    out: dict[str, list[Applied]] = {}
    for a in applied_to(ret):
        deal = deal_by_txn.get(a.txn_id)
        if deal is not None:
            out.setdefault(deal, []).append(a)
    return out
