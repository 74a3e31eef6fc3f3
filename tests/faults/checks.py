"""What must hold at the end of every fault scenario (issue 18, Acceptance): every record on both sides
exactly once, every deal updated, nothing waiting.

Issue 17's rules (``tests/e2e/invariants.py``: one document per intent, on the customer shown, one record ↔
one customer, no edit lost) read from the simulators' own state — the QuickBooks company file on disk, the
emulator's portals saved through its door — plus the first sync's own: each QuickBooks invoice is one smart
invoice and each estimate one quote in Bitrix24, and every linked record shows its customer on its card.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests
from lxml import etree

from sandbox.bitrix24 import Bitrix24, Portal
from sandbox.quickbooks import SimulatedQuickBooks

from ..e2e import truth as truth_of
from ..e2e.invariants import Deal, check
from ..e2e.truth import Scenario
from .harness import Product

DEAL, QUOTE, SMART_INVOICE, CONTACT, COMPANY = 2, 7, 31, 3, 4


@dataclass
class Seen:
    """The product as the checks read it: duck-types what ``tests/e2e/truth.py`` reads from a sandbox."""

    emu: Bitrix24
    portal: Portal
    qb: SimulatedQuickBooks
    config: Any
    member_id: str
    product: Product

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.product.api(method, path, **kw)


def seen(p: Product) -> Seen:
    emu, portal = p.bitrix24_now()
    return Seen(emu, portal, p.quickbooks_now(), SimpleNamespace(database=Path(p.database)), p.member_id, p)


def scenario_at_start(p: Product) -> Scenario:
    """Who made what: everything there before the scenario is the seeds'."""
    customers, records = truth_of.snapshot_seed(seen(p))  # type: ignore[arg-type]
    return Scenario(seed_customers=customers, seed_records=records)


def violations(p: Product, scenario: Scenario, *, first_sync: bool = False) -> list[str]:
    """Everything wrong, in plain words (empty: the scenario ended well)."""
    out = [f"still waiting: {w}" for w in p.waiting()]
    now = seen(p)
    truth = truth_of.read(now, scenario)  # type: ignore[arg-type]
    out += [str(v) for v in check(truth)]
    out += _deals_updated(now, scenario.deals)
    if first_sync:
        out += _first_sync_once(p, now, scenario)
    return out


def assert_whole(p: Product, scenario: Scenario, *, first_sync: bool = False) -> None:
    """The scenario's end: nothing lost, nothing twice, nothing waiting."""
    found = violations(p, scenario, first_sync=first_sync)
    assert not found, "\n".join(found)


def _deals_updated(now: Seen, deals: list[Deal]) -> list[str]:
    out = []
    with now.qb.lock:
        docs = {
            r.id: etree.tostring(r.el).decode()
            for r in now.qb.company.records.values()
            if r.kind in truth_of.DOCUMENT_KINDS
        }
    store = now.portal.store
    for deal in deals:
        mine = [
            txn for txn, xml in docs.items() if truth_of.deal_of(xml) == deal.deal_id and "VOID:" not in xml
        ]
        if len(mine) != 1:
            out.append(f"deal {deal.deal_id}: {len(mine)} QuickBooks documents, one was asked for")
            continue
        record = store.records[DEAL].get(int(deal.deal_id)) or {}
        if str(record.get("UF_CRM_QB_TXN_ID") or "") != mine[0]:
            out.append(
                f"deal {deal.deal_id} was not updated: it shows QuickBooks document "
                f"{record.get('UF_CRM_QB_TXN_ID') or 'none'}, QuickBooks has {mine[0]}"
            )
        notes = [
            c for c in store.comments if c["ENTITY_TYPE_ID"] == DEAL and str(c["ENTITY_ID"]) == deal.deal_id
        ]
        if len(notes) != 1:
            out.append(
                f"deal {deal.deal_id}: {len(notes)} timeline comments about its document, one expected"
            )
        syncs = now.api("GET", "/syncs", params={"deal": deal.deal_id}).json()["syncs"]
        if not syncs or syncs[0]["state"] != "done":
            out.append(
                f"deal {deal.deal_id}: its sync is {syncs[0]['state'] if syncs else 'missing'}, not done"
            )
    return out


def _first_sync_once(p: Product, now: Seen, scenario: Scenario) -> list[str]:
    out = []
    state = p.api("GET", "/initial-sync").json()
    for phase in ("state", "items", "documents"):
        got = (state.get(phase) or {}).get("state")
        if got != "done":
            out.append(f"the first sync's {phase} phase is {got or 'not started'}, not done")
    with now.qb.lock:
        docs = [
            (r.kind, r.id, r.el.findtext("RefNumber") or "")
            for r in now.qb.company.records.values()
            if r.kind in ("Invoice", "Estimate") and truth_of.deal_of(etree.tostring(r.el).decode()) is None
        ]  # a deal's own document shows on the deal, not as a smart invoice
    store = now.portal.store
    invoices = Counter(
        str(f.get("XML_ID") or f.get("xmlId") or "") for f in store.records[SMART_INVOICE].values()
    )
    quotes = Counter(str(f.get("TITLE") or f.get("title") or "") for f in store.records[QUOTE].values())
    for kind, txn, number in docs:
        n = invoices[f"QB:{txn}"] if kind == "Invoice" else quotes[f"Estimate {number}"]
        if n != 1:
            what = "smart invoices" if kind == "Invoice" else "quotes"
            out.append(f"QuickBooks {kind.lower()} {number or txn} is {n} {what} in Bitrix24, one expected")
    links = truth_of.links(now)  # type: ignore[arg-type]
    cards = {
        (kind, str(rid)): str(rec.get("UF_CRM_QB_LIST_ID") or "")
        for kind, etype in (("company", COMPANY), ("contact", CONTACT))
        for rid, rec in store.records[etype].items()
    }
    unstamped = [  # the first sync stamps what it linked (a person's new record gets its card later)
        party
        for party, list_id in links
        if party not in scenario.person_records and cards.get(party) != list_id
    ]
    if unstamped:
        out.append(
            f"{len(unstamped)} linked records do not show their QuickBooks customer, e.g. {unstamped[:3]}"
        )
    return out
