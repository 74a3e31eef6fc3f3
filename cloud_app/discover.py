"""What a portal holds, before the first sync: counts, pipelines with their stages, currencies and the
custom fields in use — in three batch calls plus one per catalog.

``discover(client)`` reads; ``render(report)`` is the text the ``discover`` command prints; the app page
shows the same dictionary (``asdict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .b24.client import BatchResult, Client

COUNTS: dict[str, tuple[str, dict[str, Any]]] = {
    "contacts": ("crm.contact.list", {"select": ["ID"]}),
    "companies": ("crm.company.list", {"select": ["ID"]}),
    "leads": ("crm.lead.list", {"select": ["ID"]}),
    "deals": ("crm.deal.list", {"select": ["ID"]}),
    "smart_invoices": ("crm.item.list", {"entityTypeId": 31, "select": ["id"]}),
    "quotes": ("crm.quote.list", {"select": ["ID"]}),
    "activities": ("crm.activity.list", {"select": ["ID"]}),
    "users": ("user.get", {"FILTER": {"ACTIVE": True}}),
}
FIELD_SOURCES = {"contact": "crm.contact.fields", "company": "crm.company.fields", "deal": "crm.deal.fields"}


@dataclass
class Pipeline:
    id: int
    name: str
    stages: list[tuple[str, str]]  # (STATUS_ID, NAME) in the portal's order


@dataclass
class Report:
    counts: dict[str, int | None] = field(default_factory=dict)  # None: the portal refused (reason below)
    pipelines: list[Pipeline] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    custom_fields: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=dict
    )  # entity → (code, type, title)
    problems: dict[str, str] = field(default_factory=dict)  # what could not be read, and the portal's error


def discover(client: Client) -> Report:
    report = Report()
    commands = dict(COUNTS)
    commands["categories"] = ("crm.category.list", {"entityTypeId": 2})
    commands["stages"] = ("crm.status.list", {"order": {"SORT": "ASC"}})
    commands["currencies"] = ("crm.currency.list", {})
    commands["catalogs"] = ("catalog.catalog.list", {})
    commands.update({f"fields_{k}": (m, {}) for k, m in FIELD_SOURCES.items()})
    answer = client.batch(commands)
    for key in COUNTS:
        if key in answer.errors:
            report.counts[key] = None
            report.problems[key] = _reason(answer.errors[key])
        else:
            total = answer.total.get(key)
            report.counts[key] = int(total) if total is not None else len(answer.result.get(key) or [])
    report.pipelines = pipelines(
        all_categories(client, answer, commands), all_stages(client, answer, commands)
    )
    report.currencies = [str(c["CURRENCY"]) for c in to_the_end(client, answer, "currencies", commands)]
    for entity in FIELD_SOURCES:
        described = answer.result.get(f"fields_{entity}") or {}
        report.custom_fields[entity] = [
            (code, str(spec.get("type", "")), str(spec.get("listLabel") or spec.get("title") or code))
            for code, spec in described.items()
            if code.startswith("UF_")
        ]
    report.counts["products"] = _products(client, answer.result.get("catalogs"), report)
    for key in ("categories", "stages", "currencies", "catalogs"):
        if key in answer.errors:
            report.problems[key] = _reason(answer.errors[key])
    return report


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('error', '')}: {error.get('error_description', '')}".strip(": ")
    return str(error)


def to_the_end(
    client: Client,
    answer: BatchResult,
    key: str,
    commands: dict[str, tuple[str, dict[str, Any]]],
    items_key: str | None = None,
) -> list[Any]:
    """A batch command's first page of a list and the pages after it: every list pages by 50
    (``crm.status.list`` too, contract errata 2; a portal has more statuses than that)."""
    first = answer.result.get(key)
    if items_key:
        first = first.get(items_key) if isinstance(first, dict) else None
    rows = list(first or [])
    more = answer.next.get(key)
    if more is not None and key not in answer.errors:
        method, params = commands[key]
        rows += client.pages(method, params, start=int(more), items_key=items_key)
    return rows


def all_stages(
    client: Client, answer: BatchResult, commands: dict[str, tuple[str, dict[str, Any]]]
) -> list[Any]:
    return to_the_end(client, answer, "stages", commands)


def all_categories(
    client: Client, answer: BatchResult, commands: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    return {"categories": to_the_end(client, answer, "categories", commands, "categories")}


def pipelines(categories: Any, stages: Any) -> list[Pipeline]:
    """Deal pipelines with their stages in the portal's order, from ``crm.category.list`` (entity 2) and
    ``crm.status.list``."""
    cats = (categories or {}).get("categories", []) if isinstance(categories, dict) else []
    out = []
    for cat in sorted(cats, key=lambda c: (int(c.get("sort") or 0), int(c["id"]))):
        cid = int(cat["id"])
        entity = "DEAL_STAGE" if cid == 0 else f"DEAL_STAGE_{cid}"
        own = [(str(s["STATUS_ID"]), str(s["NAME"])) for s in stages or [] if s.get("ENTITY_ID") == entity]
        out.append(Pipeline(cid, str(cat.get("name", "")), own))
    return out


def _products(client: Client, catalogs: Any, report: Report) -> int | None:
    listed = (catalogs or {}).get("catalogs", []) if isinstance(catalogs, dict) else []
    if not listed:
        return None
    commands = {
        f"catalog_{c['iblockId']}": (
            "catalog.product.list",
            {"filter": {"iblockId": c["iblockId"]}, "select": ["id", "iblockId"]},
        )
        for c in listed[:50]
    }
    answer = client.batch(commands)
    for key, error in answer.errors.items():
        report.problems[key] = _reason(error)
    return sum(int(answer.total.get(k) or 0) for k in commands if k not in answer.errors)


def render(report: Report, domain: str = "") -> str:
    lines = [f"Portal {domain}" if domain else "Portal", ""]
    width = max(len(k) for k in report.counts)
    for key, n in report.counts.items():
        shown = f"{n:,}" if n is not None else "—  (" + report.problems.get(key, "not readable") + ")"
        lines.append(f"  {key.replace('_', ' '):<{width}}  {shown}")
    lines += ["", "Pipelines"]
    for p in report.pipelines:
        lines.append(f"  [{p.id}] {p.name}: " + " → ".join(name for _, name in p.stages))
    lines += ["", "Currencies: " + (", ".join(report.currencies) or "—"), "", "Custom fields"]
    for entity, found in report.custom_fields.items():
        lines.append(f"  {entity}: " + (", ".join(f"{code} ({kind})" for code, kind, _ in found) or "none"))
    other = {k: v for k, v in report.problems.items() if k not in report.counts}
    if other:
        lines += ["", "Not readable"] + [f"  {k}: {v}" for k, v in other.items()]
    return "\n".join(lines) + "\n"
