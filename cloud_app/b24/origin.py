"""Our origin key on each kind of record we create, and how to find a record by it (b24restdocs paths):

* smart invoice (``crm.item``, entityTypeId 31): ``xmlId`` = ``QB:<TxnID>`` — "External code", listed for
  the invoice in ``api-reference/crm/universal/crm-item-add.md`` and as ``XML_ID`` in
  ``crm-item-fields.md``; any field of ``crm.item.fields`` filters ``crm.item.list`` (``crm-item-list.md``);
* quote (``crm.item``, entityTypeId 7): the docs list neither ``xmlId`` nor ``originId`` for estimates
  (``crm-item-add.md``, ``crm/quote/crm-quote-fields.md``), so a quote is found by what we wrote — its
  title, its company or contact — among those no other QuickBooks estimate is linked to;
* company / contact made from a QuickBooks customer: the app's user field ``UF_CRM_QB_LIST_ID`` (the
  ListID; installed by us, filterable like any field: ``crm/companies/crm-company-list.md``);
* supplier contact made from a vendor: ``ORIGINATOR_ID`` = ``quickbooks``, ``ORIGIN_ID`` =
  ``vendor:<ListID>`` ("identifier of the external system" / "of the contact in that external system",
  ``crm/contacts/crm-contact-add.md``);
* a timeline comment (a deal's, a company's or contact's): found by its text among that record's comments
  (``crm/timeline/comments/crm-timeline-comment-list.md``: filter ``ENTITY_ID`` + ``ENTITY_TYPE``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .once import Command

ORIGINATOR = "quickbooks"


def first_id(rows: Any, field: str = "ID", skip: Callable[[str], bool] = lambda _: False) -> str | None:
    """The lowest id among a list answer's rows (legacy list, or ``crm.item.list``'s ``items``)."""
    if isinstance(rows, dict):
        rows = rows.get("items", [])
    ids = sorted(
        (str(r.get(field) or r.get(field.lower()) or "") for r in rows or [] if isinstance(r, dict)),
        key=lambda i: int(i) if i.isdigit() else 0,
    )
    return next((i for i in ids if i and not skip(i)), None)


def by_item_field(entity_type_id: int, filt: dict[str, Any]) -> Command:
    return ("crm.item.list", {"entityTypeId": entity_type_id, "filter": filt, "select": ["id"]})


def by_list_id(b24_type: str, list_id: str) -> Command:
    return (f"crm.{b24_type}.list", {"filter": {"UF_CRM_QB_LIST_ID": list_id}, "select": ["ID"]})


def vendor_fields(list_id: str) -> dict[str, str]:
    return {"ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": f"vendor:{list_id}"}


def by_vendor(list_id: str) -> Command:
    return ("crm.contact.list", {"filter": vendor_fields(list_id), "select": ["ID"]})


def deal_comments(deal_id: str) -> Command:
    return comments("deal", deal_id)


def comments(entity_type: str, entity_id: str) -> Command:
    """The timeline comments of a deal, company or contact (``ENTITY_TYPE`` lower-case, as written),
    newest first: one just written is on the first page however many the record has."""
    return (
        "crm.timeline.comment.list",
        {"filter": {"ENTITY_ID": entity_id, "ENTITY_TYPE": entity_type}, "select": ["ID", "COMMENT"],
         "order": {"ID": "DESC"}},
    )  # fmt: skip


def comment_with(text: str) -> Callable[[Any], str | None]:
    def found(rows: Any) -> str | None:
        return first_id([r for r in rows or [] if isinstance(r, dict) and r.get("COMMENT") == text])

    return found
