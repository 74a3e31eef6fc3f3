"""Linked customers both ways, without echoes and without overwriting anyone's edit.

Every decision is one three-way merge per synced field (title, phones, e-mails) against what each side
held after the last sync (``sync/merge``): a field changed on one side goes to the other, a field changed
on both goes to the configured winner and the loser's value goes to the conflicts log. The merge always
sees both sides as they are now:

* **QuickBooks → Bitrix24**: customers changed in QuickBooks (the change query, ``qb_changes``) are
  merged with their linked company or contact *read from Bitrix24 just before* (batched), so an edit
  whose event the cloud has not read yet takes part and cannot be reverted. Bitrix24 gets what QuickBooks
  changed (name, phones and e-mails by exact multifield operations, with balance, credit limit and terms
  in the app's fields); what Bitrix24 changed goes to QuickBooks in the same round, as a ``CustomerMod``
  on the EditSequence the change query just read.
* **Bitrix24 → QuickBooks**: company/contact update events for linked records whose synced fields the
  cloud has not seen yet become a customer read (the current EditSequence), then the same merge with the
  record read again from Bitrix24, then a ``CustomerMod``. A stale EditSequence (3200) answer carries the
  customer as it is now (errata 8 of the Web Connector spec): decided again on it (twice at most).

The link remembers Bitrix24's fields as last read and decided on; an event whose record still shows them
is our own write coming back or an edit already sent: nothing is read from QuickBooks and nothing is sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, build, mod, query
from shared.qbxml.parser import parse_response

from . import offline, qb_deletions, retries
from .agents.store import JobRow
from .b24 import origin
from .b24.once import Create, create_once
from .links import Link
from .sync import crm, failures, normalize
from .sync.fingerprint import fingerprint
from .sync.merge import LinkState, Merge, Side, decided, dumps, given_up, loads, merge, sent
from .sync.text import Unstorable, fit

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.customer_sync")

READ, WRITE = "customer-read:", "customer-mod:"
LINKING = "linking"  # an event's state while its record's customer is being made (handled once linked)
EVENTS = {"ONCRMCOMPANYUPDATE": "company", "ONCRMCONTACTUPDATE": "contact"}
VERSION = "13.0"
ATTEMPTS = 3  # decisions per Bitrix24 edit when QuickBooks keeps changing the customer meanwhile (3200)


# -- the synced fields, as one comparable view ---------------------------------------------------------

SYNCED = ("title", "phones", "emails")
B24_KEYS = {
    "title": ("TITLE", "NAME", "SECOND_NAME", "LAST_NAME"),
    "phones": ("PHONE",),
    "emails": ("EMAIL",),
}


def _fields(title: str | None, phones: Iterable[str], emails: Iterable[str]) -> dict[str, Any]:
    return {
        "title": (title or "").strip(),
        "phones": sorted({p for p in (normalize.phone(x) for x in phones) if p}),
        "emails": sorted({e for e in (normalize.email(x) for x in emails) if e}),
    }


def b24_fields(b24_type: str, record: Mapping[str, Any]) -> dict[str, Any]:
    title = record.get("TITLE") if b24_type == "company" else crm_person(record)
    return _fields(
        str(title or ""),
        [str(m.get("VALUE", "")) for m in record.get("PHONE") or []],
        [str(m.get("VALUE", "")) for m in record.get("EMAIL") or []],
    )


def qb_fields(b24_type: str, ret: Mapping[str, Any]) -> dict[str, Any]:
    if b24_type == "company":
        title = ret.get("CompanyName") or ret.get("Name")
    else:
        title = " ".join(str(ret.get(k) or "").strip() for k in ("FirstName", "LastName")).strip() or ret.get(
            "Name"
        )
    phones = [str(ret[k]) for k in ("Phone", "AltPhone", "Fax") if ret.get(k)]
    emails = [e for e in str(ret.get("Email") or "").replace(";", ",").split(",") if e.strip()]
    return _fields(str(title or ""), phones, emails)


def qb_only(ret: Mapping[str, Any]) -> str:
    """What QuickBooks alone holds and Bitrix24 shows in the app's fields."""
    keys = ("ListID", "TotalBalance", "Balance", "CreditLimit", "TermsRef", "BillAddress")
    return fingerprint({k: ret.get(k) for k in keys})


