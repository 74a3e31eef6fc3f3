"""What a deal's write depends on in QuickBooks, read fresh in the sync's own lookup (pure).

A cached answer goes stale the moment the bookkeeper changes QuickBooks: a reopened period still looked
closed, a removed sales rep was still put on every invoice. So every deal sync's lookup carries these
queries, and the plan is checked against their answers:

* ``PreferencesQuery``: the closing date (``AccountingPreferences/ClosingDate``);
* ``SalesRepQuery`` (all, inactive too): the reps a document may name;
* ``ClassQuery`` (all, inactive too): the classes the settings put on documents (``classes``);
* ``SalesTaxCodeQuery``, ``ItemSalesTaxQuery``, ``ItemSalesTaxGroupQuery``: what the VAT mapping names
  (``salestax``);
* ``PreferencesQuery``'s ``MultiCurrencyPreferences``, ``CurrencyQuery`` (all, inactive too) and the A/R
  accounts: the document's currency, rate and A/R account (``currency``);
* ``DataExtDefQuery`` (``OwnerID`` 0): the custom fields a new customer may get (``custom_fields``);
* ``MultiLocationInventoryPreferences``, ``InventorySiteQuery``, ``UnitOfMeasureSetQuery`` and the items'
  own records: the lines' inventory sites and units (``inventory``).

The answers are kept on the sync as plain JSON (:func:`read`) so a confirmed preview is checked against
the same answers its person saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from shared.qbxml.builder import Request, query

from . import classes, currency, custom_fields, inventory

PREFERENCES, SALES_REPS, CLASSES = "preferences", "salesreps", "classes"
TAX_CODES, TAX_ITEMS, TAX_GROUPS = "taxcodes", "taxitems", "taxgroups"
CURRENCIES, RECEIVABLES, LINKED = "currencies", "receivables", "linked-customer"
CUSTOM_FIELDS, SITES, UNIT_SETS, ITEM_FACTS = "customfields", "sites", "unitsets", "linked-items"


def requests() -> list[Request]:
    """The read-only queries every deal lookup carries."""
    return [
        query("Preferences", request_id=PREFERENCES),
        query("SalesRep", {"ActiveStatus": "All"}, request_id=SALES_REPS),
        query("Class", {"ActiveStatus": "All"}, request_id=CLASSES),
        query("SalesTaxCode", {"ActiveStatus": "ActiveOnly"}, request_id=TAX_CODES),
        query("ItemSalesTax", {"ActiveStatus": "ActiveOnly"}, request_id=TAX_ITEMS),
        query("ItemSalesTaxGroup", {"ActiveStatus": "ActiveOnly"}, request_id=TAX_GROUPS),
        query("Currency", {"ActiveStatus": "All"}, request_id=CURRENCIES),
        query(
            "Account", {"ActiveStatus": "All", "AccountType": "AccountsReceivable"}, request_id=RECEIVABLES
        ),  # fmt: skip
        query("DataExtDef", {"OwnerID": "0"}, request_id=CUSTOM_FIELDS),
        query("InventorySite", {"ActiveStatus": "All"}, request_id=SITES),
        query("UnitOfMeasureSet", {"ActiveStatus": "All"}, request_id=UNIT_SETS),
    ]


def linked_items(names: list[str]) -> Request:
    """Linked products' items, read for what sites and units need (inventory? its unit of measure set)."""
    return query("Item", {"FullName": names}, request_id=ITEM_FACTS)


def linked_customer(list_id: str) -> Request:
    """The deal's linked customer, read for its currency (QuickBooks keeps one per customer)."""
    return query("Customer", {"ListID": list_id}, request_id=LINKED)


def _name(ref: Any) -> str:
    return str(getattr(ref, "full_name", None) or "")


