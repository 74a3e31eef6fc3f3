"""CRM REST methods: the legacy ``crm.deal|contact|company|lead|quote.*`` and the universal ``crm.item.*``
over one store, plus product rows, deal contacts, user fields, pipelines, timeline and duplicate search."""

from __future__ import annotations

import re
from typing import Any

from . import lists, render
from .errors import ApiError, not_found_legacy
from .fields import ENTITY_NAMES, LEGACY, MULTIFIELDS, SHORT_CODES, UF_ENTITY, camel
from .phpquery import as_list, as_map, lower_keys
from .registry import Ctx, Listed, method
from .store import UserField, _id

# -- legacy family --------------------------------------------------------------------------------------


def _fields_param(params: dict[str, Any], name: str = "fields") -> dict[str, Any]:
    value = lower_keys(params).get(name)
    m = as_map(value)
    if m is None:
        raise ApiError("", f"Parameter '{name}' must be array.")
    return {str(k).upper(): v for k, v in m.items()}


def _legacy(entity_type: int) -> None:
    name = ENTITY_NAMES[entity_type].lower()

    @method(f"crm.{name}.add", scope="crm")
    def add(ctx: Ctx) -> int:
        record = ctx.portal.store.add(entity_type, _fields_param(ctx.params), ctx.origin)
        return int(record["ID"])

    @method(f"crm.{name}.update", scope="crm")
    def update(ctx: Ctx) -> bool:
        p = lower_keys(ctx.params)
        ctx.portal.store.update(entity_type, p.get("id"), _fields_param(ctx.params), ctx.origin)
        return True

    @method(f"crm.{name}.get", scope="crm")
    def get(ctx: Ctx) -> dict[str, Any]:
        record = ctx.portal.store.get(entity_type, lower_keys(ctx.params).get("id"))
        return render.legacy(record, ctx.portal.store.fields(entity_type), ctx.portal.tz)

    @method(f"crm.{name}.delete", scope="crm")
    def delete(ctx: Ctx) -> bool:
        ctx.portal.store.delete(entity_type, lower_keys(ctx.params).get("id"), ctx.origin)
        return True

    @method(f"crm.{name}.fields", scope="crm")
    def fields(ctx: Ctx) -> dict[str, Any]:
        return {n: render.field_description(f) for n, f in ctx.portal.store.fields(entity_type).items()}

    @method(f"crm.{name}.list", scope="crm")
    def list_(ctx: Ctx) -> Listed:
        p = lower_keys(ctx.params)
        filt = p.get("filter") or {}
        if as_map(filt) is None:
            raise ApiError("", "Parameter 'filter' must be array.")
        order = as_map(p.get("order") or {}) or {}
        catalogue = ctx.portal.store.fields(entity_type)

        def resolve(n: str) -> str | None:
            n = n.upper()
            return n if n in catalogue else None

        rows = [
            r
            for r in ctx.portal.store.records[entity_type].values()
            if lists.matches(r, as_map(filt) or {}, resolve, empty=ctx.emu.settings.empty_array_filter)
        ]
        rows = lists.ordered(rows, {str(k): str(v) for k, v in order.items()}, resolve)
        chunk, total, nxt = lists.page(rows, p.get("start"))
        select = [str(s) for s in as_list(p.get("select"))]
        return Listed([render.legacy(r, catalogue, ctx.portal.tz, select) for r in chunk], total, nxt)

    for kind in ("add", "update", "get", "list", "delete"):
        _userfield(entity_type, name, kind)


UF_TYPES = {
    "string",
    "integer",
    "double",
    "boolean",
    "date",
    "datetime",
    "enumeration",
    "money",
    "url",
    "employee",
    "crm",
    "file",
    "address",
    "resourcebooking",
    "crm_status",
    "iblock_element",
}


