"""QuickBooks → Bitrix24 for what the app created: invoices, estimates and sales orders linked to deals,
and the payments applied to them.

One read-only job per poll (``continueOnError``): the documents and payments modified since their
watermarks (``cloud_app.sync.watermarks``: DST-safe overlap, repeats dropped by EditSequence, iterators
merged by the agent). The result updates each linked deal's QuickBooks fields in batches of 50, keeps a
snapshot of the document for the deal's QuickBooks tab, and adds a timeline line per payment. The
watermarks move only after Bitrix24 took the writes.

A poll is queued by the periodic loop (``Reconciler``) and by a person's "refresh" on the deal tab; only
one waits at a time per portal.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, build
from shared.qbxml.parser import parse_response
from shared.qbxml.values import Ref

from . import company_time, customer_sync, party_tab, qb_deletions, qb_documents
from .agents.store import JobRow
from .b24 import origin
from .b24.errors import RETRYABLE, B24Error
from .b24.once import Create, create_once
from .sync import crm, invoices, payments, voids
from .sync.watermarks import Watermark, advance, change_query, fresh, quiet

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.qb_changes")

PURPOSE = "qb-changes"
COMMENT = "crm.timeline.comment.add"
SAID = "said:"  # journal keys of timeline lines written (kept: each is said once, however often applied)
SAID_FOR = 90 * 24 * 3600  # seconds a said line is remembered (nothing applies a change that old again)
DOCUMENTS = ("Invoice", "Estimate", "SalesOrder", "CreditMemo")
ENTITIES = (*DOCUMENTS, "ReceivePayment", "Customer")
VERSION = "13.0"
CENT = Decimal("0.01")


def _mark(services: Services, member_id: str, entity: str) -> Watermark:
    raw = services.portals.setting(member_id, f"wm.{entity}")
    if not raw:
        return Watermark(entity)
    seen = frozenset((str(a), str(b)) for a, b in raw.get("seen", []))
    return Watermark(entity, datetime.fromisoformat(raw["modified"]), seen)


def _save(services: Services, member_id: str, mark: Watermark) -> None:
    if mark.modified is None:
        return
    services.portals.set_setting(
        member_id, f"wm.{mark.entity}", {"modified": mark.modified.isoformat(), "seen": sorted(mark.seen)}
    )


def seed_watermarks(services: Services, member_id: str, read: Mapping[str, list[Mapping[str, Any]]]) -> None:
    """After the first sync read everything of these entities: the change query starts from there (only
    where it never ran) instead of reading it all again."""
    for entity, records in read.items():
        mark = _mark(services, member_id, entity)
        if mark.modified is None:
            _save(services, member_id, advance(mark, records))


def poll(services: Services, member_id: str, *, priority: int = 5) -> str | None:
    """Queue one change query for the portal, unless one is already waiting; its job id, or None."""
    if services.agents.waiting(member_id, PURPOSE):
        return None
    requests = [change_query(_mark(services, member_id, e), request_id=e) for e in ENTITIES]
    requests += qb_deletions.requests(services, member_id)  # what QuickBooks deleted meanwhile
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=PURPOSE,
        priority=priority,
    )
    services.notify(member_id)
    return job_id


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    if job.purpose != PURPOSE:
        return False
    if job.response is None:
        log.warning("change query for %s refused: %s %s", member_id, job.hresult, job.message)
        return True
    apply(services, member_id, job.response, datetime.fromisoformat(job.created_at))
    return True


def apply(services: Services, member_id: str, response: str, asked: datetime | None = None) -> dict[str, int]:
    """Bring linked deals up to date from a change-query response; counts of what was written. ``asked``:
    when the query was queued (the watermarks may move up to it once everything is applied)."""
    links = services.links
    file = services.company_file(member_id)
    now = company_time.now(services, member_id)  # "overdue" by the company's date
    by_entity: dict[str, list[Mapping[str, Any]]] = {}
    deleted: dict[str, list[Mapping[str, Any]]] = {}
    for result in parse_response(response).results:
        rid, ok = result.header.request_id or "", result.header.status.is_ok
        if ok and rid in ENTITIES:
            by_entity[rid] = list(result.records)
        elif ok and rid in (qb_deletions.TXN, qb_deletions.LIST):
            deleted[rid] = list(result.records)
    writes: dict[str, tuple[str, dict[str, Any]]] = {}
    counts = {"documents": 0, "payments": 0}
    marks = {e: _mark(services, member_id, e) for e in ENTITIES}
    deal_by_txn: dict[str, str] = {}
    snapshots: dict[str, tuple[set[str], Any]] = {}  # kept once Bitrix24 took the writes named
    paid_stage = services.portals.setting(member_id, "paid_stage")
    paid_stages = services.portals.setting(member_id, "paid_stages") or {}
    for entity in DOCUMENTS:
        for ret in fresh(marks[entity], by_entity.get(entity, [])):
            link = links.by_qb(member_id, file, entity.lower(), str(ret["TxnID"]))
            if link is None or link.b24_type != "deal":
                continue  # not a deal's document (a smart invoice's or quote's is qb_documents' part)
            deal_by_txn[link.qb_id] = link.b24_id
            shot = snapshot(entity, ret, now)
            before = services.portals.setting(member_id, f"doc.{ret['TxnID']}.qb") or {}
            if shot["status"] == "voided" and before.get("status") != "voided":
                writes[f"v{ret['TxnID']}"] = (  # said once, when QuickBooks voided it
                    "crm.timeline.comment.add",
                    {"fields": {"ENTITY_ID": link.b24_id, "ENTITY_TYPE": "deal",
                                "COMMENT": voids.voided_text(entity, ret.get("RefNumber"))}},
                )  # fmt: skip
            shot = with_difference(shot, before.get("bitrix24_total"))
            # the deal tab's list — kept once Bitrix24 took the writes (a "voided" not yet said stays unsaid)
            needs = {f"v{ret['TxnID']}"}
            snapshots[f"doc.{ret['TxnID']}.qb"] = (needs, shot)
            latest = links.documents_of_deal(member_id, file, link.b24_id)[-1:]
            if latest and latest[0].qb_id != link.qb_id:
                counts["documents"] += 1
                continue  # an earlier document of the deal: its own row on the tab, not the deal's fields
            currency = str(services.portals.setting(member_id, f"deal.{link.b24_id}.currency", "USD"))
            fields = crm.deal_update(entity, ret, currency, now.date(), now)
            pipeline = str(services.portals.setting(member_id, f"deal.{link.b24_id}.category", "0"))
            stage = paid_stages.get(pipeline) or paid_stage  # a stage of the deal's own pipeline first
            if stage and entity == "Invoice" and invoices.is_paid(ret):
                fields["STAGE_ID"] = stage  # the configured stage for a fully paid invoice
            writes[f"d{link.b24_id}"] = ("crm.deal.update", {"id": link.b24_id, "fields": fields})
            needs.add(f"d{link.b24_id}")
            snapshots[f"deal.{link.b24_id}.qb"] = (needs, shot)
            counts["documents"] += 1
    received = fresh(marks["ReceivePayment"], by_entity.get("ReceivePayment", []))
    for ret in received:
        for applied in payments.applied_to(ret):
            if applied.txn_id not in deal_by_txn:
                link = links.by_qb(member_id, file, "invoice", applied.txn_id)
                if link is not None and link.b24_type == "deal":
                    deal_by_txn[applied.txn_id] = link.b24_id
        for deal_id in payments.affected_deals(ret, deal_by_txn):
            text = payments.timeline_text(ret, "USD")
            writes[f"p{ret['TxnID']}_{deal_id}"] = (
                "crm.timeline.comment.add",
                {"fields": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": text}},
            )
            counts["payments"] += 1
    try:
        customers = fresh(marks["Customer"], by_entity.get("Customer", []))
        counts["customers"] = customer_sync.from_quickbooks(services, member_id, file, customers)
        counts["new_customers"] = _new_customers(services, member_id, file, customers)
        documents = qb_documents.to_bitrix24(
            services, member_id, file, {k: fresh(marks[k], by_entity.get(k, [])) for k in qb_documents.KINDS}
        )
        counts.update({f"records_{k}": v for k, v in documents.items()})
        after = qb_deletions.apply(services, member_id, file, deleted, now, writes)
        counts["deleted"] = len(after)
        refused = write(services, member_id, writes)
    except B24Error as exc:
        log.warning("changes for %s not written: %s", member_id, exc.code)
        return counts  # watermarks stay: the next poll brings the same records again
    # what Bitrix24 refused is not recorded as done: a "voided" or "deleted" not said stays unsaid, a
    # customer whose record still shows its ListID stays linked
    for key, (needs, shot) in snapshots.items():
        if not needs & set(refused):
            services.portals.set_setting(member_id, key, shot)
    for named, step in after:
        if not set(named) & set(refused):
            step()
    if any(code in RETRYABLE for code in refused.values()):
        log.warning("changes for %s partly refused for now (%s): asked again next poll", member_id,
                    ", ".join(sorted(set(refused.values()))))  # fmt: skip
        return counts  # watermarks stay: updates set values and each line is said once (``write``)
    if marks["ReceivePayment"].modified is not None:  # the first poll brings all history: no news
        _read_payers(services, member_id, file, received)
    qb_deletions.save_marks(services, member_id, deleted)
    local = _local_offset(marks, by_entity)
    for entity in ENTITIES:
        if entity not in by_entity:
            continue  # refused or not asked: nothing learned
        mark = advance(marks[entity], by_entity[entity])
        _save(services, member_id, quiet(mark, asked, local) if asked is not None else mark)
    return counts


Writes = dict[str, tuple[str, dict[str, Any]]]


def write(services: Services, member_id: str, writes: Writes) -> dict[str, str]:
    """A change's Bitrix24 writes; the keys Bitrix24 refused, with the error code. Updates set values,
    so a change applied again (a retried poll, a result applied again after a restart) writes nothing
    new; each timeline line is journaled by its key and its text (``create_once``, rows kept): said once,
    and one whose answer was lost is looked for among the record's comments before it is said again."""
    client = services.client(member_id)
    lines = {k: w for k, w in writes.items() if w[0] == COMMENT}
    answer = client.batch_all({k: w for k, w in writes.items() if k not in lines}, what="QuickBooks change")
    refused = {k: str(e.get("error") or "ERROR").upper() for k, e in answer.errors.items()}
    creates = {}
    for k, (method, params) in lines.items():
        fields = params["fields"]
        text = str(fields["COMMENT"])
        creates[k] = Create(
            f"{SAID}{k}:{hashlib.sha256(text.encode()).hexdigest()[:16]}",
            (method, params),
            origin.comments(str(fields["ENTITY_TYPE"]), str(fields["ENTITY_ID"])),
            origin.comment_with(text),
            str,
        )
    if creates:
        said = create_once(client, services.journal, creates, lambda k, i: None,
                           what="QuickBooks change line", keep=True)  # fmt: skip
        refused.update({k: "REFUSED" for k in creates if k not in said})
        services.journal.forget_before(member_id, SAID, services.portals.clock() - SAID_FOR)
    return refused


