"""The first sync of customers: every QuickBooks customer and every Bitrix24 company or client contact
matched once, linked, and what has no partner created on the other side.

1. One read-only job: all customers (iterator, merged by the agent) and the names of vendors, employees
   and other names (QuickBooks' shared name space).
2. Bitrix24 is read by fast scans: companies, and contacts (a contact belonging to a company is that
   company's person, not a customer of its own; ``SUPPLIER`` contacts are the vendors' side).
3. :func:`cloud_app.sync.matching.match_all` decides: stored link → e-mail → phone → exact name.
   Ambiguous ones are listed for a person (``initial.review``), never guessed.
4. Customers without a partner become companies (with a company name) or contacts in Bitrix24, 50 per
   batch; companies/contacts without one become customers in QuickBooks in one ``continueOnError``
   message set with a ``requestID`` per record (a bad one does not stop the others); names taken in the
   shared name space get a readable suffix.

Running it again links nothing twice: everything is matched by its stored link, nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, add, build, query
from shared.qbxml.parser import parse_response

from . import customer_sync, qb_changes, qb_documents, sales_reps
from .agents.store import JobRow
from .b24 import origin
from .b24.errors import B24Error
from .b24.once import Create, create_once
from .links import Link
from .sync import crm
from .sync.customers import from_company, from_contact
from .sync.field_words import words
from .sync.matching import RULES, Ambiguous, Candidate, Matched, Party, match_all
from .sync.names import disambiguate

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.initial_sync")

READ, PUSH = "initial:read", "initial:push"
VERSION = "13.0"
OTHER_LISTS = ("Vendor", "Employee", "OtherName")


def start(services: Services, member_id: str) -> str:
    requests = [
        query("Customer", {"ActiveStatus": "All"}, request_id="Customer", iterator="Start", max_returned=500)
    ]
    requests.append(query("Vendor", {"ActiveStatus": "All"}, request_id="Vendor"))  # whole: they sync too
    requests += [
        query(k, {"ActiveStatus": "All", "IncludeRetElement": ["Name"]}, request_id=k)
        for k in OTHER_LISTS[1:]
    ]
    requests.append(query("SalesRep", {"ActiveStatus": "All"}, request_id="SalesRep"))
    job_id = _send(services, member_id, requests, READ)
    services.portals.set_setting(member_id, "initial.state", {"state": "reading QuickBooks", "job": job_id})
    return job_id


def _said(path: str) -> str:
    """``CustomerAdd/BillAddress/Addr1`` → "Billing address, line 1" (the request's name left off)."""
    said = words(path.split("/", 1)[-1])
    return said[:1].upper() + said[1:]


def _send(
    services: Services, member_id: str, requests: list[Any], purpose: str, *, truncate: bool = False
) -> str:
    """One ``continueOnError`` message set (a bad record does not stop the others), offered at once.
    Anything shortened to QuickBooks' limits is noted where the page shows the first sync."""
    built = build(MessageSet(requests, on_error="continueOnError"), version=VERSION, truncate=truncate)
    if built.truncations:
        notes = list(services.portals.setting(member_id, "initial.notes", []))
        notes += [f"{_said(t.path)}: “{t.original}” shortened to “{t.truncated}”" for t in built.truncations]
        services.portals.set_setting(member_id, "initial.notes", notes)
    job_id = services.agents.enqueue(member_id, built.xml, purpose=purpose, priority=4)
    services.notify(member_id)
    return job_id


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    handlers = {
        READ: lambda s, m, r: _match(s, m, r, job),
        PUSH: _pushed,
        READ_ITEMS: _match_items,
        PUSH_ITEMS: _pushed_items,
        READ_DOCS: _documents,
    }
    handler = handlers.get(job.purpose)
    if handler is None:
        return False
    if job.response is not None:  # a refused read or push leaves the state as it was: start again
        handler(services, member_id, job.response)
    return True


def _parties(
    services: Services, member_id: str
) -> tuple[dict[str, Party], dict[str, dict[str, Any]], dict[str, Party]]:
    """Customers-to-be (companies, contacts of no company) and supplier contacts (the vendors' side)."""
    client = services.client(member_id)
    suppliers: dict[str, Party] = {}
    select = ["ID", "TITLE", "NAME", "LAST_NAME", "PHONE", "EMAIL", "COMPANY_ID", "TYPE_ID"]
    parties: dict[str, Party] = {}
    records: dict[str, dict[str, Any]] = {}
    for c in client.scan("crm.company.list", {"select": select}):
        key = f"CO_{c['ID']}"
        parties[key] = Party(key, str(c.get("TITLE") or ""), _values(c, "EMAIL"), _values(c, "PHONE"))
        records[key] = c
    for c in client.scan("crm.contact.list", {"select": select}):
        key = f"C_{c['ID']}"
        name = " ".join(str(c.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()
        if c.get("TYPE_ID") == "SUPPLIER":
            suppliers[key] = Party(key, name, _values(c, "EMAIL"), _values(c, "PHONE"))
        elif str(c.get("COMPANY_ID") or "0") in ("", "0"):
            parties[key] = Party(key, name, _values(c, "EMAIL"), _values(c, "PHONE"))
            records[key] = c
    return parties, records, suppliers


def _values(record: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    return tuple(str(m.get("VALUE", "")) for m in record.get(kind) or [] if m.get("VALUE"))


def _rules(services: Services, member_id: str) -> tuple[str, ...]:
    """The portal's matching steps (settings ``matching.rules``), in its order."""
    return tuple(services.portals.setting(member_id, "matching.rules", None) or RULES)


STAMP = "stamp:"  # journal: a record linked by the first sync whose QuickBooks fields are not written yet


def _key(link: Link) -> str:
    return f"{'CO' if link.b24_type == 'company' else 'C'}_{link.b24_id}"


def _b24(key: str) -> tuple[str, str]:
    kind, _, rid = key.partition("_")
    return ("company" if kind == "CO" else "contact"), rid


def _match(services: Services, member_id: str, response: str, job: JobRow | None = None) -> None:
    """Run again on the same answer after a restart (the result is applied until its hook ends), it
    carries on: links made stand, stamps journaled and not yet written are written, records created but
    not linked are found by their origin key, and the push to QuickBooks is not sent twice."""
    links, file = services.links, services.company_file(member_id)
    journal = services.journal
    unstamped = {k for k in journal.entries(member_id) if k.startswith(STAMP)}
    customers: list[Mapping[str, Any]] = []
    vendors: list[Mapping[str, Any]] = []
    taken: set[str] = set()
    for result in parse_response(response).results:
        if result.header.request_id == "Customer":
            customers = [r for r in result.records if not r.get("Sublevel")]  # jobs show on their parent
        elif result.header.request_id == "SalesRep":
            sales_reps.learn(services, member_id, result.records)
        else:
            taken |= {str(r.get("Name")) for r in result.records if r.get("Name")}
            if result.header.request_id == "Vendor":
                vendors = list(result.records)
    qb_changes.seed_watermarks(services, member_id, {"Customer": customers})
    by_id = {str(c["ListID"]): c for c in customers}
    # customers a run before a restart was creating in Bitrix24 (outcome unknown): found by their origin
    # key and linked first — else the records they made would look like new parties to push to QuickBooks
    unsure = [by_id[k.removeprefix("customer:")] for k in journal.entries(member_id)
              if k.startswith("customer:") and k.removeprefix("customer:") in by_id]  # fmt: skip
    resumed = customer_sync.create_in_bitrix24(services, member_id, file, unsure) if unsure else 0
    parties, records, suppliers = _parties(services, member_id)
    mapped: dict[str, str] = {}
    for key in parties:
        link = links.by_b24(member_id, file, *_b24(key))
        if link is not None and link.kind == "customer":
            mapped[key] = link.qb_id
    candidates = [
        Candidate(
            str(c["ListID"]),
            str(c.get("Name") or ""),
            tuple(e for e in str(c.get("Email") or "").replace(";", ",").split(",") if e.strip()),
            tuple(str(c[k]) for k in ("Phone", "AltPhone") if c.get(k)),
        )
        for c in customers
    ]
    # a customer linked to a record that is not a party here (a company's contact, linked on its tab)
    # is that record's: matching it again would move the link, creating it again would duplicate it
    elsewhere = {i for i in by_id if i not in mapped.values() and links.by_qb(member_id, file, "customer", i)}
    outcomes = match_all(parties.values(), candidates, mapped, _rules(services, member_id), elsewhere)
    review, claimed = [], set(mapped.values()) | elsewhere
    counts = {"matched": 0, "review": 0, "created_in_bitrix24": 0, "to_create_in_quickbooks": 0}
    unmatched: list[str] = []
    stamps: list[tuple[Link, Mapping[str, Any]]] = []
    for key, outcome in outcomes.items():
        if isinstance(outcome, Matched):
            claimed.add(outcome.list_id)
            stamp_key = f"{STAMP}{key}"
            if outcome.by == "mapping" and stamp_key in unstamped and outcome.list_id in by_id:
                found = links.by_b24(member_id, file, *_b24(key))
                if found is not None:  # linked by this sync before a restart, never stamped
                    stamps.append((found, by_id[outcome.list_id]))
            elif outcome.by != "mapping" and outcome.list_id in by_id:
                ret = by_id[outcome.list_id]
                b24_type, b24_id = _b24(key)
                qb, b24 = (
                    customer_sync.qb_fields(b24_type, ret),
                    customer_sync.b24_fields(b24_type, records[key]),
                )
                # matched, not synced: where they differ (a title, a second phone) each keeps its own
                link = Link("customer", outcome.list_id, str(ret["FullName"]), b24_type, b24_id,
                            customer_sync.state(qb, ret, b24))  # fmt: skip
                journal.intend(member_id, {stamp_key: f"crm.{b24_type}.update"})  # before the link
                links.link(member_id, file, link)
                stamps.append((link, ret))
                counts["matched"] += 1
        elif isinstance(outcome, Ambiguous):
            claimed |= set(outcome.list_ids)  # not created again either: a person decides
            review.append({"b24": key, "name": parties[key].name, "candidates": list(outcome.list_ids),
                           "reason": outcome.reason, "kind": "customer",
                           "names": {i: str(by_id[i].get("FullName") or "") for i in outcome.list_ids
                                     if i in by_id}})  # fmt: skip
        else:
            unmatched.append(key)
    customer_sync.stamp(services, member_id, stamps)
    journal.forget(member_id, [f"{STAMP}{_key(link)}" for link, _ in stamps])
    # a customer whose create's outcome was unknown, matched now to the record that create made
    journal.forget(member_id, [f"customer:{i}" for i in claimed])
    # customers linked before this run (a deal's sync, the tab): this read is newer than their links'
    # state and the change query starts after it, so their QuickBooks edits are merged now or never
    earlier = [by_id[i] for i in mapped.values() if i in by_id]
    if earlier:
        try:
            customer_sync.from_quickbooks(services, member_id, file, earlier)
        except B24Error as exc:  # the next change of either side merges them again
            log.warning("first sync of %s: linked customers not merged: %s", member_id, exc.code)
    counts["created_in_bitrix24"] = resumed + customer_sync.create_in_bitrix24(
        services, member_id, file, [c for c in customers if str(c["ListID"]) not in claimed]
    )
    names = taken | {str(c.get("Name")) for c in customers}
    counts["to_create_in_quickbooks"] = _create_in_quickbooks(
        services, member_id, unmatched, records, names, review, job
    )
    counts["vendors_matched"], counts["vendors"] = _vendors(
        services, member_id, file, vendors, suppliers, review
    )
    counts["review"] = len(review)
    services.portals.set_setting(member_id, "initial.review", review)
    services.portals.set_setting(
        member_id,
        "initial.state",
        {"state": "creating in QuickBooks" if counts["to_create_in_quickbooks"] else "done", **counts},
    )
    if not counts["to_create_in_quickbooks"]:
        start_documents(services, member_id)


def _vendors(
    services: Services,
    member_id: str,
    file: str,
    vendors: list[Mapping[str, Any]],
    suppliers: dict[str, Party],
    review: list[dict[str, Any]],
) -> tuple[int, int]:
    """QuickBooks → Bitrix24 only: each vendor linked to a supplier contact (matched like customers), or
    made one; (how many were matched, how many created)."""
    links = services.links
    mapped = {}
    for key in suppliers:
        link = links.by_b24(member_id, file, *_b24(key))
        if link is not None and link.kind == "vendor":
            mapped[key] = link.qb_id
    candidates = [
        Candidate(str(v["ListID"]), str(v.get("Name") or ""), tuple(filter(None, [v.get("Email")])),
                  tuple(str(v[k]) for k in ("Phone", "AltPhone") if v.get(k)))
        for v in vendors
    ]  # fmt: skip
    by_id = {str(v["ListID"]): v for v in vendors}
    claimed, matched = set(mapped.values()), 0
    for key, outcome in match_all(
        suppliers.values(), candidates, mapped, _rules(services, member_id)
    ).items():
        if isinstance(outcome, Matched):
            claimed.add(outcome.list_id)
            matched += 1
            if outcome.by != "mapping" and outcome.list_id in by_id:
                name = str(by_id[outcome.list_id]["Name"])
                links.link(member_id, file, Link("vendor", outcome.list_id, name, *_b24(key)))
        elif isinstance(outcome, Ambiguous):
            claimed |= set(outcome.list_ids)
            review.append({"b24": key, "name": suppliers[key].name, "candidates": list(outcome.list_ids),
                           "reason": outcome.reason + " (vendors)", "kind": "vendor",
                           "names": {i: str(by_id[i].get("Name") or "") for i in outcome.list_ids
                                     if i in by_id}})  # fmt: skip
    services.journal.forget(member_id, [f"vendor:{i}" for i in claimed])  # matched to what it made
    new = [v for v in vendors if str(v["ListID"]) not in claimed]
    now = datetime.now(UTC)
    creates = {}
    for n, v in enumerate(new):
        fields = crm.contact_update(v, {}, "USD", now).fields
        fields = {k: val for k, val in fields.items() if not k.startswith("UF_CRM_QB_")}  # customers' fields
        fields |= {"TYPE_ID": "SUPPLIER", **origin.vendor_fields(str(v["ListID"]))}  # our origin key
        creates[f"v{n}"] = Create(
            f"vendor:{v['ListID']}",
            ("crm.contact.add", {"fields": fields}),
            origin.by_vendor(str(v["ListID"])),
            origin.first_id,
            str,
        )

    def record(key: str, new_id: str) -> None:
        v = new[int(key[1:])]
        links.link(member_id, file, Link("vendor", str(v["ListID"]), str(v["Name"]), "contact", new_id))

    client = services.client(member_id)
    made = create_once(client, services.journal, creates, record, what="vendor as a supplier contact")
    return matched, len(made)


def _create_in_quickbooks(
    services: Services,
    member_id: str,
    keys: list[str],
    records: dict[str, dict[str, Any]],
    taken: set[str],
    review: list[dict[str, Any]],
    read: JobRow | None = None,
) -> int:
    """One customer add per record in one message set; a record with no name goes to ``review``. Sent
    once per read: run again on the same read (after a restart), the push already queued stands."""
    requests = []
    views: dict[str, dict[str, Any]] = {}
    used = set(taken)
    for key in keys:
        if services.links.syncing_party(member_id, *_b24(key)):
            continue  # a deal's sync of this record adds (or links) its customer: not a second one here
        record = records[key]
        draft = (
            from_company(record, version=VERSION)
            if key.startswith("CO_")
            else from_contact(record, version=VERSION)
        )
        name = str(draft.fields.get("Name") or "")
        if not name:
            review.append({"b24": key, "name": "", "candidates": [], "reason": "; ".join(draft.notes)})
            continue
        unique = disambiguate(name, "customer", used)
        draft.fields["Name"] = unique
        used.add(unique)
        requests.append(add("Customer", draft.fields, request_id=key))
        views[key] = customer_sync.b24_fields(_b24(key)[0], record)
    if not requests:
        return 0
    if read is not None and read.finished_at and any(
        j.created_at >= read.finished_at for j in services.agents.jobs(member_id, purpose=PUSH)
    ):
        return len(requests)
    # Bitrix24's side of each new pair: a name QuickBooks stores differently (transliterated, shortened,
    # made unique) is a difference they start with, not an edit to send back and forth
    services.portals.set_setting(member_id, "initial.push_views", views)
    _send(services, member_id, requests, PUSH, truncate=True)
    return len(requests)


def _pushed(services: Services, member_id: str, response: str) -> None:
    links, file = services.links, services.company_file(member_id)
    state = dict(services.portals.setting(member_id, "initial.state", {}))
    created, failed, stamps = 0, [], []
    views = services.portals.setting(member_id, "initial.push_views", {})
    for result in parse_response(response).results:
        key = result.header.request_id or ""
        if result.header.status.is_ok and result.records:  # 530: added, an element ignored
            ret = result.records[0]
            b24_type, b24_id = _b24(key)
            base = customer_sync.qb_fields(b24_type, ret)
            link = Link("customer", str(ret["ListID"]), str(ret["FullName"]), b24_type, b24_id,
                        customer_sync.state(base, ret, views.get(key)))  # fmt: skip
            links.link(member_id, file, link)
            stamps.append((link, ret))
            created += 1
        else:
            failed.append(
                {"b24": key, "code": result.header.status.code, "message": result.header.status.message}
            )
    customer_sync.stamp(services, member_id, stamps)
    state.update(state="done", created_in_quickbooks=created, failed_in_quickbooks=failed)
    services.portals.set_setting(member_id, "initial.state", state)
    start_documents(services, member_id)


# -- documents: invoices and estimates of linked customers -------------------------------------------

READ_DOCS = "initial:documents-read"


def start_documents(services: Services, member_id: str) -> str | None:
    """Once every customer is placed: all invoices and estimates, read once (their lines are not needed:
    the records show amounts and state). Not again once done — the change query keeps them current."""
    if (services.portals.setting(member_id, "initial.documents") or {}).get("state") == "done":
        return None
    filters = {"IncludeLinkedTxns": True}
    requests = [
        query(kind, filters, request_id=kind, iterator="Start", max_returned=500)
        for kind in qb_documents.KINDS
    ]
    job_id = _send(services, member_id, requests, READ_DOCS)
    services.portals.set_setting(
        member_id, "initial.documents", {"state": "reading QuickBooks", "job": job_id}
    )
    return job_id


def _documents(services: Services, member_id: str, response: str) -> None:
    file = services.company_file(member_id)
    found: dict[str, list[Mapping[str, Any]]] = {kind: [] for kind in qb_documents.KINDS}
    for result in parse_response(response).results:
        if result.header.request_id in found:
            found[result.header.request_id or ""] = list(result.records)
    counts = qb_documents.to_bitrix24(services, member_id, file, found)
    qb_changes.seed_watermarks(services, member_id, found)
    state = {"state": "done", **{k.lower() + "s": len(v) for k, v in found.items()}, **counts}
    services.portals.set_setting(member_id, "initial.documents", state)


# -- items ⇄ catalog products ------------------------------------------------------------------------

READ_ITEMS, PUSH_ITEMS = "initial:items-read", "initial:items-push"


def start_items(services: Services, member_id: str) -> str:
    """All sellable QuickBooks items (service, non-inventory, inventory, other charge) in one read job."""
    from .sync.items import ITEM_KINDS
    from .sync.watermarks import Watermark, change_query

    requests = [change_query(Watermark(kind), request_id=kind) for kind in ITEM_KINDS]
    job_id = _send(services, member_id, requests, READ_ITEMS)
    services.portals.set_setting(member_id, "initial.items", {"state": "reading QuickBooks", "job": job_id})
    return job_id


def _item_key(name: str) -> str:
    return " ".join(name.replace(" :", ":").replace(": ", ":").split()).casefold()


def _match_items(services: Services, member_id: str, response: str) -> None:
    from .sync.items import XML_ID_PREFIX, item_from_product, product_from_item

    links, file = services.links, services.company_file(member_id)
    client = services.client(member_id)
    items = [r for res in parse_response(response).results for r in res.records]
    catalogs = client.call("catalog.catalog.list", {})["catalogs"]
    iblock = int(catalogs[0]["iblockId"])
    products = list(
        client.scan(
            "catalog.product.list",
            {
                "filter": {"iblockId": iblock},
                "select": ["id", "iblockId", "name", "xmlId", "active", "detailText"],
            },
            id_field="id",
            items_key="products",
        )
    )
    by_list_id = {str(i["ListID"]): i for i in items}
    by_name: dict[str, list[str]] = {}
    for i in items:
        by_name.setdefault(_item_key(str(i["FullName"])), []).append(str(i["ListID"]))
    claimed: set[str] = set()
    review: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    counts = {"matched": 0, "review": 0, "created_in_bitrix24": 0, "to_create_in_quickbooks": 0}
    for p in products:
        pid = str(p["id"])
        link = links.by_b24(member_id, file, "product", pid)
        xml_id = str(p.get("xmlId") or "")
        if link is not None and link.kind == "item":
            claimed.add(link.qb_id)
            continue
        if xml_id.startswith(XML_ID_PREFIX) and xml_id[len(XML_ID_PREFIX) :] in by_list_id:
            found = [xml_id[len(XML_ID_PREFIX) :]]
        else:
            found = [i for i in by_name.get(_item_key(str(p.get("name") or "")), []) if i not in claimed]
        if len(found) == 1:
            ret = by_list_id[found[0]]
            links.link(member_id, file, Link("item", found[0], str(ret["FullName"]), "product", pid))
            claimed.add(found[0])
            counts["matched"] += 1
        elif found:
            claimed |= set(found)
            review.append({"b24": f"P_{pid}", "name": p.get("name"), "candidates": found,
                           "reason": f"{len(found)} QuickBooks items have this name", "kind": "item",
                           "names": {i: str(by_list_id[i]["FullName"]) for i in found}})  # fmt: skip
        else:
            unmatched.append(p)
    new = [i for i in items if str(i["ListID"]) not in claimed]
    answer = client.batch_all(
        {
            f"i{n}": ("catalog.product.add", {"fields": product_from_item(i, iblock).fields})
            for n, i in enumerate(new)
        },
        what="item into the catalog",
    )
    for key, made in answer.result.items():
        ret = new[int(key[1:])]
        pid = str((made or {}).get("element", {}).get("id", ""))  # add answers "element" (errata 1)
        if pid:
            links.link(
                member_id, file, Link("item", str(ret["ListID"]), str(ret["FullName"]), "product", pid)
            )
            counts["created_in_bitrix24"] += 1
    requests = []
    for p in unmatched:
        try:
            draft = item_from_product(p, None)
        except ValueError as exc:  # nothing QuickBooks could store as its name: a person fixes the product
            review.append(
                {"b24": f"P_{p['id']}", "name": p.get("name"), "candidates": [], "reason": str(exc)}
            )
            continue
        requests.append(add(draft.entity, draft.fields, request_id=f"P_{p['id']}"))
    if requests:
        _send(services, member_id, requests, PUSH_ITEMS, truncate=True)
    counts["to_create_in_quickbooks"] = len(requests)
    counts["review"] = len(review)
    services.portals.set_setting(member_id, "initial.items.review", review)
    services.portals.set_setting(
        member_id, "initial.items", {"state": "creating in QuickBooks" if requests else "done", **counts}
    )


def _pushed_items(services: Services, member_id: str, response: str) -> None:
    from .sync.items import XML_ID_PREFIX

    links, file = services.links, services.company_file(member_id)
    state = dict(services.portals.setting(member_id, "initial.items", {}))
    created, failed, stamps = 0, [], {}
    for result in parse_response(response).results:
        key = result.header.request_id or ""
        pid = key.removeprefix("P_")
        if result.header.status.is_ok and result.records:  # 530: added, an element ignored
            ret = result.records[0]
            links.link(
                member_id, file, Link("item", str(ret["ListID"]), str(ret["FullName"]), "product", pid)
            )
            stamps[f"x{pid}"] = (
                "catalog.product.update",
                {"id": pid, "fields": {"xmlId": XML_ID_PREFIX + str(ret["ListID"])}},
            )
            created += 1
        else:
            failed.append(
                {"b24": key, "code": result.header.status.code, "message": result.header.status.message}
            )
    # the product's link back, on its own record
    services.client(member_id).batch_all(stamps, what="stamping the product with its item")
    state.update(state="done", created_in_quickbooks=created, failed_in_quickbooks=failed)
    services.portals.set_setting(member_id, "initial.items", state)


def resolve(services: Services, member_id: str, b24_key: str, list_id: str) -> str:
    """A person's answer to a match the first sync could not make: link the record to one of the
    candidates it listed. The name linked to; ValueError when the key or candidate is not on the list."""
    for setting in ("initial.review", "initial.items.review"):
        review = list(services.portals.setting(member_id, setting, []))
        entry = next((r for r in review if r.get("b24") == b24_key), None)
        if entry is None:
            continue
        if list_id not in entry.get("candidates", []):
            raise ValueError("That QuickBooks record is not one of this match's candidates.")
        name = str((entry.get("names") or {}).get(list_id) or entry.get("name") or "")
        kind = entry.get("kind") or ("item" if b24_key.startswith("P_") else "customer")
        b24 = ("product", b24_key[2:]) if kind == "item" else _b24(b24_key)
        holder = services.links.claim(
            member_id, services.company_file(member_id), Link(kind, list_id, name, *b24)
        )
        if holder is not None:  # linked since the review was listed: a decision never moves a link
            raise ValueError(
                f"“{name}” was linked to another Bitrix24 {holder.b24_type} meanwhile; choose another."
            )
        services.portals.set_setting(member_id, setting, [r for r in review if r is not entry])
        return name
    raise ValueError("No such match waits for a decision.")
