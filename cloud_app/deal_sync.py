"""A deal's "Sync to QuickBooks", end to end: read the deal, look its customer and items up in QuickBooks,
send one message set (customer → items → document), and write the outcome back to the deal.

Two Web Connector jobs, usually in one session (the agent asks for more work after each):

1. **lookup** (``continueOnError``, read-only): the customer's name among customers and the other lists of
   QuickBooks' shared name space, and each product's name among items. Found names are linked, not
   created again; a name taken by a vendor or employee gets a readable ``(Customer)`` suffix.
2. **write** (``stopOnError``, ``newMessageSetID`` = job id, ``ExternalGUID`` marker): planned by
   :func:`cloud_app.sync.documents.plan_document` from what the lookup found.

The decisions are the pure modules' (``cloud_app/sync``); this module is the runner: it reads, enqueues,
and applies results. Every step is recorded on the sync (``Links.update_sync``) for the page to show.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import wire
from shared.qbxml.builder import MessageSet, build, query
from shared.qbxml.parser import parse_response
from shared.qbxml.values import Ref

from . import qb_changes, sales_reps
from .agents.store import JobRow
from .b24.errors import B24Error
from .links import Link
from .sync import crm, failures
from .sync.customers import CustomerDraft, from_company, from_contact
from .sync.documents import Kind, item_lookups, plan_document, row_key, row_name
from .sync.names import ListName, alternatives, choose, disambiguate
from .sync.text import Unstorable

if TYPE_CHECKING:
    from .web import Services

log = logging.getLogger("qb_cloud.deal_sync")

VERSION = "13.0"
LOOKUP, WRITE, RECOVER = "deal-lookup:", "deal-sync:", "deal-recover:"
PRIORITY = 1  # a person is waiting: before background sync (5)
PREVIEW_TTL = 30 * 60  # seconds a preview can be confirmed: its lookup of QuickBooks ages
OTHER_LISTS = ("Vendor", "Employee", "OtherName")


class Refused(Exception):
    """The click cannot start (unknown deal, no agent paired, …): said to the person at once."""


DEAL_FIELDS = ("ID", "TITLE", "CURRENCY_ID", "COMPANY_ID", "CONTACT_ID", "ASSIGNED_BY_ID", "CATEGORY_ID")


def start(services: Services, member_id: str, deal_id: str, kind: Kind, *, preview: bool = False) -> str:
    """Read the deal and queue the lookup; the sync id the page follows. With ``preview`` the plan stops
    at state ``preview`` (what QuickBooks will get, problems included) until :func:`confirm`."""
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
    customer, party = customer_for(services, member_id, file, deal)
    sync_id = "sync_" + uuid.uuid4().hex[:16]
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
    detail = {
        "deal": {k: deal.get(k) for k in DEAL_FIELDS},
        "rows": rows,
        "party": party,
        "draft": customer,  # the preview's "customer" is the name it will have
        "products": products,
        "texts": texts,
        "lookups": lookups,
        "mapped": sorted(linked),
        "preview_first": preview,
    }
    links.start_sync(member_id, sync_id, deal_id, kind, detail)
    requests = []
    name = customer["name"]
    if name and not customer.get("list_id"):
        # the name and the alternatives it would get if taken, in every list of the shared name space:
        # one exchange decides both whether it is ours and which free name it gets otherwise
        asked = {"FullName": alternatives(name)}
        requests.append(query("Customer", asked, request_id="customer"))
        requests += [query(k, asked, request_id=k.lower()) for k in OTHER_LISTS]
    for n, (pid, item) in enumerate(sorted(products.items())):
        if pid not in detail["mapped"] and item:
            asked = {"FullName": lookups.get(f"P{pid}") or [item]}
            requests.append(query("Item", asked, request_id=f"item-{n}-{pid}"))
    for n, (key, item) in enumerate(sorted(texts.items())):  # free-text rows: looked up like products
        requests.append(query("Item", {"FullName": lookups.get(key) or [item]}, request_id=f"text-{n}"))
    if requests:  # the closing date, while QuickBooks is asked anyway (a preview shows a closed period)
        requests.append(query("Preferences", request_id="preferences"))
    if requests and services.portals.setting(member_id, "salesrep.reps", None) is None:
        requests.append(query("SalesRep", {"ActiveStatus": "All"}, request_id="salesreps"))  # learn once
    if not requests:  # everything is linked already: plan and send at once
        _write(services, member_id, sync_id, found_customer=None, found_items={}, taken=set())
        return sync_id
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=LOOKUP + sync_id,
        priority=PRIORITY,
    )
    links.update_sync(member_id, sync_id, state="looking_up", job_id=job_id)
    services.notify(member_id)
    return sync_id


def customer_for(
    services: Services, member_id: str, file: str, deal: dict[str, Any]
) -> tuple[dict[str, Any], dict]:
    """The QuickBooks customer for the deal: a linked one, or a draft from its company (else contact)."""
    links = services.links
    company_id = str(deal.get("COMPANY_ID") or "0")
    contact_id = str(deal.get("CONTACT_ID") or "0")
    b24_type, b24_id = ("company", company_id) if company_id != "0" else ("contact", contact_id)
    party = {"type": b24_type, "id": b24_id}
    if b24_id == "0":
        return {"name": "", "fields": {}, "notes": []}, party
    linked = links.by_b24(member_id, file, b24_type, b24_id)
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
    addresses = list(got.result.get("addr") or []) if "addr" not in got.errors else []
    draft: CustomerDraft = (
        from_company(record, addresses=addresses, primary_contact=got.result.get("contact"), version=VERSION)
        if b24_type == "company"
        else from_contact(record, addresses=addresses, version=VERSION)
    )
    shown = {"name": str(draft.fields.get("Name", "")), "fields": draft.fields, "notes": draft.notes}
    return {**shown, "shortened": draft.shortened}, party


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    """The relay's result hook; True when the job was one of ours."""
    if job.purpose.startswith(LOOKUP):
        _looked_up(services, member_id, job.purpose[len(LOOKUP) :], job)
        return True
    if job.purpose.startswith(WRITE):
        _written(services, member_id, job.purpose[len(WRITE) :], job)
        return True
    if job.purpose.startswith(RECOVER):
        _recovered(services, member_id, job.purpose[len(RECOVER) :], job)
        return True
    return False


