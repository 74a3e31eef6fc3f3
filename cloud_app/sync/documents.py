"""A deal's "Sync to QuickBooks": the preview a person confirms and the one message set that follows.

Pure: from the deal, its product rows, the customer (matched or to be created) and the product → item
links, decide what QuickBooks will receive — customer add, item adds, then the invoice / estimate /
sales order, in one ``QBXMLMsgsRq`` in dependency order and referring by FullName, so QuickBooks resolves
each reference from the request before it (``../shared/specs/quickbooks-webconnector.md`` §4). Problems
that would fail in QuickBooks are found here, before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from shared.qbxml.builder import MessageSet, Request, add, mod, validate
from shared.qbxml.schema import version_key
from shared.qbxml.values import Ref

from .customers import CustomerDraft
from .names import ITEM_NAME_LIMIT, ListName, fit_name
from .text import Unstorable, fit

Kind = Literal["Invoice", "Estimate", "SalesOrder", "CreditMemo"]
KINDS: tuple[Kind, ...] = ("Invoice", "Estimate", "SalesOrder", "CreditMemo")  # a credit memo: asked for only
FULL_NAME_LIMIT = 209  # an item's FullName, Parent:Child levels included
CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.00001")
# a fixed namespace so the same deal + job always yields the same ExternalGUID (a marker to look for)
MARKER_NAMESPACE = uuid.UUID("5d7f1c52-9a8e-4f3b-8e57-3c1b2a0e9d41")


@dataclass(frozen=True)
class Settings:
    income_account: str = "Construction Income"  # for items we create
    create_missing_items: bool = True
    taxable_code: str = "Tax"
    non_taxable_code: str = "Non"


@dataclass(frozen=True)
class Line:
    """One preview line: what a product row becomes in QuickBooks."""

    description: str
    item: str | None  # QuickBooks item FullName
    item_action: str  # matched | create | problem
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    tax_rate: Decimal
    problem: str | None = None
    account: str | None = None  # an item to create: the income account it will post to


@dataclass(frozen=True)
class Existing:
    """The deal's document as QuickBooks has it now: what a re-sync changes instead of adding another."""

    txn_id: str
    edit_sequence: str


