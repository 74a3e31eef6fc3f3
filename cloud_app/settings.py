"""A portal's sync choices: what each means, its default, and what a valid value is (pure).

Stored in the portal's settings table under the same names; the page API reads them with their
defaults and lets a Bitrix24 administrator change them one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .sync import custom_fields, inventory, salestax

SIDES = ("qb", "b24")
SYNCED_FIELDS = ("title", "phones", "emails")
DOCUMENT_KINDS = ("Invoice", "Estimate", "SalesOrder")
MATCH_RULES = ("email", "phone", "name")  # cloud_app.sync.matching.RULES


@dataclass(frozen=True)
class Choice:
    default: Any
    meaning: str
    check: Callable[[Any], Any]  # the value to store, or ValueError with what is wrong


def _side(value: Any) -> str:
    if value not in SIDES:
        raise ValueError("is qb (QuickBooks) or b24 (Bitrix24)")
    return str(value)


def _winners(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError('is an object like {"title": "b24"}')
    unknown = set(value) - set(SYNCED_FIELDS)
    if unknown:
        raise ValueError(f"names unknown fields {sorted(unknown)}; the synced ones are {list(SYNCED_FIELDS)}")
    return {str(k): _side(v) for k, v in value.items()}


def _kind(value: Any) -> str:
    if value not in DOCUMENT_KINDS:
        raise ValueError(f"is one of {list(DOCUMENT_KINDS)}")
    return str(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("is true or false")
    return value


def _optional_text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise ValueError(f"is text of at most {limit} characters, or null")
        return value

    return check


def _rules(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or len(set(value)) != len(value)
        or not set(value) <= set(MATCH_RULES)
    ):
        raise ValueError(f"is a non-empty list of {list(MATCH_RULES)} in the order they are tried")
    return [str(v) for v in value]


def _stage_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(str(k).isdigit() for k in value):
        raise ValueError(
            'is an object of pipeline (category) id → stage id, like {"0": "WON", "3": "C3:WON"}'
        )
    out = {}
    for k, v in value.items():
        if v in (None, ""):
            continue  # that pipeline's deals stay where they are
        if not isinstance(v, str) or len(v) > 50:
            raise ValueError("names stages by their id (at most 50 characters)")
        out[str(k)] = v
    return out


def _class_map(what: str, example: str) -> Callable[[Any], dict[str, str]]:
    def check(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping) or not all(str(k).isdigit() for k in value):
            raise ValueError(f"is an object of {what} id → QuickBooks class name, like {example}")
        out = {}
        for k, v in value.items():
            if v in (None, ""):
                continue  # no class for that one
            if not isinstance(v, str) or len(v) > 159:
                raise ValueError("names classes as QuickBooks shows them (at most 159 characters)")
            out[str(k)] = v
        return out

    return check


def _delete_action(value: Any) -> str:
    if value not in ("nothing", "void"):
        raise ValueError("is nothing (leave the QuickBooks invoice) or void (void it in QuickBooks)")
    return str(value)


def _user_reps(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(str(k).isdigit() for k in value):
        raise ValueError(
            'is an object of Bitrix24 user id → QuickBooks sales rep ListID, like {"1": "80000001-…"}'
        )
    return {str(k): str(v) for k, v in value.items() if v}


CHOICES: dict[str, Choice] = {
    "document_kind": Choice("Invoice", "what “Sync to QuickBooks” creates unless the person picks", _kind),
    "conflict.winner": Choice("qb", "who wins when both sides changed the same field", _side),
    "conflict.winners": Choice({}, "per synced field, overriding conflict.winner", _winners),
    "invoices.to_b24": Choice(True, "QuickBooks invoices of linked customers become smart invoices", _flag),
    "estimates.to_b24": Choice(True, "QuickBooks estimates of linked customers become quotes", _flag),
    "salesrep.default": Choice(
        None, "the QuickBooks sales rep (one of /sales-reps) for users who have none", _optional_text(36)
    ),  # fmt: skip
    "salesrep.users": Choice({}, "a person's choice of sales rep per Bitrix24 user", _user_reps),
    "paid_stage": Choice(
        None, "the deal stage a fully paid invoice moves its deal to (none: stay)", _optional_text(50)
    ),  # fmt: skip
    "paid_stages": Choice(
        {},
        "per pipeline, the stage a fully paid invoice moves its deal to (overrides paid_stage)",
        _stage_map,
    ),  # fmt: skip
    "bulk.paused": Choice(
        False, "background work (first sync, periodic reads) waits; people's jobs still run", _flag
    ),  # fmt: skip
    "class.pipelines": Choice(
        {},
        "per pipeline, the QuickBooks class its deals' documents get",
        _class_map("pipeline", '{"0": "Remodel"}'),
    ),  # fmt: skip
    "class.products": Choice(
        {},
        "per product, the QuickBooks class of its lines (over the pipeline's)",
        _class_map("product", '{"12": "Remodel:Kitchens"}'),
    ),  # fmt: skip
    "tax.rates": Choice(
        {},
        "per Bitrix24 VAT rate, the QuickBooks sales tax code and tax item (none: rate > 0 is taxable)",
        salestax.check_mapping,
    ),  # fmt: skip
    "site.pipelines": Choice(
        {},
        "per pipeline, the QuickBooks inventory site of its documents' inventory lines",
        inventory.check_names("pipeline id → inventory site", '{"0": "Main Warehouse"}'),
    ),  # fmt: skip
    "units.measures": Choice(
        {},
        "per Bitrix24 unit of measure (its code), the QuickBooks unit a line gets when its item has it",
        inventory.check_names("Bitrix24 measure code → QuickBooks unit", '{"796": "each"}'),
    ),  # fmt: skip
    "custom.fields": Choice(
        {},
        "per company/contact field (UF_CRM_…), the QuickBooks custom field a new customer gets its value in",
        custom_fields.check_mapping,
    ),  # fmt: skip
    "deal_deleted": Choice(
        "nothing",
        "what a deal deleted in Bitrix24 does to its QuickBooks invoice: nothing, or void it (not when paid)",
        _delete_action,
    ),  # fmt: skip
    "matching.rules": Choice(
        list(MATCH_RULES), "how the first sync matches records after stored links, in order", _rules
    ),  # fmt: skip
}


def current(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Every choice with its stored value or default."""
    return {name: stored.get(name, c.default) for name, c in CHOICES.items()}


def validate(changes: Any) -> dict[str, Any]:
    """The changes to store; ValueError naming each setting that is unknown or wrong."""
    if not isinstance(changes, Mapping) or not changes:
        raise ValueError('Send a JSON object of settings to change, like {"conflict.winner": "b24"}.')
    out, problems = {}, []
    for name, value in changes.items():
        choice = CHOICES.get(name)
        if choice is None:
            problems.append(f"{name}: no such setting")
            continue
        try:
            out[name] = choice.check(value)
        except ValueError as exc:
            problems.append(f"{name} {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return out
