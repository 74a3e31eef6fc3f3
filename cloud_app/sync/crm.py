"""QuickBooks records → the Bitrix24 fields the sync writes (pure).

The app's own user fields hold QuickBooks ids, balances and document state on deals, contacts and
companies (``../shared/specs/bitrix24-platform.md`` §8.11: names get the ``UF_CRM_`` prefix; ``money``
values are ``"amount|CURRENCY"``). ``USER_FIELDS`` is the data the installer creates them from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.qbxml.values import Ref

from . import invoices, normalize, voids
from .multifields import operations


@dataclass(frozen=True)
class UserField:
    name: str  # FIELD_NAME as created (with the UF_CRM_ prefix)
    type: str  # USER_TYPE_ID
    label: str
    entities: tuple[str, ...]  # deal | contact | company
    label_ru: str = ""


# Only built-in types: the mobile app's CRM card renders a closed set of built-in field types and
# drops app-registered ones (userfieldtype.add) altogether (bitrix-tools/b24-rest-docs #280); what a rep
# needs on a phone — balance, overdue, last payment; the deal's invoice and status — is among these.
USER_FIELDS = (
    UserField("UF_CRM_QB_LIST_ID", "string", "QuickBooks customer ID", ("contact", "company"),
              "ID клиента в QuickBooks"),
    UserField("UF_CRM_QB_BALANCE", "money", "QuickBooks balance", ("contact", "company", "deal"),
              "Баланс в QuickBooks"),
    UserField("UF_CRM_QB_OVERDUE", "money", "QuickBooks overdue", ("contact", "company"),
              "Просрочено в QuickBooks"),
    UserField("UF_CRM_QB_LAST_PAYMENT", "string", "QuickBooks last payment", ("contact", "company"),
              "Последний платёж в QuickBooks"),
    UserField("UF_CRM_QB_CREDIT_LIMIT", "money", "QuickBooks credit limit", ("contact", "company"),
              "Кредитный лимит в QuickBooks"),
    UserField("UF_CRM_QB_TERMS", "string", "QuickBooks terms", ("contact", "company"),
              "Условия оплаты в QuickBooks"),
    UserField("UF_CRM_QB_TXN_ID", "string", "QuickBooks document ID", ("deal",), "ID документа в QuickBooks"),
    UserField("UF_CRM_QB_DOC", "string", "QuickBooks document", ("deal",), "Документ QuickBooks"),
    UserField("UF_CRM_QB_STATUS", "string", "QuickBooks status", ("deal",), "Статус в QuickBooks"),
    UserField("UF_CRM_QB_SYNCED_AT", "datetime", "Synced with QuickBooks", ("contact", "company", "deal"),
              "Синхронизировано с QuickBooks"),
)  # fmt: skip


def money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else f"{amount.quantize(Decimal('0.01'))}|{currency}"


def _ref_name(value: Any) -> str | None:
    return value.full_name if isinstance(value, Ref) else None


@dataclass
class CrmUpdate:
    fields: dict[str, Any] = field(default_factory=dict)
    address: dict[str, Any] | None = None  # for crm.address.add/update (TYPE_ID 6, on the requisite)


def _common(ret: Mapping[str, Any], current: Mapping[str, Any], currency: str, now: datetime) -> CrmUpdate:
    up = CrmUpdate()
    f = up.fields
    f["UF_CRM_QB_LIST_ID"] = ret.get("ListID")
    # TotalBalance includes the customer's jobs: what the customer owes overall
    f["UF_CRM_QB_BALANCE"] = money(ret.get("TotalBalance", ret.get("Balance")), currency)
    f["UF_CRM_QB_CREDIT_LIMIT"] = money(ret.get("CreditLimit"), currency)
    f["UF_CRM_QB_TERMS"] = _ref_name(ret.get("TermsRef"))
    f["UF_CRM_QB_SYNCED_AT"] = now.isoformat(timespec="seconds")
    phones = [("WORK", ret["Phone"])] if ret.get("Phone") else []
    if ret.get("AltPhone"):
        phones.append(("OTHER", ret["AltPhone"]))
    if ret.get("Fax"):
        phones.append(("FAX", ret["Fax"]))
    ops = operations(current.get("PHONE") or [], phones, normalize.phone)
    if ops:
        f["PHONE"] = ops
    emails = [
        ("WORK", e.strip()) for e in str(ret.get("Email") or "").replace(";", ",").split(",") if e.strip()
    ]
    ops = operations(current.get("EMAIL") or [], emails, normalize.email)
    if ops:
        f["EMAIL"] = ops
    bill = ret.get("BillAddress")
    if isinstance(bill, Mapping) and any(bill.values()):
        up.address = {
            "TYPE_ID": "6",
            "ADDRESS_1": bill.get("Addr1"),
            "ADDRESS_2": bill.get("Addr2"),
            "CITY": bill.get("City"),
            "PROVINCE": bill.get("State"),
            "POSTAL_CODE": bill.get("PostalCode"),
            "COUNTRY": bill.get("Country"),
        }
    return up


def company_update(
    ret: Mapping[str, Any], current: Mapping[str, Any], currency: str, now: datetime
) -> CrmUpdate:
    up = _common(ret, current, currency, now)
    up.fields["TITLE"] = ret.get("CompanyName") or ret.get("Name")
    return up


def contact_update(
    ret: Mapping[str, Any], current: Mapping[str, Any], currency: str, now: datetime
) -> CrmUpdate:
    up = _common(ret, current, currency, now)
    for qb, b24 in (
        ("FirstName", "NAME"),
        ("MiddleName", "SECOND_NAME"),
        ("LastName", "LAST_NAME"),
        ("JobTitle", "POST"),
    ):
        if ret.get(qb):
            up.fields[b24] = ret[qb]
    if "NAME" not in up.fields and "LAST_NAME" not in up.fields:
        up.fields["NAME"] = ret.get("Name")
    return up


def document_status(ret: Mapping[str, Any], today: date) -> str:
    """open | partially paid | paid | overdue | voided — what the deal tab and the deal field say."""
    if voids.is_voided(ret):
        return "voided"  # QuickBooks calls a voided invoice paid (nothing is owed); the person must not
    if ret.get("IsPaid") is True:
        return "paid"
    balance = ret.get("BalanceRemaining")
    total = invoices.total(ret)
    due = ret.get("DueDate")
    if isinstance(balance, Decimal) and balance <= 0 and "BalanceRemaining" in ret:
        return "paid"
    if isinstance(due, date) and due < today:
        return "overdue"
    if isinstance(balance, Decimal) and isinstance(total, Decimal) and 0 < balance < total:
        return "partially paid"
    return "open"


def deal_update(
    kind: str, ret: Mapping[str, Any], currency: str, today: date, now: datetime
) -> dict[str, Any]:
    """The deal's QuickBooks fields after a document was created or changed in QuickBooks."""
    number = ret.get("RefNumber")
    label = {"Invoice": "Invoice", "Estimate": "Estimate", "SalesOrder": "Sales order",
             "CreditMemo": "Credit memo"}.get(kind, kind)  # fmt: skip
    fields: dict[str, Any] = {
        "UF_CRM_QB_TXN_ID": ret.get("TxnID"),
        "UF_CRM_QB_DOC": f"{label} {number}" if number else label,
        "UF_CRM_QB_SYNCED_AT": now.isoformat(timespec="seconds"),
    }
    if kind == "Invoice":
        fields["UF_CRM_QB_BALANCE"] = money(ret.get("BalanceRemaining"), currency)
        fields["UF_CRM_QB_STATUS"] = document_status(ret, today)
    elif kind == "CreditMemo":  # the credit the customer still has (a balance they are owed)
        fields["UF_CRM_QB_BALANCE"] = money(-ret["CreditRemaining"], currency) if isinstance(
            ret.get("CreditRemaining"), Decimal) else None  # fmt: skip
        fields["UF_CRM_QB_STATUS"] = "voided" if invoices.is_voided(ret) else "credit"
    else:
        fields["UF_CRM_QB_STATUS"] = "open" if ret.get("IsActive", True) is not False else "closed"
    return fields


def timeline_text(kind: str, ret: Mapping[str, Any], currency: str, *, updated: bool = False) -> str:
    """The timeline comment for a document written to QuickBooks: 'Invoice 1043 created in QuickBooks,
    4,520.00 USD' (or 'updated' when the deal's existing document was changed)."""
    label = {"SalesOrder": "Sales order", "CreditMemo": "Credit memo"}.get(kind, kind)
    total = invoices.total(ret)
    amount = f", {total:,.2f} {currency}" if isinstance(total, Decimal) else ""
    number = ret.get("RefNumber")
    verb = "updated" if updated else "created"
    return (
        f"{label} {number} {verb} in QuickBooks{amount}"
        if number
        else f"{label} {verb} in QuickBooks{amount}"
    )


def lines_summary(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """InvoiceLineRet records as the deal tab lists them."""
    out = []
    for ln in lines:
        out.append({
            "item": _ref_name(ln.get("ItemRef")),
            "description": ln.get("Desc"),
            "quantity": ln.get("Quantity"),
            "rate": ln.get("Rate"),
            "amount": ln.get("Amount"),
        })  # fmt: skip
    return out
