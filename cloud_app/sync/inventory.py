"""Inventory sites and units of measure on a deal's document lines, from the settings (pure).

Where the company uses them: a pipeline's inventory site (``site.pipelines``) goes on the lines whose item
QuickBooks keeps as inventory — QuickBooks takes a site only with Advanced Inventory's multiple locations on
(``PreferencesRet/MultiLocationInventoryPreferences``) — and a Bitrix24 row's measure (``MEASURE_CODE``,
mapped by ``units.measures``) becomes the line's ``UnitOfMeasure`` when the line's item has a unit of
measure set in QuickBooks holding that unit (by name or abbreviation; ``UnitOfMeasureSetRet``). Site and
unit names are at most 31 characters (qbxmlops140.xml). Everything is checked against QuickBooks' answers
in the deal's own lookup (``preconditions``), so a site or unit QuickBooks would refuse is refused in the
preview, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAME_LIMIT = 31  # InventorySiteRef FullName, UnitOfMeasure (qbxmlops140.xml)
SITE_MENU = "Edit → Preferences → Items & Inventory → Advanced Inventory Settings"


@dataclass
class Places:
    sites: dict[int, str] = field(default_factory=dict)  # 1-based row → inventory site
    units: dict[int, str] = field(default_factory=dict)  # 1-based row → unit of measure
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_names(what: str, example: str) -> Any:
    """A settings check: an object of ids (digits) → names of at most 31 characters."""

    def check(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping) or not all(str(k).isdigit() for k in value):
            raise ValueError(f"is an object of {what}, like {example}")
        out = {}
        for k, v in value.items():
            if v in (None, ""):
                continue
            if not isinstance(v, str) or len(v.strip()) > NAME_LIMIT:
                raise ValueError(f"names them as QuickBooks shows them (at most {NAME_LIMIT} characters)")
            out[str(k)] = v.strip()
        return out

    return check


def choose(
    pipeline: str,
    rows: Sequence[Mapping[str, Any]],
    items: Mapping[int, str | None],
    by_pipeline: Mapping[str, str],
    by_measure: Mapping[str, str],
    fresh: Mapping[str, Any] | None,
) -> Places:
    """The site and unit of each row's line. ``items``: row → the QuickBooks item its line uses (None: an
    item the sync creates — a non-inventory item without units)."""
    out = Places()
    facts: Mapping[str, Mapping[str, Any]] = (fresh or {}).get("items") or {}
    site = by_pipeline.get(pipeline)
    if site:
        problem = _site_problem(site, fresh)
        if problem:
            out.problems.append(problem)
        else:
            out.sites = {
                n: site
                for n, item in items.items()
                if item and facts.get(item.casefold(), {}).get("inventory")
            }
            if not out.sites:
                out.notes.append(
                    f"Inventory site: no line is an inventory item in QuickBooks, so “{site}” is not set."
                )
    sets = {str(s["name"]).casefold(): s for s in (fresh or {}).get("unit_sets") or []}
    for n, row in enumerate(rows, 1):
        unit = by_measure.get(str(row.get("MEASURE_CODE") or ""))
        item = items.get(n)
        if not unit or not item or not sets:
            continue  # no mapping, an item the sync creates, or a company without units of measure
        kept = facts.get(item.casefold(), {}).get("uom_set")
        if not kept:
            out.notes.append(
                f"Row {n}: the item “{item}” has no unit of measure in QuickBooks, so the line goes without "
                "one."
            )
            continue
        units = sets.get(str(kept).casefold(), {}).get("units") or []
        if unit.casefold() in {u.casefold() for u in units}:
            out.units[n] = unit
            continue
        out.problems.append(
            f"Row {n}: “{unit}” is not one of the units of the item “{item}” in QuickBooks (its set "
            f"“{kept}”: {', '.join(units)}). Choose another in the app's Settings, or add it to the set in "
            "QuickBooks (Lists → U/M Set List)."
        )
    return out


def _site_problem(site: str, fresh: Mapping[str, Any] | None) -> str | None:
    if fresh is None or "multi_location" not in fresh:
        return (
            "Inventory site: QuickBooks did not say whether it keeps inventory by site, so nothing is sent. "
            "Run the sync again in a minute."
        )
    if not fresh["multi_location"]:
        return (
            "Inventory site: QuickBooks does not keep inventory by site (multiple locations are off), so "
            f"the site “{site}” cannot be set. Turn them on in QuickBooks ({SITE_MENU}), or remove the "
            "pipeline's site in the app's Settings."
        )
    found = next((s for s in fresh.get("sites") or [] if str(s["name"]).casefold() == site.casefold()), None)
    if found is None:
        return (
            f"Inventory site: QuickBooks has no inventory site “{site}”. Add it in QuickBooks (Lists → "
            "Inventory Site List), or choose another in the app's Settings."
        )
    if not found["active"]:
        return (
            f"Inventory site: the site “{site}” is inactive in QuickBooks. Make it active there (Lists → "
            "Inventory Site List), or choose another in the app's Settings."
        )
    return None


def site_of(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(record.get("FullName") or record.get("Name") or ""),
        "active": str(record.get("IsActive", "true")).lower() != "false",
    }


def unit_set_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``UnitOfMeasureSetRet``: its name and every unit's name and abbreviation."""
    units: list[str] = []
    for key in ("BaseUnit", "RelatedUnit"):
        found = record.get(key) or []
        for unit in found if isinstance(found, list) else [found]:
            units += [
                str(unit[k]) for k in ("Name", "Abbreviation") if isinstance(unit, Mapping) and unit.get(k)
            ]
    return {"name": str(record.get("Name") or ""), "units": units}


def item_facts(record: Mapping[str, Any]) -> dict[str, Any]:
    """What an ``Item…Ret`` says about sites and units: inventory (it has an asset account) and its set."""
    ref = record.get("UnitOfMeasureSetRef")
    return {"inventory": "AssetAccountRef" in record, "uom_set": getattr(ref, "full_name", None)}
