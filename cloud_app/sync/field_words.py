"""QuickBooks field names as a bookkeeper says them: notes and problems name "the company name", never
``CompanyName`` or ``BillAddress.Addr1`` (pure)."""

from __future__ import annotations

WORDS: dict[str, str] = {
    "Name": "name",
    "FullName": "name",
    "CompanyName": "company name",
    "FirstName": "first name",
    "MiddleName": "middle name",
    "LastName": "last name",
    "Salutation": "title (Mr./Ms.)",
    "JobTitle": "job title",
    "Contact": "contact person",
    "Phone": "phone",
    "AltPhone": "second phone",
    "Fax": "fax",
    "Email": "e-mail",
    "Cc": "copy e-mail",
    "BillAddress": "billing address",
    "ShipAddress": "shipping address",
    "Addr1": "line 1",
    "Addr2": "line 2",
    "Addr3": "line 3",
    "Addr4": "line 4",
    "Addr5": "line 5",
    "City": "city",
    "State": "state",
    "PostalCode": "postal code",
    "Country": "country",
    "Note": "note",
    "Memo": "memo",
    "Desc": "description",
    "Other": "other field",
    "RefNumber": "number",
    "AccountNumber": "account number",
}


def words(path: str) -> str:
    """``BillAddress.Addr1`` → "billing address, line 1"; an unknown field keeps its name."""
    parts = [WORDS.get(p, p) for p in path.replace("/", ".").split(".") if p]
    return ", ".join(parts) if parts else path
