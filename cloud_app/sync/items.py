"""QuickBooks items ⇄ Bitrix24 catalog products (pure).

QuickBooks keeps item hierarchy in ``FullName`` (``Labor:Framing``, each ``Name`` at most 31 characters);
the product name in Bitrix24 keeps that full path so people see the same thing on both sides. Prices live
in ``SalesOrPurchase`` (service, non-inventory, other charge), ``SalesAndPurchase`` or, for inventory
items, ``SalesPrice``; Bitrix24 keeps prices apart from the product (``catalog.price.*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .names import fit_name
from .text import fit

ITEM_KINDS = ("ItemService", "ItemNonInventory", "ItemInventory", "ItemOtherCharge")
NAME_LIMIT = 31
XML_ID_PREFIX = "QB:"  # catalog product xmlId = QB:<ListID>, the product's link back to QuickBooks


@dataclass
class ProductDraft:
    fields: dict[str, Any]
    price: Decimal | None


@dataclass
class ItemDraft:
    entity: str
    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def sales_price(ret: Mapping[str, Any]) -> Decimal | None:
    for block, key in (("SalesOrPurchase", "Price"), ("SalesAndPurchase", "SalesPrice")):
        part = ret.get(block)
        if isinstance(part, Mapping) and isinstance(part.get(key), Decimal):
            return Decimal(part[key])
    value = ret.get("SalesPrice")
    return value if isinstance(value, Decimal) else None


def sales_description(ret: Mapping[str, Any]) -> str | None:
    for block, key in (("SalesOrPurchase", "Desc"), ("SalesAndPurchase", "SalesDesc")):
        part = ret.get(block)
        if isinstance(part, Mapping) and part.get(key):
            return str(part[key])
    return str(ret["SalesDesc"]) if ret.get("SalesDesc") else None


def product_from_item(ret: Mapping[str, Any], iblock_id: int) -> ProductDraft:
    """``catalog.product.add/update`` fields for a QuickBooks item (its price goes to catalog.price)."""
    fields: dict[str, Any] = {
        "iblockId": iblock_id,
        "name": ret.get("FullName") or ret.get("Name"),
        "active": "N" if ret.get("IsActive") is False else "Y",
        "xmlId": f"{XML_ID_PREFIX}{ret.get('ListID')}",
    }
    desc = sales_description(ret)
    if desc:
        fields["detailText"] = desc
    return ProductDraft(fields, sales_price(ret))


def item_from_product(
    product: Mapping[str, Any],
    price: Decimal | None,
    *,
    kind: str = "ItemNonInventory",
    income_account: str = "Construction Income",
    existing: Mapping[str, Any] | None = None,
) -> ItemDraft:
    """An item Add (or Mod, when ``existing`` is the current ItemRet with ListID/EditSequence)."""
    if kind not in ("ItemService", "ItemNonInventory", "ItemOtherCharge"):
        raise ValueError(f"products become service, non-inventory or other-charge items, not {kind}")
    out = ItemDraft(kind, {})
    full = str(product.get("name") or "").strip()
    parent, _, leaf = full.rpartition(":")
    name = fit_name(leaf.strip() or full, NAME_LIMIT, field="item Name")  # the one fitting of a Name
    out.fields["Name"] = name.value
    out.notes.extend(name.notes)
    if parent.strip():
        out.fields["ParentRef"] = {"FullName": parent.strip()}
    out.fields["IsActive"] = str(product.get("active", "Y")) != "N"
    money: dict[str, Any] = {}
    desc = product.get("detailText") or product.get("previewText")
    if desc:
        money["Desc"] = fit(str(desc), 4095, field="Desc").value
    if price is not None:
        money["Price"] = price
    if existing is None:
        money["AccountRef"] = {"FullName": income_account}
        out.fields["SalesOrPurchase"] = money
    else:
        out.fields["ListID"] = existing["ListID"]
        out.fields["EditSequence"] = existing["EditSequence"]
        if money:
            out.fields["SalesOrPurchaseMod"] = money
    return out
