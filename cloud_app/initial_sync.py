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

from .agents.store import JobRow
from .links import Link, Links
from .sync import crm
from .sync.customers import from_company, from_contact
from .sync.matching import Ambiguous, Candidate, Matched, Party, match_all
from .sync.names import disambiguate

if TYPE_CHECKING:
    from .web import Services

log = logging.getLogger("qb_cloud.initial_sync")

READ, PUSH = "initial:read", "initial:push"
VERSION = "13.0"
OTHER_LISTS = ("Vendor", "Employee", "OtherName")


def start(services: Services, member_id: str) -> str:
    requests = [
        query("Customer", {"ActiveStatus": "All"}, request_id="Customer", iterator="Start", max_returned=500)
    ]
    requests += [
        query(k, {"ActiveStatus": "All", "IncludeRetElement": ["Name"]}, request_id=k) for k in OTHER_LISTS
    ]
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=READ,
        priority=4,
    )
    services.portals.set_setting(member_id, "initial.state", {"state": "reading QuickBooks", "job": job_id})
    if services.relay is not None:
        services.relay.notify(member_id)
    return job_id


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    if job.purpose == READ:
        if job.response is not None:
            _match(services, member_id, job.response)
        return True
    if job.purpose == PUSH:
        if job.response is not None:
            _pushed(services, member_id, job.response)
        return True
    return False