def _uf_name(raw: Any) -> str:
    name = str(raw or "").strip().upper()
    if not name:
        raise ApiError("", "The 'FIELD_NAME' field is not found.")
    if name.startswith("UF_CRM_"):
        pass
    elif name.startswith("UF_"):
        name = "UF_CRM_" + name[3:]
    else:
        name = "UF_CRM_" + name
    if len(name) > 50:
        raise ApiError("ERROR_CORE", "Field name is too long (more than 50 characters).")
    if not re.fullmatch(r"[A-Z0-9_]+", name):
        raise ApiError(
            "ERROR_CORE",
            "Field name contains invalid characters. Only Latin letters, digits and underscore are allowed.",
        )
    return name


def _uf_out(uf: UserField) -> dict[str, Any]:
    return {
        "ID": str(uf.id),
        "ENTITY_ID": uf.entity_id,
        "FIELD_NAME": uf.field_name,
        "USER_TYPE_ID": uf.user_type_id,
        "XML_ID": uf.xml_id or None,
        "SORT": str(uf.sort),
        "MULTIPLE": "Y" if uf.multiple else "N",
        "MANDATORY": "Y" if uf.mandatory else "N",
        "SHOW_FILTER": "N",
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y",
        "IS_SEARCHABLE": "N",
        "SETTINGS": uf.settings or [],
        "EDIT_FORM_LABEL": uf.label,
        "LIST_COLUMN_LABEL": uf.label,
        "LIST_FILTER_LABEL": uf.label,
        "ERROR_MESSAGE": None,
        "HELP_MESSAGE": None,
        **({"LIST": uf.items} if uf.user_type_id == "enumeration" else {}),
    }


def _userfield(entity_type: int, name: str, kind: str) -> None:
    entity_id = UF_ENTITY[entity_type]

    def find(ctx: Ctx) -> UserField:
        rid = _id(lower_keys(ctx.params).get("id"))
        uf = next((u for u in ctx.portal.store.userfields if u.id == rid and u.entity_id == entity_id), None)
        if uf is None:
            raise not_found_legacy()
        return uf

    if kind == "add":

        @method(f"crm.{name}.userfield.add", scope="crm", admin=True)
        def add(ctx: Ctx) -> int:
            f = _fields_param(ctx.params)
            field_name = _uf_name(f.get("FIELD_NAME"))
            store = ctx.portal.store
            if any(u.field_name == field_name and u.entity_id == entity_id for u in store.userfields):
                raise ApiError("ERROR_CORE", f"A field with the name {field_name} already exists.")
            type_id = str(f.get("USER_TYPE_ID") or "string")
            if type_id not in UF_TYPES:
                raise ApiError("ERROR_CORE", f"Unknown user field type: {type_id}")
            label = f.get("EDIT_FORM_LABEL") or f.get("LABEL") or field_name
            if isinstance(label, dict):
                label = label.get("en") or next(iter(label.values()), field_name)
            uf = UserField(
                store.next_uf,
                entity_id,
                field_name,
                type_id,
                str(f.get("MULTIPLE", "N")) == "Y",
                str(f.get("MANDATORY", "N")) == "Y",
                str(label),
                as_map(f.get("SETTINGS")) or {},
                str(f.get("XML_ID") or ""),
                int(f.get("SORT") or 100),
            )
            for i, item in enumerate(as_list(f.get("LIST"))):
                if isinstance(item, dict):
                    uf.items.append(
                        {
                            "ID": str(1000 + i),
                            "VALUE": str(item.get("VALUE", "")),
                            "DEF": "N",
                            "SORT": str(item.get("SORT", (i + 1) * 10)),
                            "XML_ID": str(item.get("XML_ID", "")),
                        }
                    )
            store.next_uf += 1
            store.userfields.append(uf)
            return uf.id
    elif kind == "get":

        @method(f"crm.{name}.userfield.get", scope="crm")
        def get(ctx: Ctx) -> dict[str, Any]:
            return _uf_out(find(ctx))
    elif kind == "list":

        @method(f"crm.{name}.userfield.list", scope="crm")
        def list_(ctx: Ctx) -> Listed:
            """Pages by 50 with ``total`` (docs: crm/contacts/userfield/crm-contact-userfield-list.md)."""
            p = lower_keys(ctx.params)
            filt = as_map(p.get("filter")) or {}
            out = [_uf_out(u) for u in ctx.portal.store.userfields if u.entity_id == entity_id]
            kept = lists.kept(out, filt, empty=ctx.emu.settings.empty_array_filter)
            chunk, total, nxt = lists.page(kept, p.get("start"))
            return Listed(chunk, total, nxt)
    elif kind == "update":

        @method(f"crm.{name}.userfield.update", scope="crm", admin=True)
        def update(ctx: Ctx) -> bool:
            uf = find(ctx)
            f = _fields_param(ctx.params)
            if "EDIT_FORM_LABEL" in f or "LABEL" in f:
                label = f.get("EDIT_FORM_LABEL") or f.get("LABEL")
                uf.label = str(label.get("en") if isinstance(label, dict) else label)
            if "MANDATORY" in f:
                uf.mandatory = str(f["MANDATORY"]) == "Y"
            return True
    elif kind == "delete":

        @method(f"crm.{name}.userfield.delete", scope="crm", admin=True)
        def delete(ctx: Ctx) -> bool:
            uf = find(ctx)
            ctx.portal.store.userfields.remove(uf)
            for record in ctx.portal.store.records[entity_type].values():
                record.pop(uf.field_name, None)
            return True


