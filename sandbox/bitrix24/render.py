"""Store values as each API family shows them: legacy strings, ``crm.item`` typed camelCase (§8.3, §8.8)."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from .fields import MULTIFIELDS, Field, camel


def _date(value: date, tz: tzinfo) -> str:
    return datetime.combine(value, time(0), tz).isoformat()


def legacy_value(spec: Field | None, value: Any, tz: tzinfo) -> Any:
    if value is None:
        return None
    if spec is not None and spec.type == "crm_multifield":
        return [
            {"ID": str(m["ID"]), "VALUE_TYPE": m["VALUE_TYPE"], "VALUE": m["VALUE"], "TYPE_ID": m["TYPE_ID"]}
            for m in value
        ]
    if isinstance(value, list):
        return [legacy_value(None, v, tz) for v in value]
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return _date(value, tz)
    return value


def item_value(spec: Field | None, value: Any, tz: tzinfo) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [item_value(None, v, tz) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return _date(value, tz)
    return value


def legacy(
    record: dict[str, Any], catalogue: dict[str, Field], tz: tzinfo, select: list[str] | None = None
) -> dict[str, Any]:
    """A record for ``crm.*.get``/``.list``; ``select`` semantics of §7.4 (None: everything, as ``get``)."""
    names = _legacy_select(catalogue, select)
    return {n: legacy_value(catalogue[n], record.get(n), tz) for n in names}


def _legacy_select(catalogue: dict[str, Field], select: list[str] | None) -> list[str]:
    if select is None:
        return list(catalogue)
    wanted: list[str] = []
    sel = [str(s).upper() for s in select] or ["*", "UF_*"]
    for s in sel:
        if s == "*":
            wanted += [n for n, f in catalogue.items() if not n.startswith("UF_") and not f.multiple]
        elif s == "UF_*":
            wanted += [n for n, f in catalogue.items() if n.startswith("UF_") and not f.multiple]
        elif s in catalogue:
            wanted.append(s)
    if "ID" not in wanted and "ID" in catalogue:
        wanted.insert(0, "ID")
    return list(dict.fromkeys(wanted))


def item(
    record: dict[str, Any],
    catalogue: dict[str, Field],
    tz: tzinfo,
    select: list[str] | None = None,
    *,
    original_uf: bool = False,
    entity_type_id: int | None = None,
) -> dict[str, Any]:
    names = [
        n
        for n in catalogue
        if n not in MULTIFIELDS and n not in ("HAS_PHONE", "HAS_EMAIL") or n in ("HAS_PHONE", "HAS_EMAIL")
    ]
    star = select is None or "*" in select
    out: dict[str, Any] = {}
    for n in names:
        if n in MULTIFIELDS:
            continue
        key = n if (original_uf and n.startswith("UF_")) else camel(n)
        if not star and select is not None and key not in select and n not in select:
            continue
        out[key] = item_value(catalogue[n], record.get(n), tz)
    if entity_type_id is not None and star:
        out["entityTypeId"] = entity_type_id
    if star and any(m in catalogue for m in MULTIFIELDS):
        out["fm"] = [
            {"id": m["ID"], "typeId": m["TYPE_ID"], "valueType": m["VALUE_TYPE"], "value": m["VALUE"]}
            for n in MULTIFIELDS
            for m in record.get(n) or []
        ]
    return out


def field_description(f: Field, *, item_style: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": f.type,
        "isRequired": f.required,
        "isReadOnly": f.read_only,
        "isImmutable": f.immutable,
        "isMultiple": f.multiple,
        "isDynamic": f.name.startswith("UF_"),
        "title": f.title or f.name,
    }
    if f.name.startswith("UF_"):
        out.update(listLabel=f.title, formLabel=f.title, filterLabel=f.title)
    if item_style:
        out["upperName"] = f.name
    return out