@dataclass
class DocumentPlan:
    kind: Kind
    deal_id: str
    customer_name: str
    customer_action: str  # matched | create
    lines: list[Line] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # block sending, each says what to do
    notes: list[str] = field(default_factory=list)  # visible, do not block
    requests: list[Request] = field(default_factory=list)

    @property
    def can_send(self) -> bool:
        return not self.problems

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        """Bitrix24's own tax figure; QuickBooks computes the real one from its tax item."""
        total = sum((ln.amount * ln.tax_rate / 100 for ln in self.lines), Decimal("0"))
        return total.quantize(CENT, ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    def message_set(self, message_set_id: str) -> MessageSet:
        """stopOnError: the document must not be attempted when its customer or an item failed."""
        return MessageSet(self.requests, on_error="stopOnError", new_message_set_id=message_set_id)


def _decimal(raw: Any, default: str = "0") -> Decimal:
    if raw is None or raw == "":
        return Decimal(default)
    try:
        # Bitrix24 sends floats and strings ("899.10", 899.1); str() keeps what was shown, not binary noise
        return Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None


def row_name(row: Mapping[str, Any]) -> str:
    return str(row.get("PRODUCT_NAME") or row.get("ORIGINAL_PRODUCT_NAME") or "").strip()


def row_key(row: Mapping[str, Any]) -> str:
    """``"P<id>"`` for a catalog product's row, ``"N<name>"`` for a free-text row (no catalog product)."""
    product_id = str(row.get("PRODUCT_ID") or "0")
    return f"P{product_id}" if product_id not in ("", "0") else f"N{row_name(row)}"


def item_name(name: str) -> ListName:
    """The Name an item for this row text gets — and so the name to look for first (Unstorable if none)."""
    return fit_name(name, ITEM_NAME_LIMIT, field="item Name")


def item_lookups(name: str) -> list[str]:
    """The FullNames to look a row's item up by, the preferred first: a name with colons may mean an item
    of QuickBooks' own hierarchy ("Lumber: Trim" is "Lumber:Trim", as the first sync names products);
    then the name an item made for the row would get (Unstorable when it would get none)."""
    made = item_name(name).value
    path = ":".join(part.strip() for part in " ".join(name.split()).split(":")) if ":" in name else ""
    return [n for n in (path, made) if n and len(n) <= FULL_NAME_LIMIT] if path != made else [made]


def marker(deal_id: str, job_id: str) -> str:
    """A stable GUID stamped on the document (ExternalGUID), to find it again if a response is lost."""
    return "{" + str(uuid.uuid5(MARKER_NAMESPACE, f"{deal_id}/{job_id}")).upper() + "}"


def plan_document(
    *,
    kind: Kind,
    deal: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    customer: Ref | CustomerDraft,
    items: Mapping[str, str | None],
    today: date,
    job_id: str,
    settings: Settings = Settings(),
    version: str = "13.0",
    sales_rep: str | None = None,
    update: Existing | None = None,
    class_name: str | None = None,
    line_classes: Mapping[int, str] | None = None,
    tax_codes: Mapping[int, str] | None = None,
    tax_item: str | None = None,
    exchange_rate: Decimal | None = None,
    ar_account: str | None = None,
    line_sites: Mapping[int, str] | None = None,
    line_units: Mapping[int, str] | None = None,
) -> DocumentPlan:
    """``sales_rep`` is a rep's ListID or None. With ``update`` the deal's existing document is changed
    (a ``…Mod`` with its current EditSequence, every line replaced by the deal's rows as they are now, its
    date and number kept) instead of a second one being added.

    ``items`` maps a product key (``"P<id>"``, or ``"N<name>"`` for free-text rows) to a QuickBooks
    item FullName, or None when the product has no QuickBooks item yet. ``class_name`` goes on the
    document, ``line_classes`` (1-based row → class) on those lines (``classes``); ``tax_codes`` (row →
    sales tax code) and ``tax_item`` come from the VAT mapping (``salestax``) when one is set.
    ``exchange_rate`` and ``ar_account`` (a ListID) are a document in another currency's (``currency``):
    the rate the preview showed, the A/R account in that currency (invoices and credit memos only).
    ``line_sites`` and ``line_units`` (row → name): the lines' inventory sites and units (``inventory``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    deal_id = str(deal.get("ID", ""))
    plan = DocumentPlan(kind=kind, deal_id=deal_id, customer_name="", customer_action="matched")
    requests: list[Request] = []

    if isinstance(customer, CustomerDraft):
        plan.customer_action = "create"
        plan.customer_name = str(customer.fields.get("Name", ""))
        plan.notes.extend(f"Customer’s {n[:1].lower()}{n[1:]}" for n in customer.notes)
        if not plan.customer_name:
            plan.problems.append("The deal has no client with a name. Add a company or contact to the deal.")
        else:
            requests.append(add("Customer", customer.fields, request_id="customer"))
        customer_ref = Ref(full_name=plan.customer_name)
    else:
        plan.customer_name = customer.full_name or customer.list_id or ""
        customer_ref = customer

    if not rows:
        plan.problems.append("The deal has no products. Add product rows to the deal first.")

    created: dict[str, str] = {}
    doc_lines: list[dict[str, Any]] = []
    for n, row in enumerate(rows, 1):
        line, line_fields, item_request = _line(n, row, items, created, settings, plan)
        plan.lines.append(line)
        if item_request is not None:
            requests.append(item_request)
        if line_fields is not None:
            if (tax_codes or {}).get(n):
                line_fields["SalesTaxCodeRef"] = (tax_codes or {})[n]
            if (line_classes or {}).get(n):
                line_fields["ClassRef"] = Ref(full_name=(line_classes or {})[n])
            if (line_units or {}).get(n):
                line_fields["UnitOfMeasure"] = (line_units or {})[n]
            if (line_sites or {}).get(n):
                line_fields["InventorySiteRef"] = Ref(full_name=(line_sites or {})[n])
            doc_lines.append(line_fields)

    doc: dict[str, Any] = {"CustomerRef": customer_ref, "Memo": _memo(deal, plan)}
    if class_name:
        doc["ClassRef"] = Ref(full_name=class_name)
    if tax_item:
        doc["ItemSalesTaxRef"] = Ref(full_name=tax_item)
    if ar_account and kind in ("Invoice", "CreditMemo"):
        doc["ARAccountRef"] = Ref(list_id=ar_account)
    if exchange_rate is not None:
        doc["ExchangeRate"] = exchange_rate
    if update is None:
        doc["TxnDate"] = today
        doc[f"{kind}LineAdd"] = doc_lines
    else:  # TxnLineID -1 adds a line; the lines not sent are deleted (quickbooks-webconnector.md §6)
        doc.update(TxnID=update.txn_id, EditSequence=update.edit_sequence)
        doc[f"{kind}LineMod"] = [{"TxnLineID": "-1", **ln} for ln in doc_lines]
    if sales_rep:  # the deal's responsible user's rep (ListID), or the portal's default
        doc["SalesRepRef"] = Ref(list_id=sales_rep)
    if version_key(version) >= (6, 0):
        doc["Other"] = f"B24 deal {deal_id}"[:29]
    if version_key(version) >= (9, 0) and update is None:
        doc["ExternalGUID"] = marker(deal_id, job_id)
    requests.append(
        add(kind, doc, request_id="document") if update is None else mod(kind, doc, request_id="document")
    )
    plan.requests = requests

    if plan.can_send:
        # anything the builder would refuse is a problem now, not a failed Web Connector run later
        for p in validate(MessageSet(requests), version=version):
            plan.problems.append(f"{p.path.split('/', 1)[-1]}: {p.message}")
    return plan


def _memo(deal: Mapping[str, Any], plan: DocumentPlan) -> str:
    title = str(deal.get("TITLE") or "").strip()
    text = f"Bitrix24 deal #{plan.deal_id}" + (f": {title}" if title else "")
    try:
        return fit(text, 4095, field="Memo").value
    except Unstorable:
        return f"Bitrix24 deal #{plan.deal_id}"


def _line(
    n: int,
    row: Mapping[str, Any],
    items: Mapping[str, str | None],
    created: dict[str, str],
    settings: Settings,
    plan: DocumentPlan,
) -> tuple[Line, dict[str, Any] | None, Request | None]:
    name, key = row_name(row), row_key(row)
    try:
        qty = _decimal(row.get("QUANTITY"), "1")
        # PRICE_EXCLUSIVE: unit price after discount, before tax — QuickBooks adds its own sales tax
        rate = _decimal(row.get("PRICE_EXCLUSIVE", row.get("PRICE")))
        tax_rate = _decimal(row.get("TAX_RATE"))
    except ValueError as exc:
        unreadable = f"Row {n} ({name or 'no name'}): {exc}. Fix the row in Bitrix24."
        plan.problems.append(unreadable)
        zero = Decimal("0")
        return Line(name, None, "problem", zero, zero, zero, zero, unreadable), None, None
    if rate != rate.quantize(PRICE_PLACES):
        plan.notes.append(f"Row {n}: price {rate} rounded to 5 decimal places for QuickBooks")
        rate = rate.quantize(PRICE_PLACES, ROUND_HALF_UP)
    amount = (qty * rate).quantize(CENT, ROUND_HALF_UP)

    item = items.get(key)
    action = "matched"
    request: Request | None = None
    problem: str | None = None
    if item is None:
        if not settings.create_missing_items:
            problem = (
                f"Row {n}: the product “{name}” has no QuickBooks item. Link it to an item in the "
                "app's settings, or allow creating items."
            )
        elif not name:
            problem = f"Row {n}: a product row without a name. Give it a name in Bitrix24."
        else:
            try:
                fitted = item_name(name)
            except Unstorable as exc:
                problem = f"Row {n}: {exc}"
            else:
                item, action = fitted.value, "create"
                plan.notes.extend(f"Row {n} item {note}" for note in fitted.notes)
    if action == "create" and item is not None:
        if item.casefold() in created:
            # two rows whose names fit to one item name make one item (a second add would be refused)
            item = created[item.casefold()]
        else:
            created[item.casefold()] = item
            request = add("ItemNonInventory", {
                "Name": item,
                "SalesOrPurchase": {
                    "Desc": fit(name, 4095, field="Desc").value,
                    "Price": rate,
                    "AccountRef": settings.income_account,
                },
            }, request_id=f"item-{len(created)}")  # fmt: skip
    if problem:
        plan.problems.append(problem)
        return Line(name, None, "problem", qty, rate, amount, tax_rate, problem), None, None

    fields: dict[str, Any] = {
        "ItemRef": Ref(full_name=item),
        "Quantity": qty,
        "Rate": rate,
        "SalesTaxCodeRef": settings.taxable_code if tax_rate > 0 else settings.non_taxable_code,
    }
    if name:
        try:
            desc = fit(name, 4095, field="Desc")
            fields["Desc"] = desc.value
        except Unstorable:
            pass
    account = settings.income_account if action == "create" else None
    return Line(name, item, action, qty, rate, amount, tax_rate, account=account), fields, request
