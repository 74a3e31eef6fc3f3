"""Read a :class:`~tests.e2e.invariants.Truth` from a running sandbox.

Money and records come from the simulators' own state, not from what the cloud believes: the QuickBooks
simulator's company file (customers, documents) and its exchange history (which message set created which
customer — answers QuickBooks gave even when they were lost on the way), the Bitrix24 emulator's CRM store
(companies, contacts, the app's "QuickBooks customer ID" field on them). From the cloud only what the rules
are about: the previews it showed (its sync log API) and the links it keeps (its ``mappings`` table, read
through a read-only connection).
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field

from lxml import etree

from .invariants import APP, PERSON, SEED, Customer, Deal, Document, Edit, Party, Record, Sync, Truth
from .world import Sandbox

DOCUMENT_KINDS = ("Invoice", "Estimate", "SalesOrder")
COMPANY, CONTACT = 4, 3  # the CRM's entity type ids
# The marker the app puts on a document (``cloud_app/sync/documents.py``: Other "B24 deal N", Memo "Bitrix24
# deal #N"). Reading it here is how a document is tied to its deal without asking the cloud.
DEAL_MARKS = (
    re.compile(r"<Other>B24 deal (\d+)</Other>"),
    re.compile(r"<Memo>(?:VOID: )?Bitrix24 deal #(\d+)"),
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass
class Scenario:
    """What the test itself did, which no system records: who made what, and the people's edits."""

    deals: list[Deal] = field(default_factory=list)
    seed_customers: frozenset[str] = frozenset()
    seed_records: frozenset[Party] = frozenset()
    person_records: set[Party] = field(default_factory=set)
    person_customers: set[str] = field(default_factory=set)
    edits: list[Edit] = field(default_factory=list)
    renames: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # by hand in QuickBooks
    another: dict[str, int] = field(default_factory=dict)


def snapshot_seed(box: Sandbox) -> tuple[frozenset[str], frozenset[Party]]:
    """What exists before the scenario: the sample company's customers, the seeded portal's records."""
    with box.qb.lock:
        customers = frozenset(r.id for r in box.qb.company.of_kind("Customer"))
    with box.emu.lock:
        records = frozenset(
            (kind, str(rid))
            for kind, etype in (("company", COMPANY), ("contact", CONTACT))
            for rid in box.portal.store.records[etype]
        )
    return customers, records


def read(box: Sandbox, scenario: Scenario) -> Truth:
    customers, documents = _quickbooks(box, scenario)
    return Truth(
        customers=customers,
        documents=documents,
        records=_bitrix24(box, scenario),
        deals=tuple(scenario.deals),
        syncs=_syncs(box, {d.deal_id for d in scenario.deals}),
        links=links(box),
        other_links=other_links(box),
        edits=tuple(scenario.edits),
        another=dict(scenario.another),
    )


