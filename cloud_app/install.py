"""What the app sets up in a portal, idempotently: placements, event handlers and user fields (§1.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .b24.client import Client
from .b24.errors import B24Error
from .sync.crm import USER_FIELDS as SYNC_FIELDS

PLACEMENTS = {
    "CRM_DEAL_DETAIL_TOOLBAR": ("deal-sync", "Sync to QuickBooks"),
    "CRM_DEAL_DETAIL_TAB": ("deal-tab", "QuickBooks"),
    "CRM_CONTACT_DETAIL_TAB": ("contact-tab", "QuickBooks"),
    "CRM_COMPANY_DETAIL_TAB": ("company-tab", "QuickBooks"),
    "CRM_DEAL_LIST_MENU": ("deal-sync", "Sync to QuickBooks"),
}
EVENTS = (
    "ONAPPUNINSTALL",
    "ONAPPUPDATE",
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONCRMCONTACTDELETE",
    "ONCRMCOMPANYADD",
    "ONCRMCOMPANYUPDATE",
    "ONCRMCOMPANYDELETE",
    "ONCRMDEALADD",
    "ONCRMDEALUPDATE",
    "ONCRMDEALDELETE",
    "ONCRMDEALMOVETOCATEGORY",
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMUPDATE",
    "ONCRMDYNAMICITEMDELETE",
    "CATALOG.PRODUCT.ON.ADD",
    "CATALOG.PRODUCT.ON.UPDATE",
    "CATALOG.PRODUCT.ON.DELETE",
)
OFFLINE_CONNECTOR = "qb_bitrix24"  # our own writes carry it, so they are not queued back to us (§4.5)


@dataclass(frozen=True)
class UserFieldSpec:
    entity: str  # deal | contact | company
    name: str  # without the UF_CRM_ prefix
    type: str
    label: str
    label_ru: str = ""


# the fields the sync engine writes (cloud_app.sync.crm), one per entity that carries it
USER_FIELDS = tuple(
    UserFieldSpec(entity, uf.name.removeprefix("UF_CRM_"), uf.type, uf.label, uf.label_ru or uf.label)
    for uf in SYNC_FIELDS
    for entity in uf.entities
)


@dataclass
class SetupReport:
    placements_bound: int = 0
    events_bound: int = 0
    fields_created: int = 0
    already_there: int = 0
    offline_events: bool = False


def _already(exc: B24Error) -> bool:
    return exc.code == "ERROR_CORE" and "already" in exc.description.lower()


def _count(report: SetupReport, errors: dict[str, dict[str, object]], key: str) -> bool:
    """True when the command under ``key`` did its work; "already there" counts as done; anything else
    stops the setup with the portal's own error code."""
    error = errors.get(key)
    if error is None:
        return True
    exc = B24Error(str(error.get("error", "")), str(error.get("error_description", "")), 400)
    if _already(exc):
        report.already_there += 1
        return False
    raise exc


def set_up(client: Client, public_url: str) -> SetupReport:
    """Bind placements and events and create user fields, in two batch calls (a batch counts once
    against the portal's limit); anything already there counts as done, so running it again is safe."""
    report = SetupReport()
    base = public_url.rstrip("/")
    first: dict[str, tuple[str, dict[str, object]]] = {}
    for code, (page, title) in PLACEMENTS.items():
        first[f"p_{code}"] = (
            "placement.bind",
            {
                "PLACEMENT": code,
                "HANDLER": f"{base}/b24/{page}",
                "TITLE": title,
                "LANG_ALL": {"en": {"TITLE": title}, "ru": {"TITLE": title}},
            },
        )
    for event in EVENTS:
        first[f"e_{event}"] = ("event.bind", {"event": event, "handler": f"{base}/b24/events"})
    first["feature"] = ("feature.get", {"CODE": "rest_offline_extended"})
    for n, spec in enumerate(USER_FIELDS):
        first[f"f_{n}"] = (
            f"crm.{spec.entity}.userfield.list",
            {"filter": {"FIELD_NAME": "UF_CRM_" + spec.name}},
        )
    answer = client.batch(first)
    report.placements_bound = sum(_count(report, answer.errors, f"p_{code}") for code in PLACEMENTS)
    report.events_bound = sum(_count(report, answer.errors, f"e_{event}") for event in EVENTS)
    feature = answer.result.get("feature")
    report.offline_events = isinstance(feature, dict) and feature.get("value") == "Y"

    second: dict[str, tuple[str, dict[str, object]]] = {}
    if report.offline_events:
        for event in EVENTS[2:]:
            second[f"o_{event}"] = (
                "event.bind",
                {"event": event, "event_type": "offline", "auth_connector": OFFLINE_CONNECTOR},
            )
    for n, spec in enumerate(USER_FIELDS):
        _count(report, answer.errors, f"f_{n}")
        if answer.result.get(f"f_{n}"):
            report.already_there += 1
            continue
        full = "UF_CRM_" + spec.name
        labels = {"en": spec.label, "ru": spec.label_ru or spec.label}
        second[f"a_{n}"] = (
            f"crm.{spec.entity}.userfield.add",
            {
                "fields": {
                    "FIELD_NAME": spec.name,
                    "USER_TYPE_ID": spec.type,
                    "XML_ID": full,
                    "EDIT_FORM_LABEL": labels,
                    "LIST_COLUMN_LABEL": labels,
                    "LIST_FILTER_LABEL": labels,
                }
            },
        )
    if second:
        more = client.batch(second)
        for key in second:
            if _count(report, more.errors, key) and key.startswith("a_"):
                report.fields_created += 1
    return report
