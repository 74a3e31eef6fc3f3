"""What must hold after any scenario, whatever faults and repeats it had (issue 17's invariants).

Pure: :func:`check` takes a :class:`Truth` — plain values read from the QuickBooks simulator's company
file, the Bitrix24 emulator's CRM store, the cloud's sync log and its links (``tests/e2e/truth.py`` reads
them) and the edits people made during the scenario — and returns every violation in plain words, so a
failing run explains itself. Nothing here asks the product how it thinks things are linked beyond its
recorded links and previews; the money is read from QuickBooks itself.

The rules:

a. each deal has at most one live QuickBooks document (not voided), unless the person asked for another;
b. each document is on the customer the preview showed — by name, and by identity: the customer linked to
   the deal's client;
c. each Bitrix24 company/contact is linked to at most one QuickBooks customer and each customer to at most
   one record; the app never made two customers for one record, nor a second record in Bitrix24 for a
   customer it had made for a record, nor anything it did not link;
d. no field changed on one side alone was overwritten, and on a linked pair it reached the other side.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Party = tuple[str, str]  # ("company", "12") / ("contact", "5")

SEED, PERSON, APP = "seed", "person", "app"  # who made a record
BITRIX24, QUICKBOOKS = "bitrix24", "quickbooks"
TITLE, PHONE = "title", "phone"  # the synced fields the scenarios edit: TITLE ↔ CompanyName, PHONE ↔ Phone
COMPANY_NAME_MAX = 41  # QuickBooks Desktop's limit on CompanyName (qbxmlops140: CustomerAdd, max length 41)


@dataclass(frozen=True)
class Customer:
    """A QuickBooks customer as the company file holds it."""

    list_id: str
    name: str  # FullName now
    company_name: str = ""
    phone: str = ""
    origin: str = APP
    made_for_deal: str | None = None  # created in the same message set as that deal's document
    names: frozenset[str] = frozenset()  # every name it was seen with (renames), besides ``name``

    def known_as(self, name: str) -> bool:
        return name == self.name or name in self.names


@dataclass(frozen=True)
class Document:
    """An invoice, estimate or sales order in QuickBooks; ``deal_id`` from the marker we put on it."""

    kind: str
    txn_id: str
    number: str
    deal_id: str | None
    customer: str  # ListID
    live: bool = True  # False once voided

    @property
    def label(self) -> str:
        return f"{_kind_name(self.kind)} {self.number or self.txn_id}"


@dataclass(frozen=True)
class Record:
    """A Bitrix24 company or contact as the CRM store holds it."""

    party: Party
    title: str
    phones: tuple[str, ...] = ()
    qb_list_id: str = ""  # the app's "QuickBooks customer ID" field on the card
    origin: str = PERSON


@dataclass(frozen=True)
class Deal:
    deal_id: str
    client: Party


@dataclass(frozen=True)
class Sync:
    """One "Sync to QuickBooks" as the cloud's sync log shows it (``GET …/syncs/{id}``)."""

    sync_id: str
    deal_id: str
    state: str
    customer: str | None  # the customer the preview showed
    txn_id: str | None = None  # the document it says it made


@dataclass(frozen=True)
class Edit:
    """A person's change: in Bitrix24 of a record (``target`` "company:12"), in QuickBooks of a customer
    (``target`` its ListID)."""

    side: str
    target: str
    field: str
    value: str


@dataclass(frozen=True)
class Truth:
    customers: tuple[Customer, ...] = ()
    documents: tuple[Document, ...] = ()
    records: tuple[Record, ...] = ()
    deals: tuple[Deal, ...] = ()
    syncs: tuple[Sync, ...] = ()
    links: tuple[tuple[Party, str], ...] = ()  # the cloud's customer links: (record, ListID)
    other_links: frozenset[Party] = frozenset()  # records linked to other QuickBooks lists (vendors)
    edits: tuple[Edit, ...] = ()
    another: Mapping[str, int] = field(default_factory=dict)  # deal → further documents asked for


@dataclass(frozen=True)
class Violation:
    rule: str  # "a" | "b" | "c" | "d"
    text: str

    def __str__(self) -> str:
        return f"({self.rule}) {self.text}"


def check(truth: Truth) -> list[Violation]:
    """Every violation of rules a–d, in that order."""
    view = _View(truth)
    return [*_one_document(view), *_on_the_customer_shown(view), *_one_to_one(view), *_edits_kept(view)]


# -- the indexes every rule reads ----------------------------------------------------------------------