def links(box: Sandbox) -> tuple[tuple[Party, str], ...]:
    """The cloud's customer links, as its database holds them."""
    with closing(sqlite3.connect(f"file:{box.config.database}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute(
            "SELECT b24_type, b24_id, qb_id FROM mappings WHERE member_id=? AND kind='customer' "
            "ORDER BY updated_at",
            (box.member_id,),
        ).fetchall()
    return tuple(((str(t), str(i)), str(q)) for t, i, q in rows)


def other_links(box: Sandbox) -> frozenset[Party]:
    """Companies and contacts the cloud links to other QuickBooks lists (suppliers to vendors)."""
    with closing(sqlite3.connect(f"file:{box.config.database}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute(
            "SELECT b24_type, b24_id FROM mappings WHERE member_id=? AND kind!='customer' "
            "AND b24_type IN ('company', 'contact')",
            (box.member_id,),
        ).fetchall()
    return frozenset((str(t), str(i)) for t, i in rows)


def linked_customer(box: Sandbox, party: Party) -> str | None:
    found = [q for p, q in links(box) if p == party]
    return found[-1] if found else None


# -- QuickBooks ---------------------------------------------------------------------------------------


def _quickbooks(box: Sandbox, scenario: Scenario) -> tuple[tuple[Customer, ...], tuple[Document, ...]]:
    qb = box.qb
    with qb.lock:
        history = [(x.request, x.response) for x in qb.history if x.response]
        records = [(r.kind, r.id, etree.tostring(r.el).decode()) for r in qb.company.records.values()]
    seen, made_for = _history(history)
    customers, documents = [], []
    for kind, rid, xml in records:
        el = etree.fromstring(xml.encode(), _PARSER)
        if kind == "Customer":
            origin = (
                SEED
                if rid in scenario.seed_customers
                else PERSON
                if rid in scenario.person_customers
                else APP
            )
            names = frozenset(seen.get(rid, set()) | scenario.renames.get(rid, set()))
            customers.append(
                Customer(
                    list_id=rid,
                    name=el.findtext("FullName") or "",
                    company_name=el.findtext("CompanyName") or "",
                    phone=el.findtext("Phone") or "",
                    origin=origin,
                    made_for_deal=made_for.get(rid),
                    names=names,
                )
            )
        elif kind in DOCUMENT_KINDS:
            memo = el.findtext("Memo") or ""
            documents.append(
                Document(
                    kind=kind,
                    txn_id=rid,
                    number=el.findtext("RefNumber") or "",
                    deal_id=deal_of(xml),
                    customer=el.findtext("CustomerRef/ListID") or "",
                    live=not memo.startswith("VOID:"),
                )
            )
    return tuple(customers), tuple(documents)


def deal_of(xml: str) -> str | None:
    """The deal a document (or a request adding one) belongs to, by the marker the app put on it."""
    for mark in DEAL_MARKS:
        found = mark.search(xml)
        if found:
            return found.group(1)
    return None


def _history(exchanges: Iterable[tuple[str, str]]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Every name each customer was answered with, and the deal whose message set created a customer."""
    seen: dict[str, set[str]] = defaultdict(set)
    made_for: dict[str, str] = {}
    for request, response in exchanges:
        if "CustomerRet" not in response:
            continue
        root = etree.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", response).encode(), _PARSER)
        for ret in root.iter("CustomerRet"):
            seen[ret.findtext("ListID") or ""].add(ret.findtext("FullName") or "")
        writes = any(f"<{k}{op}Rq" in request for k in DOCUMENT_KINDS for op in ("Add", "Mod"))
        deal = deal_of(request) if writes else None
        if deal is None:
            continue
        for added in root.iter("CustomerAddRs"):
            list_id = added.findtext("CustomerRet/ListID")
            if list_id:
                made_for.setdefault(list_id, deal)
    return seen, made_for


# -- Bitrix24 -------------------------------------------------------------------------------------------


def _bitrix24(box: Sandbox, scenario: Scenario) -> tuple[Record, ...]:
    out = []
    with box.emu.lock:
        for kind, etype in (("company", COMPANY), ("contact", CONTACT)):
            for rid, rec in box.portal.store.records[etype].items():
                party = (kind, str(rid))
                origin = (
                    SEED
                    if party in scenario.seed_records
                    else PERSON
                    if party in scenario.person_records
                    else APP
                )
                title = rec.get("TITLE") if kind == "company" else _person(rec)
                out.append(
                    Record(
                        party=party,
                        title=str(title or ""),
                        phones=tuple(str(m.get("VALUE", "")) for m in rec.get("PHONE") or []),
                        qb_list_id=str(rec.get("UF_CRM_QB_LIST_ID") or ""),
                        origin=origin,
                    )
                )
    return tuple(out)


def _person(rec: Mapping[str, object]) -> str:
    return " ".join(str(rec.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()


# -- the cloud's sync log ------------------------------------------------------------------------------


def _syncs(box: Sandbox, deals: set[str]) -> tuple[Sync, ...]:
    listed = box.api("GET", "/syncs").json()["syncs"]
    out = []
    for row in reversed(listed):  # oldest first
        if str(row["deal_id"]) not in deals:
            continue
        one = box.api("GET", f"/syncs/{row['sync_id']}").json()
        detail = one.get("detail") or {}
        out.append(
            Sync(
                sync_id=str(one["sync_id"]),
                deal_id=str(one["deal_id"]),
                state=str(one["state"]),
                customer=detail.get("customer"),
                txn_id=detail.get("txn_id"),
            )
        )
    return tuple(out)