def state(
    base: Mapping[str, Any], ret: Mapping[str, Any] | None, b24: Mapping[str, Any] | None = None
) -> str:
    """A link's first state: QuickBooks' fields, Bitrix24's (where a matched pair started different)."""
    side = dict(b24) if b24 is not None else dict(base)
    return dumps(LinkState(dict(base), side, side, qb_only(ret) if ret is not None else None))


def changed_in_b24(link: Link, record: Mapping[str, Any]) -> bool:
    """Not our own write coming back, nor an edit already decided on, nor one of fields we do not sync."""
    known = loads(link.fingerprint)
    return known is None or not known.handled(b24_fields(link.b24_type, record))


def unchanged_in_qb(link: Link, ret: Mapping[str, Any]) -> bool:
    known = loads(link.fingerprint)
    return known is not None and known.qb == qb_fields(link.b24_type, ret) and known.qb_only == qb_only(ret)


def only(fields: Mapping[str, Any], synced: Iterable[str]) -> dict[str, Any]:
    """A Bitrix24 update restricted to the synced fields named (others — balance, terms — always go)."""
    dropped = {k for name in SYNCED if name not in set(synced) for k in B24_KEYS[name]}
    return {k: v for k, v in fields.items() if k not in dropped}


def crm_person(record: Mapping[str, Any]) -> str:
    return " ".join(str(record.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()


# -- one decision, both directions --------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the merge decided for one link: the Bitrix24 update (None: Bitrix24 already shows it), the
    CustomerMod (None: nothing for QuickBooks), and the link's state once both are under way."""

    link: Link
    result: Merge
    update: dict[str, Any] | None
    mod: dict[str, Any] | None
    state: LinkState
    attempt: int = 1


def plan(link: Link, ret: Mapping[str, Any], record: Mapping[str, Any], *, now: datetime, winner: Side,
         winners: Mapping[str, Side], attempt: int = 1) -> Plan:  # fmt: skip
    """Merge the customer as QuickBooks has it now with the record as Bitrix24 has it now (no I/O)."""
    qb, b24 = qb_fields(link.b24_type, ret), b24_fields(link.b24_type, record)
    before = loads(link.fingerprint)
    edit_sequence = str(ret.get("EditSequence") or "")
    if before is not None and before.is_waiting_for(b24, edit_sequence):
        # the Mod on its way already carries everything: only the app's QuickBooks fields may be newer
        result, after = Merge(), replace(before, qb_only=qb_only(ret))
    else:
        result = merge(before.qb if before else None, before.b24 if before else None, qb, b24, now=now,
                       winner=winner, winners=winners)  # fmt: skip
        after = decided(before, result, qb, b24, qb_only(ret), edit_sequence)
    fields = only(_update(link.b24_type, ret, record, "USD", now).fields, result.to_b24)
    mod_fields = None
    if result.to_qb:
        try:
            mod_fields = customer_mod(link, ret, record, result.to_qb)
        except ValueError as exc:  # QuickBooks cannot store it: each side keeps what it has
            log.warning("customer %s not sent: %s", link.qb_id, exc)
            after = given_up(after)
    return Plan(link, result, fields if differs(fields, record) else None, mod_fields, after, attempt)


def carry_out(services: Services, member_id: str, file: str, plans: list[Plan], *, what: str) -> int:
    """Bitrix24's updates (50 per call), then per link whose update went through: its conflicts logged,
    its Mod queued and its state kept. A link Bitrix24 refused keeps its old state (decided again next
    time, nothing half-done). How many records were written in Bitrix24."""
    links = services.links
    writes = {f"w{n}": (f"crm.{p.link.b24_type}.update", {"id": p.link.b24_id, "fields": p.update})
              for n, p in enumerate(plans) if p.update is not None}  # fmt: skip
    refused = services.client(member_id).batch_all(writes, what=what).errors if writes else {}
    queued = 0
    for n, p in enumerate(plans):
        if f"w{n}" in refused:
            continue
        for c in p.result.conflicts:
            links.log_conflict(member_id, p.link, c.field, c.qb_value, c.b24_value, c.winner)
            log.info("conflict on %s %s field %s: %s wins", p.link.b24_type, p.link.b24_id, c.field, c.winner)
        after, job_id = p.state, "job_" + uuid.uuid4().hex[:24]
        if p.mod is not None and after.sending is not None:
            after = replace(after, sending=replace(after.sending, job=job_id))
        links.set_fingerprint(member_id, file, "customer", p.link.qb_id, dumps(after))  # before its answer
        if p.mod is not None:
            services.agents.enqueue(
                member_id,
                build(MessageSet([mod("Customer", p.mod, request_id="customer")]), version=VERSION).xml,
                purpose=f"{WRITE}{p.link.b24_type}:{p.link.b24_id}:{p.attempt}",
                priority=3,
                job_id=job_id,
            )
            queued += 1
    if queued:
        services.notify(member_id)
    return len(writes) - len(refused)


def _winners(services: Services, member_id: str) -> dict[str, Any]:
    return {
        "winner": services.portals.setting(member_id, "conflict.winner", "qb"),
        "winners": services.portals.setting(member_id, "conflict.winners", {}) or {},
    }


# -- QuickBooks → Bitrix24 ---------------------------------------------------------------------------


def from_quickbooks(services: Services, member_id: str, file: str, customers: list[Mapping[str, Any]]) -> int:
    """Merge changed customers with their linked companies/contacts as Bitrix24 has them now; how many
    records were written in Bitrix24."""
    links = services.links
    linked = [(links.by_qb(member_id, file, "customer", str(c["ListID"])), c) for c in customers]
    # a client's customer in another currency ("Acme Ltd (EUR)") is not its record's source: the name
    # carries the currency, and the home currency's customer speaks for the client
    pairs = [
        (link, c)
        for link, c in linked
        if link is not None and not link.currency and not unchanged_in_qb(link, c)
    ]
    if not pairs:
        return 0
    client = services.client(member_id)
    now = datetime.now(UTC)
    current = client.batch_all(
        {f"r{n}": (f"crm.{link.b24_type}.get", {"id": link.b24_id}) for n, (link, _) in enumerate(pairs)},
        what="reading linked customers",
    )
    rules = _winners(services, member_id)
    plans = []
    for n, (link, ret) in enumerate(pairs):
        record = current.result.get(f"r{n}")
        if isinstance(record, dict):  # a record deleted in Bitrix24 is left alone
            plans.append(plan(link, ret, record, now=now, **rules))
    return carry_out(services, member_id, file, plans, what="customer changed in QuickBooks")


def _update(b24_type: str, ret: Mapping[str, Any], record: Mapping[str, Any], currency: str,
            now: datetime) -> crm.CrmUpdate:  # fmt: skip
    """The company or contact update for a customer (``crm.company_update`` / ``crm.contact_update``)."""
    make = crm.company_update if b24_type == "company" else crm.contact_update
    return make(ret, record, currency, now)


def differs(fields: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Would this update change anything a person sees? (Multifield operations are only there when the
    lists differ; the sync time alone is not a change.)"""
    for key, value in fields.items():
        if key == "UF_CRM_QB_SYNCED_AT":
            continue
        if key in ("PHONE", "EMAIL") or str(record.get(key) or "") != str(value or ""):
            return True
    return False


def stamp(services: Services, member_id: str, pairs: Iterable[tuple[Link, Mapping[str, Any]]]) -> int:
    """The app's QuickBooks fields (customer ID, balance, credit limit, terms) onto newly linked records,
    50 per call; how many were written."""
    now = datetime.now(UTC)
    commands = {}
    for n, (link, ret) in enumerate(pairs):
        update = _update(link.b24_type, ret, {}, "USD", now)
        fields = {k: v for k, v in update.fields.items() if k.startswith("UF_CRM_QB_")}
        commands[f"s{n}"] = (f"crm.{link.b24_type}.update", {"id": link.b24_id, "fields": fields})
    return len(
        services.client(member_id).batch_all(commands, what="QuickBooks fields on a linked record").result
    )


def create_in_bitrix24(
    services: Services, member_id: str, file: str, customers: list[Mapping[str, Any]]
) -> int:
    """Customers with a company name become companies, the others contacts; how many were made."""
    now = datetime.now(UTC)
    creates: dict[str, Create] = {}
    kinds: dict[str, tuple[Mapping[str, Any], str]] = {}
    for n, ret in enumerate(customers):
        b24_type = "company" if ret.get("CompanyName") else "contact"
        update = _update(b24_type, ret, {}, "USD", now)  # carries UF_CRM_QB_LIST_ID: our origin key
        list_id = str(ret["ListID"])
        creates[f"q{n}"] = Create(
            f"customer:{list_id}",
            (f"crm.{b24_type}.add", {"fields": update.fields}),
            origin.by_list_id(b24_type, list_id),
            origin.first_id,
            str,
        )
        kinds[f"q{n}"] = (ret, b24_type)

    def record(key: str, new_id: str) -> None:
        ret, b24_type = kinds[key]
        link = Link("customer", str(ret["ListID"]), str(ret["FullName"]), b24_type, new_id,
                    fingerprint=state(qb_fields(b24_type, ret), ret))  # fmt: skip
        services.links.link(member_id, file, link)

    client = services.client(member_id)
    return len(create_once(client, services.journal, creates, record, what="customer into Bitrix24"))


# -- Bitrix24 → QuickBooks ---------------------------------------------------------------------------


def from_events(services: Services, member_id: str) -> float | None:
    """Turn waiting company/contact update events into customer reads (then mods). The events are marked
    handled only after that, so a failure leaves them for the next try. With the offline queue, it is
    read at most every few seconds: wake-ups in between wait, and the worker comes back (the seconds
    returned)."""
    store, links = services.portals, services.links
    portal = store.portal(member_id)
    if portal is None or portal.state != "active":
        return None  # its events wait until it is active again (no retries against a portal in trouble)
    file = services.company_file(member_id)
    if offline.enabled(services, member_id):
        wait = offline.too_soon(member_id)
        if wait:
            return wait
        offline.drain(services, member_id)  # changes from the queue: our own writes are not in it
        waiting = store.events(member_id)
        store.mark_events(member_id, [e["id"] for e in waiting if offline.is_wake_up(e)], "wake-up")
        waiting = [e for e in waiting if not offline.is_wake_up(e)]
    else:
        waiting = store.events(member_id)
    events = [e for e in waiting if e["event"] in EVENTS]
    gone = [e for e in waiting if e["event"] == "ONCRMDEALDELETE" and str(e["object_id"] or "").isdigit()]
    for e in gone:  # the deal_deleted setting decides about its QuickBooks document
        qb_deletions.deal_deleted(services, member_id, str(e["object_id"]))
    store.mark_events(member_id, [e["id"] for e in gone], "done")
    waiting = [e for e in waiting if e not in gone]
    # Records added in Bitrix24 after the first sync reach QuickBooks with their first deal sync;
    # products, smart invoices and quotes flow from QuickBooks; nothing else here waits on an event.
    store.mark_events(member_id, [e["id"] for e in waiting if e["event"] not in EVENTS], "ignored")
    events += store.events(member_id, LINKING)  # held until their record's customer was made: again
    wanted: dict[tuple[str, str], Link] = {}
    held: set[int] = set()
    being_made = creating(services, member_id)
    for e in events:
        b24_type, b24_id = EVENTS[e["event"]], str(e["object_id"])
        link = links.by_b24(member_id, file, b24_type, b24_id)
        if link is None and being_made(b24_type, b24_id):
            link = links.by_b24(member_id, file, b24_type, b24_id)  # linked in between: handled now
            if link is None:  # the customer is being made from the record as it was: the edit waits
                held.add(e["id"])
                continue
        if link is not None and link.kind == "customer":
            wanted[(b24_type, b24_id)] = link
    store.mark_events(member_id, sorted(held), LINKING)
    keys = list(wanted)
    got = services.client(member_id).batch_all(
        {f"r{n}": (f"crm.{t}.get", {"id": i}) for n, (t, i) in enumerate(keys)}, what="reading edited records"
    )
    changed = 0
    for n, key in enumerate(keys):
        record, link = got.result.get(f"r{n}"), wanted[key]
        if isinstance(record, dict) and changed_in_b24(link, record):
            changed += _read(services, member_id, link)  # a real edit, not our own write coming back
    store.mark_events(member_id, [e["id"] for e in events if e["id"] not in held], "done")
    if changed:
        log.info("%s: %d Bitrix24 edits on their way to QuickBooks", member_id, changed)
    return None


def creating(services: Services, member_id: str) -> Callable[[str, str], bool]:
    """Whether a record's QuickBooks customer is being made from it — by a deal's sync (a preview that
    can still be confirmed, its lookup, its write or the write's recovery) or by the contact/company tab.
    An edit to it meanwhile is not in what QuickBooks gets: it waits for the link (a ``LINKING`` event).
    The deals' syncs are read once, on the first question."""
    from . import deal_sync, party_tab  # they import this module

    syncing: set[tuple[str, str]] | None = None

    def ask(b24_type: str, b24_id: str) -> bool:
        nonlocal syncing
        if syncing is None:
            since = services.portals.clock() - deal_sync.PREVIEW_TTL
            syncing = services.links.syncing_parties(member_id, previews_since=since)
        if (b24_type, b24_id) in syncing:
            return True
        key = f"{b24_type}:{b24_id}"
        return any(services.agents.waiting(member_id, p + key) for p in (party_tab.LOOKUP, party_tab.CREATE))

    return ask


def _read(services: Services, member_id: str, link: Link, attempt: int = 1) -> int:
    """The customer as QuickBooks has it now (its EditSequence), for the merge; 0 when that read is
    already on its way (a burst of edits to one record is decided once, on the newest)."""
    purpose = f"{READ}{link.b24_type}:{link.b24_id}:{attempt}"
    if services.agents.waiting(member_id, purpose):
        return 0
    services.agents.enqueue(
        member_id,
        build(
            MessageSet([query("Customer", {"ListID": link.qb_id}, request_id="customer")]), version=VERSION
        ).xml,
        purpose=purpose,
        priority=3,
    )
    services.notify(member_id)
    return 1


def _settle(services: Services, member_id: str, link: Link, ret: Mapping[str, Any], attempt: int) -> None:
    """One link decided on the customer ``ret`` and its record read from Bitrix24 now."""
    file = services.company_file(member_id)
    record = services.client(member_id).call(f"crm.{link.b24_type}.get", {"id": link.b24_id})
    if not isinstance(record, dict):
        return
    p = plan(link, ret, record, now=datetime.now(UTC), attempt=attempt, **_winners(services, member_id))
    carry_out(services, member_id, file, [p], what="customer edited in Bitrix24")


def customer_mod(
    link: Link, ret: Mapping[str, Any], record: Mapping[str, Any], synced: Iterable[str] = SYNCED
) -> dict[str, Any]:
    """The CustomerMod fields for the synced fields Bitrix24 changed (pure)."""
    fields: dict[str, Any] = {"ListID": ret["ListID"], "EditSequence": ret["EditSequence"]}
    synced = set(synced)
    phones = [str(m.get("VALUE", "")) for m in record.get("PHONE") or []]
    emails = [str(m.get("VALUE", "")) for m in record.get("EMAIL") or []]
    try:
        if "title" in synced and link.b24_type == "company" and record.get("TITLE"):
            fields["CompanyName"] = fit(str(record["TITLE"]), 41, field="CompanyName").value
        elif "title" in synced and link.b24_type == "contact":
            for b24, qb in (("NAME", "FirstName"), ("LAST_NAME", "LastName")):
                if record.get(b24):
                    fields[qb] = fit(str(record[b24]), 25, field=qb).value
        if "phones" in synced:
            fields["Phone"] = fit(phones[0], 21, field="Phone").value if phones else ""
            fields["AltPhone"] = fit(phones[1], 21, field="AltPhone").value if len(phones) > 1 else ""
        if "emails" in synced:
            fields["Email"] = fit(", ".join(emails), 1023, field="Email").value if emails else ""
    except Unstorable as exc:
        raise ValueError(str(exc)) from exc
    return fields


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    if not job.purpose.startswith((READ, WRITE)):
        return False
    kind, rest = job.purpose.split(":", 1)
    b24_type, b24_id, attempt = rest.split(":")[:3]
    links, file = services.links, services.company_file(member_id)
    link = links.by_b24(member_id, file, b24_type, b24_id)
    if link is None:
        log.warning("customer %s %s: no longer linked", b24_type, b24_id)
        return True
    if job.response is None:  # no answer (QuickBooks not reachable, the answer lost): a Mod may have landed
        log.warning("customer %s: no answer from QuickBooks (%s)", link.qb_id, job.message or job.hresult)
        known = loads(link.fingerprint)
        if kind + ":" == WRITE and known is not None and known.sending is not None:
            if known.sending.job != job.job_id:
                return True  # a later decision sent another Mod
            known = replace(known, sending=None)
            links.set_fingerprint(member_id, file, "customer", link.qb_id, dumps(known))
            link = replace(link, fingerprint=dumps(known))
        if int(attempt) < ATTEMPTS:
            _read(services, member_id, link, int(attempt) + 1)  # decided again on QuickBooks as it is then
        return True
    result = parse_response(job.response).results[0]
    status, ret = result.header.status, (result.records[0] if result.records else None)
    if kind + ":" == READ:
        if status.is_ok and ret is not None:
            _settle(services, member_id, link, ret, int(attempt))
        elif status.is_not_found or status.is_ok:
            log.warning("customer %s gone from QuickBooks: %s", link.qb_id, status.message)
        else:  # QuickBooks could not read it now (busy, locked): the edit is not dropped
            failure = failures.from_status(status.code, status.severity, status.message, attempt=int(attempt),
                                           now=services.now())  # fmt: skip
            key, payload = f"customer:{b24_type}:{b24_id}", {"type": b24_type, "id": b24_id}
            if failure.retry_at is not None:
                retries.schedule(services.portals, member_id, key, RETRY_KIND, failure.retry_at,
                                 attempt=int(attempt), payload=payload, reason=failure.reason)  # fmt: skip
                log.warning("customer %s not read yet: %s; again at %s", link.qb_id, failure.reason,
                            failure.retry_at.isoformat())  # fmt: skip
            else:
                log.warning("customer %s could not be read: %s (the edit is not sent)", link.qb_id,
                            failure.reason)  # fmt: skip
        return True
    known = loads(link.fingerprint)
    # is this the Mod the link waits for (not one a later decision replaced)?
    current = known is not None and known.sending is not None and known.sending.job == job.job_id
    if status.is_ok and ret is not None:  # 530: saved, an element ignored
        if known is not None and (known.sending is None or current):
            links.set_fingerprint(member_id, file, "customer", link.qb_id,
                                  dumps(sent(known, qb_fields(b24_type, ret), qb_only(ret))))  # fmt: skip
        return True
    failure = failures.from_status(status.code, status.severity, status.message, attempt=int(attempt),
                                   now=services.now())  # fmt: skip
    if not current or known is None:
        return True  # a later decision sent another Mod: that one settles the link
    # What comes next is made durable before the link stops waiting for this Mod: a process dying in
    # between leaves the link waiting for it, so the stored answer, applied again, does it again.
    unsent = dumps(replace(known, sending=None))
    if failure.needs_requery and int(attempt) < ATTEMPTS:
        # someone changed the customer in QuickBooks meanwhile: decide again on it as it is now (a 3200
        # answer carries it, errata 8; read it where it does not)
        again = replace(link, fingerprint=unsent)
        if ret is not None:
            _settle(services, member_id, again, ret, int(attempt) + 1)  # may store the link's next state
        else:
            _read(services, member_id, again, int(attempt) + 1)
        now = links.by_qb(member_id, file, "customer", link.qb_id)
        still = loads(now.fingerprint) if now is not None else None
        if still is not None and still.sending is not None and still.sending.job == job.job_id:
            links.set_fingerprint(member_id, file, "customer", link.qb_id, unsent)
        return True
    if failure.retry_at is not None and not failure.needs_requery:
        # the record is locked or QuickBooks was busy: the same edit is decided again when the retry is
        # due, on the customer as QuickBooks has it then (however long the lock lasts; no look-back)
        retries.schedule(services.portals, member_id, f"customer:{b24_type}:{b24_id}", RETRY_KIND,
                         failure.retry_at, attempt=int(attempt), payload={"type": b24_type, "id": b24_id},
                         reason=failure.reason)  # fmt: skip
        links.set_fingerprint(member_id, file, "customer", link.qb_id, unsent)
        log.warning("customer %s not updated yet: %s; again at %s", link.qb_id, failure.reason,
                    failure.retry_at.isoformat())  # fmt: skip
        return True
    log.warning("customer %s not updated: %s (%s)", link.qb_id, failure.reason, failure.fix)
    links.set_fingerprint(member_id, file, "customer", link.qb_id, dumps(given_up(known)))
    return True


RETRY_KIND = "customer"


def retry_due(services: Services, member_id: str, payload: dict[str, Any], attempt: int) -> None:
    """A scheduled retry of a Bitrix24 edit QuickBooks refused for a while (``retries``): read the
    customer again and decide the edit on it."""
    link = services.links.by_b24(member_id, services.company_file(member_id), payload["type"], payload["id"])
    if link is not None:
        _read(services, member_id, link, attempt + 1)


def on_linked(
    services: Services, member_id: str, job: JobRow, *, adds: tuple[str, ...], lookups: tuple[str, ...]
) -> bool:
    """After every result: a customer just linked gets its first state (:func:`first_state`); then edits
    that waited for their record's customer (``LINKING`` events) are looked at again — the record may be
    linked now (the edit goes to QuickBooks as a ``CustomerMod``) or its creation over without a link."""
    first_state(services, member_id, job, adds=adds, lookups=lookups)
    if services.portals.count_events(member_id, LINKING):
        services.worker.kick(member_id)
    return False


def first_state(
    services: Services, member_id: str, job: JobRow, *, adds: tuple[str, ...], lookups: tuple[str, ...]
) -> None:
    """A customer just linked gets its first state, so the first edits after it are merged against a
    base instead of a guess. One just created from its record (jobs whose purpose starts with one of
    ``adds``: a deal's sync, the contact/company tab) holds what the record held, as QuickBooks stores
    it: both sides start from QuickBooks' fields (no Bitrix24 read). One a person chose on the tab
    (``lookups``) may differ from its record: Bitrix24's side is read as it is now. Links made otherwise
    (a deal's sync that found the customer by name) get theirs at their first merge."""
    wanted = "CustomerAddRs" if job.purpose.startswith(adds) else None
    if job.purpose.startswith(lookups):
        wanted = "CustomerQueryRs"
    if wanted is None or job.response is None or wanted not in job.response:
        return  # not one of those (and no reading of a change query's or a first sync's answer)
    file = services.company_file(member_id)
    for result in parse_response(job.response).results:
        if result.name != wanted or len(result.records) != 1:
            continue
        ret = result.records[0]
        link = services.links.by_qb(member_id, file, "customer", str(ret.get("ListID") or ""))
        if link is None or loads(link.fingerprint) is not None:
            continue
        qb, b24 = qb_fields(link.b24_type, ret), None
        if wanted == "CustomerQueryRs":
            record = services.client(member_id).call(f"crm.{link.b24_type}.get", {"id": link.b24_id})
            if not isinstance(record, dict):
                continue
            b24 = b24_fields(link.b24_type, record)
        services.links.set_fingerprint(member_id, file, "customer", link.qb_id, state(qb, ret, b24))
