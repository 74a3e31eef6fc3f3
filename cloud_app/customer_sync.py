"""Linked customers both ways, without echoes.

* **QuickBooks → Bitrix24**: customers changed in QuickBooks (from the change query, ``qb_changes``)
  update their linked company or contact — name, phones and e-mails by exact multifield operations,
  balance, credit limit and terms in the app's fields.
* **Bitrix24 → QuickBooks**: company/contact update events for linked records become a ``CustomerMod``
  with the customer's current ``EditSequence`` (read first in the same session; a stale one, 3200, is
  read again and applied once more).

Both directions remember the record's synced fields as they now stand on both sides (the link's
state, below). A Bitrix24 event whose record still shows them is our own write coming back, or a change
to fields we do not sync: nothing goes to QuickBooks. When both sides changed the same field since,
the configured winner applies and the loser's value goes to the conflict log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, build, mod, query
from shared.qbxml.parser import parse_response

from . import offline
from .agents.store import JobRow
from .links import Link
from .sync import crm, failures, normalize
from .sync.conflicts import Merge, merge
from .sync.fingerprint import fingerprint
from .sync.text import Unstorable, fit

if TYPE_CHECKING:
    from .web import Services

log = logging.getLogger("qb_cloud.customer_sync")

READ, WRITE = "customer-read:", "customer-mod:"
EVENTS = {"ONCRMCOMPANYUPDATE": "company", "ONCRMCONTACTUPDATE": "contact"}
VERSION = "13.0"


# -- the synced fields, as one comparable view ---------------------------------------------------------
#
# A link remembers its state (``mappings.fingerprint``, JSON): ``base`` — the synced fields as both sides
# held them after the last sync (with ``b24`` for Bitrix24's side where a matched pair started
# different), which is the echo check (an event whose record still shows its base is our own write
# coming back) and the base of the three-way merge when both sides changed (``sync/conflicts``); and
# ``qb`` — a hash of what only QuickBooks holds (balance, credit limit, terms, address), so an unchanged
# customer costs no Bitrix24 read at all.

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
    """The link's state: QuickBooks' base, Bitrix24's where it differs, the QuickBooks-only hash."""
    sides = {"base": dict(base), "qb": qb_only(ret) if ret is not None else None}
    if b24 is not None and dict(b24) != dict(base):
        sides["b24"] = dict(b24)
    return json.dumps(sides, sort_keys=True, ensure_ascii=False)


