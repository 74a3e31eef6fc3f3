"""Every Bitrix24 method the product calls (``grep`` of ``cloud_app``), checked against its page in
``bitrix24/b24restdocs`` (HEAD 5988ed13): the shape of the answer the page shows, its paging, and the
errors the page lists that the product can meet. One row per method; the row names its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import World

DOCS = "api-reference/"


@dataclass(frozen=True)
class Row:
    method: str
    doc: str  # path in bitrix24/b24restdocs
    params: dict[str, Any]
    result: str  # int | bool | map | list | items:<key> | map:<key>
    keys: tuple[str, ...] = ()  # keys the page shows on the answer (a map) or on each row (a list)
    paged: bool = False  # the page shows "total" (and "next" while there is more)
    more: bool = False  # the seed portal holds more than one page of it


ROWS = [
    Row("app.info", DOCS + "common/system/app-info.md", {}, "map",
        ("ID", "CODE", "VERSION", "STATUS", "INSTALLED", "PAYMENT_EXPIRED", "DAYS", "LANGUAGE_ID")),
    Row("user.admin", DOCS + "common/users/user-admin.md", {}, "bool"),
    Row("profile", DOCS + "common/users/profile.md", {}, "map", ("ID", "ADMIN", "NAME", "LAST_NAME")),
    Row("user.current", DOCS + "user/user-current.md", {}, "map", ("ID", "NAME", "LAST_NAME")),
    Row("user.get", DOCS + "user/user-get.md", {"ADMIN_MODE": True}, "list",
        ("ID", "ACTIVE", "NAME", "LAST_NAME"), paged=True),
    Row("feature.get", DOCS + "common/system/feature-get.md", {"CODE": "rest_offline_extended"}, "map",
        ("value",)),
    Row("placement.bind", DOCS + "widgets/placement-bind.md",
        {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": "https://app.example.com/tab", "TITLE": "QuickBooks"},
        "bool"),
    Row("event.bind", DOCS + "events/event-bind.md",
        {"event": "ONCRMDEALUPDATE", "handler": "https://app.example.com/events"}, "bool"),
    Row("event.offline.get", DOCS + "events/event-offline-get.md", {"auth_connector": "qb"}, "map",
        ("process_id", "events")),
    Row("event.offline.clear", DOCS + "events/event-offline-clear.md", {"process_id": "p1"}, "bool"),
    Row("crm.contact.userfield.list", DOCS + "crm/contacts/userfield/crm-contact-userfield-list.md", {},
        "list", ("ID", "ENTITY_ID", "FIELD_NAME", "USER_TYPE_ID", "XML_ID", "MULTIPLE", "MANDATORY"),
        paged=True),
    Row("crm.contact.userfield.add", DOCS + "crm/contacts/userfield/crm-contact-userfield-add.md",
        {"fields": {"FIELD_NAME": "QB_NOTE", "USER_TYPE_ID": "string", "XML_ID": "UF_CRM_QB_NOTE"}}, "int"),
    Row("crm.company.userfield.list", DOCS + "crm/companies/userfields/crm-company-userfield-list.md",
        {"filter": {"FIELD_NAME": "UF_CRM_QB_LIST_ID"}}, "list", ("ID", "FIELD_NAME", "USER_TYPE_ID"),
        paged=True),
    Row("crm.company.userfield.add", DOCS + "crm/companies/userfields/crm-company-userfield-add.md",
        {"fields": {"FIELD_NAME": "QB_NOTE", "USER_TYPE_ID": "string"}}, "int"),
    Row("crm.deal.userfield.list", DOCS + "crm/deals/user-defined-fields/crm-deal-userfield-list.md",
        {"filter": {"FIELD_NAME": "UF_CRM_QB_TXN_ID"}}, "list", ("ID", "FIELD_NAME", "USER_TYPE_ID"),
        paged=True),
    Row("crm.deal.userfield.add", DOCS + "crm/deals/user-defined-fields/crm-deal-userfield-add.md",
        {"fields": {"FIELD_NAME": "QB_NOTE", "USER_TYPE_ID": "string"}}, "int"),
    Row("crm.contact.list", DOCS + "crm/contacts/crm-contact-list.md", {"select": ["ID", "NAME"]}, "list",
        ("ID", "NAME"), paged=True, more=True),
    Row("crm.company.list", DOCS + "crm/companies/crm-company-list.md", {"select": ["ID", "TITLE"]}, "list",
        ("ID", "TITLE"), paged=True, more=True),
    Row("crm.deal.list", DOCS + "crm/deals/crm-deal-list.md", {"select": ["ID", "TITLE"]}, "list",
        ("ID", "TITLE"), paged=True, more=True),
    Row("crm.lead.list", DOCS + "crm/leads/crm-lead-list.md", {"select": ["ID"]}, "list", ("ID",),
        paged=True, more=True),
    Row("crm.quote.list", DOCS + "crm/quote/crm-quote-list.md", {"select": ["ID"]}, "list", paged=True),
    Row("crm.activity.list", DOCS + "crm/timeline/activities/activity-base/crm-activity-list.md",
        {"select": ["ID"]}, "list", ("ID",), paged=True, more=True),
    Row("crm.item.list", DOCS + "crm/universal/crm-item-list.md", {"entityTypeId": 31}, "items:items",
        ("id", "title", "stageId"), paged=True),
    Row("crm.item.add", DOCS + "crm/universal/crm-item-add.md",
        {"entityTypeId": 31, "fields": {"title": "INV-1"}}, "map:item", ("id", "title")),
    Row("crm.item.update", DOCS + "crm/universal/crm-item-update.md",
        {"entityTypeId": 31, "id": 1, "fields": {"title": "INV-1b"}}, "map:item", ("id", "title")),
    Row("crm.contact.fields", DOCS + "crm/contacts/crm-contact-fields.md", {}, "map",
        ("ID", "NAME", "LAST_NAME", "PHONE", "EMAIL")),
    Row("crm.company.fields", DOCS + "crm/companies/crm-company-fields.md", {}, "map", ("ID", "TITLE")),
    Row("crm.deal.fields", DOCS + "crm/deals/crm-deal-fields.md", {}, "map", ("ID", "TITLE", "STAGE_ID")),
    Row("crm.category.list", DOCS + "crm/universal/category/crm-category-list.md", {"entityTypeId": 2},
        "items:categories", ("id", "name", "sort", "entityTypeId", "isDefault"), paged=True),
    Row("crm.status.list", DOCS + "crm/status/crm-status-list.md", {}, "list",
        ("ID", "ENTITY_ID", "STATUS_ID", "NAME", "SORT", "SYSTEM", "CATEGORY_ID", "SEMANTICS", "EXTRA"),
        paged=True, more=True),
    Row("crm.currency.list", DOCS + "crm/currency/crm-currency-list.md", {}, "list",
        ("CURRENCY", "AMOUNT_CNT", "AMOUNT", "SORT", "BASE", "FULL_NAME"), paged=True),
    Row("catalog.catalog.list", DOCS + "catalog/catalog/catalog-catalog-list.md", {}, "items:catalogs",
        ("id", "iblockId", "name"), paged=True),
    Row("catalog.product.list", DOCS + "catalog/product/catalog-product-list.md",
        {"filter": {"iblockId": 23}, "select": ["id", "iblockId", "name", "xmlId"]}, "items:products",
        ("id", "iblockId", "name", "xmlId"), paged=True),
    Row("catalog.product.add", DOCS + "catalog/product/catalog-product-add.md",
        {"fields": {"iblockId": 23, "name": "Gasket"}}, "map:element", ("id", "iblockId", "name", "xmlId")),
    Row("catalog.product.update", DOCS + "catalog/product/catalog-product-update.md",
        {"id": 1, "fields": {"xmlId": "QB:80000001-1"}}, "map:element", ("id", "xmlId")),
    Row("crm.deal.get", DOCS + "crm/deals/crm-deal-get.md", {"id": 1}, "map",
        ("ID", "TITLE", "STAGE_ID", "CURRENCY_ID", "OPPORTUNITY", "COMPANY_ID", "CONTACT_ID", "CATEGORY_ID")),
    Row("crm.deal.productrows.get", DOCS + "crm/deals/crm-deal-productrows-get.md", {"id": 1}, "list",
        ("ID", "PRODUCT_ID", "PRODUCT_NAME", "PRICE", "QUANTITY", "DISCOUNT_TYPE_ID", "TAX_RATE")),
    Row("crm.deal.update", DOCS + "crm/deals/crm-deal-update.md", {"id": 1, "fields": {"TITLE": "x"}},
        "bool"),
    Row("crm.contact.get", DOCS + "crm/contacts/crm-contact-get.md", {"id": 1}, "map",
        ("ID", "NAME", "LAST_NAME", "COMPANY_ID")),
    Row("crm.contact.add", DOCS + "crm/contacts/crm-contact-add.md", {"fields": {"NAME": "Ann"}}, "int"),
    Row("crm.contact.update", DOCS + "crm/contacts/crm-contact-update.md",
        {"id": 1, "fields": {"NAME": "Ann"}}, "bool"),
    Row("crm.company.get", DOCS + "crm/companies/crm-company-get.md", {"id": 1}, "map", ("ID", "TITLE")),
    Row("crm.company.add", DOCS + "crm/companies/crm-company-add.md", {"fields": {"TITLE": "Acme"}}, "int"),
    Row("crm.company.update", DOCS + "crm/companies/crm-company-update.md",
        {"id": 1, "fields": {"TITLE": "Acme"}}, "bool"),
    Row("crm.requisite.list", DOCS + "crm/requisites/universal/crm-requisite-list.md", {}, "list",
        ("ENTITY_TYPE_ID", "ENTITY_ID", "ID", "NAME"), paged=True, more=True),
    Row("crm.address.list", DOCS + "crm/requisites/addresses/crm-address-list.md", {}, "list",
        ("TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", "ADDRESS_1", "ADDRESS_2", "CITY", "POSTAL_CODE", "REGION",
         "PROVINCE", "COUNTRY", "COUNTRY_CODE", "LOC_ADDR_ID", "ANCHOR_TYPE_ID", "ANCHOR_ID"),
        paged=True, more=True),
    Row("crm.timeline.comment.add", DOCS + "crm/timeline/comments/crm-timeline-comment-add.md",
        {"fields": {"ENTITY_TYPE": "deal", "ENTITY_ID": 1, "COMMENT": "Invoice 1001 created"}}, "int"),
]  # fmt: skip


@pytest.fixture
def admin_token(world: World) -> str:
    world.portal.plan = "enterprise"  # offline events and auth_connector (feature.get) on this plan
    return world.installed()


@pytest.mark.parametrize("row", ROWS, ids=[r.method for r in ROWS])
def test_the_answer_has_the_shape_its_page_shows(world: World, admin_token: str, row: Row) -> None:
    answer = world.call(row.method, row.params, token=admin_token)
    assert answer.status_code == 200, (row.doc, answer.text)
    body = answer.json()
    result = body["result"]
    kind, _, key = row.result.partition(":")
    if kind == "int":
        assert isinstance(result, int) and not isinstance(result, bool), row.doc
    elif kind == "bool":
        assert result is True, row.doc
    elif kind == "list":
        assert isinstance(result, list), row.doc
        if row.keys and result:
            assert set(row.keys) <= set(result[0]), (row.doc, sorted(set(row.keys) - set(result[0])))
    elif kind == "items":
        assert isinstance(result, dict) and list(result) == [key] and isinstance(result[key], list), row.doc
        if result[key]:
            assert set(row.keys) <= set(result[key][0]), (row.doc, set(row.keys) - set(result[key][0]))
    else:  # a map, or one under its key
        node = result[key] if key else result
        if key:
            assert list(result) == [key], row.doc
        assert isinstance(node, dict) and set(row.keys) <= set(node), (row.doc, set(row.keys) - set(node))
    assert ("total" in body) == row.paged, (row.doc, "total")
    if row.paged:
        rows = result if kind == "list" else result[key]
        assert len(rows) <= 50, row.doc
        assert ("next" in body) == row.more and (body.get("next") == 50 if row.more else True), row.doc
        assert body["total"] > 50 if row.more else body["total"] == len(rows), row.doc
    assert {"start", "finish", "duration", "date_start", "date_finish"} <= set(body["time"])  # every answer


ERRORS = [
    # (method, params, HTTP status, error, error_description, doc page)
    ("crm.deal.get", {"id": 0}, 400, "", "ID is not defined or invalid.", "crm/deals/crm-deal-get.md"),
    ("crm.deal.get", {"id": 999999}, 400, "", "Not found", "crm/deals/crm-deal-get.md"),
    ("crm.deal.update", {"id": 999999, "fields": {"TITLE": "x"}}, 400, "", "Not found",
     "crm/deals/crm-deal-update.md"),
    ("crm.deal.update", {"id": 1, "fields": "x"}, 400, "", "Parameter 'fields' must be array.",
     "crm/deals/crm-deal-update.md"),
    ("crm.item.update", {"entityTypeId": 999, "id": 1, "fields": {}}, 400, "NOT_FOUND",
     "Smart process not found", "crm/universal/crm-item-update.md"),
    ("crm.timeline.comment.add", {"fields": {"ENTITY_TYPE": "deal", "ENTITY_ID": 999999, "COMMENT": "x"}},
     400, "OWNER_NOT_FOUND", None, "crm/timeline/comments/crm-timeline-comment-add.md"),
    ("crm.timeline.comment.add", {"fields": {"ENTITY_TYPE": "deal", "ENTITY_ID": 1, "COMMENT": ""}},
     400, "INVALID_ARG_VALUE", "Empty comment", "crm/timeline/comments/crm-timeline-comment-add.md"),
    ("event.bind", {"event": "ONNOSUCHEVENT", "handler": "https://app.example.com/e"}, 400,
     "ERROR_EVENT_NOT_FOUND", "Event not found", "events/event-bind.md"),
    ("feature.get", {}, 400, "CODE_EMPTY", "CODE can't be empty", "common/system/feature-get.md"),
    ("batch", {"cmd": {}}, 400, "ERROR_ARGUMENT", None, "../settings/how-to-call-rest-api/batch.md"),
]  # fmt: skip


@pytest.mark.parametrize("case", ERRORS, ids=[f"{c[0]}-{c[3] or c[4]}" for c in ERRORS])
def test_the_errors_its_page_lists(world: World, admin_token: str, case: tuple[Any, ...]) -> None:
    method, params, status, code, text, doc = case
    answer = world.call(method, params, token=admin_token)
    assert answer.status_code == status, (doc, answer.text)
    body = answer.json()
    assert body["error"] == code, doc
    if text is not None:
        assert body["error_description"] == text, doc


def test_a_feature_the_portal_does_not_know_is_not_enabled(world: World, admin_token: str) -> None:
    """docs api-reference/common/system/feature-get.md: ``value`` is Y or N. UNCONFIRMED by any doc that a
    code it does not list answers N rather than an error (Bitrix24's server code
    ``CRestProvider::getFeature``: ``isFeatureEnabled(code) ? 'Y' : 'N'``)."""
    assert world.call("feature.get", {"CODE": "no_such_feature"}, token=admin_token).json()["result"] == {
        "value": "N"
    }