for _t in LEGACY.values():
    _legacy(_t)


@method("crm.deal.productrows.get", scope="crm")
def deal_rows_get(ctx: Ctx) -> list[dict[str, Any]]:
    record = ctx.portal.store.get(2, lower_keys(ctx.params).get("id"))
    return [_legacy_row(r) for r in ctx.portal.store.rows.get(("D", record["ID"]), [])]


@method("crm.deal.productrows.set", scope="crm")
def deal_rows_set(ctx: Ctx) -> bool:
    p = lower_keys(ctx.params)
    record = ctx.portal.store.get(2, p.get("id"))
    rows = [r for r in as_list(p.get("rows")) if isinstance(r, dict)]
    ctx.portal.store.set_rows("D", record["ID"], rows, ctx.origin)
    return True


def _legacy_row(r: dict[str, Any]) -> dict[str, Any]:
    """Mixed types, as the real ``crm.deal.productrows.get`` answers (§8.5)."""
    return {
        "ID": str(r["ID"]),
        "OWNER_ID": str(r["OWNER_ID"]),
        "OWNER_TYPE": r["OWNER_TYPE"],
        "PRODUCT_ID": r["PRODUCT_ID"],
        "PRODUCT_NAME": r["PRODUCT_NAME"],
        "ORIGINAL_PRODUCT_NAME": r["PRODUCT_NAME"],
        "PRODUCT_DESCRIPTION": "",
        "PRICE": float(r["PRICE"]),
        "PRICE_EXCLUSIVE": float(r["PRICE_EXCLUSIVE"]),
        "PRICE_NETTO": float(r["PRICE_NETTO"]),
        "PRICE_BRUTTO": float(r["PRICE_BRUTTO"]),
        "PRICE_ACCOUNT": f"{r['PRICE']:.2f}",
        "QUANTITY": float(r["QUANTITY"]),
        "DISCOUNT_TYPE_ID": r["DISCOUNT_TYPE_ID"],
        "DISCOUNT_RATE": float(r["DISCOUNT_RATE"]),
        "DISCOUNT_SUM": float(r["DISCOUNT_SUM"]),
        "TAX_RATE": float(r["TAX_RATE"]) if r["TAX_RATE"] is not None else None,
        "TAX_INCLUDED": r["TAX_INCLUDED"],
        "CUSTOMIZED": r["CUSTOMIZED"],
        "MEASURE_CODE": r["MEASURE_CODE"],
        "MEASURE_NAME": r["MEASURE_NAME"],
        "SORT": r["SORT"],
        "XML_ID": None,
        "TYPE": r["TYPE"],
        "STORE_ID": None,
        "RESERVE_ID": None,
        "DATE_RESERVE_END": None,
        "RESERVE_QUANTITY": None,
    }


