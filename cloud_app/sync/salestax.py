"""Bitrix24's VAT rates → QuickBooks' sales tax codes and tax items, from the admin's mapping (pure).

Bitrix24 puts a tax rate (``TAX_RATE``, percent) on each product row; QuickBooks (US) marks each line with
a sales tax code (taxable or not) and applies **one** sales tax item (or tax group) to the whole
document (``ItemSalesTaxRef`` on ``InvoiceAdd`` and its kin, qbxmlops140.xml), computing the tax itself.
So the mapping is per rate: ``{"20": {"code": "Tax", "item": "VAT 20%"}, "0": {"code": "Non"}}``.
Rows are sent at their price before tax (``PRICE_EXCLUSIVE``), tax-included or not, so QuickBooks adds
its own tax once. With a mapping set, a rate it does not name is refused before anything is sent; rates
naming different tax items cannot share a document. Codes and items are checked against QuickBooks' lists
read in the deal's own lookup (``preconditions``). Without a mapping the fixed rule stays: a rate above
zero is the taxable code, zero the non-taxable one, and the customer's own tax item applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

CODE_LIMIT, ITEM_LIMIT = 3, 31  # SalesTaxCodeRef / ItemSalesTaxRef FullName (qbxmlops140.xml)


def rate_key(rate: Any) -> str:
    """``20``, ``20.0`` and ``"20.00"`` are one rate: ``"20"``; ``7.750`` is ``"7.75"``."""
    value = Decimal(str(rate))
    return f"{value.normalize():f}" if value != 0 else "0"


@dataclass(frozen=True)
class TaxChoice:
    codes: dict[int, str] = field(default_factory=dict)  # 1-based row → tax code
    item: str | None = None  # the document's tax item
    problems: list[str] = field(default_factory=list)
    mapped: bool = False  # False: no mapping set, the fixed rule applies


def check_mapping(value: Any) -> dict[str, dict[str, str]]:
    """The setting as stored; ValueError saying what is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError('is an object of VAT rate → {"code": …, "item": …}, like {"20": {"code": "Tax"}}')
    out: dict[str, dict[str, str]] = {}
    for rate, rule in value.items():
        try:
            key = rate_key(rate)
        except (InvalidOperation, ValueError):
            raise ValueError(f"names rates as numbers; “{rate}” is not one") from None
        if Decimal(key) < 0 or Decimal(key) > 100:
            raise ValueError(f"has a rate of {key}%; a rate is between 0 and 100")
        if not isinstance(rule, Mapping) or not isinstance(rule.get("code"), str) or not rule["code"]:
            raise ValueError(f"needs a QuickBooks tax code for {key}%")
        code, item = str(rule["code"]), rule.get("item")
        if len(code) > CODE_LIMIT:
            raise ValueError(
                f"has tax code “{code}” for {key}%; QuickBooks' codes are at most {CODE_LIMIT} characters"
            )
        if item not in (None, "") and (not isinstance(item, str) or len(item) > ITEM_LIMIT):
            raise ValueError(f"names the tax item for {key}% in at most {ITEM_LIMIT} characters")
        out[key] = {"code": code, **({"item": str(item)} if item else {})}
    return out


def choose(
    rows: Sequence[tuple[int, str, Decimal]],
    mapping: Mapping[str, Mapping[str, str]],
    fresh: Mapping[str, Any] | None,
) -> TaxChoice:
    """``rows``: (row number, product name, VAT rate). The codes and tax item the mapping gives them."""
    if not mapping:
        return TaxChoice()
    codes: dict[int, str] = {}
    items: dict[str, list[str]] = {}
    problems: list[str] = []
    for n, name, rate in rows:
        key = rate_key(rate)
        rule = mapping.get(key)
        if rule is None:
            problems.append(
                f"Row {n} ({name or 'no name'}): VAT {key}% has no QuickBooks tax code in the app's "
                f"settings. Ask an administrator to map {key}% in Settings → Sales tax, or change the "
                "row's rate."
            )
            continue
        codes[n] = rule["code"]
        if rule.get("item"):
            items.setdefault(rule["item"], []).append(f"{key}%")
    if len(items) > 1:
        which = ", ".join(f"“{i}” ({', '.join(sorted(set(r)))})" for i, r in sorted(items.items()))
        problems.append(
            f"The rows' VAT rates map to different QuickBooks tax items: {which}. QuickBooks applies one tax "
            "item to a document: split the deal, or map these rates to one tax item or tax group."
        )
    known = fresh or {}
    if "tax_codes" in known:
        have = {c.casefold() for c in known["tax_codes"]}
        for code in sorted(set(codes.values())):
            if code.casefold() not in have:
                problems.append(
                    f"Sales tax: QuickBooks has no tax code “{code}”. Add it in QuickBooks "
                    "(Lists → Sales Tax Code List), or change the mapping in the app's Settings."
                )
    item = next(iter(items), None)
    if item and "tax_items" in known and item.casefold() not in {i.casefold() for i in known["tax_items"]}:
        problems.append(
            f"Sales tax: QuickBooks has no sales tax item “{item}”. Add it in QuickBooks (Lists → Item List, "
            "type Sales Tax Item), or change the mapping in the app's Settings."
        )
    return TaxChoice(codes, item if len(items) == 1 else None, problems, True)