def _read_payers(services: Services, member_id: str, file: str, received: list[Mapping[str, Any]]) -> None:
    """A payment changes what the customer owes and when they last paid: queue the linked company's or
    contact's statement read, which writes its balance, overdue and last-payment fields (the overdue
    amount needs all of the customer's open invoices, which a change query does not bring)."""
    refs = [ret.get("CustomerRef") for ret in received]
    payers = {ref.list_id for ref in refs if isinstance(ref, Ref) and ref.list_id}
    for list_id in sorted(payers):
        link = services.links.by_qb(member_id, file, "customer", list_id)
        if link is not None and link.b24_type in party_tab.TYPES:
            party_tab.refresh(services, member_id, link.b24_type, link.b24_id)


def _local_offset(
    marks: Mapping[str, Watermark], by_entity: Mapping[str, list[Mapping[str, Any]]]
) -> tzinfo | None:
    """QuickBooks' UTC offset, from the newest TimeModified it sent or kept in a watermark."""
    times = [
        r["TimeModified"]
        for rs in by_entity.values()
        for r in rs
        if isinstance(r.get("TimeModified"), datetime)
    ]
    times += [m.modified for m in marks.values() if m.modified is not None]
    return max(times).tzinfo if times else None


def _new_customers(services: Services, member_id: str, file: str, customers: list[Mapping[str, Any]]) -> int:
    """Customers added in QuickBooks after the first sync become companies/contacts (jobs show on their
    parent; ones a person still has to match stay out)."""
    if (services.portals.setting(member_id, "initial.state") or {}).get("state") != "done":
        return 0  # before the first sync matched both sides, creating would make duplicates
    review = services.portals.setting(member_id, "initial.review", [])
    undecided = {i for r in review for i in r["candidates"]}
    new = [
        c
        for c in customers
        if not c.get("Sublevel")
        and str(c["ListID"]) not in undecided
        and services.links.by_qb(member_id, file, "customer", str(c["ListID"])) is None
    ]
    return customer_sync.create_in_bitrix24(services, member_id, file, new) if new else 0