def _recover(services: Services, member_id: str, sync_id: str, write_job_id: str) -> None:
    """The write's answer was lost (the Web Connector went away after QuickBooks got it): ask QuickBooks
    for the saved outcome of that message set instead of sending the document again (error recovery,
    quickbooks-webconnector.md §8)."""
    job_id = services.agents.enqueue(
        member_id,
        build(
            MessageSet([], old_message_set_id=write_job_id, new_message_set_id=write_job_id), version=VERSION
        ).xml,
        purpose=f"{RECOVER}{sync_id}:{write_job_id}",
        priority=PRIORITY,
    )
    services.links.update_sync(
        member_id, sync_id, state="queued", detail={"recovering": write_job_id, "recovery_job": job_id}
    )
    services.notify(member_id)


def _recovered(services: Services, member_id: str, ref: str, job: JobRow) -> None:
    sync_id, write_job_id = ref.split(":", 1)
    if job.response is None:
        f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=datetime.now(UTC))
        _failed(services, member_id, sync_id, f.reason, f.fix, f.code)
        return
    saved = parse_response(job.response)
    if saved.message_set_status_code == 0 and saved.results:
        _written(services, member_id, sync_id, job)  # the saved answers, exactly as the write's would be
        return
    # QuickBooks has no record of that message set: it never ran, so sending the same document is safe
    original = services.agents.job(member_id, write_job_id)
    if original is None:
        _failed(services, member_id, sync_id, "The document to resend is gone.", "Start the sync again.")
        return
    again = services.agents.enqueue(member_id, original.qbxml, purpose=WRITE + sync_id, priority=PRIORITY)
    services.links.update_sync(member_id, sync_id, state="queued", job_id=again)
    services.notify(member_id)


def _failed(services: Services, member_id: str, sync_id: str, reason: str, fix: str, code: str = "") -> None:
    services.links.update_sync(
        member_id,
        sync_id,
        state="failed",
        detail={"reason": reason, "fix": fix, "code": code},
        outcome=f"Failed: {reason}",
    )


def _looked_up(services: Services, member_id: str, sync_id: str, job: JobRow) -> None:
    if job.response is None:
        f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=datetime.now(UTC))
        _failed(services, member_id, sync_id, f.reason, f.fix, f.code)
        return
    found_customer: dict[str, Any] | None = None
    found_items: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    sync = services.links.sync(member_id, sync_id)
    detail = sync.detail if sync is not None else {}
    texts = sorted((detail.get("texts") or {}).items())
    ours = str((detail.get("draft") or {}).get("name") or "").casefold()
    for result in parse_response(job.response).results:
        rid = result.header.request_id or ""
        if rid == "salesreps" and result.header.status.code in (0, 1):  # 1: QuickBooks has none
            sales_reps.learn(services, member_id, result.records)
        if rid == "preferences" and result.header.status.code == 0 and result.records:
            closing = (result.records[0].get("AccountingPreferences") or {}).get("ClosingDate")
            closed = closing.isoformat() if closing else None
            services.portals.set_setting(member_id, "qb.closing_date", closed)
        if result.header.status.code not in (0, 500) or not result.records:
            continue  # 500 without records: not found — the answer for a name QuickBooks does not have
        if rid == "customer":
            taken |= {str(r["FullName"]) for r in result.records}
            found_customer = next(
                ({"list_id": str(r["ListID"]), "name": str(r["FullName"])} for r in result.records
                 if str(r["FullName"]).casefold() == ours),
                None,
            )  # fmt: skip
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
    _write(services, member_id, sync_id, found_customer=found_customer, found_items=found_items, taken=taken)


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


