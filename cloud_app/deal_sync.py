"""A deal's "Sync to QuickBooks", end to end: read the deal, look its customer and items up in QuickBooks,
send one message set (customer → items → document), and write the outcome back to the deal.

Two Web Connector jobs, usually in one session (the agent asks for more work after each):

1. **lookup** (``continueOnError``, read-only): the customer's name among customers and the other lists of
   QuickBooks' shared name space, and each product's name among items. Found names are linked, not
   created again; a name taken by a vendor or employee gets a readable ``(Customer)`` suffix.
2. **write** (``stopOnError``, ``newMessageSetID`` = job id, ``ExternalGUID`` marker): planned by
   :func:`cloud_app.sync.documents.plan_document` from what the lookup found. A deal that already has a
   document of that type gets it *updated* (``…Mod`` with the EditSequence the lookup read); another
   document is added only when a person explicitly asks for one (``another``).

**Exactly once.** A write whose answer did not come back (any Web Connector error, the agent's
"answer lost") may have landed. Before anything is sent again the cloud asks QuickBooks: first for the
saved outcome of the message set (``oldMessageSetID``), then — QuickBooks may keep only the latest set —
for the document carrying the write's ``ExternalGUID`` marker and for the customer and items it would
have added. Only when none is there is the same message set (same id, same marker) sent again. A sync
moves between states by compare-and-set (``Links.move_sync``): two confirms, two Retries or a double
click of one intent make one write.

The decisions are the pure modules' (``cloud_app/sync``); this module is the runner: it reads, enqueues,
and applies results. Every step is recorded on the sync (``Links.update_sync``) for the page to show.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, build, query, validate
from shared.qbxml.parser import Status, parse_response
from shared.qbxml.values import Ref

from . import company_time, qb_changes, retries, sales_reps
from .agents.store import JobRow
from .b24 import origin
from .b24.errors import B24Error
from .b24.once import Create, create_once
from .links import DocSync, Link
from .sync import classes, crm, currency, custom_fields, failures, inventory, preconditions, salestax
from .sync.customers import CustomerDraft, from_company, from_contact
from .sync.documents import Existing, Kind, item_lookups, marker, plan_document, row_key, row_name
from .sync.names import ListName, alternatives, choose, disambiguate
from .sync.text import Unstorable

if TYPE_CHECKING:
    from .b24.client import BatchResult
    from .services import Services

log = logging.getLogger("qb_cloud.deal_sync")

VERSION = "13.0"
LOOKUP, WRITE, RECOVER, MARKER = "deal-lookup:", "deal-sync:", "deal-recover:", "deal-marker:"
DOCUMENT_KINDS = {
    "invoice": "Invoice",
    "estimate": "Estimate",
    "salesorder": "SalesOrder",
    "creditmemo": "CreditMemo",  # only when the person chose it in the preview (web.document_kind)
}
PRIORITY = 1  # a person is waiting: before background sync (5)
PREVIEW_TTL = 30 * 60  # seconds a preview can be confirmed: its lookup of QuickBooks ages
OTHER_LISTS = ("Vendor", "Employee", "OtherName")


class Refused(Exception):
    """The click cannot start (unknown deal, no agent paired, …): said to the person at once."""


class Running(Refused):
    """The same intent is already on its way (a second confirm or Retry): the page follows that sync."""

    def __init__(self, message: str, sync_id: str) -> None:
        super().__init__(message)
        self.sync_id = sync_id


DEAL_FIELDS = ("ID", "TITLE", "CURRENCY_ID", "COMPANY_ID", "CONTACT_ID", "ASSIGNED_BY_ID", "CATEGORY_ID")


def start(
    services: Services,
    member_id: str,
    deal_id: str,
    kind: Kind,
    *,
    preview: bool = False,
    another: bool = False,
    sync_id: str | None = None,
    attempt: int = 1,
    confirmed: Mapping[str, Any] | None = None,
) -> str:
    """Read the deal and queue the lookup; the sync id the page follows. With ``preview`` the plan stops
    at state ``preview`` (what QuickBooks will get, problems included) until :func:`confirm`. A deal whose
    sync is already on its way answers with that sync (a double click is one intent). ``another``: a new
    document even though the deal has one of that type (a person's explicit choice). A retry passes its
    ``attempt`` (the backoff grows with it) and, for a sync a person confirmed, what they ``confirmed``:
    the new plan is sent only if it still is that (:func:`_changed_since`)."""
    if not services.agents.paired(member_id):
        raise Refused("No QuickBooks agent is paired yet. Pair one on the app's setup page first.")
    client = services.client(member_id)
    got = client.batch(
        {"deal": ("crm.deal.get", {"id": deal_id}), "rows": ("crm.deal.productrows.get", {"id": deal_id})}
    )
    if "deal" in got.errors:
        raise Refused(f"Deal {deal_id} could not be read: {got.errors['deal'].get('error_description', '')}")
    deal = got.result["deal"]
    rows = list(got.result.get("rows") or [])
    links, file = services.links, services.company_file(member_id)
    # a deal in another currency than the home one (as last known) goes to the client's customer in it
    link_currency = currency.key(str(deal.get("CURRENCY_ID") or ""), _home(services, member_id))
    customer, party = customer_for(services, member_id, file, deal, link_currency)
    sync_id = sync_id or _new_sync_id()
    products: dict[str, str] = {}  # product id → its QuickBooks item, or the name to look for
    texts: dict[str, str] = {}  # a free-text row's key → the item name to look for
    lookups: dict[str, list[str]] = {}  # a row's key → the item FullNames to look for, preferred first
    linked: set[str] = set()
    for row in rows:
        pid, key = str(row.get("PRODUCT_ID") or "0"), row_key(row)
        mapped = links.by_b24(member_id, file, "product", pid) if key.startswith("P") else None
        if mapped is not None:
            products[pid] = mapped.qb_name
            linked.add(pid)
            continue
        try:  # QuickBooks may have the row's item already: by its path, or the name we would give it
            names = item_lookups(row_name(row)) if row_name(row) else []
        except Unstorable:
            names = []  # the plan says what to do about it
        wanted = names[-1] if names else ""
        if key.startswith("P"):
            products[pid] = wanted
        elif wanted:
            texts[key] = wanted
        if names:
            lookups[key] = names
    detail: dict[str, Any] = {
        "deal": {k: deal.get(k) for k in DEAL_FIELDS},
        "rows": rows,
        "party": party,
        "draft": customer,  # the preview's "customer" is the name it will have
        "products": products,
        "texts": texts,
        "lookups": lookups,
        "mapped": sorted(linked),
        "link_currency": link_currency,
        "preview_first": preview,
        "another": another,
        "attempt": attempt,
        "confirmed_plan": dict(confirmed) if confirmed else None,
        "documents": _documents(links.documents_of_deal(member_id, file, deal_id)),
    }
    if _first_sync_creates(services, member_id, party):
        raise Refused(
            "The first sync is creating this client's customer in QuickBooks right now. "
            "Sync the deal again once it has finished (the app page shows its progress)."
        )
    unresolved = links.unresolved_sync(member_id, deal_id)
    if unresolved is not None:  # its last write may have landed: find out before planning another
        return retry(services, member_id, unresolved.sync_id)
    running = links.start_sync(member_id, sync_id, deal_id, kind, detail)
    if running != sync_id:
        return running  # this deal's sync is already looking up or sending: one intent, one write
    requests = []
    name = customer["name"]
    if name and not customer.get("list_id"):
        # the name and the alternatives it would get if taken, in every list of the shared name space:
        # one exchange decides both whether it is ours and which free name it gets otherwise
        asked = {"FullName": alternatives(name)}
        requests.append(query("Customer", asked, request_id="customer"))
        requests += [query(k, asked, request_id=k.lower()) for k in OTHER_LISTS]
    elif customer.get("list_id"):  # its currency: QuickBooks keeps one per customer
        requests.append(preconditions.linked_customer(str(customer["list_id"])))
    for n, (pid, item) in enumerate(sorted(products.items())):
        if pid not in detail["mapped"] and item:
            asked = {"FullName": lookups.get(f"P{pid}") or [item]}
            requests.append(query("Item", asked, request_id=f"item-{n}-{pid}"))
    for n, (key, item) in enumerate(sorted(texts.items())):  # free-text rows: looked up like products
        requests.append(query("Item", {"FullName": lookups.get(key) or [item]}, request_id=f"text-{n}"))
    for n, doc in enumerate(detail["documents"]):  # its current EditSequence, lines, payments
        entity = DOCUMENT_KINDS[doc["kind"]]
        filters = {"TxnID": doc["txn_id"], "IncludeLineItems": True, "IncludeLinkedTxns": True}
        requests.append(query(entity, filters, request_id=f"existing-{n}"))
    if not name and not rows:  # nothing to send whatever QuickBooks says: show why at once
        _write(services, member_id, sync_id, found_customer=None, found_items={}, taken=set(), existing=[])
        return sync_id
    # always asked, linked or not: the closing date and the sales reps as QuickBooks has them now
    requests += preconditions.requests()
    portals = services.portals  # sites and units need the linked products' items as QuickBooks has them
    if linked and (
        portals.setting(member_id, "site.pipelines") or portals.setting(member_id, "units.measures")
    ):
        requests.append(preconditions.linked_items(sorted({products[p] for p in linked})))
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=LOOKUP + sync_id,
        priority=PRIORITY,
    )
    links.update_sync(member_id, sync_id, state="looking_up", job_id=job_id)
    services.notify(member_id)
    return sync_id


def _edition(services: Services, member_id: str) -> str:
    """The home currency of the QuickBooks edition the Web Connector reported (US: USD)."""
    session = services.portals.setting(member_id, "qb.session") or {}
    return currency.EDITION_HOME.get(str(session.get("country") or "").upper(), "USD")


def _home(services: Services, member_id: str) -> str:
    """The company file's home currency as last known (a deal's lookup, else the edition's)."""
    return str(services.portals.setting(member_id, "qb.home_currency") or _edition(services, member_id))


def customer_for(
    services: Services, member_id: str, file: str, deal: dict[str, Any], link_currency: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """The QuickBooks customer for the deal: a linked one, or a draft from its company (else contact) —
    in another currency (``link_currency``), the client's customer in it, or a draft named for it."""
    links = services.links
    company_id = str(deal.get("COMPANY_ID") or "0")
    contact_id = str(deal.get("CONTACT_ID") or "0")
    b24_type, b24_id = ("company", company_id) if company_id != "0" else ("contact", contact_id)
    party = {"type": b24_type, "id": b24_id}
    if b24_id == "0":
        return {"name": "", "fields": {}, "notes": []}, party
    linked = links.by_b24(member_id, file, b24_type, b24_id, link_currency)
    if linked is not None:
        return {"name": linked.qb_name, "list_id": linked.qb_id}, party
    client = services.client(member_id)
    commands: dict[str, tuple[str, dict[str, Any]]] = {f"{b24_type}": (f"crm.{b24_type}.get", {"id": b24_id})}
    if b24_type == "company" and contact_id != "0":
        commands["contact"] = ("crm.contact.get", {"id": contact_id})
    commands["req"] = (
        "crm.requisite.list",
        {"filter": {"ENTITY_TYPE_ID": 4 if b24_type == "company" else 3, "ENTITY_ID": b24_id}},
    )
    commands["addr"] = (
        "crm.address.list",
        {"filter": {"ENTITY_TYPE_ID": 8, "ENTITY_ID": "$result[req][0][ID]"}},
    )
    got = client.batch(commands)
    record = got.result.get(b24_type) or {}
    addresses = _requisite_addresses(got)
    draft: CustomerDraft = (
        from_company(record, addresses=addresses, primary_contact=got.result.get("contact"), version=VERSION)
        if b24_type == "company"
        else from_contact(record, addresses=addresses, version=VERSION)
    )
    shortened = draft.shortened
    if link_currency and draft.fields.get("Name"):  # "Acme Ltd (EUR)": one customer per currency
        named = currency.customer_name(str(draft.fields["Name"]), link_currency)
        draft.fields["Name"], shortened = named.value, shortened or named.shortened
    shown = {"name": str(draft.fields.get("Name", "")), "fields": draft.fields, "notes": draft.notes}
    mapped = services.portals.setting(member_id, "custom.fields") or {}
    custom = {code: record.get(code) for code in mapped if record.get(code) not in (None, "", [])}
    return {**shown, "shortened": shortened, "custom": custom}, party


def _requisite_addresses(got: BatchResult) -> list[dict[str, Any]]:
    """The addresses of the record's first requisite — only when it has one. When ``req`` found
    nothing, Bitrix24 substitutes ``$result[req][0][ID]`` as what it reached (an empty array), and the
    address list may then answer as if unfiltered: other records' addresses (contract errata 4). So the
    answer is trusted only for the requisite ``req`` found, row by row."""
    requisites = got.result.get("req") if "req" not in got.errors else None
    first = requisites[0] if isinstance(requisites, list) and requisites else None
    if not isinstance(first, dict) or "addr" in got.errors:
        return []
    owner = str(first.get("ID") or "")
    return [
        a
        for a in got.result.get("addr") or []
        if isinstance(a, dict) and str(a.get("ENTITY_TYPE_ID")) == "8" and str(a.get("ENTITY_ID")) == owner
    ]


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    """The relay's result hook; True when the job was one of ours."""
    for prefix, handler in (
        (LOOKUP, _looked_up),
        (WRITE, _written),
        (RECOVER, _recovered),
        (MARKER, _marker_checked),
    ):
        if job.purpose.startswith(prefix):
            handler(services, member_id, job.purpose[len(prefix) :], job)
            return True
    return False


def _first_sync_creates(services: Services, member_id: str, party: dict[str, str]) -> bool:
    """The first sync has sent QuickBooks a customer add for this very record and not heard back."""
    if (services.portals.setting(member_id, "initial.state") or {}).get("state") != "creating in QuickBooks":
        return False
    key = ("CO_" if party["type"] == "company" else "C_") + str(party["id"])
    return key in (services.portals.setting(member_id, "initial.push_views") or {})


def _documents(linked: list[Link]) -> list[dict[str, str]]:
    return [{"kind": d.kind, "txn_id": d.qb_id, "number": d.qb_name} for d in linked]


# -- the lookup ----------------------------------------------------------------------------------------


def _looked_up(services: Services, member_id: str, sync_id: str, job: JobRow) -> None:
    if job.response is None:
        f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=services.now())
        _failed(services, member_id, sync_id, f.reason, f.fix, f.code, retryable=not f.waits_for_person)
        return
    found_customer: dict[str, Any] | None = None
    found_items: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    existing: list[dict[str, Any]] = []
    sync = services.links.sync(member_id, sync_id)
    detail = sync.detail if sync is not None else {}
    texts = sorted((detail.get("texts") or {}).items())
    ours = str((detail.get("draft") or {}).get("name") or "").casefold()
    fresh = preconditions.read(parse_response(job.response).results)
    if "multi_currency" in fresh:  # what QuickBooks said its home currency is, for the next deal's start
        home = currency.home_of(fresh, _edition(services, member_id))
        services.portals.set_setting(member_id, "qb.home_currency", home)
    in_currency = _currency_name(detail, fresh)
    for result in parse_response(job.response).results:
        rid = result.header.request_id or ""
        if rid == preconditions.SALES_REPS and result.header.status.is_ok:  # 1: QuickBooks has none
            sales_reps.seen(services, member_id, result.records)
        if rid == preconditions.PREFERENCES and result.header.status.code == 0 and result.records:
            closing = (result.records[0].get("AccountingPreferences") or {}).get("ClosingDate")
            closed = closing.isoformat() if closing else None
            services.portals.set_setting(member_id, "qb.closing_date", closed)
        if rid.startswith("existing-"):
            existing.append(_existing(rid, result.header.status, result.records, detail.get("documents")))
            continue
        if not result.header.status.is_ok or not result.records:
            continue  # 1 / 500 without records: not found — the answer for a name QuickBooks does not have
        if rid == "customer":
            taken |= {str(r["FullName"]) for r in result.records}
            found_customer = next(
                ({"list_id": str(r["ListID"]), "name": str(r["FullName"])} for r in result.records
                 if str(r["FullName"]).casefold() == ours and _in(r, in_currency)),
                None,
            )  # fmt: skip  # one of our name in another currency is not the deal's: its name is taken
        elif rid in ("vendor", "employee", "othername"):
            taken |= {str(r.get("Name") or r.get("FullName") or "") for r in result.records}
        elif rid.startswith("item-"):
            pid = rid.rsplit("-", 1)[1]
            found_items[pid] = _preferred(result.records, (detail.get("lookups") or {}).get(f"P{pid}"))
        elif rid.startswith("text-") and int(rid[5:]) < len(texts):
            key = texts[int(rid[5:])][0]
            found_items[key] = _preferred(result.records, (detail.get("lookups") or {}).get(key))
    if ours and (found_customer is not None or taken):
        found_customer, taken = _identify(services, member_id, sync_id, found_customer, taken)
    _write(
        services,
        member_id,
        sync_id,
        found_customer=found_customer,
        found_items=found_items,
        taken=taken,
        existing=existing,
        fresh=fresh,
    )


def _currency_name(detail: Mapping[str, Any], fresh: Mapping[str, Any]) -> str | None:
    """QuickBooks' name of the currency the deal's customer must be in (None: a file without
    multicurrency, where customers have none)."""
    if not fresh.get("multi_currency"):
        return None
    code = str(detail.get("link_currency") or "")
    if not code:
        return str(fresh.get("home_currency_name") or "") or None
    found = next((c for c in fresh.get("currencies") or [] if c.get("code") == code), None)
    return str(found["name"]) if found else code


def _in(record: Mapping[str, Any], currency_name: str | None) -> bool:
    ref = record.get("CurrencyRef")
    return currency_name is None or getattr(ref, "full_name", None) in (None, currency_name)


def _preferred(records: Sequence[Mapping[str, Any]], names: list[str] | None) -> tuple[str, str]:
    """(ListID, FullName) of the found item asked for first (its QuickBooks path before our own name)."""
    rank = {n.casefold(): i for i, n in enumerate(names or [])}
    best = min(records, key=lambda r: rank.get(str(r["FullName"]).casefold(), len(rank)))
    return str(best["ListID"]), str(best["FullName"])


def _identify(
    services: Services, member_id: str, sync_id: str, found: dict[str, Any] | None, taken: set[str]
) -> tuple[dict[str, Any] | None, set[str]]:
    """Whether the customer QuickBooks has under our name is the deal's client: only when the name was not
    cut to fit and that customer is not linked to another Bitrix24 record. Otherwise the draft takes the
    first free name, with a note saying why, and the preview shows exactly that name."""
    sync = services.links.sync(member_id, sync_id)
    if sync is None:
        return found, taken
    draft = dict(sync.detail.get("draft") or {})
    holder = None
    if found is not None:
        file, party = services.company_file(member_id), sync.detail["party"]
        holder = services.links.by_qb(member_id, file, "customer", found["list_id"])
        if holder is not None and (holder.b24_type, holder.b24_id) == (party["type"], party["id"]):
            holder = None
    wanted = ListName(str(draft["name"]), shortened=bool(draft.get("shortened")))
    choice = choose(
        wanted,
        (found["list_id"], found["name"]) if found else None,
        taken,
        linked_elsewhere=holder is not None,
    )
    if choice.is_match:
        return found, set()
    if choice.name != draft["name"]:
        fields = {**(draft.get("fields") or {}), "Name": choice.name}
        notes = [*(draft.get("notes") or []), *([choice.note] if choice.note else [])]
        draft.update(name=choice.name, fields=fields, notes=notes)
        services.links.update_sync(member_id, sync_id, state=sync.state, detail={"draft": draft})
    return None, set()  # the name is free now: nothing left to make unique


def _existing(
    rid: str, status: Status, records: Sequence[Any], documents: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """One of the deal's documents as the lookup found it, or that QuickBooks no longer has it (500, or 1
    or 3120 where a QuickBooks answers so) — or, on any other error, that nobody knows: then nothing is
    written, since a document taken for deleted would be created a second time. A credit memo whose
    credit was used at all (any linked transaction — a refund, an invoice it paid — or less credit left
    than its total) counts as paid: it is not changed from Bitrix24."""
    index = int(rid.split("-", 1)[1])
    if not records and status.is_not_found:
        return {"index": index, "gone": True}
    if not records or not status.is_ok:
        return {"index": index, "unknown": True}
    ret = records[0]
    linked = list(ret.get("LinkedTxn") or [])
    payments = sum(1 for t in linked if t.get("TxnType") in ("ReceivePayment", "CreditMemo"))
    docs = list(documents or [])
    if index < len(docs) and docs[index].get("kind") == "creditmemo":
        left = ret.get("CreditRemaining")
        used = left is not None and Decimal(str(left)) < Decimal(str(ret.get("TotalAmount") or 0))
        payments = len(linked) or int(used)
    customer = ret.get("CustomerRef")
    return {
        "index": int(rid.split("-", 1)[1]),
        "txn_id": str(ret["TxnID"]),
        "edit_sequence": str(ret["EditSequence"]),
        "number": str(ret.get("RefNumber") or ""),
        "date": ret["TxnDate"].isoformat() if ret.get("TxnDate") else None,
        "customer": customer.full_name if isinstance(customer, Ref) else None,
        "payments": payments,
        "paid": bool(ret.get("IsPaid")),
    }


# -- confirm, retry ------------------------------------------------------------------------------------


def _unconfirmed(detail: Mapping[str, Any]) -> bool:
    """A preview nobody confirmed: only a person may move it towards QuickBooks."""
    return bool(detail.get("preview_first")) and not detail.get("confirmed")


def confirm(
    services: Services, member_id: str, sync_id: str, kind: Kind | None = None, *, another: bool = False
) -> str:
    """A person confirmed the preview (possibly choosing another document type, or ``another`` document
    besides the deal's own): plan again from what the lookup found — the deal as read at the click — and
    send it. Only one confirm moves a preview on: the state changes by compare-and-set."""
    links = services.links
    sync = links.sync(member_id, sync_id)
    if sync is None:
        raise Refused("No such sync.")
    if sync.state != "preview":
        raise Running(_already(sync.state), sync_id)
    made = links.sync_updated_at(member_id, sync_id) or 0.0
    if services.portals.clock() - made > PREVIEW_TTL:  # QuickBooks may have changed since the lookup
        raise Refused(
            "This preview is more than 30 minutes old. Open “Sync to QuickBooks” again for a fresh one."
        )
    now_linked = _documents(
        links.documents_of_deal(member_id, services.company_file(member_id), sync.deal_id)
    )
    if now_linked != sync.detail.get("documents", now_linked):  # another tab's sync made one meanwhile
        raise Refused(
            "The deal got a QuickBooks document after this preview was made. Open “Sync to QuickBooks” "
            "again to see it and choose what to do."
        )
    if not links.move_sync(
        member_id,
        sync_id,
        from_states=("preview",),
        to="sending",
        exclusive=True,
        detail={"another": another, "confirmed": True},
    ):
        current = links.sync(member_id, sync_id)
        if current is not None and current.state == "preview":  # another sync of the deal is running
            running = links.active_sync(member_id, sync.deal_id)
            raise Running(
                "Another sync of this deal is on its way to QuickBooks. Wait for it to finish.",
                running.sync_id if running else sync_id,
            )
        raise Running(_already(current.state if current else "gone"), sync_id)
    if kind is not None and kind != sync.kind:
        links.set_sync_kind(member_id, sync_id, kind)
    found = sync.detail.get("found") or {}
    _write(
        services,
        member_id,
        sync_id,
        found_customer=found.get("customer"),
        found_items={k: (v[0], v[1]) for k, v in (found.get("items") or {}).items()},
        taken=set(found.get("taken") or []),
        existing=list(found.get("existing") or []),
        confirmed=True,
        fresh=found.get("fresh"),  # what QuickBooks said in the preview's own lookup
    )
    return sync_id


def _already(state: str) -> str:
    if state == "done":
        return "This sync is already done."
    if state in ("failed", "retried"):
        return "This sync has ended. Use Retry, or open “Sync to QuickBooks” again."
    return "This sync is already on its way to QuickBooks."


def retry(services: Services, member_id: str, sync_id: str, *, attempt: int | None = None) -> str:
    """Retry a failed sync. One whose write may have landed (its answer was lost) is checked in QuickBooks
    first — recovery, then the marker — and never sent as new; any other starts again from the deal as it
    is now: a preview nobody confirmed as a new preview (never a write), a confirmed one sent only if it
    still is what the person confirmed. Two Retries at once: the second is told the first is running.
    ``attempt``: a scheduled retry's count (a person's Retry starts counting again)."""
    links = services.links
    old = links.sync(member_id, sync_id)
    if old is None:
        raise Refused("No such sync.")
    retries.cancel(services.portals, member_id, f"deal:{sync_id}")  # retried now: not again at its time
    unresolved = old.detail.get("unresolved")
    if unresolved:
        counted = {"attempt": attempt} if attempt else None
        if not links.move_sync(member_id, sync_id, from_states=("failed",), to="recovering", detail=counted):
            raise Running(_already(_state(services, member_id, sync_id)), sync_id)
        _recover(services, member_id, sync_id, str(unresolved))
        return sync_id
    new_id = _new_sync_id()
    if not links.move_sync(
        member_id, sync_id, from_states=("failed",), to="retried", detail={"retried_by": new_id}
    ):
        current = links.sync(member_id, sync_id)
        if current is not None and current.state == "retried":
            raise Running("This sync was already retried.", str(current.detail.get("retried_by") or sync_id))
        raise Refused(f"This sync is {current.state if current else 'gone'}; only failed ones are retried.")
    confirmed = old.detail.get("confirmed_plan") or (
        _what_was_confirmed(old.detail, old.kind) if old.detail.get("confirmed") else None
    )
    try:
        again = start(
            services,
            member_id,
            old.deal_id,
            old.kind,  # type: ignore[arg-type]  # a kind stored from a Kind
            preview=_unconfirmed(old.detail),
            another=bool(old.detail.get("another")),
            sync_id=new_id,
            attempt=attempt or 1,
            confirmed=confirmed,
        )
    except Refused:  # nothing started: it can be retried later
        links.move_sync(member_id, sync_id, from_states=("retried",), to="failed")
        raise
    if again != new_id:  # the deal already had a sync on its way: follow that one
        links.move_sync(
            member_id, sync_id, from_states=("retried",), to="retried", detail={"retried_by": again}
        )
    return again


def _what_was_confirmed(detail: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The plan a person confirmed, as its preview showed it: the customer, the total, the type."""
    return {
        "customer": detail.get("customer"),
        "customer_id": detail.get("customer_id"),
        "total": detail.get("total"),
        "kind": kind,
    }


CHANGED = (
    "The deal changed since you confirmed it (customer, total or document type). "
    "Open “Sync to QuickBooks” again to check it and confirm."
)


def _changed_since(
    confirmed: Mapping[str, Any] | None, customer: str, customer_id: str | None, total: Decimal, kind: str
) -> bool:
    """A retry's new plan is not what the person confirmed: another customer, total or document type."""
    if not confirmed:
        return False
    if confirmed.get("kind") != kind or str(confirmed.get("customer") or "") != customer:
        return True
    if confirmed.get("customer_id") and customer_id and confirmed["customer_id"] != customer_id:
        return True
    try:
        return Decimal(str(confirmed.get("total"))) != total
    except InvalidOperation:
        return True


def _new_sync_id() -> str:
    return "sync_" + uuid.uuid4().hex[:16]


def _state(services: Services, member_id: str, sync_id: str) -> str:
    sync = services.links.sync(member_id, sync_id)
    return sync.state if sync else "gone"


def _failed(
    services: Services,
    member_id: str,
    sync_id: str,
    reason: str,
    fix: str,
    code: str = "",
    *,
    unresolved: str | None = None,
    retryable: bool = False,
) -> None:
    """The sync failed. ``unresolved``: the write job whose outcome QuickBooks could not yet tell us —
    Retry checks it before anything is sent again. ``retryable`` (a ``Failure`` with a ``retry_at``):
    the same Retry runs by itself after a backoff that grows with each automatic attempt — never for a
    preview nobody confirmed (one the person closed must not wake up)."""
    sync = services.links.sync(member_id, sync_id)
    detail = sync.detail if sync is not None else {}
    attempt = int(detail.get("attempt") or 1)
    next_try = None
    if retryable and attempt < failures.MAX_ATTEMPTS and not _unconfirmed(detail):
        next_try = services.now() + failures.backoff(attempt)
    services.links.update_sync(
        member_id,
        sync_id,
        state="failed",
        detail={
            "reason": reason,
            "fix": fix,
            "code": code,
            "unresolved": unresolved,
            "next_try": next_try.isoformat() if next_try else None,
        },  # fmt: skip
        outcome=f"Failed: {reason}",
    )
    if next_try is not None:
        retries.schedule(services.portals, member_id, f"deal:{sync_id}", RETRY_KIND, next_try,
                         attempt=attempt, payload={"sync_id": sync_id}, reason=reason)  # fmt: skip


RETRY_KIND = "deal"


def retry_due(services: Services, member_id: str, payload: dict[str, Any], attempt: int) -> None:
    """A scheduled retry (``retries``): what a person's Retry does, counted as the next attempt — unless
    the deal was synced again since (a person's new "Sync to QuickBooks" is the newer intent; retrying the
    old one would touch the document behind their back)."""
    failed = services.links.sync(member_id, str(payload["sync_id"]))
    if failed is None:
        return
    latest = services.links.syncs_of_deal(member_id, failed.deal_id)[-1:]
    if latest and latest[0].sync_id != failed.sync_id:
        log.info("deal sync %s: not retried, the deal was synced again since", failed.sync_id)
        return
    try:  # the attempt travels in the new sync's detail: nothing is patched (or a state written) after
        retry(services, member_id, str(payload["sync_id"]), attempt=attempt + 1)
    except Refused as exc:  # retried by hand meanwhile, or nothing to start: nothing to do
        log.info("deal sync %s: automatic retry not needed (%s)", payload["sync_id"], exc)


# -- the plan and the write ----------------------------------------------------------------------------


def _write(
    services: Services,
    member_id: str,
    sync_id: str,
    *,
    found_customer: dict[str, Any] | None,
    found_items: dict[str, tuple[str, str]],
    taken: set[str],
    existing: list[dict[str, Any]],
    confirmed: bool = False,
    fresh: dict[str, Any] | None = None,
) -> None:
    links = services.links
    sync = links.sync(member_id, sync_id)
    if sync is None:
        return
    send = confirmed or not sync.detail.get("preview_first")  # a preview: links are made when it is sent
    d = sync.detail
    file, party = services.company_file(member_id), d["party"]  # the file the session had open
    customer_info = d.get("draft") or d["customer"]  # "customer": syncs started before 0.9
    in_currency = str(d.get("link_currency") or "")  # a client's customer in another currency
    linked_now = (
        links.by_b24(member_id, file, party["type"], party["id"], in_currency) if party["id"] != "0" else None
    )
    if linked_now is not None and found_customer is None and not customer_info.get("list_id"):
        # linked since the click (the first sync, the tab): that customer, not a second one
        customer_info = {"name": linked_now.qb_name, "list_id": linked_now.qb_id}
    if found_customer is not None and send:  # same name already a customer: link it, do not add it again
        holder = links.claim(
            member_id,
            file,
            Link("customer", found_customer["list_id"], found_customer["name"], party["type"], party["id"],
                 currency=in_currency),
        )  # fmt: skip
        if holder is not None:  # linked to another record since the preview: never take it over
            _failed(
                services,
                member_id,
                sync_id,
                f"QuickBooks customer “{found_customer['name']}” was linked to another Bitrix24 "
                f"{holder.b24_type} after the preview.",
                "Open “Sync to QuickBooks” again.",
            )
            return
    if found_customer is not None:
        customer: Ref | CustomerDraft = Ref(list_id=found_customer["list_id"])
    elif customer_info.get("list_id"):
        customer = Ref(list_id=customer_info["list_id"])
    else:
        fields = dict(customer_info.get("fields") or {})
        notes = list(customer_info.get("notes") or [])
        if fields.get("Name") and taken:
            name = disambiguate(str(fields["Name"]), "customer", taken)
            if name != fields["Name"]:
                notes.append(
                    f"Name: “{fields['Name']}” is taken in QuickBooks by another list; using “{name}”"
                )
                fields["Name"] = name
        customer = CustomerDraft(fields, notes)
    items: dict[str, str | None] = {}
    for pid, name in d["products"].items():
        if pid in found_items:
            list_id, full_name = found_items[pid]
            if send:  # the item is used either way; its link to another product stays where it is
                links.claim(member_id, file, Link("item", list_id, full_name, "product", pid))
            items[f"P{pid}"] = full_name
        elif pid in d["mapped"]:
            items[f"P{pid}"] = name
        else:
            items[f"P{pid}"] = None
    for key in d.get("texts") or {}:  # free-text rows: the item QuickBooks has by that name, or a new one
        items[key] = found_items[key][1] if key in found_items else None
    kind: Kind = sync.kind  # type: ignore[assignment]
    money_in = currency.choose(
        str(d["deal"].get("CURRENCY_ID") or ""), fresh, _edition(services, member_id),
        receivable=kind in ("Invoice", "CreditMemo"),
    )  # fmt: skip
    if isinstance(customer, CustomerDraft) and money_in.foreign and money_in.list_id:
        customer.fields["CurrencyRef"] = Ref(list_id=money_in.list_id)  # made in the deal's currency
    another = bool(d.get("another"))
    target, gone = _target(kind, d.get("documents") or [], existing, another)
    job_id = "job_" + uuid.uuid4().hex[:24]
    calendar = company_time.clock(services, member_id)
    now = company_time.now(services, member_id, calendar)  # the company's date: QuickBooks' own
    rep, rep_note = preconditions.usable_rep(
        sales_reps.rep_for(services, member_id, d["deal"].get("ASSIGNED_BY_ID")),
        fresh,
        services.portals.setting(member_id, "salesrep.reps", {}),
    )
    chosen = classes.choose(
        str(d["deal"].get("CATEGORY_ID") or "0"),
        d["rows"],
        services.portals.setting(member_id, "class.pipelines") or {},
        services.portals.setting(member_id, "class.products") or {},
        fresh,
    )
    taxed = salestax.choose(
        [(n, row_name(r), _rate(r)) for n, r in enumerate(d["rows"], 1)],
        services.portals.setting(member_id, "tax.rates") or {},
        fresh,
    )
    placed = inventory.choose(
        str(d["deal"].get("CATEGORY_ID") or "0"),
        d["rows"],
        {n: items.get(row_key(r)) for n, r in enumerate(d["rows"], 1)},
        services.portals.setting(member_id, "site.pipelines") or {},
        services.portals.setting(member_id, "units.measures") or {},
        fresh,
    )
    plan = plan_document(
        kind=kind,
        deal=d["deal"],
        rows=d["rows"],
        customer=customer,
        items=items,
        today=now.date(),
        job_id=job_id,
        version=VERSION,
        sales_rep=rep,
        update=Existing(target["txn_id"], target["edit_sequence"]) if target else None,
        class_name=chosen.document,
        line_classes=chosen.lines,
        tax_codes=taxed.codes if taxed.mapped else None,
        tax_item=taxed.item,
        exchange_rate=money_in.rate if money_in.foreign else None,
        ar_account=money_in.ar_account,
        line_sites=placed.sites,
        line_units=placed.units,
    )
    plan.notes += [n for n in (calendar.note, rep_note) if n]
    custom = custom_fields.CustomFields()
    if isinstance(customer, CustomerDraft) and plan.customer_name:  # a new customer gets its custom fields
        custom = custom_fields.choose(
            customer_info.get("custom") or {},
            services.portals.setting(member_id, "custom.fields") or {},
            fresh,
        )
        extra = custom.requests(plan.customer_name)
        at = next((n + 1 for n, r in enumerate(plan.requests) if r.request_id == "customer"), 0)
        plan.requests[at:at] = extra  # after the CustomerAdd, before the items and the document
        plan.problems += [f"{p.path.split('/', 1)[-1]}: {p.message}"
                          for p in validate(MessageSet(extra), version=VERSION)]  # fmt: skip
        plan.problems += custom.problems  # over QuickBooks' limits: refused here, before anything is sent
        plan.notes += custom.notes
    plan.problems += chosen.problems  # a class QuickBooks lacks: refused here, not by QuickBooks
    plan.problems += taxed.problems  # a VAT rate with no mapping, or a code or item QuickBooks lacks
    plan.problems += placed.problems  # a site or unit QuickBooks would refuse: refused here
    plan.notes += placed.notes
    plan.problems += money_in.problems  # multicurrency off, a currency QuickBooks lacks: refused here
    plan.notes += money_in.notes
    if not money_in.problems and money_in.foreign != bool(in_currency):
        # the customer was chosen for a home currency QuickBooks has just said is another
        plan.problems.append(
            f"Currency: QuickBooks' home currency is {money_in.home}, not what the app knew when this sync "
            "started. Open “Sync to QuickBooks” again."
        )
    label = _label(kind)
    dated = (
        target["date"] if target and target.get("date") else now.date().isoformat()
    )  # a Mod keeps its date
    if target is not None:
        number = target["number"] or ""
        if target["payments"] or target["paid"]:
            plan.problems.append(
                f"{label} {number} already has payments recorded in QuickBooks, so it is not changed from "
                f"Bitrix24. Change it in QuickBooks, or choose “Create another {label.lower()}”."
            )
        plan.notes.append(
            f"{label} {number} in QuickBooks is updated to match the deal (lines, amounts, customer)."
        )
    elif another and d.get("documents"):
        plan.notes.append(
            f"This creates another {label.lower()} for the deal; "
            + ", ".join(f"{_label(DOCUMENT_KINDS[x['kind']])} {x['number']}" for x in d["documents"])
            + " stays as it is."
        )
    for doc in gone:
        plan.notes.append(
            f"{_label(DOCUMENT_KINDS[doc['kind']])} {doc['number']} is no longer in QuickBooks "
            f"(deleted there); a new {label.lower()} is created."
        )
    unknown = {e["index"] for e in existing if e.get("unknown")}
    for n, doc in enumerate(d.get("documents") or []):
        if n in unknown:  # neither found nor reported missing: writing could make a second document
            plan.problems.append(
                f"QuickBooks did not say whether {_label(DOCUMENT_KINDS[doc['kind']])} {doc['number']} is "
                "still there, so nothing is written. Run the sync again in a minute."
            )
    # the closed-period decision uses QuickBooks' answer in this sync's own exchange
    closing = preconditions.closing_date(fresh, services.portals.setting(member_id, "qb.closing_date"))
    closed = preconditions.closed_period(closing, date.fromisoformat(dated))
    if closed:
        plan.problems.append(closed)
    shown = _shown_name(customer, found_customer, customer_info, plan.customer_name)
    customer_id = customer.list_id if isinstance(customer, Ref) else None
    if customer_id and found_customer is None:  # a linked customer QuickBooks keeps in another currency
        theirs = currency.customer_problem(money_in, shown, (fresh or {}).get("linked_currency"))
        if theirs:
            plan.problems.append(theirs)
    if send and _changed_since(d.get("confirmed_plan"), shown, customer_id, plan.total, kind):
        plan.problems.append(CHANGED)  # a retry sends only what the person confirmed
    created = {r.request_id: _product_of(r.request_id, plan, d) for r in plan.requests if r.request_id}
    preview = {
        "customer": shown,
        "customer_id": customer_id,
        "customer_action": "create" if isinstance(customer, CustomerDraft) else "matched",
        "document_action": "update"
        if target
        else ("another" if another and d.get("documents") else "create"),
        "document_number": target["number"] if target else None,
        "lines": [
            {
                "description": ln.description,
                "item": ln.item,
                "action": ln.item_action,
                "quantity": ln.quantity,
                "rate": ln.rate,
                "amount": ln.amount,
                "problem": ln.problem,
                "account": ln.account,  # an item to create posts to it: the preview says so
                "class": chosen.lines.get(n),  # the product's own class on this line
                "site": placed.sites.get(n),  # the pipeline's inventory site, on inventory lines
                "unit": placed.units.get(n),  # the row's unit of measure, as QuickBooks names it
            }
            for n, ln in enumerate(plan.lines, 1)
        ],  # fmt: skip
        "class": chosen.document,  # the pipeline's class on the document
        "tax_item": taxed.item,  # the mapping's tax item: QuickBooks computes the tax with it
        "currency": money_in.shown(plan.total),  # another currency: its rate, the home amount, A/R
        "custom_fields": custom.shown(),  # the new customer's custom fields, each with its value
        "subtotal": plan.subtotal,
        "tax": plan.tax,
        "total": plan.total,
        "sales_rep": _initial(services, member_id, plan),
        "notes": plan.notes,
        "problems": plan.problems,
        "created_by_request": created,
        "can_send": plan.can_send,
    }
    if not send:
        found = {
            "customer": found_customer,
            "items": found_items,
            "taken": sorted(taken),
            "existing": existing,
            "fresh": fresh,
        }
        links.update_sync(member_id, sync_id, state="preview", detail={**preview, "found": found})
        return
    if not plan.can_send:
        links.update_sync(member_id, sync_id, state="failed", detail=preview,
                          outcome="Not sent: " + " ".join(plan.problems))  # fmt: skip
        return
    sent = {  # what the write may have made: looked for if its answer is lost
        "mode": "update" if target else "add",
        "customer": plan.customer_name if isinstance(customer, CustomerDraft) else None,
        "items": {
            r.request_id: _item_name(r) for r in plan.requests if (r.request_id or "").startswith("item-")
        },
        "marker": marker(str(d["deal"].get("ID", "")), job_id) if not target else None,
    }
    services.agents.enqueue(
        member_id,
        build(plan.message_set(job_id), version=VERSION).xml,
        purpose=WRITE + sync_id,
        priority=PRIORITY,
        job_id=job_id,
    )
    links.update_sync(member_id, sync_id, state="queued", job_id=job_id, detail={**preview, "sent": sent})
    services.notify(member_id)


def _rate(row: Mapping[str, Any]) -> Decimal:
    """A row's VAT rate (an unreadable one is the plan's problem to report: 0 here)."""
    try:
        return Decimal(str(row.get("TAX_RATE") or 0))
    except InvalidOperation:
        return Decimal(0)


def _target(
    kind: str, documents: list[dict[str, str]], existing: list[dict[str, Any]], another: bool
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The deal's document of this type that a re-sync updates (the newest one QuickBooks still has), and
    the deal's documents QuickBooks no longer has."""
    found = {e["index"]: e for e in existing}
    gone = [doc for n, doc in enumerate(documents) if found.get(n, {}).get("gone")]
    if another:
        return None, gone
    for n in reversed(range(len(documents))):
        doc, now = documents[n], found.get(n)
        known = now is not None and not now.get("gone") and not now.get("unknown")
        if DOCUMENT_KINDS.get(doc["kind"]) == kind and known:
            return now, gone
    return None, gone


def _label(kind: str) -> str:
    return {"SalesOrder": "Sales order", "CreditMemo": "Credit memo"}.get(kind, kind)


def _item_name(request: Any) -> str:
    return str(dict(request.fields.get("ItemNonInventoryAdd") or {}).get("Name") or "")


def _shown_name(
    customer: Ref | CustomerDraft, found: dict[str, Any] | None, info: dict[str, Any], planned: str
) -> str:
    """The customer's name as a person knows it (a linked customer is sent by ListID alone)."""
    if isinstance(customer, CustomerDraft):
        return planned
    return str((found or {}).get("name") or info.get("name") or planned)


def _initial(services: Services, member_id: str, plan: Any) -> str | None:
    """The sales rep's initials the document will carry, for the preview."""
    last = plan.requests[-1].fields
    ref = (last.get(f"{plan.kind}Add") or last.get(f"{plan.kind}Mod") or {}).get("SalesRepRef")
    if not isinstance(ref, Ref):
        return None
    initials: dict[str, str] = services.portals.setting(member_id, "salesrep.reps", {})
    return initials.get(ref.list_id or "", ref.list_id)


def _product_of(request_id: str, plan: Any, d: dict[str, Any]) -> str | None:
    """Which Bitrix24 product an ``item-N`` add was made for (by the row's name)."""
    if not request_id.startswith("item-"):
        return None
    req = next(r for r in plan.requests if r.request_id == request_id)
    name = _item_name(req)
    for ln, row in zip(plan.lines, d["rows"], strict=False):
        if ln.item == name and str(row.get("PRODUCT_ID") or "0") != "0":
            return str(row["PRODUCT_ID"])
    return None


# -- the outcome: answered, recovered or found by its marker ------------------------------------------


def _written(services: Services, member_id: str, sync_id: str, job: JobRow) -> None:
    sync = services.links.sync(member_id, sync_id)
    if sync is None:
        return
    now = services.now()
    if job.response is None:  # any error without QuickBooks' answer: the write may still have landed
        _recover(services, member_id, sync_id, job.job_id, cause=(job.hresult or "", job.message or ""))
        return
    rets: dict[str, Any] = {}
    for result in parse_response(job.response).results:
        status, rid = result.header.status, result.header.request_id or ""
        if status.code != 0 and status.severity == "Error":
            _link_made(services, member_id, sync, rets)  # stopOnError: what came before did land
            f = failures.from_status(status.code, status.severity, status.message, attempt=1, now=now)
            fix, retryable = f.fix, not f.waits_for_person and not f.needs_requery
            if status.code in IN_USE and (sync.detail.get("sent") or {}).get("mode") == "update":
                fix, retryable = EDITING, False  # sent again by itself it would overwrite their edit
            _failed(services, member_id, sync_id, f.reason, fix, f.code, retryable=retryable)
            return
        if result.records:
            rets[rid] = result.records[0]
    _apply(services, member_id, sync, rets)


IN_USE = (3170, 3175, 3176)  # the record is open in QuickBooks (shared.qbxml.status)
EDITING = (
    "Someone is editing this document in QuickBooks, so the app does not send the change again by itself "
    "(it would overwrite their edit). Sync the deal again once they have closed it."
)


def _recover(
    services: Services,
    member_id: str,
    sync_id: str,
    write_job_id: str,
    *,
    cause: tuple[str, str] | None = None,
) -> None:
    """Ask QuickBooks for the saved outcome of the write's message set instead of sending the document
    again (error recovery, quickbooks-webconnector.md §8)."""
    job_id = services.agents.enqueue(
        member_id,
        build(
            MessageSet([], old_message_set_id=write_job_id, new_message_set_id=write_job_id), version=VERSION
        ).xml,
        purpose=f"{RECOVER}{sync_id}:{write_job_id}",
        priority=PRIORITY,
    )
    detail: dict[str, Any] = {"recovering": write_job_id, "recovery_job": job_id}
    if cause is not None:
        detail["lost"] = {"hresult": cause[0], "message": cause[1]}
    services.links.update_sync(member_id, sync_id, state="recovering", job_id=job_id, detail=detail)
    services.notify(member_id)


def _unknown(services: Services, member_id: str, sync_id: str, write_job_id: str, job: JobRow) -> None:
    """QuickBooks could not be asked: the write's outcome stays unknown, and Retry asks again."""
    f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=datetime.now(UTC))
    _failed(
        services,
        member_id,
        sync_id,
        "QuickBooks may have saved the document, but its answer was lost and QuickBooks could not be "
        f"asked yet ({f.reason.rstrip('.')}).",
        "Retry when QuickBooks is open: the app checks QuickBooks first and never sends the document twice.",
        f.code,
        unresolved=write_job_id,
        retryable=not f.waits_for_person,
    )


def _answered(services: Services, member_id: str, ref: str, job: JobRow) -> tuple[DocSync, str, str] | None:
    """The sync and write a recovery job was about (its purpose ends ``sync_id:write_job_id``) and
    QuickBooks' answer — or None
    when there is nothing to decide: the sync is gone, or QuickBooks could not be asked (then the write's
    outcome stays unknown and Retry asks again)."""
    sync_id, write_job_id = ref.split(":", 1)
    sync = services.links.sync(member_id, sync_id)
    if sync is None:
        return None
    if job.response is None:
        _unknown(services, member_id, sync_id, write_job_id, job)
        return None
    return sync, write_job_id, job.response


def _recovered(services: Services, member_id: str, ref: str, job: JobRow) -> None:
    answered = _answered(services, member_id, ref, job)
    if answered is None:
        return
    sync, write_job_id, response = answered
    sync_id = sync.sync_id
    saved = parse_response(response)
    if saved.message_set_status_code == 0 and saved.results:
        _written(services, member_id, sync_id, job)  # the saved answers, exactly as the write's would be
        return
    sent = sync.detail.get("sent") or {}
    if sent.get("mode") == "update":  # a Mod cannot make a second document: sending it again is safe
        _resend(services, member_id, sync, write_job_id)
        return
    # QuickBooks kept no outcome (it may keep only the latest message set): look for what the write made
    written = services.agents.job(member_id, write_job_id)
    created = datetime.fromisoformat(written.created_at) if written is not None else datetime.now(UTC)
    requests = [
        query(
            sync.kind,
            {"ModifiedDateRangeFilter": {"FromModifiedDate": created - timedelta(days=1)}},
            request_id="document",
        )
    ]
    if sent.get("customer"):
        requests.append(query("Customer", {"FullName": sent["customer"]}, request_id="customer"))
    for rid, name in (sent.get("items") or {}).items():
        if name:
            requests.append(query("Item", {"FullName": name}, request_id=rid))
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=f"{MARKER}{sync_id}:{write_job_id}",
        priority=PRIORITY,
    )
    services.links.update_sync(member_id, sync_id, state="recovering", job_id=job_id)
    services.notify(member_id)


def _marker_checked(services: Services, member_id: str, ref: str, job: JobRow) -> None:
    answered = _answered(services, member_id, ref, job)
    if answered is None:
        return
    sync, write_job_id, response = answered
    sync_id = sync.sync_id
    sent = sync.detail.get("sent") or {}
    rets: dict[str, Any] = {}
    for result in parse_response(response).results:
        rid = result.header.request_id or ""
        if not result.header.status.is_ok:
            continue  # an error: nothing learnt (1 / 500 carry no records)
        if rid == "document":
            mine = [
                r for r in result.records if str(r.get("ExternalGUID") or "").upper() == sent.get("marker")
            ]
            if mine:
                rets["document"] = mine[0]
        elif result.records:
            rets[rid] = result.records[0]
    if "document" in rets:  # it landed: the same outcome as if its answer had come back
        _apply(services, member_id, sync, rets)
        return
    _link_made(services, member_id, sync, rets)  # a customer or item it added before stopping
    if sync.detail.get("resent"):  # sent twice, and QuickBooks has no trace of it: it did not land
        lost = sync.detail.get("lost") or {}
        f = failures.from_hresult(
            lost.get("hresult", ""), lost.get("message", ""), attempt=2, now=datetime.now(UTC)
        )
        _failed(services, member_id, sync_id, f.reason, f.fix, f.code)
        return
    _resend(services, member_id, sync, write_job_id)


def _resend(services: Services, member_id: str, sync: Any, write_job_id: str) -> None:
    """QuickBooks has no trace of the write: the same message set (same id, same marker) goes again."""
    original = services.agents.job(member_id, write_job_id)
    if original is None:
        _failed(services, member_id, sync.sync_id, "The document to resend is gone.", "Start the sync again.")
        return
    again = services.agents.enqueue(
        member_id, original.qbxml, purpose=WRITE + sync.sync_id, priority=PRIORITY
    )
    services.links.update_sync(member_id, sync.sync_id, state="queued", job_id=again, detail={"resent": True})
    services.notify(member_id)


def _reason(refused: dict[str, Any]) -> str:
    """Bitrix24's own words for a refused update (its description, else its code)."""
    return str(refused.get("error_description") or refused.get("error") or "refused")


def _comment(services: Services, member_id: str, sync: Any, text: str) -> None:
    """The deal's timeline comment, once: journaled by the sync, looked for by its text among the deal's
    comments when its answer was lost (a restart, a 502 after Bitrix24 wrote it)."""
    create = Create(
        f"comment:{sync.sync_id}",
        ("crm.timeline.comment.add", {"fields": {"ENTITY_ID": sync.deal_id, "ENTITY_TYPE": "deal",
                                                 "COMMENT": text}}),
        origin.deal_comments(sync.deal_id),
        origin.comment_with(text),
        str,
    )  # fmt: skip
    try:
        create_once(services.client(member_id), services.journal, {"note": create}, lambda k, i: None,
                    what=f"comment on deal {sync.deal_id}")  # fmt: skip
    except B24Error as exc:  # the deal's fields and the sync's outcome stand; only the note is missing
        log.warning("deal %s of %s: timeline comment not written: %s", sync.deal_id, member_id, exc.code)


def _link_made(services: Services, member_id: str, sync: Any, rets: dict[str, Any]) -> None:
    """Link the customer and items QuickBooks added (even when the document after them failed), so
    nothing is added twice and no orphan comes back as a duplicate record."""
    links, d = services.links, sync.detail
    file, party = services.company_file(member_id), d["party"]
    for rid, ret in rets.items():
        if rid == "customer" and ret.get("ListID"):
            links.link(member_id, file, Link("customer", str(ret["ListID"]), str(ret["FullName"]),
                                             party["type"], party["id"],
                                             currency=str(d.get("link_currency") or "")))  # fmt: skip
        elif rid.startswith("item-") and d.get("created_by_request", {}).get(rid) and ret.get("ListID"):
            links.link(member_id, file, Link("item", str(ret["ListID"]), str(ret["FullName"]), "product",
                                             d["created_by_request"][rid]))  # fmt: skip


def _apply(services: Services, member_id: str, sync: Any, rets: dict[str, Any]) -> None:
    """The write landed: link what it made, update the deal and say so."""
    links = services.links
    now = company_time.now(services, member_id)  # the deal's dates in the company's calendar
    sync_id, d = sync.sync_id, sync.detail
    document = rets.get("document")
    _link_made(services, member_id, sync, rets)
    if document is None:
        _failed(services, member_id, sync_id, "QuickBooks did not return the document.", "Try again.")
        return
    file = services.company_file(member_id)
    kind, currency = sync.kind, str(d["deal"].get("CURRENCY_ID") or "USD")
    number = str(document.get("RefNumber") or "")
    links.link(member_id, file, Link(kind.lower(), str(document["TxnID"]), number, "deal", sync.deal_id))
    updated = (d.get("sent") or {}).get("mode") == "update"
    outcome = crm.timeline_text(kind, document, currency, updated=updated)
    services.portals.set_setting(member_id, f"deal.{sync.deal_id}.currency", currency)
    services.portals.set_setting(
        member_id, f"deal.{sync.deal_id}.category", str(d["deal"].get("CATEGORY_ID") or "0")
    )
    shot = qb_changes.with_difference(qb_changes.snapshot(kind, document, now), d.get("total"))
    services.portals.set_setting(member_id, f"deal.{sync.deal_id}.qb", shot)
    services.portals.set_setting(member_id, f"doc.{document['TxnID']}.qb", shot)
    client = services.client(member_id)
    fields = crm.deal_update(kind, document, currency, now.date(), now)
    try:  # an update sent twice is one update: an outage is waited out, a lost answer sent again
        written = client.batch_all(
            {"deal": ("crm.deal.update", {"id": sync.deal_id, "fields": fields})},
            what=f"deal {sync.deal_id} after {kind}",
        )
        refused = written.errors.get("deal")
    except B24Error as exc:  # the document exists in QuickBooks: say so, and that the deal lags behind
        log.warning("deal %s of %s not updated: %s", sync.deal_id, member_id, exc.code)
        refused = {"error": exc.code}
    if refused:
        outcome += f" (the deal's QuickBooks fields could not be updated: {_reason(refused)})"
    _comment(services, member_id, sync, outcome)
    links.update_sync(
        member_id,
        sync_id,
        state="done",
        detail={
            "txn_id": document["TxnID"],
            "number": document.get("RefNumber"),
            "total": document.get("TotalAmount", document.get("Subtotal")),
            "balance": document.get("BalanceRemaining"),
            "unresolved": None,
        },
        outcome=outcome,
    )