def _item_row(r: dict[str, Any]) -> dict[str, Any]:
    out = {
        camel(k): v
        for k, v in _legacy_row(r).items()
        if k not in ("ORIGINAL_PRODUCT_NAME", "PRODUCT_DESCRIPTION")
    }
    out["id"], out["ownerId"] = r["ID"], r["OWNER_ID"]
    return out


@method("crm.deal.contact.items.get", scope="crm")
def deal_contacts_get(ctx: Ctx) -> list[dict[str, Any]]:
    record = ctx.portal.store.get(2, lower_keys(ctx.params).get("id"))
    return [dict(c) for c in ctx.portal.store.deal_contacts.get(record["ID"], [])]


@method("crm.deal.contact.items.set", scope="crm")
def deal_contacts_set(ctx: Ctx) -> bool:
    p = lower_keys(ctx.params)
    record = ctx.portal.store.get(2, p.get("id"))
    items = [
        {str(k).upper(): v for k, v in i.items()} for i in as_list(p.get("items")) if isinstance(i, dict)
    ]
    ids = [_id(i.get("CONTACT_ID")) for i in items]
    for cid in ids:
        ctx.portal.store.get(3, cid)
    ctx.portal.store.update(2, record["ID"], {"CONTACT_IDS": ids}, ctx.origin)
    primary = next((i for i, it in enumerate(items) if str(it.get("IS_PRIMARY", "N")) == "Y"), 0)
    ctx.portal.store.deal_contacts[record["ID"]] = [
        {
            "CONTACT_ID": cid,
            "SORT": int(items[i].get("SORT") or (i + 1) * 10),
            "ROLE_ID": 0,
            "IS_PRIMARY": "Y" if i == primary else "N",
        }
        for i, cid in enumerate(ids)
    ]
    return True


@method("crm.deal.contact.items.delete", scope="crm")
def deal_contacts_delete(ctx: Ctx) -> bool:
    record = ctx.portal.store.get(2, lower_keys(ctx.params).get("id"))
    ctx.portal.store.update(2, record["ID"], {"CONTACT_IDS": []}, ctx.origin)
    ctx.portal.store.deal_contacts[record["ID"]] = []
    return True


# -- crm.item family ------------------------------------------------------------------------------------


def _entity_type(ctx: Ctx) -> int:
    raw = ctx.params.get("entityTypeId")
    try:
        t = int(str(raw))
    except ValueError as exc:
        raise ApiError("NOT_FOUND", "Smart process not found", 400) from exc
    if t == 5:
        raise ApiError("ENTITY_TYPE_NOT_SUPPORTED", "Entity type INVOICE is not supported", 400)
    if t not in ENTITY_NAMES:
        raise ApiError("NOT_FOUND", "Smart process not found", 400)
    return t


def _original(ctx: Ctx) -> bool:
    return str(ctx.params.get("useOriginalUfNames", "N")).upper() in ("Y", "1", "TRUE")


def _upper_fields(ctx: Ctx, entity_type: int, raw: Any) -> dict[str, Any]:
    """camelCase (or original UF) input → store names; ``fm`` → legacy multifield operations."""
    catalogue = ctx.portal.store.fields(entity_type)
    by_camel = {camel(n): n for n in catalogue}
    out: dict[str, Any] = {}
    for key, value in (as_map(raw) or {}).items():
        if key == "fm":
            _fm(ctx, entity_type, value, out)
            continue
        name = key if key in catalogue and (key.startswith("UF_") or _original(ctx)) else by_camel.get(key)
        if name is not None:
            out[name] = value
    return out


def _fm(ctx: Ctx, entity_type: int, value: Any, out: dict[str, Any]) -> None:
    """``fm`` write (§8.4): ``n0`` keys add, an existing id updates, an existing id with "" deletes."""
    for key, item in (as_map(value) or {}).items():
        if not isinstance(item, dict):
            continue
        type_id = str(item.get("typeId") or "PHONE").upper()
        if type_id not in MULTIFIELDS:
            continue
        entry: dict[str, Any] = {
            "VALUE": item.get("value", ""),
            "VALUE_TYPE": item.get("valueType") or "WORK",
        }
        if not str(key).startswith("n"):
            entry["ID"] = key
        out.setdefault(type_id, []).append(entry)


