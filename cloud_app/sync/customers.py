"""Bitrix24 company/contact → the QuickBooks Customer fields we write (pure).

Input shapes are the legacy REST ones (``crm.company.get``/``crm.contact.get``: UPPER_CASE, multifields as
lists of ``{ID, VALUE_TYPE, VALUE}``; addresses from ``crm.address.list``). Output is a field mapping for
``shared.qbxml.builder`` (``CustomerAdd``/``CustomerMod``), already fitted to what QuickBooks can store,
with the notes a person should see when something had to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.qbxml.schema import version_key

from .field_words import words
from .names import fit_name
from .text import Fitted, fit

# QuickBooks Desktop limits (qbxmlops140 CustomerAdd, QBD).
LIMITS = {
    "Name": 41, "CompanyName": 41, "FirstName": 25, "MiddleName": 5, "LastName": 25, "JobTitle": 41,
    "Phone": 21, "AltPhone": 21, "Fax": 21, "Email": 1023, "Contact": 41, "Addr1": 41, "Addr2": 41,
    "City": 31, "State": 21, "PostalCode": 13, "Country": 31,
}  # fmt: skip
# crm.address TYPE_ID: 6 legal, 1 physical, 8 mailing, 11 delivery (§8.13); billing prefers legal.
BILL_ADDRESS_TYPES = ("6", "1", "8", "4")
SHIP_ADDRESS_TYPES = ("11",)


@dataclass
class CustomerDraft:
    fields: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # Name was cut to fit: a QuickBooks customer of that name may be another record that shares the prefix
    shortened: bool = False


def _put(out: CustomerDraft, path: tuple[str, ...], raw: Any) -> None:
    if raw is None or str(raw).strip() == "":
        return
    name = path[-1]
    if path == ("Name",):  # the list record's name: one fitting for every name we send (no colon)
        listed = fit_name(str(raw), LIMITS["Name"])
        fitted: Fitted = Fitted(listed.value, listed.notes)
        out.shortened = listed.shortened
    else:
        fitted = fit(str(raw).strip(), LIMITS.get(name), field=name)
    if not fitted.value:
        return
    target = out.fields
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[name] = fitted.value
    out.notes.extend(f"{_upper(words('.'.join(path)))}: {n}" for n in fitted.notes)


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _multi(record: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    value = record.get(kind) or []
    return [v for v in value if isinstance(v, Mapping) and str(v.get("VALUE", "")).strip()]


def _phones(out: CustomerDraft, record: Mapping[str, Any]) -> None:
    phones = _multi(record, "PHONE")
    fax = [p for p in phones if p.get("VALUE_TYPE") == "FAX"]
    voice = [p for p in phones if p.get("VALUE_TYPE") != "FAX"]
    voice.sort(key=lambda p: 0 if p.get("VALUE_TYPE") == "WORK" else 1)
    if voice:
        _put(out, ("Phone",), voice[0]["VALUE"])
    if len(voice) > 1:
        _put(out, ("AltPhone",), voice[1]["VALUE"])
    if fax:
        _put(out, ("Fax",), fax[0]["VALUE"])
    emails = _multi(record, "EMAIL")
    emails.sort(key=lambda e: 0 if e.get("VALUE_TYPE") == "WORK" else 1)
    if emails:
        _put(out, ("Email",), emails[0]["VALUE"])


def _address(
    out: CustomerDraft, key: str, addresses: Sequence[Mapping[str, Any]], types: tuple[str, ...]
) -> None:
    by_type = {str(a.get("TYPE_ID")): a for a in addresses}
    chosen = next((by_type[t] for t in types if t in by_type), None)
    if chosen is None:
        return
    _put(out, (key, "Addr1"), chosen.get("ADDRESS_1"))
    _put(out, (key, "Addr2"), chosen.get("ADDRESS_2"))
    _put(out, (key, "City"), chosen.get("CITY"))
    _put(out, (key, "State"), chosen.get("PROVINCE") or chosen.get("REGION"))
    _put(out, (key, "PostalCode"), chosen.get("POSTAL_CODE"))
    _put(out, (key, "Country"), chosen.get("COUNTRY"))


def person_name(contact: Mapping[str, Any]) -> str:
    """QuickBooks' own convention for people: ``Last, First`` (its sample company lists them so)."""
    first = str(contact.get("NAME") or "").strip()
    last = str(contact.get("LAST_NAME") or "").strip()
    if first and last:
        return f"{last}, {first}"
    return last or first


def from_company(
    company: Mapping[str, Any],
    *,
    addresses: Sequence[Mapping[str, Any]] = (),
    primary_contact: Mapping[str, Any] | None = None,
    version: str = "13.0",
) -> CustomerDraft:
    """A Bitrix24 company as a QuickBooks customer with CompanyName (and its primary contact)."""
    out = CustomerDraft({})
    title = str(company.get("TITLE") or "").strip()
    _put(out, ("Name",), title)
    _put(out, ("CompanyName",), title)
    if primary_contact:
        _put(out, ("FirstName",), primary_contact.get("NAME"))
        _put(out, ("LastName",), primary_contact.get("LAST_NAME"))
        parts = (str(primary_contact.get(k) or "").strip() for k in ("NAME", "LAST_NAME"))
        _put(out, ("Contact",), " ".join(filter(None, parts)))
    _phones(out, company)
    _address(out, "BillAddress", addresses, BILL_ADDRESS_TYPES)
    _address(out, "ShipAddress", addresses, SHIP_ADDRESS_TYPES)
    if "Name" not in out.fields:
        out.notes.append("Name: the company has no name; give it one in Bitrix24 before syncing")
    return out


def from_contact(
    contact: Mapping[str, Any],
    *,
    company_title: str | None = None,
    addresses: Sequence[Mapping[str, Any]] = (),
    version: str = "13.0",
) -> CustomerDraft:
    """A Bitrix24 contact as a QuickBooks customer who is a person."""
    out = CustomerDraft({})
    _put(out, ("Name",), person_name(contact))
    _put(out, ("FirstName",), contact.get("NAME"))
    _put(out, ("MiddleName",), contact.get("SECOND_NAME"))
    _put(out, ("LastName",), contact.get("LAST_NAME"))
    if company_title:
        _put(out, ("CompanyName",), company_title)
    if version_key(version) >= (12, 0):  # JobTitle arrived in qbXML 12.0
        _put(out, ("JobTitle",), contact.get("POST"))
    _phones(out, contact)
    _address(out, "BillAddress", addresses, BILL_ADDRESS_TYPES)
    _address(out, "ShipAddress", addresses, SHIP_ADDRESS_TYPES)
    if "Name" not in out.fields:
        out.notes.append("Name: the contact has no first or last name; add one in Bitrix24 before syncing")
    return out
