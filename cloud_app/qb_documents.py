"""QuickBooks invoices and estimates without a deal → smart invoices and quotes in Bitrix24 (the runner of
``sync/invoices``): created once, updated only when what they show changed, 50 per batch call.

Fed by the change query (``qb_changes``) and, once, by the first sync's full read of documents
(``initial_sync``). A document whose customer is not linked yet is counted as waiting: the first sync's
read brings it again once its customer is linked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.qbxml.values import Ref

from . import sales_reps
from .b24 import origin
from .b24.once import Create, create_once
from .links import Link
from .sync.invoices import TARGETS, Stages, customer_name, item_fields, stages_from, view

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.qb_documents")

KINDS = tuple(TARGETS)  # Invoice, Estimate


def stages(services: Services, member_id: str) -> Stages:
    """The portal's smart-invoice and quote stages, read once (two calls) and kept."""
    known = services.portals.setting(member_id, "b24.stages")
    if known and "invoice_failed" in known:  # kept before the failure stages were read: read again
        return Stages(**known)
    client = services.client(member_id)
    categories = client.pages("crm.category.list", {"entityTypeId": 31}, items_key="categories")
    default = [c for c in categories if c.get("isDefault") == "Y"] or categories
    category_id = int(default[0]["id"]) if default else 0
    found = stages_from(client.pages("crm.status.list", {}), category_id)  # 50 a page: read them all
    services.portals.set_setting(member_id, "b24.stages", found.__dict__)
    return found


def owner(services: Services, member_id: str, file: str, ret: Mapping[str, Any]) -> Link | None:
    """The company or contact of the document's customer (a job's parent)."""
    ref = ret.get("CustomerRef")
    if isinstance(ref, Ref) and ref.list_id:
        link = services.links.by_qb(member_id, file, "customer", ref.list_id)
        if link is not None:
            return link
    name = customer_name(ret)
    return services.links.by_qb_name(member_id, file, "customer", name) if name else None


def user_for(services: Services, member_id: str, ret: Mapping[str, Any]) -> str | None:
    """The Bitrix24 user of the document's sales rep, when the rep is mapped to one."""
    ref = ret.get("SalesRepRef")
    if not isinstance(ref, Ref):
        return None
    list_id = ref.list_id or next(
        (i for i, initial in services.portals.setting(member_id, "salesrep.reps", {}).items()
         if initial == ref.full_name), None,
    )  # fmt: skip
    return sales_reps.user_for(services, member_id, list_id) if list_id else None


def to_bitrix24(
    services: Services, member_id: str, file: str, changed: Mapping[str, list[Mapping[str, Any]]]
) -> dict[str, int]:
    """Create or update the records of changed documents; counts of created/updated/unchanged/waiting."""
    links = services.links
    counts = {"created": 0, "updated": 0, "unchanged": 0, "waiting": 0, "failed": 0}
    creates: dict[str, Create] = {}
    updates: dict[str, tuple[str, dict[str, Any]]] = {}
    pending: dict[str, tuple[str, Mapping[str, Any], str, Link | None]] = {}
    found: Stages | None = None
    for kind in KINDS:
        if not services.portals.setting(member_id, f"{kind.lower()}s.to_b24", True):
            continue
        target = TARGETS[kind]
        for n, ret in enumerate(changed.get(kind, [])):
            txn = str(ret["TxnID"])
            link = links.by_qb(member_id, file, kind.lower(), txn)
            if link is not None and link.b24_type == "deal":
                continue  # made from a deal: it shows there (``qb_changes``)
            seen = view(kind, ret)
            if link is not None and link.fingerprint == seen:
                counts["unchanged"] += 1
                continue
            party = owner(services, member_id, file, ret)
            if party is None or party.b24_type not in ("company", "contact"):
                counts["waiting"] += 1
                continue
            found = found or stages(services, member_id)
            fields = item_fields(
                kind, ret, (party.b24_type, party.b24_id), found, "USD", user_for(services, member_id, ret)
            )
            key = f"{kind[0]}{n}"
            if link is None:
                creates[key] = _create(services, member_id, file, kind, ret, fields, party)
            else:
                params = {"entityTypeId": target.entity_type_id, "id": link.b24_id, "fields": fields}
                updates[key] = ("crm.item.update", params)
            pending[key] = (kind, ret, seen, link)
    client = services.client(member_id)

    def record(key: str, b24_id: str) -> None:
        kind, ret, seen, link = pending[key]
        label = str(ret.get("RefNumber") or ret["TxnID"])
        links.link(  # the view goes with the link: the next unchanged read writes nothing
            member_id,
            file,
            Link(kind.lower(), str(ret["TxnID"]), label, TARGETS[kind].b24_type, b24_id, seen),
        )
        counts["updated" if link is not None else "created"] += 1

    made = create_once(client, services.journal, creates, record, what="QuickBooks document into Bitrix24")
    answer = client.batch_all(updates, what="QuickBooks document into Bitrix24")  # the same twice is once
    for key in updates:
        if key in answer.errors or not isinstance(answer.result.get(key), dict):
            counts["failed"] += 1
        else:
            linked = pending[key][3]
            assert linked is not None  # an update is for a document already linked
            record(key, linked.b24_id)
    counts["failed"] += len(creates) - len(made)
    return counts


def _create(
    services: Services,
    member_id: str,
    file: str,
    kind: str,
    ret: Mapping[str, Any],
    fields: dict[str, Any],
    party: Link,
) -> Create:
    """A smart invoice carries its TxnID in ``xmlId`` and is found by it; a quote (no such field for
    estimates) is found by its title and customer among the quotes no other estimate is linked to."""
    target, txn = TARGETS[kind], str(ret["TxnID"])
    if "xmlId" in fields:
        find = origin.by_item_field(target.entity_type_id, {"xmlId": fields["xmlId"]})

        def found(rows: Any) -> str | None:
            return origin.first_id(rows, "id")

    else:
        owner_field = "companyId" if party.b24_type == "company" else "contactId"
        find = origin.by_item_field(
            target.entity_type_id, {"title": fields["title"], owner_field: party.b24_id}
        )

        def taken(b24_id: str) -> bool:
            linked = services.links.by_b24(member_id, file, target.b24_type, b24_id)
            return linked is not None and linked.qb_id != txn

        def found(rows: Any) -> str | None:
            return origin.first_id(rows, "id", taken)

    return Create(
        f"{kind}:{txn}",
        ("crm.item.add", {"entityTypeId": target.entity_type_id, "fields": fields}),
        find,
        found,
        lambda made: str((made or {}).get("item", {}).get("id", "")),
    )
