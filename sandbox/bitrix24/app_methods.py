"""Platform methods: app, user, options, placements, events (online and offline), features, catalog,
requisites and addresses (§1.4, §3.1, §4.1, §4.5, §8.7, §8.12, §8.13)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from . import lists
from .emulator import Binding, Placement, User
from .errors import ApiError, access_denied
from .phpquery import as_list, as_map, lower_keys
from .registry import Ctx, Listed, method
from .store import _id

CRM_ENTITIES = ("LEAD", "DEAL", "CONTACT", "COMPANY", "QUOTE", "SMART_INVOICE")
PLACEMENT_FAMILIES = (
    "DETAIL_TAB",
    "DETAIL_TOOLBAR",
    "DETAIL_ACTIVITY",
    "LIST_MENU",
    "LIST_TOOLBAR",
    "DOCUMENTGENERATOR_BUTTON",
)
CRM_PLACEMENTS = {f"CRM_{e}_{f}" for e in CRM_ENTITIES for f in PLACEMENT_FAMILIES} | {
    "CRM_DEAL_ACTIVITY_TIMELINE_MENU",
    "CRM_ANALYTICS_MENU",
    "CRM_FUNNELS_TOOLBAR",
}
OTHER_PLACEMENTS = {"REST_APP_URI", "PAGE_BACKGROUND_WORKER", "LEFT_MENU", "USER_PROFILE_MENU"}
SINGLE = {"REST_APP_URI", "PAGE_BACKGROUND_WORKER"}
KEEPS_OPTIONS = {f"CRM_{e}_DETAIL_ACTIVITY" for e in CRM_ENTITIES} | {"PAGE_BACKGROUND_WORKER"}
EVENTS = {
    *(
        f"ONCRM{e}{a}"
        for e in ("LEAD", "DEAL", "CONTACT", "COMPANY", "QUOTE")
        for a in ("ADD", "UPDATE", "DELETE")
    ),
    "ONCRMDEALMOVETOCATEGORY",
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMUPDATE",
    "ONCRMDYNAMICITEMDELETE",
    "ONCRMTIMELINECOMMENTADD",
    "ONCRMREQUISITEADD",
    "ONCRMREQUISITEUPDATE",
    "ONCRMREQUISITEDELETE",
    "CATALOG.PRODUCT.ON.ADD",
    "CATALOG.PRODUCT.ON.UPDATE",
    "CATALOG.PRODUCT.ON.DELETE",
    "ONAPPINSTALL",
    "ONAPPUPDATE",
    "ONAPPUNINSTALL",
    "ONAPPPAYMENT",
    "ONAPPTEST",
    "ONOFFLINEEVENT",
    "ONUSERADD",
}


def _install(ctx: Ctx) -> Any:
    install = ctx.install
    assert install is not None  # app_only methods
    return install


# -- app, user, profile ---------------------------------------------------------------------------------


@method("app.info", scope="basic")
def app_info(ctx: Ctx) -> dict[str, Any]:
    install = ctx.install
    if install is None:
        raise access_denied("Access denied! Application context required")
    return {
        "ID": 5,
        "CODE": install.app.code,
        "VERSION": install.app.version,
        "STATUS": install.app.status,
        "INSTALLED": install.installed,
        "PAYMENT_EXPIRED": "Y" if install.payment_expired else "N",
        "DAYS": None,
        "LANGUAGE_ID": "en",
        "LICENSE": "en_pro100" if ctx.portal.plan != "enterprise" else "en_ent250",
        "LICENSE_TYPE": "pro100",
        "LICENSE_FAMILY": "pro",
    }


def _user(u: User) -> dict[str, Any]:
    return {
        "ID": str(u.id),
        "ACTIVE": u.active,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "EMAIL": u.email,
        "WORK_POSITION": u.position,
        "IS_ONLINE": "N",
        "USER_TYPE": "employee",
        "ADMIN": u.admin,
    }


@method("user.current", scope="user")
def user_current(ctx: Ctx) -> dict[str, Any]:
    out = _user(ctx.user)
    out.pop("ADMIN")
    return out


@method("profile", scope="basic")
def profile(ctx: Ctx) -> dict[str, Any]:
    u = ctx.user
    return {
        "ID": str(u.id),
        "ADMIN": u.admin,
        "NAME": u.name,
        "LAST_NAME": u.last_name,
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
        "TIME_ZONE_OFFSET": 0,
    }


@method("user.admin", scope="basic")
def user_admin(ctx: Ctx) -> bool:
    """Whether the token's user may manage the app's settings
    (``docs:api-reference/common/users/user-admin.md``: any user may ask; the answer is a bool)."""
    return ctx.user.admin


@method("user.get", scope="user")
def user_get(ctx: Ctx) -> Listed:
    p = lower_keys(ctx.params)
    filt = as_map(p.get("filter")) or {
        k: v for k, v in ctx.params.items() if k.upper() in ("ID", "ACTIVE", "EMAIL")
    }
    users = [_user(u) for u in sorted(ctx.portal.users.values(), key=lambda u: u.id)]
    for u in users:
        u.pop("ADMIN")
        u["ACTIVE"] = "Y" if u["ACTIVE"] else "N"
    rows = lists.kept(users, filt, empty=ctx.emu.settings.empty_array_filter)
    for u in rows:
        u["ACTIVE"] = u["ACTIVE"] == "Y"
    chunk, total, nxt = lists.page(rows, p.get("start"))
    return Listed(chunk, total, nxt)


@method("app.option.set", scope="basic", app_only=True)
def option_set(ctx: Ctx) -> bool:
    if not ctx.user.admin:
        raise ApiError("", "Access denied.", 400)  # AccessException (§12.1)
    options = as_map(ctx.params.get("options")) or {}
    if not options:
        raise ApiError("ERROR_ARGUMENT", "Argument 'options' is null or empty", 400)
    _install(ctx).options.update(options)
    return True


@method("app.option.get", scope="basic", app_only=True)
def option_get(ctx: Ctx) -> Any:
    options = _install(ctx).options
    name = ctx.params.get("option")
    if name is not None:
        return options.get(str(name))
    return dict(options) or []


@method("feature.get", scope="basic")
def feature_get(ctx: Ctx) -> dict[str, str]:
    code = str(ctx.params.get("CODE") or ctx.params.get("code") or "")
    paid = ctx.portal.plan in ("enterprise", "professional")
    known = {"rest_offline_extended": "Y" if paid else "N", "rest_auth_connector": "Y" if paid else "N"}
    if not code:  # docs: api-reference/common/system/feature-get.md
        raise ApiError("CODE_EMPTY", "CODE can't be empty", 400)
    # a code the plan does not know is simply not enabled (CRestProvider::getFeature: isFeatureEnabled)
    return {"value": known.get(code, "N")}


# -- placements -----------------------------------------------------------------------------------------


def _handler_ok(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ApiError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported event handler protocol", 400)
    host = parsed.hostname or ""
    if "." not in host or host == "localhost":
        raise ApiError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)


@method("placement.bind", scope="placement", app_only=True, admin=True)
def placement_bind(ctx: Ctx) -> bool:
    p = {k.upper(): v for k, v in ctx.params.items()}
    code = str(p.get("PLACEMENT") or "").upper()
    handler = str(p.get("HANDLER") or "")
    if not code:
        raise ApiError("ERROR_ARGUMENT", "Argument 'PLACEMENT' is null or empty", 400, argument="PLACEMENT")
    if not handler:
        raise ApiError("ERROR_ARGUMENT", "Argument 'HANDLER' is null or empty", 400, argument="HANDLER")
    if code not in _available(ctx):
        raise ApiError("ERROR_PLACEMENT_NOT_FOUND", "Placement not found", 400)
    _handler_ok(handler)
    if p.get("USER_ID") not in (None, "", "0", 0) and code != "PAGE_BACKGROUND_WORKER":
        raise ApiError("ERROR_PLACEMENT_USER_MODE", "User mode is not available", 400)
    install = _install(ctx)
    if any(x.placement == code and x.handler == handler for x in install.placements):
        raise ApiError("ERROR_CORE", "Handler already binded", 400)
    if code in SINGLE and any(x.placement == code for x in install.placements):
        raise ApiError("ERROR_PLACEMENT_MAX_COUNT", "Placement max count exceeded", 400)
    lang_all = as_map(p.get("LANG_ALL")) or {}
    title = str(p.get("TITLE") or "")
    install.placements.append(
        Placement(
            code,
            handler,
            title,
            str(p.get("DESCRIPTION") or ""),
            str(p.get("GROUP_NAME") or ""),
            lang_all or {"en": {"TITLE": title, "DESCRIPTION": "", "GROUP_NAME": ""}},
            (as_map(p.get("OPTIONS")) or {}) if code in KEEPS_OPTIONS else {},
        )
    )
    return True


def _available(ctx: Ctx) -> set[str]:
    codes = set(OTHER_PLACEMENTS)
    if "crm" in ctx.scopes:
        codes |= CRM_PLACEMENTS
    return codes


@method("placement.unbind", scope="placement", app_only=True, admin=True)
def placement_unbind(ctx: Ctx) -> dict[str, int]:
    p = {k.upper(): v for k, v in ctx.params.items()}
    code = str(p.get("PLACEMENT") or "").upper()
    if not code:
        raise ApiError("ERROR_ARGUMENT", "Argument 'PLACEMENT' is null or empty", 400, argument="PLACEMENT")
    handler = str(p.get("HANDLER") or "")
    install = _install(ctx)
    gone = [x for x in install.placements if x.placement == code and (not handler or x.handler == handler)]
    for x in gone:
        install.placements.remove(x)
    return {"count": len(gone) * (2 if ctx.emu.settings.count_unbind_twice else 1)}


@method("placement.get", scope="placement", app_only=True, admin=True)
def placement_get(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {
            "placement": x.placement,
            "userId": x.user_id,
            "handler": x.handler,
            "options": x.options or [],
            "title": x.title,
            "description": x.description,
            "langAll": x.lang_all,
        }
        for x in _install(ctx).placements
    ]


@method("placement.list", scope="placement", app_only=True)
def placement_list(ctx: Ctx) -> list[str]:
    return sorted(_available(ctx))


# -- events ---------------------------------------------------------------------------------------------


@method("events", scope="basic", app_only=True)
def events_list(ctx: Ctx) -> list[str]:
    return sorted(EVENTS)


@method("event.bind", scope="basic", app_only=True)
def event_bind(ctx: Ctx) -> bool:
    p = {k.lower(): v for k, v in ctx.params.items()}
    name = str(p.get("event") or "").upper()
    if name not in EVENTS:
        raise ApiError("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
    offline = str(p.get("event_type") or "online").lower() == "offline"
    auth_type = int(p.get("auth_type") or 0)
    if offline and not ctx.user.admin:
        raise access_denied("Access denied! Offline events binding requires administrator access rights")
    if auth_type and auth_type != ctx.user.id and not ctx.user.admin:
        raise access_denied(
            "Access denied! Event binding with AUTH_TYPE requires administrator access rights"
        )
    handler = "" if offline else str(p.get("handler") or "")
    if not offline:
        if not handler:
            raise ApiError("ERROR_ARGUMENT", "Argument 'handler' is null or empty", 400, argument="handler")
        _handler_ok(handler)
    connector = str(p.get("auth_connector") or "") if offline else ""
    install = _install(ctx)
    if any(
        b.event == name and b.handler == handler and b.offline == offline and b.auth_connector == connector
        for b in install.bindings
    ):
        raise ApiError("ERROR_CORE", "Handler already binded", 400)
    next_id = max((b.id for i in ctx.portal.installs.values() for b in i.bindings), default=200) + 1
    install.bindings.append(Binding(next_id, name, handler, auth_type, offline, connector))
    return True


@method("event.unbind", scope="basic", app_only=True)
def event_unbind(ctx: Ctx) -> dict[str, int]:
    p = {k.lower(): v for k, v in ctx.params.items()}
    name = str(p.get("event") or "").upper()
    handler = str(p.get("handler") or "")
    offline = str(p.get("event_type") or "online").lower() == "offline"
    install = _install(ctx)
    gone = [
        b
        for b in install.bindings
        if b.event == name and b.offline == offline and (offline or not handler or b.handler == handler)
    ]
    for b in gone:
        install.bindings.remove(b)
    return {"count": len(gone)}


@method("event.get", scope="basic", app_only=True)
def event_get(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {
            "event": b.event,
            "handler": b.handler,
            "auth_type": str(b.auth_type),
            "offline": int(b.offline),
            **({"connector_id": b.auth_connector} if b.auth_connector else {}),
        }
        for b in _install(ctx).bindings
    ]


@method("event.test", scope="basic", app_only=True)
def event_test(ctx: Ctx) -> int:
    install = _install(ctx)
    for b in install.bindings:
        if b.event == "ONAPPTEST" and not b.offline and install.installed:
            pair = ctx.emu.token_pair(ctx.portal, ctx.client_id or "", ctx.user.id)
            data = {"QUERY": {k: v for k, v in ctx.params.items() if k != "auth"}, "LANGUAGE_ID": "en"}
            ctx.emu._send(
                b.handler, ctx.emu._payload("ONAPPTEST", b, data, ctx.emu._auth(ctx.portal, install, pair))
            )
    return 1


def _offline_admin(ctx: Ctx) -> Any:
    if not ctx.user.admin:
        raise access_denied("Access denied!")
    return _install(ctx)


def _offline_row(e: Any, *, with_state: bool = False) -> dict[str, Any]:
    row = {
        "ID": str(e.id),
        "TIMESTAMP_X": e.timestamp.isoformat(),
        "EVENT_NAME": e.event,
        "EVENT_DATA": e.data,
        "EVENT_ADDITIONAL": {"user_id": "0"},
        "MESSAGE_ID": e.message_id,
    }
    if with_state:
        row.update(PROCESS_ID=e.process_id, ERROR="1" if e.error else "0")
    return row


def _known_in(row: dict[str, Any]) -> lists.Resolve:
    """A filter key as the row names it (any case), or None for a key the row does not have."""
    return lambda n: n.upper() if n.upper() in row else None


def _offline_filter(events: list[Any], filt: dict[str, Any], connector: str) -> list[Any]:
    out = []
    for e in events:
        if e.connector != connector:
            continue
        row = {
            "ID": e.id,
            "TIMESTAMP_X": e.timestamp,
            "EVENT_NAME": e.event,
            "MESSAGE_ID": e.message_id,
            "PROCESS_ID": e.process_id,
            "ERROR": "1" if e.error else "0",
        }
        if lists.matches(row, filt, _known_in(row)):
            out.append(e)
    return out


@method("event.offline.get", scope="basic", app_only=True)
def offline_get(ctx: Ctx) -> dict[str, Any]:
    install = _offline_admin(ctx)
    p = {k.lower(): v for k, v in ctx.params.items()}
    clear = str(p.get("clear", "1")) not in ("0", "false", "N")
    connector = str(p.get("auth_connector") or "")
    include_errors = str(p.get("error", "0")) in ("1", "true", "Y")
    limit = int(p.get("limit") or 50)
    process_id = str(p.get("process_id") or "")
    filt = as_map(p.get("filter")) or {}
    pool = [
        e
        for e in install.offline
        if (e.process_id == process_id if process_id else not e.process_id)
        and (include_errors or not e.error)
    ]
    chosen = sorted(_offline_filter(pool, filt, connector), key=lambda e: (e.timestamp, e.id))[:limit]
    if not chosen:
        return {"process_id": None, "events": []}
    rows = [_offline_row(e) for e in chosen]
    if clear:
        for e in chosen:
            install.offline.remove(e)
        return {"process_id": None, "events": rows}
    pid = process_id or secrets.token_hex(16)
    for e in chosen:
        e.process_id = pid
    return {"process_id": pid, "events": rows}


def _process_id(ctx: Ctx) -> str:
    pid = str(ctx.params.get("process_id") or "")
    if not pid:
        raise ApiError("ERROR_ARGUMENT", "Argument 'process_id' is null or empty", 400, argument="process_id")
    return pid


@method("event.offline.clear", scope="basic", app_only=True)
def offline_clear(ctx: Ctx) -> bool:
    install = _offline_admin(ctx)
    pid = _process_id(ctx)
    ids = {str(i) for i in as_list(ctx.params.get("id"))}
    mids = {str(i) for i in as_list(ctx.params.get("message_id"))}
    for e in [e for e in install.offline if e.process_id == pid]:
        if (not ids and not mids) or str(e.id) in ids or e.message_id in mids:
            install.offline.remove(e)
    return True


@method("event.offline.error", scope="basic", app_only=True)
def offline_error(ctx: Ctx) -> bool:
    install = _offline_admin(ctx)
    pid = _process_id(ctx)
    mids = {str(i) for i in as_list(ctx.params.get("message_id"))}
    for e in install.offline:
        if e.process_id == pid and e.message_id in mids:
            e.error = True
    return True


@method("event.offline.list", scope="basic", app_only=True)
def offline_list(ctx: Ctx) -> Listed:
    install = _offline_admin(ctx)
    p = {k.lower(): v for k, v in ctx.params.items()}
    connector = str(p.get("auth_connector") or "")
    filt = as_map(p.get("filter")) or {}
    rows = sorted(_offline_filter(install.offline, filt, connector), key=lambda e: e.id)
    chunk, total, nxt = lists.page(rows, p.get("start"))
    return Listed([_offline_row(e, with_state=True) for e in chunk], total, nxt)


# -- catalog --------------------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "id",
    "iblockId",
    "name",
    "active",
    "code",
    "xmlId",
    "measure",
    "vatId",
    "vatIncluded",
    "purchasingPrice",
    "purchasingCurrency",
    "quantity",
    "type",
    "detailText",
    "sectionId",
    "dateCreate",
    "timestampX",
)


@method("catalog.catalog.list", scope="catalog")
def catalog_list(ctx: Ctx) -> Listed:
    cat = {
        "id": ctx.portal.catalog_iblock,
        "iblockId": ctx.portal.catalog_iblock,
        "name": "CRM product catalog",
        "productIblockId": None,
        "skuPropertyId": None,
        "subscription": "N",
        "vatId": 1,
        "yandexExport": "N",
    }
    return Listed({"catalogs": [cat]}, 1)


def _iblock(ctx: Ctx, raw: Any) -> None:
    if str(raw or "") != str(ctx.portal.catalog_iblock):
        raise ApiError("ERROR_ARGUMENT", "Required fields: iblockId", 400)


def _product_out(p: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in p.items() if not select or k in select or k in ("id", "iblockId")}
    return out


@method("catalog.product.list", scope="catalog")
def product_list(ctx: Ctx) -> Listed:
    filt = as_map(ctx.params.get("filter")) or {}
    select = [str(s) for s in as_list(ctx.params.get("select"))]
    if "iblockId" not in {lists.split_key(k)[1] for k in filt}:
        raise ApiError("ERROR_ARGUMENT", "Required filter fields: iblockId", 400)
    if select and not {"id", "iblockId"} <= set(select):
        raise ApiError("ERROR_ARGUMENT", "Required select fields: id, iblockId", 400)
    order = {k: str(v).upper() for k, v in (as_map(ctx.params.get("order")) or {}).items()}
    rows = [
        p
        for p in ctx.portal.products.values()
        if lists.matches(
            p, filt, lambda n: n if n in PRODUCT_FIELDS else None, empty=ctx.emu.settings.empty_array_filter
        )
    ]
    rows = lists.ordered(
        [{**r, "ID": r["id"]} for r in rows], order, lambda n: n if n in PRODUCT_FIELDS else None
    )
    chunk, total, nxt = lists.page(rows, ctx.params.get("start"))
    return Listed(
        {"products": [_product_out({k: v for k, v in r.items() if k != "ID"}, select) for r in chunk]},
        total,
        nxt,
    )


@method("catalog.product.get", scope="catalog")
def product_get(ctx: Ctx) -> dict[str, Any]:
    p = ctx.portal.products.get(_id(ctx.params.get("id")))
    if p is None:
        raise ApiError("ERROR_NOT_FOUND", "Product is not exists", 400)
    return {"product": dict(p)}


def _product_fields(ctx: Ctx) -> dict[str, Any]:
    f = as_map(ctx.params.get("fields")) or {}
    return {k: v for k, v in f.items() if k in PRODUCT_FIELDS and k != "id"}


@method("catalog.product.add", scope="catalog")
def product_add(ctx: Ctx) -> dict[str, Any]:
    f = _product_fields(ctx)
    _iblock(ctx, f.get("iblockId"))
    if not str(f.get("name") or "").strip():
        raise ApiError("ERROR_ARGUMENT", "Required fields: name", 400)
    pid = max(ctx.portal.products, default=0) + 1
    now = ctx.portal.now().isoformat()
    product = {
        "id": pid,
        "iblockId": ctx.portal.catalog_iblock,
        "name": str(f["name"]),
        "active": "Y",
        "code": re.sub(r"[^a-z0-9]+", "-", str(f["name"]).lower()).strip("-"),
        "xmlId": str(pid),
        "measure": 5,
        "vatId": 1,
        "vatIncluded": "Y",
        "purchasingPrice": None,
        "purchasingCurrency": "USD",
        "quantity": 0,
        "type": 1,
        "detailText": "",
        "sectionId": None,
        "dateCreate": now,
        "timestampX": now,
    }
    product.update({k: v for k, v in f.items() if k != "iblockId"})
    ctx.portal.products[pid] = product
    ctx.portal.store.on_change("CATALOG.PRODUCT.ON.ADD", {"ID": pid, "TYPE": 1}, ctx.origin)
    # add and update answer under "element", get under "product" (docs: catalog-product-add.md, -get.md)
    return {"element": dict(product)}


@method("catalog.product.update", scope="catalog")
def product_update(ctx: Ctx) -> dict[str, Any]:
    p = ctx.portal.products.get(_id(ctx.params.get("id")))
    if p is None:
        raise ApiError("ERROR_NOT_FOUND", "Product is not exists", 400)
    p.update({k: v for k, v in _product_fields(ctx).items() if k != "iblockId"})
    p["timestampX"] = ctx.portal.now().isoformat()
    ctx.portal.store.on_change("CATALOG.PRODUCT.ON.UPDATE", {"ID": p["id"], "TYPE": 1}, ctx.origin)
    return {"element": dict(p)}


@method("catalog.product.delete", scope="catalog")
def product_delete(ctx: Ctx) -> bool:
    pid = _id(ctx.params.get("id"))
    if ctx.portal.products.pop(pid, None) is None:
        raise ApiError("ERROR_NOT_FOUND", "Product is not exists", 400)
    ctx.portal.store.on_change("CATALOG.PRODUCT.ON.DELETE", {"ID": pid, "TYPE": 1}, ctx.origin)
    return True


# -- requisites and addresses (§8.13) --------------------------------------------------------------------


@method("crm.requisite.add", scope="crm")
def requisite_add(ctx: Ctx) -> int:
    f = {str(k).upper(): v for k, v in (as_map(lower_keys(ctx.params).get("fields")) or {}).items()}
    owner_type, owner_id = int(f.get("ENTITY_TYPE_ID") or 0), f.get("ENTITY_ID")
    if owner_type not in (3, 4):
        raise ApiError("", "Invalid entity type.")
    ctx.portal.store.get(owner_type, owner_id)
    rid = max(ctx.portal.requisites, default=0) + 1
    ctx.portal.requisites[rid] = {
        "ID": rid,
        "ENTITY_TYPE_ID": owner_type,
        "ENTITY_ID": int(str(owner_id)),
        "PRESET_ID": int(f.get("PRESET_ID") or 1),
        "NAME": str(f.get("NAME") or ""),
        "ACTIVE": "Y",
    }
    ctx.portal.store.on_change("ONCRMREQUISITEADD", {"ID": rid}, ctx.origin)
    return rid


def _simple_list(ctx: Ctx, rows: Iterable[dict[str, Any]]) -> Listed:
    """Filter by the rows' own (upper-case) field names, page by 50, values as strings (legacy family)."""
    p = lower_keys(ctx.params)
    filt = as_map(p.get("filter")) or {}
    kept = lists.kept(rows, filt, empty=ctx.emu.settings.empty_array_filter)
    chunk, total, nxt = lists.page(kept, p.get("start"))
    return Listed([{k: None if v is None else str(v) for k, v in r.items()} for r in chunk], total, nxt)