def _sides(link: Link) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(QuickBooks' base, Bitrix24's base), or None when the pair was never synced field by field."""
    if not link.fingerprint or not link.fingerprint.startswith("{"):
        return None
    raw = json.loads(link.fingerprint)
    base = dict(raw.get("base") or {})
    return base, dict(raw.get("b24") or base)


def changed_in_b24(link: Link, record: Mapping[str, Any]) -> bool:
    """Not our own write coming back, nor an edit of fields we do not sync."""
    sides = _sides(link)
    return sides is None or sides[1] != b24_fields(link.b24_type, record)


def unchanged_in_qb(link: Link, ret: Mapping[str, Any]) -> bool:
    sides = _sides(link)
    if sides is None or sides[0] != qb_fields(link.b24_type, ret):
        return False
    return bool(json.loads(link.fingerprint or "{}").get("qb") == qb_only(ret))


def _merge(
    services: Services, member_id: str, link: Link, qb: dict[str, Any], b24: dict[str, Any], changed: str
) -> Merge:
    """Who takes which field. A pair never synced before counts the side that did not report a change
    as unchanged; real conflicts are logged with both values."""
    sides = _sides(link)
    base, base_b24 = sides if sides is not None else ((b24, b24) if changed == "qb" else (qb, qb))
    winners = services.portals.setting(member_id, "conflict.winners", {})
    default = services.portals.setting(member_id, "conflict.winner", "qb")
    result = merge(base, qb, b24, winners, default, base_b24)
    for c in result.conflicts:
        services.links.log_conflict(member_id, link, c.field, c.qb_value, c.b24_value, c.winner)
        log.info("conflict on %s %s field %s: %s wins", link.b24_type, link.b24_id, c.field, c.winner)
    return result


def only(fields: Mapping[str, Any], synced: Iterable[str]) -> dict[str, Any]:
    """A Bitrix24 update restricted to the synced fields named (others — balance, terms — always go)."""
    dropped = {k for name in SYNCED if name not in set(synced) for k in B24_KEYS[name]}
    return {k: v for k, v in fields.items() if k not in dropped}


def crm_person(record: Mapping[str, Any]) -> str:
    return " ".join(str(record.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()


# -- QuickBooks → Bitrix24 ---------------------------------------------------------------------------


def from_quickbooks(services: Services, member_id: str, file: str, customers: list[Mapping[str, Any]]) -> int:
    """Update linked companies/contacts from changed customers; how many were written."""
    links = services.links
    linked = [(links.by_qb(member_id, file, "customer", str(c["ListID"])), c) for c in customers]
    pairs = [(link, c) for link, c in linked if link is not None and not unchanged_in_qb(link, c)]
    if not pairs:
        return 0
    client = services.client(member_id)
    now = datetime.now(UTC)
    current = client.batch_all(
        {f"r{n}": (f"crm.{link.b24_type}.get", {"id": link.b24_id}) for n, (link, _) in enumerate(pairs)},
        what="reading linked customers",
    )
    writes: dict[str, tuple[str, dict[str, Any]]] = {}
    views: dict[str, tuple[Link, str]] = {}
    for n, (link, ret) in enumerate(pairs):
        record = current.result.get(f"r{n}")
        if not isinstance(record, dict):
            continue
        qb, b24 = qb_fields(link.b24_type, ret), b24_fields(link.b24_type, record)
        merged = _merge(services, member_id, link, qb, b24, changed="qb")
        update = _update(link.b24_type, ret, record, "USD", now)
        fields = only(update.fields, merged.to_b24)
        # Bitrix24's side: QuickBooks' values where they go there; where Bitrix24 holds a newer value
        # (merged.to_qb) its old base, so the event of this write sends it on (``from_events``)
        before = (_sides(link) or ({}, {}))[1]
        b24_side = {k: qb[k] if k in merged.to_b24 else before.get(k, b24[k]) if k in merged.to_qb else b24[k]
                    for k in SYNCED}  # fmt: skip
        after = state(qb, ret, b24_side)
        if not differs(fields, record):
            links.set_fingerprint(member_id, file, "customer", link.qb_id, after)
            continue  # Bitrix24 already shows all of it: no write, no echo
        writes[f"w{n}"] = (f"crm.{link.b24_type}.update", {"id": link.b24_id, "fields": fields})
        # the base is QuickBooks' state: what Bitrix24 holds newer (merged.to_qb) is still to go there,
        # and the event of this very write brings it (``from_events``)
        views[f"w{n}"] = (link, after)
    answer = client.batch_all(writes, what="customer changed in QuickBooks")
    written = 0
    for key, (link, view) in views.items():
        if key not in answer.errors:
            links.set_fingerprint(member_id, file, "customer", link.qb_id, view)
            written += 1
    return written


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


def stamp(services: Services, member_id: str, pairs: list[tuple[Link, Mapping[str, Any]]]) -> int:
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
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    kinds: dict[str, tuple[Mapping[str, Any], str]] = {}
    for n, ret in enumerate(customers):
        b24_type = "company" if ret.get("CompanyName") else "contact"
        update = _update(b24_type, ret, {}, "USD", now)
        commands[f"q{n}"] = (f"crm.{b24_type}.add", {"fields": update.fields})
        kinds[f"q{n}"] = (ret, b24_type)
    answer = services.client(member_id).batch_all(commands, what="customer into Bitrix24")
    for key, new_id in answer.result.items():
        ret, b24_type = kinds[key]
        link = Link("customer", str(ret["ListID"]), str(ret["FullName"]), b24_type, str(new_id),
                    fingerprint=state(qb_fields(b24_type, ret), ret))  # fmt: skip
        services.links.link(member_id, file, link)
    return len(answer.result)


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
    # Records added in Bitrix24 after the first sync reach QuickBooks with their first deal sync;
    # products, smart invoices and quotes flow from QuickBooks; nothing else here waits on an event.
    store.mark_events(member_id, [e["id"] for e in waiting if e["event"] not in EVENTS], "ignored")
    wanted: dict[tuple[str, str], Link] = {}
    for e in events:
        b24_type = EVENTS[e["event"]]
        link = links.by_b24(member_id, file, b24_type, str(e["object_id"]))
        if link is not None and link.kind == "customer":
            wanted[(b24_type, str(e["object_id"]))] = link
    keys = list(wanted)
    got = services.client(member_id).batch_all(
        {f"r{n}": (f"crm.{t}.get", {"id": i}) for n, (t, i) in enumerate(keys)}, what="reading edited records"
    )
    changed = 0
    for n, key in enumerate(keys):
        record, link = got.result.get(f"r{n}"), wanted[key]
        if isinstance(record, dict) and changed_in_b24(link, record):
            _read(services, member_id, link, record)  # a real edit, not our own write coming back
            changed += 1
    store.mark_events(member_id, [e["id"] for e in events], "done")
    if changed:
        log.info("%s: %d Bitrix24 edits on their way to QuickBooks", member_id, changed)
    return None


def _read(services: Services, member_id: str, link: Link, record: dict[str, Any], attempt: int = 1) -> None:
    """First the customer's current EditSequence (read-only), then the Mod built from the record."""
    services.agents.enqueue(
        member_id,
        build(
            MessageSet([query("Customer", {"ListID": link.qb_id}, request_id="customer")]), version=VERSION
        ).xml,
        purpose=f"{READ}{link.b24_type}:{link.b24_id}:{attempt}",
        priority=3,
    )
    services.portals.set_setting(member_id, f"pending.{link.b24_type}.{link.b24_id}", record)
    services.notify(member_id)


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
    b24_type, b24_id, attempt = rest.split(":")
    links, file = services.links, services.company_file(member_id)
    link = links.by_b24(member_id, file, b24_type, b24_id)
    record = services.portals.setting(member_id, f"pending.{b24_type}.{b24_id}")
    if link is None or record is None or job.response is None:
        log.warning("customer %s %s: %s", b24_type, b24_id, job.message or "no longer linked")
        return True
    result = parse_response(job.response).results[0]
    status = result.header.status
    if kind + ":" == READ:
        if status.code != 0 or not result.records:
            log.warning("customer %s gone from QuickBooks: %s", link.qb_id, status.message)
            return True
        ret = result.records[0]
        qb, b24 = qb_fields(b24_type, ret), b24_fields(b24_type, record)
        merged = _merge(services, member_id, link, qb, b24, changed="b24")
        both = state({**qb, **merged.to_qb}, ret, {**b24, **merged.to_b24})  # what each side holds after
        if merged.to_b24:  # QuickBooks won a conflict (or changed meanwhile): Bitrix24 takes its value
            update = _update(b24_type, ret, record, "USD", datetime.now(UTC))
            fields = {k: v for k, v in only(update.fields, merged.to_b24).items() if not k.startswith("UF_")}
            services.client(member_id).call(f"crm.{b24_type}.update", {"id": b24_id, "fields": fields})
        if not merged.to_qb:
            links.set_fingerprint(member_id, file, "customer", link.qb_id, both)
            services.portals.set_setting(member_id, f"pending.{b24_type}.{b24_id}", None)
            return True
        try:
            fields = customer_mod(link, ret, record, merged.to_qb)
        except ValueError as exc:
            log.warning("customer %s not sent: %s", link.qb_id, exc)
            return True
        services.portals.set_setting(member_id, f"pending.{b24_type}.{b24_id}.view", both)
        services.agents.enqueue(
            member_id,
            build(MessageSet([mod("Customer", fields, request_id="customer")]), version=VERSION).xml,
            purpose=f"{WRITE}{b24_type}:{b24_id}:{attempt}",
            priority=3,
        )
        services.notify(member_id)
        return True
    if status.code == 0 and result.records:
        view = services.portals.setting(member_id, f"pending.{b24_type}.{b24_id}.view")
        links.set_fingerprint(
            member_id, file, "customer", link.qb_id, view or state(b24_fields(b24_type, record), None)
        )
        services.portals.set_setting(member_id, f"pending.{b24_type}.{b24_id}", None)
        return True
    failure = failures.from_status(status.code, status.severity, status.message, attempt=int(attempt),
                                   now=datetime.now(UTC))  # fmt: skip
    if failure.needs_requery and int(attempt) < 2:
        _read(
            services, member_id, link, record, attempt=int(attempt) + 1
        )  # 3200: read again, apply once more
    else:
        log.warning("customer %s not updated: %s (%s)", link.qb_id, failure.reason, failure.fix)
    return True