def _parties(services: Services, member_id: str) -> tuple[dict[str, Party], dict[str, dict[str, Any]]]:
    client = services.client(member_id)
    select = ["ID", "TITLE", "NAME", "LAST_NAME", "PHONE", "EMAIL", "COMPANY_ID", "TYPE_ID"]
    parties: dict[str, Party] = {}
    records: dict[str, dict[str, Any]] = {}
    for c in client.scan("crm.company.list", {"select": select}):
        key = f"CO_{c['ID']}"
        parties[key] = Party(key, str(c.get("TITLE") or ""), _values(c, "EMAIL"), _values(c, "PHONE"))
        records[key] = c
    for c in client.scan("crm.contact.list", {"select": select}):
        if str(c.get("COMPANY_ID") or "0") not in ("", "0") or c.get("TYPE_ID") == "SUPPLIER":
            continue
        key = f"C_{c['ID']}"
        name = " ".join(str(c.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()
        parties[key] = Party(key, name, _values(c, "EMAIL"), _values(c, "PHONE"))
        records[key] = c
    return parties, records


def _values(record: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    return tuple(str(m.get("VALUE", "")) for m in record.get(kind) or [] if m.get("VALUE"))


def _b24(key: str) -> tuple[str, str]:
    kind, _, rid = key.partition("_")
    return ("company" if kind == "CO" else "contact"), rid


def _match(services: Services, member_id: str, response: str) -> None:
    from .deal_sync import company_file

    links, file = Links(services.portals), company_file(services, member_id)
    customers: list[Mapping[str, Any]] = []
    taken: set[str] = set()
    for result in parse_response(response).results:
        if result.header.request_id == "Customer":
            customers = [r for r in result.records if not r.get("Sublevel")]  # jobs show on their parent
        else:
            taken |= {str(r.get("Name")) for r in result.records if r.get("Name")}
    parties, records = _parties(services, member_id)
    by_id = {str(c["ListID"]): c for c in customers}
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
    outcomes = match_all(parties.values(), candidates, mapped)
    review, claimed = [], set(mapped.values())
    counts = {"matched": 0, "review": 0, "created_in_bitrix24": 0, "to_create_in_quickbooks": 0}
    unmatched: list[str] = []
    for key, outcome in outcomes.items():
        if isinstance(outcome, Matched):
            claimed.add(outcome.list_id)
            if outcome.by != "mapping" and outcome.list_id in by_id:
                ret = by_id[outcome.list_id]
                links.link(
                    member_id, file, Link("customer", outcome.list_id, str(ret["FullName"]), *_b24(key))
                )
                counts["matched"] += 1
        elif isinstance(outcome, Ambiguous):
            claimed |= set(outcome.list_ids)  # not created again either: a person decides
            review.append({"b24": key, "name": parties[key].name, "candidates": list(outcome.list_ids),
                           "reason": outcome.reason})  # fmt: skip
        else:
            unmatched.append(key)
    counts["review"] = len(review)
    counts["created_in_bitrix24"] = _create_in_bitrix24(
        services, member_id, file, [c for c in customers if str(c["ListID"]) not in claimed]
    )
    names = taken | {str(c.get("Name")) for c in customers}
    counts["to_create_in_quickbooks"] = _create_in_quickbooks(services, member_id, unmatched, records, names)
    services.portals.set_setting(member_id, "initial.review", review)
    services.portals.set_setting(
        member_id,
        "initial.state",
        {"state": "creating in QuickBooks" if counts["to_create_in_quickbooks"] else "done", **counts},
    )


def _create_in_bitrix24(
    services: Services, member_id: str, file: str, customers: list[Mapping[str, Any]]
) -> int:
    if not customers:
        return 0
    client, links, now = services.client(member_id), Links(services.portals), datetime.now(UTC)
    created = 0
    for start in range(0, len(customers), 50):
        chunk = customers[start : start + 50]
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        for n, ret in enumerate(chunk):
            company = bool(ret.get("CompanyName"))
            update = (crm.company_update if company else crm.contact_update)(ret, {}, "USD", now)
            commands[f"{'co' if company else 'c'}{n}"] = (
                f"crm.{'company' if company else 'contact'}.add",
                {"fields": update.fields},
            )
        answer = client.batch(commands)
        for key, new_id in answer.result.items():
            ret = chunk[int(key.lstrip("co"))]
            b24_type = "company" if key.startswith("co") else "contact"
            links.link(
                member_id,
                file,
                Link("customer", str(ret["ListID"]), str(ret["FullName"]), b24_type, str(new_id)),
            )
            created += 1
        for key, error in answer.errors.items():
            log.warning("customer %s not created in Bitrix24: %s", key, error.get("error_description"))
    return created


def _create_in_quickbooks(
    services: Services, member_id: str, keys: list[str], records: dict[str, dict[str, Any]], taken: set[str]
) -> int:
    requests = []
    used = set(taken)
    for key in keys:
        record = records[key]
        draft = (
            from_company(record, version=VERSION)
            if key.startswith("CO_")
            else from_contact(record, version=VERSION)
        )
        name = str(draft.fields.get("Name") or "")
        if not name:
            continue  # nothing to call it: listed by the preview/review instead
        unique = disambiguate(name, "customer", used)
        draft.fields["Name"] = unique
        used.add(unique)
        requests.append(add("Customer", draft.fields, request_id=key))
    if not requests:
        return 0
    services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION, truncate=True).xml,
        purpose=PUSH,
        priority=4,
    )
    if services.relay is not None:
        services.relay.notify(member_id)
    return len(requests)


def _pushed(services: Services, member_id: str, response: str) -> None:
    from .deal_sync import company_file

    links, file = Links(services.portals), company_file(services, member_id)
    state = dict(services.portals.setting(member_id, "initial.state", {}))
    created, failed = 0, []
    for result in parse_response(response).results:
        key = result.header.request_id or ""
        if result.header.status.code == 0 and result.records:
            ret = result.records[0]
            links.link(
                member_id, file, Link("customer", str(ret["ListID"]), str(ret["FullName"]), *_b24(key))
            )
            created += 1
        else:
            failed.append(
                {"b24": key, "code": result.header.status.code, "message": result.header.status.message}
            )
    state.update(state="done", created_in_quickbooks=created, failed_in_quickbooks=failed)
    services.portals.set_setting(member_id, "initial.state", state)
