"""Deletes and voids, both ways.

QuickBooks → Bitrix24 (fed by the change query, ``qb_changes``): documents deleted in QuickBooks
(``TxnDeletedQueryRq``) reach their deal (status "deleted", a timeline line), their smart invoice (the
failure stage) or quote (declined); customers deleted there (``ListDeletedQueryRq``) lose their link and
their company/contact says so. Voided documents come back as ordinary changes (zero amounts, ``VOID:``
memo) and are recognised by ``sync.voids``.

Bitrix24 → QuickBooks: a deal deleted in Bitrix24 does what the ``deal_deleted`` setting says with its
QuickBooks invoices — ``nothing`` (the default) or ``void``. Voiding reads the invoice first and voids it
only when no payment or credit is applied (money received is a bookkeeper's decision) and it is not voided
already; estimates and sales orders cannot be voided in QuickBooks (``TxnVoidType``) and stay, and so does
a credit memo (credit given is a bookkeeper's to take back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, Request, build, query
from shared.qbxml.parser import parse_response

from .agents.store import JobRow
from .sync import voids
from .sync.watermarks import OVERLAP

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.qb_deletions")

TXN, LIST = "TxnDeleted", "ListDeleted"  # request ids inside the change query
READ, VOID = "deal-void-read:", "deal-void:"
VERSION = "13.0"
OUTCOMES = ("kept", "not_voidable", "no_answer", "gone", "already_voided", "paid", "refused", "voided")
HISTORY = 100  # deleted deals remembered with what was done about their documents
Step = tuple[tuple[str, ...], Callable[[], None]]  # what to record, once Bitrix24 took the writes named


def requests(services: Services, member_id: str) -> list[Request]:
    """The two deleted-object queries of a change poll, from a little before the last deletion seen."""
    out = []
    for rid, type_tag, kinds in (
        (TXN, "TxnDelType", list(voids.DELETED_KINDS)),
        (LIST, "ListDelType", ["Customer"]),
    ):
        fields: dict[str, Any] = {type_tag: kinds}
        since = services.portals.setting(member_id, f"wm.{rid}")
        if since:
            fields["DeletedDateRangeFilter"] = {"FromDeletedDate": datetime.fromisoformat(since) - OVERLAP}
        out.append(Request(f"{rid}QueryRq", fields, request_id=rid))
    return out


def apply(
    services: Services,
    member_id: str,
    file: str,
    found: Mapping[str, Sequence[Mapping[str, Any]]],
    now: datetime,
    writes: dict[str, tuple[str, dict[str, Any]]],
) -> list[Step]:
    """Add the Bitrix24 writes for what QuickBooks deleted to ``writes``; what to record once Bitrix24
    took them (one step per record concerned, with the keys of the writes it needs). Repeats (the
    overlap window) find their deal already saying "deleted" and write nothing."""
    links, portals = services.links, services.portals
    after: list[Step] = []
    stages = None
    for gone in found.get(TXN, []):
        kind, txn = str(gone.get("TxnDelType")), str(gone.get("TxnID"))
        link = links.by_qb(member_id, file, kind.lower(), txn)
        if link is None:
            continue
        number = gone.get("RefNumber") or link.qb_name
        if link.b24_type == "deal":
            shot = portals.setting(member_id, f"doc.{txn}.qb") or {
                "kind": kind,
                "txn_id": txn,
                "number": number,
            }
            if shot.get("status") == "deleted":
                continue
            shot = {
                **shot,
                "status": "deleted",
                "balance": "0.00",
                "as_of": now.isoformat(timespec="seconds"),
            }
            latest = links.documents_of_deal(member_id, file, link.b24_id)[-1:]
            names, needs = [f"doc.{txn}.qb"], (f"x{txn}", f"xc{txn}")
            if latest and latest[0].qb_id == txn:
                names.append(f"deal.{link.b24_id}.qb")
                currency = str(portals.setting(member_id, f"deal.{link.b24_id}.currency", "USD"))
                fields = voids.deleted_fields(kind, number, txn, now.isoformat(timespec="seconds"), currency)
                writes[f"x{txn}"] = ("crm.deal.update", {"id": link.b24_id, "fields": fields})
            writes[f"xc{txn}"] = (
                "crm.timeline.comment.add",
                {
                    "fields": {
                        "ENTITY_ID": link.b24_id,
                        "ENTITY_TYPE": "deal",
                        "COMMENT": voids.deleted_text(kind, number),
                    }
                },
            )

            def keep(names: list[str] = names, shot: dict[str, Any] = shot) -> None:
                for name in names:  # the deal tab shows it deleted
                    portals.set_setting(member_id, name, shot)

            after.append((needs, keep))
        elif link.b24_type in ("smart_invoice", "quote"):
            from . import qb_documents  # the stages are read once and kept there

            if link.fingerprint == "deleted":
                continue
            stages = stages or qb_documents.stages(services, member_id)
            stage = stages.invoice_failed if link.b24_type == "smart_invoice" else stages.quote_declined
            entity_type = 31 if link.b24_type == "smart_invoice" else 7
            fields = {"title": f"{voids.label(kind, number)} (deleted in QuickBooks)"}
            if stage:
                fields["stageId"] = stage
            writes[f"xi{txn}"] = (
                "crm.item.update",
                {"entityTypeId": entity_type, "id": link.b24_id, "fields": fields},
            )
            after.append(((f"xi{txn}",), partial(links.set_fingerprint, member_id, file, link.kind, txn,
                                                 "deleted")))  # fmt: skip
    for gone in found.get(LIST, []):
        list_id = str(gone.get("ListID"))
        link = links.by_qb(member_id, file, "customer", list_id)
        if link is None or link.b24_type not in ("company", "contact"):
            continue
        name = gone.get("FullName") or link.qb_name
        writes[f"xl{list_id}"] = (
            f"crm.{link.b24_type}.update",
            {"id": link.b24_id, "fields": {"UF_CRM_QB_LIST_ID": "", "UF_CRM_QB_BALANCE": ""}},
        )
        writes[f"xlc{list_id}"] = (
            "crm.timeline.comment.add",
            {
                "fields": {
                    "ENTITY_ID": link.b24_id,
                    "ENTITY_TYPE": link.b24_type,
                    "COMMENT": f"Customer “{name}” was deleted in QuickBooks. This record is no longer "
                    "linked; its next deal sync finds or creates the customer again.",
                }
            },
        )

        def forget(list_id: str = list_id, key: str = f"{link.b24_type}:{link.b24_id}") -> None:
            links.unlink(member_id, file, "customer", list_id)
            portals.set_setting(member_id, f"party.{key}.qb", None)

        after.append(((f"xl{list_id}", f"xlc{list_id}"), forget))
    return after


def save_marks(services: Services, member_id: str, found: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """After Bitrix24 took the writes: the next poll asks from the newest deletion seen."""
    for rid, records in found.items():
        times = [r["TimeDeleted"] for r in records if isinstance(r.get("TimeDeleted"), datetime)]
        if not times:
            continue
        known = services.portals.setting(member_id, f"wm.{rid}")
        newest = max([*times, *([datetime.fromisoformat(known)] if known else [])])
        services.portals.set_setting(member_id, f"wm.{rid}", newest.isoformat())


# -- a deal deleted in Bitrix24 ------------------------------------------------------------------------


def deal_deleted(services: Services, member_id: str, deal_id: str) -> int:
    """What the ``deal_deleted`` setting says for the deal's QuickBooks invoices; reads queued."""
    action = services.portals.setting(member_id, "deal_deleted") or "nothing"
    file = services.company_file(member_id)
    documents = services.links.documents_of_deal(member_id, file, deal_id)
    if not documents:
        return 0
    queued = 0
    for doc in documents:
        kind = {"invoice": "Invoice", "estimate": "Estimate", "salesorder": "SalesOrder",
                "creditmemo": "CreditMemo"}.get(doc.kind, doc.kind)  # fmt: skip
        if action != "void":
            _remember(services, member_id, deal_id, kind, doc.qb_name, "kept")
            continue
        if kind != "Invoice":  # estimates and sales orders cannot be voided; a credit memo stays too
            _remember(services, member_id, deal_id, kind, doc.qb_name, "not_voidable")
            continue
        purpose = f"{READ}{deal_id}:{doc.qb_id}"
        if services.agents.waiting(member_id, purpose):
            continue
        rq = query(kind, {"TxnID": doc.qb_id, "IncludeLinkedTxns": True}, request_id="doc")
        services.agents.enqueue(
            member_id, build(MessageSet([rq]), version=VERSION).xml, purpose=purpose, priority=4
        )
        queued += 1
    if queued:
        services.notify(member_id)
    return queued


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    for prefix, handle in ((READ, _read), (VOID, _voided)):
        if job.purpose.startswith(prefix):
            deal_id, txn = job.purpose[len(prefix) :].split(":", 1)
            handle(services, member_id, deal_id, txn, job)
            return True
    return False