def rep_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``SalesRepRet`` as the page and the checks use it."""
    return {
        "list_id": str(record["ListID"]),
        "initial": str(record.get("Initial") or ""),
        "name": _name(record.get("SalesRepEntityRef")),
        "active": str(record.get("IsActive", "true")).lower() != "false",
    }


def read(results: Iterable[Any]) -> dict[str, Any]:
    """The answers in a lookup's results (parsed ``…Rs``); a query QuickBooks did not answer is absent."""
    out: dict[str, Any] = {}
    for result in results:
        rid, code = result.header.request_id or "", result.header.status.code
        if rid == PREFERENCES and code == 0 and result.records:
            closing = (result.records[0].get("AccountingPreferences") or {}).get("ClosingDate")
            out["closing_date"] = closing.isoformat() if isinstance(closing, date) else None
            multi = result.records[0].get("MultiCurrencyPreferences") or {}
            out["multi_currency"] = str(multi.get("IsMultiCurrencyOn", "false")).lower() == "true"
            out["home_currency_name"] = _name(multi.get("HomeCurrencyRef")) or None
            located = result.records[0].get("MultiLocationInventoryPreferences") or {}
            out["multi_location"] = (
                str(located.get("IsMultiLocationInventoryEnabled", "false")).lower() == "true"
            )
        elif rid == CURRENCIES and code in (0, 1):  # 1: a file without multicurrency lists none
            out["currencies"] = [currency.currency_of(r) for r in result.records]
        elif rid == RECEIVABLES and code in (0, 1):
            out["receivables"] = [currency.receivable_of(r) for r in result.records]
        elif rid == SITES and code in (0, 1):
            out["sites"] = [inventory.site_of(r) for r in result.records]
        elif rid == UNIT_SETS and code in (0, 1):
            out["unit_sets"] = [inventory.unit_set_of(r) for r in result.records]
        elif (rid == ITEM_FACTS or rid.startswith(("item-", "text-"))) and result.records:
            items = out.setdefault("items", {})
            items.update(
                {str(r.get("FullName") or "").casefold(): inventory.item_facts(r) for r in result.records}
            )
        elif rid == CUSTOM_FIELDS and code in (0, 1):  # 1: no custom fields yet
            out["custom_fields"] = [custom_fields.definition_of(r) for r in result.records]
        elif rid == LINKED and code == 0 and result.records:
            out["linked_currency"] = _name(result.records[0].get("CurrencyRef")) or None
        elif rid == SALES_REPS and result.header.status.is_ok:  # 1: QuickBooks has no sales reps at all
            out["sales_reps"] = [rep_of(r) for r in result.records]
        elif rid == CLASSES and code in (0, 1):  # 1: the company has no classes
            out["classes"] = [classes.class_of(r) for r in result.records]
        elif rid == TAX_CODES and code in (0, 1):
            out["tax_codes"] = [str(r.get("Name") or "") for r in result.records]
        elif rid in (TAX_ITEMS, TAX_GROUPS) and code in (0, 1):  # a group serves as the tax item too
            out["tax_items"] = [
                *out.get("tax_items", []),
                *(str(r.get("Name") or "") for r in result.records),
            ]
    return out


def closing_date(fresh: Mapping[str, Any] | None, last_known: str | None) -> str | None:
    """The closing date QuickBooks gave in this sync's exchange; the last one known only when QuickBooks
    did not answer the preferences query this time (or the sync never asked: nothing to send)."""
    if fresh is not None and "closing_date" in fresh:
        given: str | None = fresh["closing_date"]
        return given
    return last_known


def closed_period(closing: str | None, day: date) -> str | None:
    """The problem to show when a document dated ``day`` (the company's date) falls in a closed period."""
    if not closing or day.isoformat() > closing:
        return None
    return (
        f"QuickBooks' books are closed through {closing}: a document dated {day.isoformat()} "
        "would fall in the closed period. Ask whoever keeps the books to move the closing date "
        "(QuickBooks: Company → Set Closing Date), then sync again."
    )


def usable_rep(
    list_id: str | None, fresh: Mapping[str, Any] | None, initials: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The sales rep the document may carry, and a note when the chosen one had to be left off: a rep
    removed (or made inactive) in QuickBooks after it was chosen would make QuickBooks refuse every
    document naming it, so the document goes without one and the preview says so."""
    if list_id is None or fresh is None or "sales_reps" not in fresh:
        return list_id, None  # not read this time: as chosen
    found = next((r for r in fresh["sales_reps"] if r["list_id"] == list_id), None)
    if found is not None and found["active"]:
        return list_id, None
    shown = (found or {}).get("initial") or initials.get(list_id) or ""
    which = f"“{shown}”" if shown else "chosen for this deal"
    why = "is inactive in QuickBooks" if found is not None else "is no longer in QuickBooks"
    return None, (
        f"Sales rep: the sales rep {which} {why}, so the document goes without one. "
        "Choose another in the app's Settings."
    )
