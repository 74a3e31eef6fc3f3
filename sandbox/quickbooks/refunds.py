"""Refunds of customer credit (``ARRefundCreditCardAddRq``): money paid back against credit memos.

qbxmlops140.xml: the Add names the customer and one or more ``RefundAppliedToTxnAdd`` (a credit memo's
TxnID and the ``RefundAmount``); there is no TotalAmount to send — the Ret's ``TotalAmount`` is what was
applied, and each ``RefundAppliedToTxnRet`` tells the credit memo's ``CreditRemaining`` after it. The
credit memo's credit goes down by the refund (its ``LinkedTxn`` names the refund), and with it what the
customer is owed: the customer's balance goes back up.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from .company import insert_ordered, money, sort_children

if TYPE_CHECKING:
    from .processor import Processor, SessionState
    from .validate import Document

KIND = "ARRefundCreditCard"


def add(p: Processor, rq: etree._Element, rs: etree._Element, doc: Document, session: SessionState) -> None:
    from .processor import Failure, _d, _el, _not_found, _sub

    src = rq.find(f"{KIND}Add")
    assert src is not None
    c = p.company
    customer = p.resolve(src.find("CustomerRef"), KIND, KIND)
    targets = []
    for applied in src.findall("RefundAppliedToTxnAdd"):
        credit = c.get(applied.findtext("TxnID") or "")
        if credit is None or credit.kind != "CreditMemo":
            raise _not_found(applied.findtext("TxnID") or "")
        # UNCONFIRMED: the two 3210 texts below are ours (no capture or Intuit page gives QuickBooks' own);
        # the code is the contract's for a business rule failed (quickbooks-webconnector.md status table)
        if credit.text("CustomerRef/ListID") != customer.id:
            raise Failure(3210, "The credit to refund belongs to another customer.")
        amount = _d(applied.findtext("RefundAmount"))
        if amount <= 0 or amount > _d(credit.text("CreditRemaining")):
            raise Failure(
                3210, f"The refund is more than the credit left on credit memo {credit.text('RefNumber')}."
            )
        targets.append((credit, amount))
    p.add(rq, rs, doc, session)  # the record itself, as every transaction is added
    ret = rs.find(f"{KIND}Ret")
    assert ret is not None
    record = c.get(ret.findtext("TxnID") or "")
    assert record is not None
    spec = c.ret_spec(KIND)
    applied_spec = spec.child("RefundAppliedToTxnRet")
    assert applied_spec is not None
    insert_ordered(record.el, _el("TotalAmount", money(sum((a for _, a in targets), Decimal(0)))), spec)
    for credit, amount in targets:
        link = etree.Element("LinkedTxn")
        for tag, value in (
            ("TxnID", record.id),
            ("TxnType", KIND),
            ("TxnDate", record.text("TxnDate")),
            ("RefNumber", record.text("RefNumber")),
            ("LinkType", "AMTTYPE"),
            ("Amount", money(-amount)),
        ):
            if value is not None:
                _sub(link, tag, value)
        insert_ordered(credit.el, link, c.ret_spec("CreditMemo"))
        p.recalculate(credit)
        c.touch(credit)
        node = etree.SubElement(record.el, "RefundAppliedToTxnRet")
        for tag, value in (
            ("TxnID", credit.id),
            ("TxnType", "CreditMemo"),
            ("TxnDate", credit.text("TxnDate")),
            ("RefNumber", credit.text("RefNumber")),
            ("CreditRemaining", credit.text("CreditRemaining")),
            ("RefundAmount", money(amount)),
        ):
            if value is not None:
                _sub(node, tag, value)
        sort_children(node, applied_spec)
    sort_children(record.el, spec)
    p.refresh_balances()
    rs.remove(ret)
    rs.append(p._answer(record, include_lines=True, include_linked=False))