def confirm(services: Services, member_id: str, sync_id: str, kind: Kind | None = None) -> str:
    """A person confirmed the preview (possibly choosing another document type): plan again from what the
    lookup found — the deal as read at the click — and send it."""
    links = services.links
    sync = links.sync(member_id, sync_id)
    if sync is None:
        raise Refused("No such sync.")
    if sync.state != "preview":
        raise Refused(f"This sync is {sync.state}, not waiting for a confirmation.")
    made = links.sync_updated_at(member_id, sync_id) or 0.0
    if services.portals.clock() - made > PREVIEW_TTL:  # QuickBooks may have changed since the lookup
        raise Refused(
            "This preview is more than 30 minutes old. Open “Sync to QuickBooks” again for a fresh one."
        )
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
        confirmed=True,
    )
    return sync_id


def _write(
    services: Services,
    member_id: str,
    sync_id: str,
    *,
    found_customer: dict[str, Any] | None,
    found_items: dict[str, tuple[str, str]],
    taken: set[str],
    confirmed: bool = False,
) -> None:
    links = services.links
    sync = links.sync(member_id, sync_id)
    if sync is None:
        return
    send = confirmed or not sync.detail.get("preview_first")  # a preview: links are made when it is sent
    d = sync.detail
    file, party = services.company_file(member_id), d["party"]  # the file the session had open
    customer_info = d.get("draft") or d["customer"]  # "customer": syncs started before 0.9
    if found_customer is not None and send:  # same name already a customer: link it, do not add it again
        holder = links.claim(
            member_id,
            file,
            Link("customer", found_customer["list_id"], found_customer["name"], party["type"], party["id"]),
        )
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
    job_id = "job_" + uuid.uuid4().hex[:24]
    now = datetime.now(UTC)
    plan = plan_document(
        kind=sync.kind,  # type: ignore[arg-type]
        deal=d["deal"],
        rows=d["rows"],
        customer=customer,
        items=items,
        today=now.date(),
        job_id=job_id,
        version=VERSION,
        sales_rep=sales_reps.rep_for(services, member_id, d["deal"].get("ASSIGNED_BY_ID")),
    )
    closing = services.portals.setting(member_id, "qb.closing_date")
    if closing and now.date().isoformat() <= closing:
        plan.problems.append(
            f"QuickBooks' books are closed through {closing}: a document dated {now.date().isoformat()} "
            "would fall in the closed period. Ask whoever keeps the books to move the closing date "
            "(QuickBooks: Company → Set Closing Date), then sync again."
        )
    created = {r.request_id: _product_of(r.request_id, plan, d) for r in plan.requests if r.request_id}
    preview = {
        "customer": _shown_name(customer, found_customer, customer_info, plan.customer_name),
        "customer_action": "create" if isinstance(customer, CustomerDraft) else "matched",
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
            }
            for ln in plan.lines
        ],  # fmt: skip
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
        found = {"customer": found_customer, "items": found_items, "taken": sorted(taken)}
        links.update_sync(member_id, sync_id, state="preview", detail={**preview, "found": found})
        return
    if not plan.can_send:
        links.update_sync(member_id, sync_id, state="failed", detail=preview,
                          outcome="Not sent: " + " ".join(plan.problems))  # fmt: skip
        return
    services.agents.enqueue(
        member_id,
        build(plan.message_set(job_id), version=VERSION).xml,
        purpose=WRITE + sync_id,
        priority=PRIORITY,
        job_id=job_id,
    )
    links.update_sync(member_id, sync_id, state="queued", job_id=job_id, detail=preview)
    services.notify(member_id)


def _shown_name(
    customer: Ref | CustomerDraft, found: dict[str, Any] | None, info: dict[str, Any], planned: str
) -> str:
    """The customer's name as a person knows it (a linked customer is sent by ListID alone)."""
    if isinstance(customer, CustomerDraft):
        return planned
    return str((found or {}).get("name") or info.get("name") or planned)


