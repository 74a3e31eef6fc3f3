"""One portal's CRM data behind both API families: records, multifields, product rows, deal contacts, UFs.

Values are kept typed (int, Decimal, str, date, datetime, lists); the API modules render them as each
family does. Every change is reported to ``on_change(event, fields, origin)`` so events fire for changes
the app itself made through REST too (§4.2).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import ApiError, not_found_legacy
from .fields import CATALOGUE, ENTITY_NAMES, MULTIFIELDS, SHORT_CODES, UF_ENTITY, VALUE_TYPES, Field, by_name

CENT = Decimal("0.01")
Change = Callable[[str, dict[str, Any], "Origin"], None]


@dataclass(frozen=True)
class Origin:
    """Who made a change: a user (with their app, if through REST) or an automation without a user."""

    user_id: int | None
    client_id: str | None = None
    auth_connector: str | None = None


@dataclass
class UserField:
    id: int
    entity_id: str  # CRM_DEAL, …
    field_name: str
    user_type_id: str
    multiple: bool = False
    mandatory: bool = False
    label: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    xml_id: str = ""
    sort: int = 100
    items: list[dict[str, Any]] = field(default_factory=list)  # enumeration values


@dataclass
class Category:
    id: int
    entity_type_id: int
    name: str
    sort: int
    is_default: bool = False


@dataclass
class Status:
    id: int
    entity_id: str  # DEAL_STAGE, DEAL_STAGE_1, SMART_INVOICE_STAGE_3, DEAL_TYPE, …
    status_id: str
    name: str
    sort: int
    semantics: str | None = None  # None (process) | "S" | "F"
    category_id: int | None = None
    color: str = "#39A8EF"


class Store:
    def __init__(self, now: Callable[[], datetime], on_change: Change | None = None) -> None:
        self.now = now
        self.on_change: Change = on_change or (lambda e, f, o: None)
        self.records: dict[int, dict[int, dict[str, Any]]] = {t: {} for t in CATALOGUE}
        self.next_id: dict[int, int] = {t: 1 for t in CATALOGUE}
        self.next_multifield = 1
        self.rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.next_row = 1
        self.deal_contacts: dict[int, list[dict[str, Any]]] = {}
        self.userfields: list[UserField] = []
        self.next_uf = 1
        self.categories: list[Category] = [Category(0, 2, "General", 300, True)]
        self.statuses: list[Status] = []
        self.next_status = 1
        self.comments: list[dict[str, Any]] = []
        self.activities: dict[int, dict[str, Any]] = {}  # calls, meetings, e-mails (crm.activity.list)
        self.currencies = ["USD", "EUR", "RUB"]

    # -- catalogue -------------------------------------------------------------------------------------

    def fields(self, entity_type: int) -> dict[str, Field]:
        out = by_name(entity_type)
        for uf in self.userfields:
            if uf.entity_id == UF_ENTITY[entity_type]:
                out[uf.field_name] = Field(
                    uf.field_name, uf.user_type_id, multiple=uf.multiple, title=uf.label
                )
        return out

    def add_status(
        self,
        entity_id: str,
        status_id: str,
        name: str,
        sort: int,
        semantics: str | None = None,
        category_id: int | None = None,
    ) -> Status:
        s = Status(self.next_status, entity_id, status_id, name, sort, semantics, category_id)
        self.next_status += 1
        self.statuses.append(s)
        return s

    def stage_entity(self, entity_type: int, category_id: int) -> str:
        if entity_type == 2:
            return "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"
        if entity_type == 31:
            return f"SMART_INVOICE_STAGE_{category_id}"
        if entity_type == 7:
            return "QUOTE_STATUS"
        return "STATUS"

    def stages(self, entity_type: int, category_id: int) -> list[Status]:
        ent = self.stage_entity(entity_type, category_id)
        return sorted((s for s in self.statuses if s.entity_id == ent), key=lambda s: s.sort)

    # -- records ----------------------------------------------------------------------------------------

    def get(self, entity_type: int, rid: Any) -> dict[str, Any]:
        record = self.records[entity_type].get(_id(rid))
        if record is None:
            raise not_found_legacy()
        return record

    def add(self, entity_type: int, values: dict[str, Any], origin: Origin) -> dict[str, Any]:
        catalogue = self.fields(entity_type)
        now = self.now()
        rid = self.next_id[entity_type]
        record: dict[str, Any] = {
            "ID": rid,
            "DATE_CREATE": now,
            "DATE_MODIFY": now,
            "CREATED_BY_ID": origin.user_id or 0,
            "MODIFY_BY_ID": origin.user_id or 0,
            "ASSIGNED_BY_ID": origin.user_id or 1,
            "OPENED": "Y",
        }
        for name in MULTIFIELDS:
            if name in catalogue:
                record[name] = []
        if "CURRENCY_ID" in catalogue:
            record["CURRENCY_ID"] = "USD"
            record["OPPORTUNITY"] = Decimal("0.00")
            record["IS_MANUAL_OPPORTUNITY"] = "N"
            record["TAX_VALUE"] = Decimal("0.00")
        if "CATEGORY_ID" in catalogue:
            record["CATEGORY_ID"] = 0
        if "CONTACT_IDS" in catalogue:
            record["CONTACT_IDS"] = []
        if "COMPANY_IDS" in catalogue:
            record["COMPANY_IDS"] = []
        self._write(entity_type, record, values, catalogue, creating=True)
        if "STAGE_ID" in catalogue and not record.get("STAGE_ID"):
            stages = self.stages(entity_type, record.get("CATEGORY_ID") or 0)
            record["STAGE_ID"] = stages[0].status_id if stages else "NEW"
        if entity_type == 1 and not record.get("STATUS_ID"):
            record["STATUS_ID"] = "NEW"
        self._derive(entity_type, record)
        self.next_id[entity_type] = rid + 1
        self.records[entity_type][rid] = record
        self._fire(entity_type, "ADD", record, origin)
        return record

    def update(
        self,
        entity_type: int,
        rid: Any,
        values: dict[str, Any],
        origin: Origin,
        *,
        allow_category: bool = False,
    ) -> dict[str, Any]:
        record = self.get(entity_type, rid)
        catalogue = self.fields(entity_type)
        if not allow_category:
            values = {k: v for k, v in values.items() if k != "CATEGORY_ID"}  # immutable in crm.deal.update
        old_category = record.get("CATEGORY_ID")
        before = copy.deepcopy(record)  # multifield items are changed in place (modify by ID, §8.4)
        self._write(entity_type, record, values, catalogue, creating=False)
        moved = "CATEGORY_ID" in catalogue and record.get("CATEGORY_ID") != old_category
        if moved and "STAGE_ID" not in values:
            stages = self.stages(entity_type, record["CATEGORY_ID"])
            record["STAGE_ID"] = stages[0].status_id if stages else "NEW"
        self._derive(entity_type, record)
        if record == before:
            return record  # nothing changed: no modification, no event
        record["DATE_MODIFY"] = self.now()
        record["MODIFY_BY_ID"] = origin.user_id or 0
        if moved and entity_type == 2:
            self.on_change(
                "ONCRMDEALMOVETOCATEGORY",
                {"ID": record["ID"], "CATEGORY_ID": record["CATEGORY_ID"], "STAGE_ID": record["STAGE_ID"]},
                origin,
            )
        else:
            self._fire(entity_type, "UPDATE", record, origin)
        return record

    def delete(self, entity_type: int, rid: Any, origin: Origin) -> None:
        record = self.get(entity_type, rid)
        del self.records[entity_type][record["ID"]]
        self.rows.pop((SHORT_CODES[entity_type], record["ID"]), None)
        self._fire(entity_type, "DELETE", record, origin)

    def _fire(self, entity_type: int, action: str, record: dict[str, Any], origin: Origin) -> None:
        if entity_type == 31:
            self.on_change(f"ONCRMDYNAMICITEM{action}", {"ID": record["ID"], "ENTITY_TYPE_ID": 31}, origin)
        else:
            self.on_change(f"ONCRM{ENTITY_NAMES[entity_type]}{action}", {"ID": record["ID"]}, origin)

    def _write(
        self,
        entity_type: int,
        record: dict[str, Any],
        values: dict[str, Any],
        catalogue: dict[str, Field],
        *,
        creating: bool,
    ) -> None:
        for name, raw in values.items():
            spec = catalogue.get(name)
            if spec is None or (spec.read_only and name not in ("ID",)):
                continue  # unknown and read-only fields are silently ignored (§8.3)
            if name == "ID":
                continue
            if spec.type == "crm_multifield":
                self._multifield(record, name, raw)
            elif name in ("CONTACT_IDS", "COMPANY_IDS"):
                record[name] = [_id(v) for v in _items(raw) if str(v).strip() not in ("", "0")]
                if name == "CONTACT_IDS":
                    record["CONTACT_ID"] = record[name][0] if record[name] else None
            else:
                record[name] = _coerce(spec, raw)
                if name == "CONTACT_ID" and "CONTACT_IDS" in catalogue and record[name]:
                    ids = record.get("CONTACT_IDS") or []
                    if record[name] not in ids:
                        record["CONTACT_IDS"] = [record[name], *ids]
        if entity_type == 2 and "CONTACT_IDS" in values:
            self.deal_contacts[record["ID"]] = [
                {"CONTACT_ID": c, "SORT": (i + 1) * 10, "ROLE_ID": 0, "IS_PRIMARY": "Y" if i == 0 else "N"}
                for i, c in enumerate(record["CONTACT_IDS"])
            ]

    def _multifield(self, record: dict[str, Any], name: str, raw: Any) -> None:
        """Legacy writes (§8.4): no ID appends; ID+VALUE modifies; ID with DELETE/empty VALUE deletes."""
        current: list[dict[str, Any]] = record.setdefault(name, [])
        for item in _items(raw):
            if not isinstance(item, dict):
                continue
            item = {str(k).upper(): v for k, v in item.items()}
            mid = item.get("ID")
            if mid not in (None, ""):
                existing = next((m for m in current if m["ID"] == _id(mid)), None)
                if existing is None:
                    continue
                if item.get("DELETE") == "Y" or not str(item.get("VALUE") or "").strip():
                    current.remove(existing)
                else:
                    existing["VALUE"] = str(item["VALUE"])
                    if item.get("VALUE_TYPE"):
                        existing["VALUE_TYPE"] = self._value_type(name, item["VALUE_TYPE"])
                continue
            value = str(item.get("VALUE") or "").strip()
            if not value:
                continue
            if name == "EMAIL" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ApiError("ERROR_CORE", "The field Work e-mail contains an invalid address<br>")
            current.append(
                {
                    "ID": self.next_multifield,
                    "TYPE_ID": name,
                    "VALUE_TYPE": self._value_type(name, item.get("VALUE_TYPE") or "WORK"),
                    "VALUE": value,
                }
            )
            self.next_multifield += 1

    def _value_type(self, name: str, value: Any) -> str:
        v = str(value).upper()
        return v if v in VALUE_TYPES[name] else "OTHER"

    def _derive(self, entity_type: int, record: dict[str, Any]) -> None:
        if "PHONE" in record:
            record["HAS_PHONE"] = "Y" if record["PHONE"] else "N"
        if "EMAIL" in record:
            record["HAS_EMAIL"] = "Y" if record["EMAIL"] else "N"
        if "STAGE_ID" in record and entity_type in (2, 31):
            stage = next(
                (
                    s
                    for s in self.stages(entity_type, record.get("CATEGORY_ID") or 0)
                    if s.status_id == record["STAGE_ID"]
                ),
                None,
            )
            sem = stage.semantics if stage else None
            if entity_type == 2:
                record["STAGE_SEMANTIC_ID"] = sem or "P"
                record["CLOSED"] = "Y" if sem in ("S", "F") else "N"
        rows = self.rows.get((SHORT_CODES[entity_type], record["ID"]))
        if rows and record.get("IS_MANUAL_OPPORTUNITY", "N") != "Y" and "OPPORTUNITY" in record:
            record["OPPORTUNITY"] = sum((_line_total(r) for r in rows), Decimal(0)).quantize(CENT)
            record["TAX_VALUE"] = sum((_line_tax(r) for r in rows), Decimal(0)).quantize(CENT)

    # -- product rows (§8.5) ----------------------------------------------------------------------------

    def set_rows(
        self, owner: str, owner_id: int, rows: list[dict[str, Any]], origin: Origin
    ) -> list[dict[str, Any]]:
        entity_type = next(t for t, c in SHORT_CODES.items() if c == owner)
        record = self.get(entity_type, owner_id)
        made = [self._row(owner, record["ID"], r, i) for i, r in enumerate(rows)]
        self.rows[(owner, record["ID"])] = made
        before = dict(record)
        self._derive(entity_type, record)
        if record != before:
            record["DATE_MODIFY"] = self.now()
            self._fire(entity_type, "UPDATE", record, origin)
        return made

    def _row(self, owner: str, owner_id: int, raw: dict[str, Any], index: int) -> dict[str, Any]:
        r = {str(k).upper(): v for k, v in raw.items()}
        dtype = int(r.get("DISCOUNT_TYPE_ID") or 2)
        has_rate = r.get("DISCOUNT_RATE") not in (None, "")
        has_sum = r.get("DISCOUNT_SUM") not in (None, "")
        if dtype == 2 and has_sum and not has_rate and _dec(r["DISCOUNT_SUM"]) != 0:
            raise ApiError(
                "ERROR_CORE",
                "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type "
                "(DISCOUNT_TYPE_ID) is selected.",
            )
        if dtype == 1 and has_rate and not has_sum and _dec(r["DISCOUNT_RATE"]) != 0:
            raise ApiError(
                "ERROR_CORE",
                "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type "
                "(DISCOUNT_TYPE_ID) is selected.",
            )
        price = _dec(r.get("PRICE") or 0)
        tax = _dec(r["TAX_RATE"]) if r.get("TAX_RATE") not in (None, "") else None
        included = str(r.get("TAX_INCLUDED") or "N").upper() == "Y"
        t = (tax or Decimal(0)) / 100
        exclusive = price / (1 + t) if included and tax else price
        rate = _dec(r.get("DISCOUNT_RATE") or 0)
        if dtype == 2:
            netto = exclusive / (1 - rate / 100) if rate < 100 else exclusive
            dsum = netto - exclusive
        else:
            dsum = _dec(r.get("DISCOUNT_SUM") or 0)
            netto = exclusive + dsum
            rate = (dsum / netto * 100) if netto else Decimal(0)
        row = {
            "ID": self.next_row,
            "OWNER_ID": owner_id,
            "OWNER_TYPE": owner,
            "PRODUCT_ID": int(r.get("PRODUCT_ID") or 0),
            "PRODUCT_NAME": str(r.get("PRODUCT_NAME") or ""),
            "PRICE": price,
            "PRICE_EXCLUSIVE": exclusive,
            "PRICE_NETTO": netto,
            "PRICE_BRUTTO": netto * (1 + t),
            "QUANTITY": _dec(r.get("QUANTITY") or 1),
            "DISCOUNT_TYPE_ID": dtype,
            "DISCOUNT_RATE": rate,
            "DISCOUNT_SUM": dsum,
            "TAX_RATE": tax,
            "TAX_INCLUDED": "Y" if included else "N",
            "MEASURE_CODE": int(r.get("MEASURE_CODE") or 796),
            "MEASURE_NAME": str(r.get("MEASURE_NAME") or "pcs"),
            "SORT": int(r.get("SORT") or (index + 1) * 10),
            "CUSTOMIZED": "Y",
            "TYPE": 1 if r.get("PRODUCT_ID") else 7,
        }
        self.next_row += 1
        return row


def _line_total(row: dict[str, Any]) -> Decimal:
    qty: Decimal = row["QUANTITY"]
    if row["TAX_INCLUDED"] == "Y" or not row["TAX_RATE"]:
        return (row["PRICE"] * qty).quantize(CENT, ROUND_HALF_UP)
    return (row["PRICE"] * (1 + row["TAX_RATE"] / 100) * qty).quantize(CENT, ROUND_HALF_UP)


def _line_tax(row: dict[str, Any]) -> Decimal:
    if not row["TAX_RATE"]:
        return Decimal(0)
    return (row["PRICE_EXCLUSIVE"] * row["TAX_RATE"] / 100 * row["QUANTITY"]).quantize(CENT, ROUND_HALF_UP)


def _items(raw: Any) -> list[Any]:
    if isinstance(raw, dict):
        return list(raw.values())
    if isinstance(raw, list):
        return raw
    if raw in (None, ""):
        return []
    return [raw]


def _id(raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError as exc:
        raise ApiError("", "ID is not defined or invalid.") from exc
    if value <= 0:
        raise ApiError("", "ID is not defined or invalid.")
    return value


def _dec(raw: Any) -> Decimal:
    try:
        return Decimal(str(raw).strip() or "0")
    except InvalidOperation as exc:
        raise ApiError("ERROR_CORE", f"Invalid number: {raw!r}") from exc


def _coerce(spec: Field, raw: Any) -> Any:
    """A written value as the store keeps it; bad values of typed fields become empty, as Bitrix24 does."""
    if raw is None:
        return None
    if spec.multiple:
        return [_coerce(Field(spec.name, spec.type), v) for v in _items(raw)]
    text = str(raw).strip() if not isinstance(raw, bool) else ("Y" if raw else "N")
    if spec.type in (
        "integer",
        "user",
        "crm_category",
        "crm_company",
        "crm_contact",
        "crm_deal",
        "crm_lead",
        "crm_quote",
        "crm_entity",
    ):
        try:
            return int(Decimal(text)) if text else None
        except InvalidOperation:
            return None
    if spec.type == "double":
        try:
            return Decimal(text).quantize(CENT) if text else None
        except InvalidOperation:
            return None
    if spec.type == "char" or spec.type == "boolean":
        return "Y" if text.upper() in ("Y", "1", "TRUE") else "N"
    if spec.type == "date":
        return _parse_date(text)
    if spec.type == "datetime":
        return _parse_datetime(text)
    return text


def _parse_date(text: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        for fmt in ("%d.%m.%Y", "%m/%d/%Y"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    return None


def _parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
