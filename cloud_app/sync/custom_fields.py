"""Chosen Bitrix24 fields of a client → the custom fields of its QuickBooks customer (pure).

QuickBooks' custom fields (public data extensions, ``OwnerID`` 0) exist only on customers, vendors,
employees and items — a document inherits its customer's — and hold text of at most 255 characters
(STR255); their number is fixed and shared with the bookkeeper and every other integration (Intuit,
*Data extensions: custom fields and private data*). QuickBooks Enterprise keeps 30 in all, 12 per list
(issue 25). ``DataExtName`` is at most 31 characters (qbxmlops140.xml).

The setting ``custom.fields`` maps a company/contact field's code to a custom field's name. When a deal's
sync creates the client's customer, each mapped field that has a value is set on it in the same message
set (``DataExtAdd`` after the ``CustomerAdd``), and a custom field QuickBooks does not have yet is defined
first (``DataExtDefAdd``, for customers) — if QuickBooks has room for it. The checks use QuickBooks'
definitions read in the deal's own lookup (``preconditions``), so what cannot fit is refused in the
preview, before anything is sent. A record's values come back from QuickBooks sorted by name, so they are
always matched by name, never by position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.qbxml.builder import Request, add
from shared.qbxml.values import Ref

from .text import to_codepage

NAME_LIMIT = 31  # DataExtName (qbxmlops140.xml)
VALUE_LIMIT = 255  # a custom field "must be STR255 type, (string, max 255 chars)" (Intuit)
PER_TYPE, IN_ALL = 12, 30  # QuickBooks Enterprise (issue 25)
CODE = re.compile(r"[A-Z][A-Z0-9_]{0,49}")  # a Bitrix24 field's code (UF_CRM_…)
WHERE = "open a customer in QuickBooks → Additional Info → Define Fields"


@dataclass
class CustomFields:
    values: list[tuple[str, str]] = field(default_factory=list)  # QuickBooks' name, value
    new: list[str] = field(default_factory=list)  # custom fields to define first (for customers)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def requests(self, customer: str) -> list[Request]:
        """The definitions, then the values for the customer ``customer`` adds (by its FullName)."""
        out = [
            add(
                "DataExtDef",
                {
                    "OwnerID": "0",
                    "DataExtName": name,
                    "DataExtType": "STR255TYPE",
                    "AssignToObject": ["Customer"],
                },
                request_id=f"cfdef-{n}",
            )  # fmt: skip
            for n, name in enumerate(self.new)
        ]
        out += [
            add(
                "DataExt",
                {
                    "OwnerID": "0",
                    "DataExtName": name,
                    "ListDataExtType": "Customer",
                    "ListObjRef": Ref(full_name=customer),
                    "DataExtValue": value,
                },
                request_id=f"cf-{n}",
            )  # fmt: skip
            for n, (name, value) in enumerate(self.values)
        ]
        return out

    def shown(self) -> list[dict[str, Any]]:
        """What the preview says will be set."""
        return [{"name": n, "value": v, "new": n in self.new} for n, v in self.values]


def check_mapping(value: Any) -> dict[str, str]:
    """The ``custom.fields`` setting: ValueError saying what is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError(
            'is an object of Bitrix24 field code → QuickBooks custom field, like {"UF_CRM_5": "Region"}'
        )
    out: dict[str, str] = {}
    for code, name in value.items():
        if not isinstance(code, str) or not CODE.fullmatch(code):
            raise ValueError(f"names Bitrix24 fields by their code (UF_CRM_…), not {code!r}")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_LIMIT:
            raise ValueError(f"names QuickBooks custom fields in at most {NAME_LIMIT} characters")
        out[code] = name.strip()
    names = [n.casefold() for n in out.values()]
    if len(set(names)) != len(names):
        raise ValueError("gives two Bitrix24 fields the same QuickBooks custom field")
    if len(out) > PER_TYPE:
        raise ValueError(
            f"maps {len(out)} fields, but QuickBooks keeps at most {PER_TYPE} custom fields for customers"
        )
    return out


def text_of(raw: Any) -> str:
    """A Bitrix24 field's value as the text QuickBooks stores (a list: its items joined)."""
    if raw is None or raw is False:
        return ""
    if isinstance(raw, list):
        return ", ".join(t for t in (text_of(r) for r in raw) if t)
    if isinstance(raw, dict):
        return str(raw.get("VALUE") or "")
    return " ".join(str(raw).split())


def choose(
    record: Mapping[str, Any], mapping: Mapping[str, str], fresh: Mapping[str, Any] | None
) -> CustomFields:
    """The custom fields a new customer gets from its Bitrix24 ``record``, checked against QuickBooks'
    definitions when it was read (``fresh["custom_fields"]``: ``{"name", "objects"}``)."""
    out = CustomFields()
    wanted = [(code, name, text_of(record.get(code))) for code, name in mapping.items()]
    wanted = [w for w in wanted if w[2]]
    if not wanted:
        return out
    if fresh is None or "custom_fields" not in fresh:
        out.problems.append(
            "Custom fields: QuickBooks did not say which custom fields it has, so the customer is not "
            "created. Run the sync again in a minute."
        )
        return out
    defined: Sequence[Mapping[str, Any]] = fresh["custom_fields"]
    by_name = {str(d["name"]).casefold(): d for d in defined}
    in_all, for_customers = len(defined), sum(1 for d in defined if "Customer" in (d.get("objects") or []))
    for _, name, text in wanted:
        found = by_name.get(name.casefold())
        if found is None:
            if in_all >= IN_ALL:
                out.problems.append(
                    f"Custom field “{name}”: QuickBooks has no such custom field and already keeps {IN_ALL}, "
                    f"the most it can. Choose one it has in the app's Settings, or remove one in QuickBooks "
                    f"({WHERE})."
                )
                continue
            if for_customers >= PER_TYPE:
                out.problems.append(
                    f"Custom field “{name}”: QuickBooks has no such custom field and already keeps "
                    f"{PER_TYPE} for customers, the most it can. Choose one it has in the app's Settings, "
                    f"or remove one in QuickBooks ({WHERE})."
                )
                continue
            in_all, for_customers = in_all + 1, for_customers + 1
            out.new.append(name)
            out.notes.append(f"Custom field “{name}” is added to QuickBooks' custom fields for customers.")
        elif "Customer" not in (found.get("objects") or []):
            out.problems.append(
                f"Custom field “{name}”: QuickBooks has it, but not for customers. Tick it for customers in "
                f"QuickBooks ({WHERE}), or choose another in the app's Settings."
            )
            continue
        else:
            name = str(found["name"])  # as QuickBooks spells it
        value, changed = to_codepage(text)
        if len(value) > VALUE_LIMIT:
            out.problems.append(
                f"Custom field “{name}”: the value from Bitrix24 is {len(value)} characters, and QuickBooks "
                f"keeps at most {VALUE_LIMIT} in a custom field. Shorten it in Bitrix24, then sync again."
            )
            continue
        if changed:
            out.notes.append(f"Custom field “{name}”: written in Latin letters ({value}).")
        out.values.append((name, value))
    return out


def definition_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``DataExtDefRet`` as the checks use it."""
    objects = record.get("AssignToObject") or []
    return {
        "name": str(record.get("DataExtName") or ""),
        "objects": [str(o) for o in (objects if isinstance(objects, list) else [objects])],
    }
