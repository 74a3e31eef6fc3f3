"""What the app sets up in a portal, idempotently: placements, event handlers and user fields (§1.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .b24.client import Client
from .b24.errors import B24Error

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


USER_FIELDS = (
    *(UserFieldSpec(e, "QB_LIST_ID", "string", "QuickBooks ID") for e in ("contact", "company")),
    *(UserFieldSpec(e, "QB_BALANCE", "double", "QuickBooks balance") for e in ("contact", "company")),
    UserFieldSpec("deal", "QB_TXN_ID", "string", "QuickBooks transaction ID"),
    UserFieldSpec("deal", "QB_DOC_NUMBER", "string", "QuickBooks document number"),
    UserFieldSpec("deal", "QB_BALANCE", "double", "QuickBooks balance due"),
    UserFieldSpec("deal", "QB_STATUS", "string", "QuickBooks status"),
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


def set_up(client: Client, public_url: str) -> SetupReport:
    """Bind placements and events and create user fields; anything already there counts as done."""
    report = SetupReport()
    base = public_url.rstrip("/")
    for code, (page, title) in PLACEMENTS.items():
        try:
            client.call(
                "placement.bind",
                {
                    "PLACEMENT": code,
                    "HANDLER": f"{base}/b24/{page}",
                    "TITLE": title,
                    "LANG_ALL": {"en": {"TITLE": title}, "ru": {"TITLE": title}},
                },
            )
            report.placements_bound += 1
        except B24Error as exc:
            if not _already(exc):
                raise
            report.already_there += 1
    for event in EVENTS:
        try:
            client.call("event.bind", {"event": event, "handler": f"{base}/b24/events"})
            report.events_bound += 1
        except B24Error as exc:
            if not _already(exc):
                raise
            report.already_there += 1
    try:
        feature = client.call("feature.get", {"CODE": "rest_offline_extended"})
        report.offline_events = isinstance(feature, dict) and feature.get("value") == "Y"
    except B24Error:
        report.offline_events = False
    if report.offline_events:
        for event in EVENTS[2:]:
            try:
                client.call(
                    "event.bind",
                    {"event": event, "event_type": "offline", "auth_connector": OFFLINE_CONNECTOR},
                )
            except B24Error as exc:
                if not _already(exc):
                    raise
    for spec in USER_FIELDS:
        full = "UF_CRM_" + spec.name
        existing = client.call(f"crm.{spec.entity}.userfield.list", {"filter": {"FIELD_NAME": full}})
        if existing:
            report.already_there += 1
            continue
        client.call(
            f"crm.{spec.entity}.userfield.add",
            {
                "fields": {
                    "FIELD_NAME": spec.name,
                    "USER_TYPE_ID": spec.type,
                    "XML_ID": full,
                    "EDIT_FORM_LABEL": {"en": spec.label},
                    "LIST_COLUMN_LABEL": {"en": spec.label},
                }
            },
        )
        report.fields_created += 1
    return report