def _render_item(
    ctx: Ctx, entity_type: int, record: dict[str, Any], select: list[str] | None = None
) -> dict[str, Any]:
    return render.item(
        record,
        ctx.portal.store.fields(entity_type),
        ctx.portal.tz,
        select,
        original_uf=_original(ctx),
        entity_type_id=entity_type,
    )


def _get_item(ctx: Ctx, entity_type: int) -> dict[str, Any]:
    try:
        return ctx.portal.store.get(entity_type, ctx.params.get("id"))
    except ApiError as exc:
        raise ApiError("NOT_FOUND", "Item not found", 400) from exc


@method("crm.item.add", scope="crm")
def item_add(ctx: Ctx) -> dict[str, Any]:
    t = _entity_type(ctx)
    record = ctx.portal.store.add(t, _upper_fields(ctx, t, ctx.params.get("fields")), ctx.origin)
    return {"item": _render_item(ctx, t, record)}


@method("crm.item.update", scope="crm")
def item_update(ctx: Ctx) -> dict[str, Any]:
    t = _entity_type(ctx)
    record = _get_item(ctx, t)
    ctx.portal.store.update(
        t, record["ID"], _upper_fields(ctx, t, ctx.params.get("fields")), ctx.origin, allow_category=True
    )
    return {"item": _render_item(ctx, t, record)}


@method("crm.item.get", scope="crm")
def item_get(ctx: Ctx) -> dict[str, Any]:
    t = _entity_type(ctx)
    return {"item": _render_item(ctx, t, _get_item(ctx, t))}


@method("crm.item.delete", scope="crm")
def item_delete(ctx: Ctx) -> list[Any]:
    t = _entity_type(ctx)
    record = _get_item(ctx, t)
    ctx.portal.store.delete(t, record["ID"], ctx.origin)
    return []


@method("crm.item.fields", scope="crm")
def item_fields(ctx: Ctx) -> dict[str, Any]:
    t = _entity_type(ctx)
    fields = ctx.portal.store.fields(t)
    return {
        "fields": {
            (n if _original(ctx) and n.startswith("UF_") else camel(n)): render.field_description(
                f, item_style=True
            )
            for n, f in fields.items()
        }
    }


@method("crm.item.list", scope="crm")
def item_list(ctx: Ctx) -> Listed:
    t = _entity_type(ctx)
    catalogue = ctx.portal.store.fields(t)
    by_camel = {camel(n): n for n in catalogue}

    def resolve(name: str) -> str | None:
        found = by_camel.get(name) or (name if name in catalogue and name.startswith("UF_") else None)
        if found is None:
            raise ApiError(
                "INVALID_ARG_VALUE", f"Invalid filter: field '{name}' is not allowed in filter", 400
            )
        return found

    def resolve_order(name: str) -> str | None:
        found = by_camel.get(name) or (name if name in catalogue else None)
        if found is None:
            raise ApiError("INVALID_ARG_VALUE", f"Invalid order: field '{name}' is not allowed in order", 400)
        return found

    filt = as_map(ctx.params.get("filter") or {}) or {}
    order = as_map(ctx.params.get("order") or {}) or {}
    lists.check_order_direction(order)
    records = ctx.portal.store.records[t].values()
    rows = [
        r
        for r in records
        if lists.matches(
            _bools(r, catalogue), filt, resolve, groups=True, empty=ctx.emu.settings.empty_array_filter
        )
    ]
    rows = lists.ordered(rows, {str(k): str(v) for k, v in order.items()}, resolve_order)
    chunk, total, nxt = lists.page(rows, ctx.params.get("start"))
    select = [str(s) for s in as_list(ctx.params.get("select"))] or ["*"]
    return Listed({"items": [_render_item(ctx, t, r, select) for r in chunk]}, total, nxt)