def _read(services: Services, member_id: str, deal_id: str, txn: str, job: JobRow) -> None:
    if job.response is None:
        _remember(services, member_id, deal_id, "Invoice", txn, "no_answer", job.message or job.hresult)
        return
    result = parse_response(job.response).results[0]
    status = result.header.status
    if status.is_not_found or (status.is_ok and not result.records):
        _remember(services, member_id, deal_id, "Invoice", txn, "gone")
        return
    if not status.is_ok:  # QuickBooks could not say (busy, locked): not "gone" — its words are kept
        log.warning("deleted deal %s: its invoice could not be read: %s", deal_id, status.message)
        _remember(services, member_id, deal_id, "Invoice", txn, "no_answer", status.message)
        return
    ret = result.records[0]
    decision = voids.decide_void(ret)
    if not decision.void:
        _remember(services, member_id, deal_id, "Invoice", ret.get("RefNumber"), decision.reason)
        return
    rq = Request("TxnVoidRq", {"TxnVoidType": "Invoice", "TxnID": txn}, request_id="void")
    services.agents.enqueue(
        member_id, build(MessageSet([rq]), version=VERSION).xml, purpose=f"{VOID}{deal_id}:{txn}", priority=4
    )
    services.notify(member_id)


def _voided(services: Services, member_id: str, deal_id: str, txn: str, job: JobRow) -> None:
    shot = services.portals.setting(member_id, f"doc.{txn}.qb") or {}
    number = shot.get("number") or txn
    if job.response is None:
        _remember(services, member_id, deal_id, "Invoice", number, "no_answer", job.message or job.hresult)
        return
    status = parse_response(job.response).results[0].header.status
    if status.code != 0:
        _remember(services, member_id, deal_id, "Invoice", number, "refused", status.message)
        return
    if shot:
        services.portals.set_setting(
            member_id, f"doc.{txn}.qb", {**shot, "status": "voided", "total": "0.00", "balance": "0.00"}
        )
    _remember(services, member_id, deal_id, "Invoice", number, "voided")


def _remember(
    services: Services, member_id: str, deal_id: str, kind: str, number: Any, outcome: str, detail: Any = None
) -> None:
    """The settings page lists deleted deals and what became of their documents (``outcome`` is one of
    ``OUTCOMES``; ``detail`` QuickBooks' own words when it refused)."""
    log.info("deleted deal %s of %s: %s %s %s %s", deal_id, member_id, kind, number, outcome, detail or "")
    history = list(services.portals.setting(member_id, "deleted_deals") or [])
    history.append({"deal_id": deal_id, "kind": kind, "number": number, "outcome": outcome, "detail": detail})
    services.portals.set_setting(member_id, "deleted_deals", history[-HISTORY:])