def _initial(services: Services, member_id: str, plan: Any) -> str | None:
    """The sales rep's initials the document will carry, for the preview."""
    ref = plan.requests[-1].fields[f"{plan.kind}Add"].get("SalesRepRef")
    if not isinstance(ref, Ref):
        return None
    return services.portals.setting(member_id, "salesrep.reps", {}).get(ref.list_id, ref.list_id)


def _product_of(request_id: str, plan: Any, d: dict[str, Any]) -> str | None:
    """Which Bitrix24 product an ``item-N`` add was made for (by the row's name)."""
    if not request_id.startswith("item-"):
        return None
    req = next(r for r in plan.requests if r.request_id == request_id)
    name = dict(req.fields.get("ItemNonInventoryAdd") or {}).get("Name")
    for ln, row in zip(plan.lines, d["rows"], strict=False):
        if ln.item == name and str(row.get("PRODUCT_ID") or "0") != "0":
            return str(row["PRODUCT_ID"])
    return None


def _written(services: Services, member_id: str, sync_id: str, job: JobRow) -> None:
    links = services.links
    sync = links.sync(member_id, sync_id)
    if sync is None:
        return
    now = datetime.now(UTC)
    if job.hresult == wire.ANSWER_LOST:
        _recover(services, member_id, sync_id, job.job_id)
        return
    if job.response is None:
        f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=now)
        _failed(services, member_id, sync_id, f.reason, f.fix, f.code)
        return
    d = sync.detail
    file, party = services.company_file(member_id), d["party"]  # the file the session had open
    document: dict[str, Any] | None = None
    for result in parse_response(job.response).results:
        status, rid = result.header.status, result.header.request_id or ""
        if status.code != 0 and status.severity == "Error":
            f = failures.from_status(status.code, status.severity, status.message, attempt=1, now=now)
            _failed(services, member_id, sync_id, f.reason, f.fix, f.code)
            return
        if not result.records:
            continue
        ret = result.records[0]
        if rid == "customer":
            links.link(member_id, file, Link("customer", str(ret["ListID"]), str(ret["FullName"]),
                                             party["type"], party["id"]))  # fmt: skip
        elif rid.startswith("item-") and d.get("created_by_request", {}).get(rid):
            links.link(member_id, file, Link("item", str(ret["ListID"]), str(ret["FullName"]), "product",
                                             d["created_by_request"][rid]))  # fmt: skip
        elif rid == "document":
            document = ret
    if document is None:
        _failed(services, member_id, sync_id, "QuickBooks did not return the document.", "Try again.")
        return
    kind, currency = sync.kind, str(d["deal"].get("CURRENCY_ID") or "USD")
    number = str(document.get("RefNumber") or "")
    links.link(member_id, file, Link(kind.lower(), str(document["TxnID"]), number, "deal", sync.deal_id))
    outcome = crm.timeline_text(kind, document, currency)
    services.portals.set_setting(member_id, f"deal.{sync.deal_id}.currency", currency)
    services.portals.set_setting(
        member_id, f"deal.{sync.deal_id}.category", str(d["deal"].get("CATEGORY_ID") or "0")
    )
    services.portals.set_setting(
        member_id, f"deal.{sync.deal_id}.qb", qb_changes.snapshot(kind, document, now)
    )
    client = services.client(member_id)
    fields = crm.deal_update(kind, document, currency, now.date(), now)
    try:
        written = client.batch_all(
            {
                "deal": ("crm.deal.update", {"id": sync.deal_id, "fields": fields}),
                "note": (
                    "crm.timeline.comment.add",
                    {"fields": {"ENTITY_ID": sync.deal_id, "ENTITY_TYPE": "deal", "COMMENT": outcome}},
                ),
            },
            what=f"deal {sync.deal_id} after {kind}",
        )
        refused = written.errors.get("deal")
    except B24Error as exc:  # the document exists in QuickBooks: say so, and that the deal lags behind
        log.warning("deal %s of %s not updated: %s", sync.deal_id, member_id, exc.code)
        refused = {"error": exc.code}
    if refused:
        outcome += f" (the deal's QuickBooks fields could not be updated: {refused.get('error')})"
    links.update_sync(
        member_id,
        sync_id,
        state="done",
        detail={
            "txn_id": document["TxnID"],
            "number": document.get("RefNumber"),
            "total": document.get("TotalAmount", document.get("Subtotal")),
            "balance": document.get("BalanceRemaining"),
        },
        outcome=outcome,
    )