def _bools(record: dict[str, Any], catalogue: dict[str, Any]) -> dict[str, Any]:
    """Boolean fields filter as 1/0 in crm.item (§7.3)."""
    out = dict(record)
    for n, f in catalogue.items():
        if f.type in ("char", "boolean") and out.get(n) in ("Y", "N"):
            out[n] = 1 if out[n] == "Y" else 0
    return out


def _owner(ctx: Ctx, params: dict[str, Any]) -> tuple[str, int]:
    owner_type = str(params.get("ownerType") or params.get("=ownerType") or "")
    owner_id = params.get("ownerId") or params.get("=ownerId")
    if owner_type not in SHORT_CODES.values() or owner_id in (None, ""):
        raise ApiError("INVALID_ARG_VALUE", "Filter fields =ownerType and =ownerId are required", 400)
    t = next(k for k, v in SHORT_CODES.items() if v == owner_type)
    try:
        record = ctx.portal.store.get(t, owner_id)
    except ApiError as exc:
        raise ApiError("NOT_FOUND", "Owner not found", 400) from exc
    return owner_type, record["ID"]


@method("crm.item.productrow.list", scope="crm")
def item_rows_list(ctx: Ctx) -> Listed:
    owner, oid = _owner(ctx, as_map(ctx.params.get("filter")) or {})
    rows = ctx.portal.store.rows.get((owner, oid), [])
    return Listed({"productRows": [_item_row(r) for r in rows]}, len(rows))


@method("crm.item.productrow.set", scope="crm")
def item_rows_set(ctx: Ctx) -> dict[str, Any]:
    owner, oid = _owner(ctx, ctx.params)
    rows = []
    for r in as_list(ctx.params.get("productRows")):
        if isinstance(r, dict):
            rows.append({re.sub(r"(?<!^)(?=[A-Z])", "_", k).upper(): v for k, v in r.items()})
    made = ctx.portal.store.set_rows(owner, oid, rows, ctx.origin)
    return {"productRows": [_item_row(r) for r in made]}


# -- pipelines, statuses, timeline, duplicates, currencies ---------------------------------------------


@method("crm.category.list", scope="crm")
def category_list(ctx: Ctx) -> Listed:
    """``{"categories": […]}``, 50 a page (docs: crm/universal/category/crm-category-list.md)."""
    t = _entity_type(ctx)
    cats = [c for c in ctx.portal.store.categories if c.entity_type_id == t]
    out = [
        {
            "id": c.id,
            "name": c.name,
            "sort": c.sort,
            "entityTypeId": c.entity_type_id,
            "isDefault": "Y" if c.is_default else "N",
            "originId": "",
            "originatorId": "",
        }
        for c in sorted(cats, key=lambda c: (c.sort, c.id))
    ]
    chunk, total, nxt = lists.page(out, ctx.params.get("start"))
    return Listed({"categories": chunk}, total, nxt)


@method("crm.status.list", scope="crm")
def status_list(ctx: Ctx) -> Listed:
    """Pages by 50 with ``total`` and ``next`` like every list (docs: crm/status/crm-status-list.md)."""
    p = lower_keys(ctx.params)
    filt = {str(k).upper(): v for k, v in (as_map(p.get("filter")) or {}).items()}
    rows = [
        {
            "ID": s.id,
            "ENTITY_ID": s.entity_id,
            "STATUS_ID": s.status_id,
            "NAME": s.name,
            "NAME_INIT": s.name,
            "SORT": s.sort,
            "SYSTEM": "Y" if s.semantics else "N",
            "CATEGORY_ID": s.category_id,
            "COLOR": s.color,
            "SEMANTICS": s.semantics,
            "EXTRA": {
                "SEMANTICS": {"S": "success", "F": "failure"}.get(s.semantics or "", "process"),
                "COLOR": s.color,
            },
        }
        for s in ctx.portal.store.statuses
    ]
    rows = lists.kept(rows, filt, empty=ctx.emu.settings.empty_array_filter)
    sortable = ("ID", "SORT", "ENTITY_ID", "STATUS_ID", "NAME")
    order = {str(k).upper(): str(v) for k, v in (as_map(p.get("order")) or {}).items()}
    rows = lists.ordered(rows, order, lambda n: n if n in sortable else None)
    out = [r | {k: None if r[k] is None else str(r[k]) for k in ("ID", "SORT", "CATEGORY_ID")} for r in rows]
    chunk, total, nxt = lists.page(out, p.get("start"))
    return Listed(chunk, total, nxt)