@method("crm.requisite.list", scope="crm")
def requisite_list(ctx: Ctx) -> Listed:
    return _simple_list(ctx, sorted(ctx.portal.requisites.values(), key=lambda r: r["ID"]))


ADDRESS_FIELDS = (
    "ADDRESS_1",
    "ADDRESS_2",
    "CITY",
    "POSTAL_CODE",
    "REGION",
    "PROVINCE",
    "COUNTRY",
    "COUNTRY_CODE",
)


@method("crm.address.add", "crm.address.update", scope="crm")
def address_set(ctx: Ctx) -> bool:
    f = {str(k).upper(): v for k, v in (as_map(lower_keys(ctx.params).get("fields")) or {}).items()}
    try:
        key = (int(f["TYPE_ID"]), int(f["ENTITY_TYPE_ID"]), int(f["ENTITY_ID"]))
    except (KeyError, ValueError) as exc:
        raise ApiError("", "TYPE_ID, ENTITY_TYPE_ID and ENTITY_ID are required.") from exc
    if key[1] == 8 and key[2] not in ctx.portal.requisites:
        raise ApiError("", "Not found")
    current = ctx.portal.addresses.setdefault(
        key, {"TYPE_ID": str(key[0]), "ENTITY_TYPE_ID": str(key[1]), "ENTITY_ID": str(key[2])}
    )
    current.update({k: str(v) for k, v in f.items() if k in ADDRESS_FIELDS})
    return True


ADDRESS_ROW = ("TYPE_ID", "ENTITY_TYPE_ID", "ENTITY_ID", *ADDRESS_FIELDS, "LOC_ADDR_ID", "ANCHOR_TYPE_ID",
               "ANCHOR_ID")  # fmt: skip


@method("crm.address.list", scope="crm")
def address_list(ctx: Ctx) -> Listed:
    """All documented fields, unset ones null (docs: crm/requisites/addresses/crm-address-list.md)."""
    return _simple_list(ctx, ({k: a.get(k) for k in ADDRESS_ROW} for a in ctx.portal.addresses.values()))