class _View:
    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.customers = {c.list_id: c for c in truth.customers}
        self.records = {r.party: r for r in truth.records}
        self.deals = {d.deal_id: d for d in truth.deals}
        self.documents = {d.txn_id: d for d in truth.documents}
        self.customers_of: dict[Party, set[str]] = defaultdict(set)  # by the cloud's links
        self.parties_of: dict[str, set[Party]] = defaultdict(set)
        for party, list_id in truth.links:
            self.customers_of[party].add(list_id)
            self.parties_of[list_id].add(party)

    def customer(self, list_id: str) -> str:
        c = self.customers.get(list_id)
        return (
            f"QuickBooks customer “{c.name}”"
            if c
            else f"a QuickBooks customer that no longer exists ({list_id})"
        )

    def record(self, party: Party) -> str:
        r = self.records.get(party)
        return f"{party[0]} {party[1]}" + (f" “{r.title}”" if r and r.title else "")

    def linked(self, party: Party) -> str | None:
        found = self.customers_of.get(party) or set()
        return next(iter(found)) if len(found) == 1 else None

    def party_of(self, list_id: str) -> Party | None:
        found = self.parties_of.get(list_id) or set()
        return next(iter(found)) if len(found) == 1 else None

    def made_for(self, c: Customer) -> Party | None:
        """The Bitrix24 record the app made this customer for: the deal whose document came with it, else
        the record it is linked to."""
        if c.made_for_deal is not None and c.made_for_deal in self.deals:
            return self.deals[c.made_for_deal].client
        return self.party_of(c.list_id)


# -- a. one intent, at most one document ---------------------------------------------------------------


def _one_document(view: _View) -> Iterable[Violation]:
    live: dict[str, list[Document]] = defaultdict(list)
    for d in view.truth.documents:
        if d.live and d.deal_id is not None:
            live[d.deal_id].append(d)
    for deal_id, docs in sorted(live.items(), key=lambda kv: _num(kv[0])):
        allowed = 1 + view.truth.another.get(deal_id, 0)
        if len(docs) > allowed:
            asked = "one was asked for" if allowed == 1 else f"{allowed} were asked for"
            yield Violation(
                "a",
                f"deal {deal_id} has {len(docs)} live QuickBooks documents ({_labels(docs)}); {asked}",
            )


# -- b. on the customer the preview showed ---------------------------------------------------------------


def _on_the_customer_shown(view: _View) -> Iterable[Violation]:
    latest = {s.txn_id: s for s in view.truth.syncs if s.txn_id}  # a later sync may update the document
    for s in latest.values():
        doc = view.documents.get(s.txn_id or "")
        if doc is None:
            yield Violation(
                "b",
                f"deal {s.deal_id}: sync {s.sync_id} says it made document {s.txn_id}, QuickBooks has none",
            )
            continue
        c = view.customers.get(doc.customer)
        if s.customer and (c is None or not c.known_as(s.customer)):
            yield Violation(
                "b",
                f"deal {s.deal_id}: {doc.label} is on {view.customer(doc.customer)}, "
                f"but the preview showed “{s.customer}”",
            )
    for doc in sorted(view.truth.documents, key=lambda d: _num(d.deal_id or "")):
        deal = view.deals.get(doc.deal_id or "")
        if deal is None or not doc.live:
            continue
        linked = view.linked(deal.client)
        if linked == doc.customer:
            continue
        now = (
            f"is linked to {view.customer(linked)}"
            if linked
            else "is linked to no QuickBooks customer"
            if not view.customers_of.get(deal.client)
            else "is linked to several"
        )
        owner = view.party_of(doc.customer)
        theirs = f" (which belongs to {view.record(owner)})" if owner and owner != deal.client else ""
        yield Violation(
            "b",
            f"deal {deal.deal_id}: {doc.label} is on {view.customer(doc.customer)}{theirs}, "
            f"but the deal's client {view.record(deal.client)} {now}",
        )


# -- c. one record, one customer ---------------------------------------------------------------------------


def _one_to_one(view: _View) -> Iterable[Violation]:
    truth = view.truth
    for linked_party, found in sorted(view.customers_of.items()):
        if len(found) > 1:
            names = ", ".join(sorted(view.customer(x) for x in found))
            yield Violation("c", f"{view.record(linked_party)} is linked to {len(found)} customers: {names}")
    cards: dict[str, set[Party]] = defaultdict(set)  # what the records' own cards say
    for r in truth.records:
        if r.qb_list_id:
            cards[r.qb_list_id].add(r.party)
            if view.customers_of.get(r.party) and r.qb_list_id not in view.customers_of[r.party]:
                yield Violation(
                    "c",
                    f"{view.record(r.party)} shows {view.customer(r.qb_list_id)} on its card, "
                    "but is linked to "
                    + ", ".join(sorted(view.customer(x) for x in view.customers_of[r.party])),
                )
    for list_id in sorted(set(cards) | set(view.parties_of)):
        parties = cards.get(list_id, set()) | view.parties_of.get(list_id, set())
        if len(parties) > 1:
            yield Violation(
                "c",
                f"{view.customer(list_id)} is linked to {len(parties)} Bitrix24 records: "
                + ", ".join(view.record(p) for p in sorted(parties)),
            )
    made: dict[Party, list[Customer]] = defaultdict(list)
    for c in truth.customers:
        if c.origin != APP:
            continue
        party = view.made_for(c)
        if party is None:
            yield Violation(
                "c", f"the app created {view.customer(c.list_id)}, which belongs to no Bitrix24 record"
            )
            continue
        made[party].append(c)
        linked = view.party_of(c.list_id)
        if c.made_for_deal is not None and linked is not None and linked != party:
            yield Violation(
                "c",
                f"{view.customer(c.list_id)} was made for deal {c.made_for_deal} of {view.record(party)}, "
                f"but is linked to {view.record(linked)}",
            )
    for party, customers in sorted(made.items()):
        if len(customers) > 1:
            yield Violation(
                "c",
                f"the app made {len(customers)} QuickBooks customers for {view.record(party)}: "
                + ", ".join(f"“{c.name}”" for c in customers),
            )
    app_records: dict[str, list[Record]] = defaultdict(list)
    for r in truth.records:
        if r.origin != APP or r.party in truth.other_links:
            continue
        list_id = r.qb_list_id or view.linked(r.party) or ""
        if not list_id:
            yield Violation("c", f"the app created {view.record(r.party)} in Bitrix24, linked to no customer")
            continue
        app_records[list_id].append(r)
        made_by = view.customers.get(list_id)
        source = view.made_for(made_by) if made_by is not None and made_by.origin == APP else None
        if source is not None and source != r.party:
            yield Violation(
                "c",
                f"the app created {view.record(r.party)} in Bitrix24 for {view.customer(list_id)}, "
                f"which it had made for {view.record(source)}: one client, two records on each side",
            )
    for list_id, records in sorted(app_records.items()):
        if len(records) > 1:
            yield Violation(
                "c",
                f"the app created {len(records)} Bitrix24 records for {view.customer(list_id)}: "
                + ", ".join(view.record(r.party) for r in records),
            )