@method("crm.timeline.comment.add", scope="crm")
def comment_add(ctx: Ctx) -> int:
    fields = ctx.params.get("fields")  # lowercase only since crm 23.100.0 (§8.3)
    f = {str(k).upper(): v for k, v in (as_map(fields) or {}).items()}
    if not f:
        raise ApiError("", "Parameter 'fields' must be array.")
    kinds = {"deal": 2, "contact": 3, "company": 4, "lead": 1, "quote": 7, "dynamic_31": 31}
    t = kinds.get(str(f.get("ENTITY_TYPE", "")).lower())
    if t is None:
        raise ApiError("INVALID_ARG_VALUE", "Invalid entity type", 400)
    try:
        ctx.portal.store.get(t, f.get("ENTITY_ID"))
    except ApiError as exc:
        raise ApiError("OWNER_NOT_FOUND", "Owner not found", 400) from exc
    if not str(f.get("COMMENT") or "").strip():
        raise ApiError("INVALID_ARG_VALUE", "Empty comment", 400)
    store = ctx.portal.store
    cid = len(store.comments) + 1
    store.comments.append(
        {
            "ID": cid,
            "ENTITY_TYPE_ID": t,
            "ENTITY_ID": int(f["ENTITY_ID"]),
            "COMMENT": str(f["COMMENT"]),
            "AUTHOR_ID": ctx.user.id,
            "CREATED": ctx.portal.now(),
        }
    )
    return cid


@method("crm.timeline.comment.list", scope="crm")
def comment_list(ctx: Ctx) -> Listed:
    """``filter`` must name ``ENTITY_ID`` and ``ENTITY_TYPE``; ``order`` by ``ID``/``CREATED``/``AUTHOR_ID``;
    50 a page (``api-reference/crm/timeline/comments/crm-timeline-comment-list.md``)."""
    filt = {str(k).upper(): v for k, v in (as_map(ctx.params.get("filter")) or {}).items()}
    kinds = {"deal": 2, "contact": 3, "company": 4, "lead": 1, "quote": 7, "dynamic_31": 31}
    t = kinds.get(str(filt.get("ENTITY_TYPE", "")).lower())
    if t is None or not str(filt.get("ENTITY_ID") or "").isdigit():
        # UNCONFIRMED: code and text are ours — the method's page lists only "Access denied" (code "")
        raise ApiError("INVALID_ARG_VALUE", "ENTITY_ID and ENTITY_TYPE are required in filter", 400)
    rows = [c for c in ctx.portal.store.comments
            if c["ENTITY_TYPE_ID"] == t and c["ENTITY_ID"] == int(filt["ENTITY_ID"])]  # fmt: skip
    order = {str(k).upper(): str(v).upper() for k, v in (as_map(ctx.params.get("order")) or {}).items()}
    for name in reversed(list(order)):
        if name not in ("ID", "CREATED", "AUTHOR_ID"):
            raise ApiError("INVALID_ARG_VALUE", f"Invalid order field {name}", 400)
    rows = lists.ordered(rows, order, lambda n: n)
    chunk, total, nxt = lists.page(rows, ctx.params.get("start"))
    select = [str(x).upper() for x in as_list(ctx.params.get("select"))]
    names = {"ENTITY_TYPE_ID": "ENTITY_TYPE"}
    out = []
    for c in chunk:
        row = {names.get(k, k): str(v) if k in ("ID", "ENTITY_ID", "AUTHOR_ID") else v for k, v in c.items()}
        row["ENTITY_TYPE"] = next(k for k, v in kinds.items() if v == t)
        created = row["CREATED"]
        row["CREATED"] = created.isoformat() if hasattr(created, "isoformat") else str(created)
        out.append({k: v for k, v in row.items() if not select or k in select})
    return Listed(out, total, nxt)


