"""A QuickBooks Desktop company file in memory: records as the ``…Ret`` trees QuickBooks returns.

Each record is kept as the exact element QuickBooks would answer with (``CustomerRet``, ``InvoiceRet`` …),
children in the catalogue's order, so a query is a copy and a modification is an edit. Identity and
concurrency follow the contract (§6): ``ListID`` ``80000001-1764000000`` (hex counter, creation epoch),
``TxnID``/``TxnLineID`` ``1A2B-1764000000``, an ``EditSequence`` that changes on every modification, and
``TimeCreated``/``TimeModified`` in whole seconds with the company's UTC offset (DST-aware).

Name spaces: customers, vendors, employees and other names share one (3100 across them); items share one;
terms share one; every other list has its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from lxml import etree

from shared.qbxml.schema import Element, Schema, load

NAME_ENTITIES = ("Customer", "Vendor", "Employee", "OtherName")
ITEM_ENTITIES = (
    "ItemService",
    "ItemNonInventory",
    "ItemInventory",
    "ItemOtherCharge",
    "ItemDiscount",
    "ItemSubtotal",
    "ItemSalesTax",
    "ItemSalesTaxGroup",
    "ItemGroup",
    "ItemPayment",
)
TERMS_ENTITIES = ("StandardTerms", "DateDrivenTerms")
OTHER_LISTS = (
    "SalesRep",
    "Class",
    "CustomerType",
    "VendorType",
    "JobType",
    "SalesTaxCode",
    "PaymentMethod",
    "ShipMethod",
    "Account",
    "Currency",
    "PriceLevel",
    "CustomerMsg",
    "InventorySite",
    "UnitOfMeasureSet",
)
LIST_ENTITIES = NAME_ENTITIES + ITEM_ENTITIES + TERMS_ENTITIES + OTHER_LISTS
TXN_ENTITIES = ("Invoice", "Estimate", "SalesOrder", "CreditMemo", "ReceivePayment", "ARRefundCreditCard")

# Which lists a reference may point at (by the reference element's name).
REF_TARGETS: dict[str, tuple[str, ...]] = {
    "CustomerRef": ("Customer",),
    "VendorRef": ("Vendor",),
    "TaxVendorRef": ("Vendor",),
    "PrefVendorRef": ("Vendor",),
    "EmployeeRef": ("Employee",),
    "EntityRef": NAME_ENTITIES,
    "ItemRef": ITEM_ENTITIES,
    "ItemSalesTaxRef": ("ItemSalesTax", "ItemSalesTaxGroup"),
    "SalesRepRef": ("SalesRep",),
    "SalesRepEntityRef": ("Employee", "Vendor", "OtherName"),
    "TermsRef": TERMS_ENTITIES,
    "ClassRef": ("Class",),
    "CustomerTypeRef": ("CustomerType",),
    "VendorTypeRef": ("VendorType",),
    "JobTypeRef": ("JobType",),
    "SalesTaxCodeRef": ("SalesTaxCode",),
    "CustomerSalesTaxCodeRef": ("SalesTaxCode",),
    "PaymentMethodRef": ("PaymentMethod",),
    "PreferredPaymentMethodRef": ("PaymentMethod",),
    "ShipMethodRef": ("ShipMethod",),
    "PriceLevelRef": ("PriceLevel",),
    "CurrencyRef": ("Currency",),
    "CustomerMsgRef": ("CustomerMsg",),
    "InventorySiteRef": ("InventorySite",),
    "ParentSiteRef": ("InventorySite",),
    "UnitOfMeasureSetRef": ("UnitOfMeasureSet",),
    "OverrideUOMSetRef": ("UnitOfMeasureSet",),
}


def ref_targets(ref_name: str, owner_kind: str) -> tuple[str, ...]:
    if ref_name == "ParentRef":
        return name_space(owner_kind)
    if ref_name.endswith("AccountRef"):
        return ("Account",)
    return REF_TARGETS.get(ref_name, (ref_name[:-3],))


def name_space(kind: str) -> tuple[str, ...]:
    for group in (NAME_ENTITIES, ITEM_ENTITIES, TERMS_ENTITIES):
        if kind in group:
            return group
    return (kind,)


def readable(kind: str) -> str:
    """``ItemService`` → ``Item``, ``StandardTerms`` → ``Terms``: how QuickBooks names types in messages."""
    if kind.startswith("Item"):
        return "Item"
    if kind.endswith("Terms"):
        return "Terms"
    return kind


def code_page(text: str) -> str:
    """QuickBooks (US) stores Windows-1252 text; what does not fit becomes "?" (contract §9, a choice)."""
    return text.encode("cp1252", errors="replace").decode("cp1252")


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):.2f}"


@dataclass
class Record:
    kind: str  # "Customer", "ItemService", "Invoice", …
    id: str
    el: etree._Element  # the …Ret element, authoritative
    seq: int
    data_ext: list[tuple[str, str, str, str]] = field(default_factory=list)  # owner, name, type, value

    def text(self, name: str) -> str | None:
        return self.el.findtext(name)

    @property
    def full_name(self) -> str:
        # A sales rep is referred to by its initials.
        return self.el.findtext("FullName") or self.el.findtext("Name") or self.el.findtext("Initial") or ""

    @property
    def is_list(self) -> bool:
        return self.kind in LIST_ENTITIES


@dataclass(frozen=True)
class Deleted:
    kind: str
    id: str
    time_created: str
    time_deleted: datetime
    name: str  # FullName (lists) or RefNumber (transactions)


class Company:
    """One company file. Not thread-safe by itself; the host serialises access."""

    def __init__(
        self,
        name: str = "Rock Castle Construction",
        *,
        timezone: str = "America/Los_Angeles",
        clock: Callable[[], datetime] | None = None,
        schema: Schema | None = None,
    ) -> None:
        self.name = name
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.schema = schema or load()
        self.records: dict[str, Record] = {}
        # Last name segment (casefolded) → ids that had it: a hint, verified on every lookup. Every way a
        # name changes (put, rename) adds to it, so a miss is certain without scanning every record.
        self._names: dict[str, set[str]] = {}
        self.deleted: list[Deleted] = []
        self.data_ext_defs: list[tuple[str, str, str]] = []  # owner, name, type
        self.data_ext_objects: dict[str, list[str]] = {}  # "owner|name" → AssignToObject (custom_fields)
        self.default_tax_item: str | None = None
        self._list_counter = 0x80000000
        self._txn_counter = 0x10000
        self._seq = 0
        self._ref_numbers: dict[str, int] = {}
        self._last_epoch = 0
        self.locked: set[str] = set()  # ids "in use by another user" (fault switch)
        # OwnerID → the FileID the Web Connector stamped on its first connection (PG Table 4-1; errata 9)
        self.file_ids: dict[str, str] = {}
        self.closing_date: date | None = None  # Company → Set Closing Date (shown in PreferencesRet)
        # Edit → Preferences → Multiple Currencies (``currencies.turn_on``): off in a new file; once on,
        # never off again; ``home_currency`` is the ListID of the home currency's CurrencyRet
        self.multi_currency = False
        # Advanced Inventory's multiple locations (Enterprise): lines may name an inventory site
        self.multi_location = False
        self.home_currency: str | None = None

    # -- time and identity ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """Company-local time, whole seconds, with its UTC offset."""
        return self.clock().astimezone(self.tz).replace(microsecond=0)

    def stamp(self) -> str:
        return self.now().isoformat()

    def today(self) -> date:
        return self.now().date()

    def _epoch(self) -> int:
        # Strictly increasing, so two changes in one second still get different EditSequences.
        epoch = max(int(self.clock().timestamp()), self._last_epoch + 1)
        self._last_epoch = epoch
        return epoch

    def new_list_id(self) -> str:
        self._list_counter += 1
        return f"{self._list_counter:08X}-{int(self.clock().timestamp())}"

    def new_txn_id(self) -> str:
        self._txn_counter += 1
        return f"{self._txn_counter:X}-{int(self.clock().timestamp())}"

    def new_edit_sequence(self) -> str:
        return str(self._epoch())

    def next_ref_number(self, kind: str) -> str:
        if kind not in self._ref_numbers:
            numbers = [
                int(r.text("RefNumber") or "0")
                for r in self.of_kind(kind)
                if (r.text("RefNumber") or "").isdigit()
            ]
            self._ref_numbers[kind] = max(numbers, default=1000)
        self._ref_numbers[kind] += 1
        return str(self._ref_numbers[kind])

    # -- records --------------------------------------------------------------------------------------

    def ret_spec(self, kind: str) -> Element:
        rs = self.schema.message(f"{kind}QueryRs") if self.schema.has_message(f"{kind}QueryRs") else None
        if rs is None or rs.child(f"{kind}Ret") is None:
            rs = self.schema.message(f"{kind}AddRs")
        spec = rs.child(f"{kind}Ret")
        assert spec is not None, kind
        return spec

    def put(self, kind: str, el: etree._Element) -> Record:
        self._seq += 1
        rid = el.findtext("ListID") or el.findtext("TxnID") or ""
        record = Record(kind, rid, el, self._seq)
        self.records[rid] = record
        self._index(record)
        return record

    def _index(self, record: Record) -> None:
        leaf = record.full_name.rsplit(":", 1)[-1].casefold()
        self._names.setdefault(leaf, set()).add(record.id)

    def get(self, rid: str) -> Record | None:
        return self.records.get(rid)

    def of_kind(self, *kinds: str) -> Iterator[Record]:
        return (r for r in self.records.values() if r.kind in kinds)

    def by_name(self, kinds: tuple[str, ...], full_name: str) -> Record | None:
        wanted = full_name.casefold()
        hinted = (self.records.get(rid) for rid in self._names.get(wanted.rsplit(":", 1)[-1], ()))
        found = [r for r in hinted if r is not None and r.kind in kinds and r.full_name.casefold() == wanted]
        return min(found, key=lambda r: r.seq, default=None)

    def children_of(self, record: Record) -> list[Record]:
        return [
            r
            for r in self.records.values()
            if r.kind in name_space(record.kind) and r.el.findtext("ParentRef/ListID") == record.id
        ]

    def touch(self, record: Record) -> None:
        """A modification: new EditSequence and TimeModified."""
        _set(record.el, "EditSequence", self.new_edit_sequence())
        _set(record.el, "TimeModified", self.stamp())
        self._index(record)  # a Mod may have changed the name (or a sales rep's initials)

    def remove(self, record: Record) -> Deleted:
        del self.records[record.id]
        name = record.full_name if record.is_list else (record.text("RefNumber") or "")
        gone = Deleted(record.kind, record.id, record.text("TimeCreated") or "", self.now(), name)
        self.deleted.append(gone)
        return gone

    def copy(self) -> Company:
        """A snapshot (for rollbackOnError)."""
        return copy.deepcopy(self)

    # -- "by hand", as a bookkeeper in QuickBooks ------------------------------------------------------

    def edit(self, rid: str, **fields: str) -> Record:
        """Change top-level fields of a record as a person would in QuickBooks' forms."""
        record = self.records[rid]
        spec = self.ret_spec(record.kind)
        for name, value in fields.items():
            if spec.child(name) is None:
                raise KeyError(f"{record.kind}Ret has no field {name}")
            _set(record.el, name, code_page(value), spec)
            if name == "Name" and record.is_list:
                self.rename(record, value)
        self.touch(record)
        return record

    def rename(self, record: Record, name: str) -> None:
        parent = record.el.findtext("ParentRef/FullName")
        _set(record.el, "FullName", f"{parent}:{name}" if parent else name)
        self._index(record)
        for child in self.children_of(record):
            _set(child.el, "ParentRef/FullName", record.full_name)
            self.rename(child, child.el.findtext("Name") or "")


def _set(el: etree._Element, path: str, value: str, spec: Element | None = None) -> None:
    """Set (or create) ``path``'s text; new top-level children go to their catalogue position."""
    node = el.find(path)
    if node is None:
        if "/" in path:
            raise KeyError(path)
        node = etree.Element(path)
        insert_ordered(el, node, spec)
    node.text = value


def insert_ordered(parent: etree._Element, child: etree._Element, spec: Element | None) -> None:
    if spec is None:
        parent.append(child)
        return
    order = {e.name: i for i, e in enumerate(spec.child_elements())}
    rank = order.get(child.tag, len(order))
    for i, existing in enumerate(parent):
        if order.get(existing.tag, len(order)) > rank:
            parent.insert(i, child)
            return
    parent.append(child)


def sort_children(parent: etree._Element, spec: Element) -> None:
    """Put children in catalogue order (stable for repeated ones); drop what the Ret does not have."""
    order = {e.name: i for i, e in enumerate(spec.child_elements())}
    kids = [c for c in parent if isinstance(c.tag, str)]
    for c in kids:
        parent.remove(c)
    for c in sorted((c for c in kids if c.tag in order), key=lambda c: order[c.tag]):
        parent.append(c)
