"""QuickBooks classes (``ClassRef``) for a deal's document, from the settings (pure).

A company that tracks classes (job costing: one class per line of business or crew) gets the class of the
deal's pipeline on the document and, where a product has its own class, that class on its line (a
product's class wins over the pipeline's for its line). QuickBooks refuses a document naming a class it
does not have, or an inactive one (``3140``, an invalid reference), so the classes are checked
against QuickBooks' class list read in the deal's own lookup (``preconditions``), before anything is sent.
``ClassRef/FullName`` is at most 159 characters and may be ``Parent:Child`` (qbxmlops140.xml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAME_LIMIT = 159  # ClassRef FullName (qbxmlops140.xml)


@dataclass(frozen=True)
class ClassChoice:
    document: str | None = None  # the pipeline's class, on the document
    lines: dict[int, str] = field(default_factory=dict)  # 1-based row → the product's own class
    problems: list[str] = field(default_factory=list)


def choose(
    pipeline: str,
    rows: Sequence[Mapping[str, Any]],
    by_pipeline: Mapping[str, str],
    by_product: Mapping[str, str],
    fresh: Mapping[str, Any] | None,
) -> ClassChoice:
    """The classes the settings give this deal, each checked against QuickBooks' list when it was read
    (``fresh["classes"]``: ``{"name", "active"}``; not read: as set)."""
    document = by_pipeline.get(pipeline) or None
    lines = {
        n: by_product[str(row.get("PRODUCT_ID"))]
        for n, row in enumerate(rows, 1)
        if str(row.get("PRODUCT_ID") or "0") != "0" and by_product.get(str(row.get("PRODUCT_ID")))
    }
    problems: list[str] = []
    known = {str(c["name"]).casefold(): c for c in (fresh or {}).get("classes", [])}
    if fresh is not None and "classes" in fresh:
        for name in sorted({*([document] if document else []), *lines.values()}):
            found = known.get(name.casefold())
            if found is None:
                problems.append(
                    f"Class: QuickBooks has no class “{name}”. Add it in QuickBooks (Lists → Class List), "
                    "or choose another in the app's Settings."
                )
            elif not found["active"]:
                problems.append(
                    f"Class: the class “{name}” is inactive in QuickBooks. Make it active there "
                    "(Lists → Class List), or choose another in the app's Settings."
                )
    return ClassChoice(document, lines, problems)


def class_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``ClassRet`` as the checks use it."""
    return {
        "name": str(record.get("FullName") or record.get("Name") or ""),
        "active": str(record.get("IsActive", "true")).lower() != "false",
    }
