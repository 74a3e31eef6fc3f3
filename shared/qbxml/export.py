"""The schema as plain JSON for people and pages: entities, their operations and their fields.

What the seed served as ``/schema``; the cloud serves ``schema_export()`` and ``qbxml schema`` prints it.
Fields are the entity's Ret shape (what QuickBooks returns), flattened to dotted paths.
"""

from __future__ import annotations

from typing import Any

from .schema import Choice, Element, Node, Schema, load

# The entities the product works with (issue: foundation); Terms come as Standard and DateDriven.
CORE_ENTITIES = (
    "Customer", "Vendor", "Employee", "ItemInventory", "ItemService", "ItemNonInventory",
    "ItemOtherCharge", "ItemDiscount", "ItemGroup", "ItemSubtotal", "ItemSalesTax", "ItemSalesTaxGroup",
    "Account", "Class", "StandardTerms", "DateDrivenTerms", "CustomerType", "VendorType", "JobType",
    "PaymentMethod", "ShipMethod", "SalesTaxCode", "PriceLevel", "SalesRep", "Currency", "InventorySite",
    "UnitOfMeasureSet", "Invoice", "Estimate", "SalesOrder", "PurchaseOrder", "Bill", "ReceivePayment",
    "CreditMemo", "TimeTracking", "Company",
)  # fmt: skip

MAX_DEPTH = 3


def ret_element(entity: str, schema: Schema | None = None) -> Element | None:
    """``CustomerRet`` as found in ``CustomerQueryRs`` (or the Add response when there is no query)."""
    s = schema or load()
    for rs in (f"{entity}QueryRs", f"{entity}AddRs"):
        if s.has_message(rs):
            ret = s.message(rs).child(f"{entity}Ret")
            if ret is not None:
                return ret
    return None


def fields(entity: str, schema: Schema | None = None) -> list[dict[str, Any]]:
    ret = ret_element(entity, schema)
    if ret is None:
        return []
    out: list[dict[str, Any]] = []
    _walk(ret.children, "", False, out, 1)
    return out


def _walk(
    nodes: tuple[Node, ...], prefix: str, optional: bool, out: list[dict[str, Any]], depth: int
) -> None:
    for node in nodes:
        if isinstance(node, Choice):
            for alt in node.alternatives:
                _walk(alt, prefix, True, out, depth)
            continue
        if not node.in_qbd:
            continue
        name = f"{prefix}{node.name}"
        if any(f["name"] == name for f in out):
            continue
        if node.is_aggregate:
            if node.is_ref:
                out.append(_field(name, "REF", node, optional))
            elif depth < MAX_DEPTH:
                _walk(node.children, f"{name}.", optional or node.optional, out, depth + 1)
            continue
        out.append(_field(name, node.type or "", node, optional))


def _field(name: str, qb_type: str, el: Element, optional: bool) -> dict[str, Any]:
    f: dict[str, Any] = {"name": name, "type": qb_type, "required": not (optional or el.optional)}
    if el.repeats:
        f["repeats"] = True
    if el.max_length is not None:
        f["max_length"] = el.max_length
    if el.enum:
        f["enum"] = list(el.enum)
    if el.since != "1.0":
        f["since"] = el.since
    return f


def schema_export(entities: tuple[str, ...] | None = None, schema: Schema | None = None) -> dict[str, Any]:
    """``{"qbxml_version", "entity_count", "field_count", "entities": {name: {operations, fields}}}``."""
    s = schema or load()
    ops = s.entities()
    chosen = entities if entities is not None else CORE_ENTITIES
    out: dict[str, Any] = {}
    for entity in chosen:
        if entity not in ops:
            raise KeyError(f"qbXML has no entity {entity!r}")
        out[entity] = {"operations": list(ops[entity]), "fields": fields(entity, s)}
    return {
        "qbxml_version": s.qbxml_version,
        "entity_count": len(out),
        "field_count": sum(len(e["fields"]) for e in out.values()),
        "entities": out,
    }