def _days_overdue(kind: str, ret: Mapping[str, Any], now: datetime) -> int:
    """Days an invoice with money still due is past its due date, on the day it was read (0: not)."""
    due, left = ret.get("DueDate"), ret.get("BalanceRemaining")
    if kind != "Invoice" or not isinstance(due, date) or not left or Decimal(str(left)) <= 0:
        return 0
    return max(0, (now.date() - due).days)

def with_difference(shot: dict[str, Any], bitrix24_total: Any) -> dict[str, Any]:
    """The snapshot with the deal's own total as the preview showed it (Bitrix24's tax) and how far
    QuickBooks' total (its own tax, rounded its way) is from it, to the cent."""
    if bitrix24_total in (None, "") or shot.get("total") in (None, ""):
        return shot
    asked = Decimal(str(bitrix24_total)).quantize(CENT)
    difference = (Decimal(str(shot["total"])) - asked).quantize(CENT)
    return {**shot, "bitrix24_total": f"{asked}", "difference": f"{difference}"}


def snapshot(kind: str, ret: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What the deal's QuickBooks tab shows, as QuickBooks has it, with the time it was read."""
    linked = [
        {
            "type": t.get("TxnType"),
            "date": t.get("TxnDate"),
            "ref": t.get("RefNumber"),
            "amount": t.get("Amount"),
        }
        for t in ret.get("LinkedTxn") or []
    ]
    return json.loads(
        json.dumps(
            {
                "kind": kind,
                "txn_id": ret.get("TxnID"),
                "number": ret.get("RefNumber"),
                "date": ret.get("TxnDate"),
                "due": ret.get("DueDate"),
                "status": crm.document_status(ret, now.date()) if kind == "Invoice"
                else "voided" if invoices.is_voided(ret) else None,  # fmt: skip
                "remaining": ret.get("CreditRemaining"),  # a credit memo's credit not yet used
                "total": invoices.total(ret),
                "balance": ret.get("BalanceRemaining"),
                "days_overdue": _days_overdue(kind, ret, now),
                "lines": crm.lines_summary(
                    ret.get("InvoiceLineRet")
                    or ret.get("EstimateLineRet")
                    or ret.get("SalesOrderLineRet")
                    or ret.get("CreditMemoLineRet")
                    or []
                ),
                "payments": [p for p in linked if p["type"] == "ReceivePayment"],
                "as_of": now.isoformat(timespec="seconds"),
            },
            default=str,
        )
    )