# -- d. nobody's edit silently lost ------------------------------------------------------------------------


def _edits_kept(view: _View) -> Iterable[Violation]:
    """Per linked pair (or lone record) and field: when people changed it on one side only, that side still
    shows the last change, and a linked other side shows it too."""
    by_pair: dict[tuple[str, str, str], list[Edit]] = defaultdict(list)
    for e in view.truth.edits:
        if e.side == BITRIX24:
            party = _party(e.target)
            list_id = view.linked(party) or ""
            by_pair[(f"{party[0]}:{party[1]}", list_id, e.field)].append(e)
        else:
            owner = view.party_of(e.target)
            by_pair[(f"{owner[0]}:{owner[1]}" if owner else "", e.target, e.field)].append(e)
    for (target, list_id, name), edits in by_pair.items():
        sides = {e.side for e in edits}
        if len(sides) != 1:
            continue  # both sides changed it: a conflict, the configured winner decides
        last = edits[-1]
        record = view.records.get(_party(target)) if target else None
        customer = view.customers.get(list_id) if list_id else None
        b24_now = _b24_value(record, name) if record else None
        qb_now = _qb_value(customer, name) if customer else None
        where = view.record(_party(target)) if target else view.customer(list_id)
        said = "in Bitrix24" if last.side == BITRIX24 else "in QuickBooks"
        own, other = (b24_now, qb_now) if last.side == BITRIX24 else (qb_now, b24_now)
        if own is not None and not _same(name, own, last.value, last.side):
            yield Violation(
                "d",
                f"{where}: its {name} was changed {said} to “{last.value}” and not on the other side, "
                f"but {said} it is now {_quoted(own)}",
            )
        elif own is not None and other is not None and not _same(name, other, last.value, _other(last.side)):
            there = "QuickBooks" if last.side == BITRIX24 else "Bitrix24"
            yield Violation(
                "d",
                f"{where}: its {name} was changed {said} to “{last.value}”, "
                f"but {there} still shows {_quoted(other)}",
            )


def _b24_value(record: Record, name: str) -> str | tuple[str, ...]:
    return record.title if name == TITLE else record.phones


def _qb_value(customer: Customer, name: str) -> str:
    return customer.company_name if name == TITLE else customer.phone


def _same(name: str, now: str | tuple[str, ...], wanted: str, side: str) -> bool:
    if name == PHONE:
        values = now if isinstance(now, tuple) else (now,)
        return _digits(wanted) in {_digits(v) for v in values}
    held, wanted = str(now).strip(), wanted.strip()
    if side == QUICKBOOKS and len(wanted) > COMPANY_NAME_MAX:
        return bool(held) and wanted.startswith(
            held
        )  # QuickBooks keeps 41 characters of it: a cut is the same
    return held == wanted


def _other(side: str) -> str:
    return QUICKBOOKS if side == BITRIX24 else BITRIX24


def _quoted(value: str | tuple[str, ...]) -> str:
    text = ", ".join(value) if isinstance(value, tuple) else value
    return f"“{text}”" if text else "empty"


def _digits(phone: str) -> str:
    """The number without its punctuation or a North American country code: each side writes it its way."""
    digits = re.sub(r"\D", "", phone)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


# -- words ------------------------------------------------------------------------------------------------


def _party(target: str) -> Party:
    kind, _, rid = target.partition(":")
    return (kind, rid)


def _kind_name(kind: str) -> str:
    return {"SalesOrder": "Sales order"}.get(kind, kind)


def _labels(docs: list[Document]) -> str:
    return ", ".join(d.label for d in docs)


def _num(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (0, text)
