"""The builder writes what QuickBooks accepts: catalogue order, exact formats, every problem reported."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from shared.qbxml.builder import MessageSet, Request, add, build, mod, query, validate
from shared.qbxml.errors import BuildError
from shared.qbxml.export import CORE_ENTITIES
from shared.qbxml.schema import Choice, Element, Node, load, version_key
from shared.qbxml.values import Ref

from .conformance import request_problems

PST = timezone(timedelta(hours=-8))
TARGET = "14.0"


def sample(el: Element) -> Any:
    """A representative value for a leaf of the catalogue, within its limits."""
    t = el.type
    if el.enum:
        return el.enum[0]
    if t == "STRTYPE":
        text = "Rock & <Roll> \"Co\" 'Ltd' Café"
        return text[: el.max_length] if el.max_length else text
    if t == "IDTYPE":
        return "80000001-1234567890"
    if t == "AMTTYPE":
        return Decimal("1234.50")
    if t in ("PRICETYPE", "QUANTYPE", "PERCENTTYPE", "FLOATTYPE"):
        return Decimal("2.12345") if t != "FLOATTYPE" else Decimal("2.5")
    if t == "INTTYPE":
        return int(el.min_value) if el.min_value and el.min_value.isdigit() else 1
    if t == "BOOLTYPE":
        return True
    if t == "DATETYPE":
        return date(2026, 11, 25)
    if t == "DATETIMETYPE":
        return datetime(2026, 11, 25, 10, 15, 30, tzinfo=PST)
    if t == "GUIDTYPE":
        return "{6B063959-81B0-4622-9B33-2D7FE9E0E2B0}"
    if t == "TIMEINTERVALTYPE":
        return timedelta(hours=8, minutes=30)
    raise AssertionError(f"no sample for {t}")


def usable(el: Element) -> bool:
    return el.in_qbd and version_key(el.since) <= version_key(TARGET)


def fill(nodes: tuple[Node, ...], depth: int, out: dict[str, Any], pick: int) -> None:
    """Every optional element the target version allows, one alternative of each OR group."""
    for node in nodes:
        if isinstance(node, Choice):
            alts = [alt for alt in node.alternatives if all(usable(e) for e in alt if isinstance(e, Element))]
            if alts:
                fill(alts[pick % len(alts)], depth, out, pick)
            continue
        if not usable(node) or node.name in out:
            continue
        if node.is_aggregate:
            if depth >= 3 and node.optional:
                continue
            inner: dict[str, Any] = {}
            fill(node.children, depth + 1, inner, pick)
            value: Any = inner
        else:
            value = sample(node)
        out[node.name] = [value, value] if node.repeats else value


def reversed_dict(d: dict[str, Any]) -> dict[str, Any]:
    """Same content, opposite order, all the way down: the builder must not care."""
    def flip(v: Any) -> Any:
        if isinstance(v, dict):
            return reversed_dict(v)
        if isinstance(v, list):
            return [flip(x) for x in v]
        return v

    return {k: flip(v) for k, v in reversed(list(d.items()))}


OPS = [(e, op) for e in CORE_ENTITIES for op in ("Add", "Mod", "Query") if load().has_message(f"{e}{op}Rq")]


@pytest.mark.parametrize(("entity", "op"), OPS, ids=[f"{e}{o}" for e, o in OPS])
def test_every_core_request_is_built_in_catalogue_order_from_reversed_fields(entity: str, op: str) -> None:
    schema = load()
    msg = schema.message(f"{entity}{op}Rq")
    body: dict[str, Any] = {}
    fill(msg.children, 0, body, pick=2 if op == "Query" else 0)
    req = Request(msg.name, reversed_dict(body), request_id="7")
    built = build(MessageSet([req], on_error="continueOnError"), version=TARGET)
    assert request_problems(built.xml, schema.messages) == []
    rq = etree.fromstring(built.xml.encode())[0][0]
    assert rq.tag == f"{entity}{op}Rq" and rq.get("requestID") == "7"
    assert len(rq) > 0


def test_customer_add_orders_and_formats_values_exactly() -> None:
    built = build(
        [
            add(
                "Customer",
                {
                    "CreditLimit": Decimal("2500"),
                    "OpenBalanceDate": date(2026, 1, 31),
                    "TermsRef": "Net 30",
                    "BillAddress": {"PostalCode": "89501", "City": "Reno", "Addr1": "1 Main St"},
                    "CompanyName": "Rock & Roll <Builders>",
                    "Name": "Rock & Roll",
                    "IsActive": True,
                },
                request_id="c1",
            )
        ]
    )
    body = built.xml.split("<CustomerAdd>")[1].split("</CustomerAdd>")[0]
    assert body == (
        "<Name>Rock &amp; Roll</Name><IsActive>true</IsActive>"
        "<CompanyName>Rock &amp; Roll &lt;Builders&gt;</CompanyName>"
        "<BillAddress><Addr1>1 Main St</Addr1><City>Reno</City><PostalCode>89501</PostalCode></BillAddress>"
        "<TermsRef><FullName>Net 30</FullName></TermsRef>"
        "<OpenBalanceDate>2026-01-31</OpenBalanceDate><CreditLimit>2500.00</CreditLimit>"
    )
    assert built.xml.startswith('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n<QBXML>')


def test_message_set_carries_on_error_and_error_recovery_ids() -> None:
    built = build(MessageSet([query("Customer", {"FullName": ["A"]})], on_error="continueOnError",
                             new_message_set_id="set-42"))
    root = etree.fromstring(built.xml.encode())
    assert root[0].get("onError") == "continueOnError"
    assert root[0].get("newMessageSetID") == "set-42"
    recovery = build(MessageSet([], old_message_set_id="set-42", new_message_set_id="set-42"))
    assert 'oldMessageSetID="set-42"' in recovery.xml


def test_query_iterators_and_list_filters() -> None:
    start = build([query("Invoice", {"IncludeLineItems": True, "ModifiedDateRangeFilter": {
        "FromModifiedDate": datetime(2026, 3, 8, 1, 30, tzinfo=PST)}}, iterator="Start", max_returned=200)])
    rq = etree.fromstring(start.xml.encode())[0][0]
    assert rq.get("iterator") == "Start"
    assert [c.tag for c in rq] == ["MaxReturned", "ModifiedDateRangeFilter", "IncludeLineItems"]
    assert rq.find("ModifiedDateRangeFilter/FromModifiedDate").text == "2026-03-08T01:30:00-08:00"
    cont = build([query("Invoice", {}, iterator="Continue", iterator_id="{abc}", max_returned=200)])
    assert 'iterator="Continue" iteratorID="{abc}"' in cont.xml
    with pytest.raises(BuildError, match="iteratorID"):
        build([query("Invoice", {}, iterator="Continue")])


def test_invoice_with_lines_and_line_groups_references_by_full_name() -> None:
    built = build([add("Invoice", {
        "InvoiceLineGroupAdd": [{"ItemGroupRef": "Kitchen package"}],
        "InvoiceLineAdd": [
            {"Amount": Decimal("100.00"), "ItemRef": Ref(full_name="Labor:Framing"), "Quantity": Decimal("2"),
             "Desc": "Frame walls"},
            {"ItemRef": Ref(list_id="80000005-1"), "Rate": Decimal("19.99999")},
        ],
        "RefNumber": "1043",
        "TxnDate": date(2026, 11, 25),
        "CustomerRef": "Kowalski, Mike:Kitchen",
    })])
    inv = etree.fromstring(built.xml.encode())[0][0][0]
    tags = [c.tag for c in inv]
    assert tags == ["CustomerRef", "TxnDate", "RefNumber", "InvoiceLineAdd", "InvoiceLineAdd",
                    "InvoiceLineGroupAdd"]
    first = inv.find("InvoiceLineAdd")
    assert [c.tag for c in first] == ["ItemRef", "Desc", "Quantity", "Amount"]
    assert inv.findall("InvoiceLineAdd")[1].find("Rate").text == "19.99999"
    assert request_problems(built.xml, load().messages) == []


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = validate([add("Customer", {
        "Name": "N" * 42,
        "Suffix": "Jr",  # QuickBooks Online only
        "JobTitle": "Owner",  # qbXML 12.0
        "CreditLimit": 10.5,  # float money
        "Bogus": "x",
        "JobStatus": "Finished",
    })], version="11.0")
    kinds = {(p.path.split("/")[-1], p.kind) for p in problems}
    assert kinds == {
        ("Name", "too_long"), ("Suffix", "not_in_qbd"), ("JobTitle", "version"), ("CreditLimit", "type"),
        ("Bogus", "unknown"), ("JobStatus", "enum"),
    }
    assert all(p.path.startswith("CustomerAddRq[0]/CustomerAdd") for p in problems)


def test_missing_required_fields_and_or_group_clashes() -> None:
    problems = validate([add("Customer", {"CompanyName": "No name"}),
                         query("Customer", {"ListID": ["1"], "FullName": ["A"]}),
                         mod("Customer", {"Name": "x"})])
    text = [str(p) for p in problems]
    assert any("CustomerAdd/Name" in t and "required" in t for t in text)
    assert any("cannot be used together" in t for t in text)
    assert any("CustomerMod/ListID" in t for t in text) and any("EditSequence" in t for t in text)


def test_truncation_on_request_is_recorded() -> None:
    long_name = "Northern Nevada Residential Construction Services"
    built = build([add("Customer", {"Name": long_name})], truncate=True)
    assert f"<Name>{long_name[:41]}</Name>" in built.xml
    (t,) = built.truncations
    assert t.original == long_name and t.truncated == long_name[:41] and t.path.endswith("/Name")


def test_values_are_exact_or_refused() -> None:
    good = build([add("ItemService", {"Name": "Labor", "SalesOrPurchase": {
        "Price": Decimal("55.12345"), "AccountRef": "Construction Income"}})])
    assert "<Price>55.12345</Price>" in good.xml
    for bad in (
        {"CreditLimit": Decimal("1.005")},  # three places of money
        {"CreditLimit": Decimal("NaN")},
        {"JobStartDate": datetime(2026, 1, 1, tzinfo=PST)},  # a datetime is not a date
        {"IsActive": "yes"},
        {"Notes": "bell\x07"},  # XML cannot carry it
    ):
        with pytest.raises(BuildError):
            build([add("Customer", {"Name": "A", **bad})])
    with pytest.raises(BuildError, match="UTC offset"):
        build([query("Customer", {"FromModifiedDate": datetime(2026, 1, 1)})])


def test_unknown_requests_wrong_on_error_and_unsupported_versions_are_errors() -> None:
    problems = validate(MessageSet([Request("CustomerFrobRq")], on_error="ignoreErrors"), version="99.0")
    kinds = sorted(p.kind for p in problems)
    assert kinds == ["enum", "unknown", "version"]


def test_an_element_given_a_list_must_be_allowed_to_repeat() -> None:
    with pytest.raises(BuildError, match="only once"):
        build([add("Customer", {"Name": ["A", "B"]})])
