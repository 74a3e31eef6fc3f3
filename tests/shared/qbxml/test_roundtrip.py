"""Property: whatever the builder writes, the parser reads back as the same values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.qbxml.builder import add, build
from shared.qbxml.parser import parse_response

# Text QuickBooks fields can hold: any character XML can carry, with the troublemakers made likely.
chars = st.one_of(
    st.sampled_from(list("&<>\"'\r\n\t ;:#") + ["é", "Ж", "ß", "中", "€", "\u00a0"]),
    st.characters(blacklist_categories=("Cs", "Cc")),
)


def text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(chars, min_size=min_size, max_size=max_size)


money = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2,
                    allow_nan=False, allow_infinity=False)

customers = st.fixed_dictionaries(
    {"Name": text(41, min_size=1)},
    optional={
        "CompanyName": text(41),
        "BillAddress": st.fixed_dictionaries({}, optional={"Addr1": text(41), "City": text(31),
                                                            "PostalCode": text(13)}),
        "Email": text(200),
        "CreditLimit": money,
        "JobStartDate": st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)),
        "Notes": text(300),
        "IsActive": st.booleans(),
    },
)


def as_response(built_xml: str) -> str:
    """Wrap the built CustomerAdd body into the CustomerRet QuickBooks would send back."""
    body = built_xml.split("<CustomerAdd>", 1)[1].rsplit("</CustomerAdd>", 1)[0]
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><CustomerAddRs requestID="1" statusCode="0" '
        'statusSeverity="Info" statusMessage="Status OK"><CustomerRet><ListID>80000001-1</ListID>'
        f"{body}</CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>"
    )


@settings(max_examples=300, deadline=None)
@given(customers)
def test_customer_fields_survive_build_and_parse(fields: dict[str, Any]) -> None:
    built = build([add("Customer", fields, request_id="1")])
    (result,) = parse_response(as_response(built.xml)).results
    (record,) = result.records
    for key, value in fields.items():
        if isinstance(value, dict):
            assert record.get(key, {}) == value, key
        else:
            assert record[key] == value, key
            assert type(record[key]) is type(value), key


@settings(max_examples=100, deadline=None)
@given(text(80, min_size=42))
def test_over_long_names_are_refused_or_truncated_on_request(name: str) -> None:
    built = build([add("Customer", {"Name": name})], truncate=True)
    (t,) = built.truncations
    assert t.truncated == name[:41]
    (record,) = parse_response(as_response(built.xml)).results[0].records
    assert record["Name"] == name[:41]
