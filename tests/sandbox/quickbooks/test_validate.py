"""A document that breaks the catalogue is refused whole with 0x80040400, and nothing changes (§4, §11)."""

from __future__ import annotations

import pytest

from sandbox.qbport import RequestFailed
from sandbox.quickbooks.validate import explain

from .helpers import add_customer, doc, fresh, run

GOOD = "<CustomerQueryRq><MaxReturned>5</MaxReturned><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"


@pytest.mark.parametrize(
    ("xml", "why"),
    [
        # The seed's bug: FromModifiedDate before ActiveStatus.
        (
            doc(
                "<CustomerQueryRq><FromModifiedDate>2026-01-01T00:00:00</FromModifiedDate>"
                "<ActiveStatus>All</ActiveStatus></CustomerQueryRq>"
            ),
            "out of order",
        ),
        (
            doc(
                "<CustomerAddRq><CustomerAdd><Name>A</Name><Nickname>x</Nickname></CustomerAdd></CustomerAddRq>"
            ),
            "unknown or out of order",
        ),
        (
            doc(f"<CustomerAddRq><CustomerAdd><Name>{'N' * 42}</Name></CustomerAdd></CustomerAddRq>"),
            "QuickBooks allows 41",
        ),
        (
            doc("<CustomerAddRq><CustomerAdd><CompanyName>A</CompanyName></CustomerAdd></CustomerAddRq>"),
            "required element Name",
        ),
        (
            doc(
                "<CustomerAddRq><CustomerAdd><Name>A</Name><OpenBalance>1.005</OpenBalance></CustomerAdd>"
                "</CustomerAddRq>"
            ),
            "decimal places",
        ),
        (
            doc(
                "<CustomerAddRq><CustomerAdd><Name>A</Name><IsActive>yes</IsActive></CustomerAdd></CustomerAddRq>"
            ),
            "true/false",
        ),
        (
            doc(
                "<CustomerAddRq><CustomerAdd><Name>A</Name><OpenBalanceDate>2026-02-30</OpenBalanceDate>"
                "</CustomerAdd></CustomerAddRq>"
            ),
            "not a date",
        ),
        # ClassFilter arrived in qbXML 12.0.
        (
            doc(
                "<CustomerQueryRq><ClassFilter><FullName>A</FullName></ClassFilter></CustomerQueryRq>",
                version="11.0",
            ),
            "needs qbXML 12.0",
        ),
        (doc(GOOD, version="17.0"), "not supported"),
        (doc(GOOD, on_error="keepGoing"), "onError"),
        (doc("<CustomerFrobRq/>"), "unknown request"),
        (doc('<CustomerQueryRq iterator="Begin"/>'), "iterator"),
        ('<?xml version="1.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"/></QBXML>', "missing <?qbxml"),
        ("<QBXML><QBXMLMsgsRq", "XML"),
    ],
)
def test_catalogue_violations_are_explained(xml: str, why: str) -> None:
    reason = explain(xml)
    assert reason is not None and why.lower() in reason.lower(), reason


def test_a_refused_document_changes_nothing_even_its_valid_requests() -> None:
    qb = fresh()
    before = len(qb.company.records)
    bad = doc(
        "<CustomerAddRq><CustomerAdd><Name>Good One</Name></CustomerAdd></CustomerAddRq>"
        f"<CustomerAddRq><CustomerAdd><Name>{'N' * 42}</Name></CustomerAdd></CustomerAddRq>"
    )
    with pytest.raises(RequestFailed) as info:
        qb.process(bad)
    assert info.value.hresult == "0x80040400"
    assert "parsing the provided XML" in info.value.message
    assert len(qb.company.records) == before
    assert qb.history[-1].reason and "41" in qb.history[-1].reason


def test_values_quickbooks_accepts() -> None:
    qb = fresh()
    add_customer(qb, "Bool One", "<IsActive>1</IsActive>")  # 1/0 are accepted for booleans in requests
    box = run(qb, doc(GOOD))
    assert box[0].get("statusCode") == "0"