def normalise_phone(value: str) -> str:
    value = re.split(r"(?i)\s*(?:ext\.?|x|#)\s*\d+$", value.strip())[0]
    return re.sub(r"\D", "", value)


@method("crm.duplicate.findbycomm", scope="crm")
def find_by_comm(ctx: Ctx) -> Any:
    p = lower_keys(ctx.params)
    kind = str(p.get("type") or "").upper()
    values = [str(v) for v in as_list(p.get("values"))]
    if kind not in ("PHONE", "EMAIL") or not values:
        raise ApiError("", "Parameter 'type' or 'values' is not defined.")
    if len(values) > 20:
        raise ApiError("", "Too many values (maximum 20).")
    entity = str(p.get("entity_type") or "").upper()
    wanted = {normalise_phone(v) if kind == "PHONE" else v.strip().casefold() for v in values}
    out: dict[str, list[int]] = {}
    for t, name in ((1, "LEAD"), (3, "CONTACT"), (4, "COMPANY")):
        if entity and entity != name:
            continue
        for r in ctx.portal.store.records[t].values():
            for m in r.get(kind) or []:
                v = normalise_phone(m["VALUE"]) if kind == "PHONE" else m["VALUE"].strip().casefold()
                if v in wanted:
                    out.setdefault(name, []).append(r["ID"])
                    break
    return out or []


@method("crm.currency.list", scope="crm")
def currency_list(ctx: Ctx) -> Listed:
    """A list with ``total``, 50 a page (docs: crm/currency/crm-currency-list.md)."""
    rows = [
        {
            "CURRENCY": c,
            "AMOUNT_CNT": 1,
            "AMOUNT": "1.0000",
            "SORT": str((i + 1) * 100),
            "BASE": "Y" if i == 0 else "N",
            "FULL_NAME": c,
            "LID": "en",
        }
        for i, c in enumerate(ctx.portal.store.currencies)
    ]
    chunk, total, nxt = lists.page(rows, lower_keys(ctx.params).get("start"))
    return Listed(chunk, total, nxt)


ACTIVITY_FIELDS = (
    "ID", "OWNER_TYPE_ID", "OWNER_ID", "TYPE_ID", "SUBJECT", "DESCRIPTION", "COMPLETED", "RESPONSIBLE_ID",
    "CREATED", "DEADLINE",
)  # fmt: skip


def _activity_out(row: dict[str, Any], select: list[str], tz: Any) -> dict[str, Any]:
    keep = [f for f in ACTIVITY_FIELDS if not select or "*" in select or f in select]
    # the legacy family: scalars as strings, dates as ISO with the portal's offset
    return {f: render.legacy_value(None, row.get(f), tz) for f in keep}


@method("crm.activity.list", scope="crm")
def activity_list(ctx: Ctx) -> Listed:
    p = lower_keys(ctx.params)
    filt = as_map(p.get("filter") or {})
    if filt is None:
        raise ApiError("", "Parameter 'filter' must be array.")
    order = as_map(p.get("order") or {}) or {}

    def resolve(n: str) -> str | None:
        return n.upper() if n.upper() in ACTIVITY_FIELDS else None

    rows = [
        r
        for r in ctx.portal.store.activities.values()
        if lists.matches(r, filt, resolve, empty=ctx.emu.settings.empty_array_filter)
    ]
    rows = lists.ordered(rows, {str(k): str(v) for k, v in order.items()}, resolve)
    chunk, total, nxt = lists.page(rows, p.get("start"))
    select = [str(s).upper() for s in as_list(p.get("select"))]
    return Listed([_activity_out(r, select, ctx.portal.tz) for r in chunk], total, nxt)


@method("crm.activity.get", scope="crm")
def activity_get(ctx: Ctx) -> dict[str, Any]:
    row = ctx.portal.store.activities.get(_id(lower_keys(ctx.params).get("id")))
    if row is None:
        raise ApiError("", "Not found", 400)
    return _activity_out(row, [], ctx.portal.tz)
