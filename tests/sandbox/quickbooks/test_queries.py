"""Queries, filters, iterators, onError, requestID and error recovery (§5, §7, §8)."""

from __future__ import annotations

from datetime import timedelta

from sandbox.quickbooks import SimulatedQuickBooks
from sandbox.quickbooks.processor import SessionState

from .helpers import add_customer, doc, fresh, ok, run


def test_a_filter_matching_nothing_is_1_info_a_lookup_finding_nothing_is_500_warn() -> None:
    """Errata 5 of ../shared/specs/quickbooks-webconnector.md (qbwc/qbwc test captures, two 2026 probes):
    a lookup by ListID, FullName or TxnID that finds nothing — wholly or partly — answers 500/Warn."""
    qb = fresh()
    add_customer(qb, "Wu")
    box = run(
        qb,
        doc(
            '<CustomerQueryRq requestID="6"><NameFilter><MatchCriterion>StartsWith</MatchCriterion>'
            "<Name>Nobody</Name></NameFilter></CustomerQueryRq>"
            '<CustomerQueryRq requestID="7"><FullName>Nobody</FullName></CustomerQueryRq>'
            '<CustomerQueryRq requestID="8"><FullName>Wu</FullName><FullName>Nobody</FullName>'
            "</CustomerQueryRq>"
            '<CustomerQueryRq requestID="9"><ListID>80000999-1234567890</ListID></CustomerQueryRq>'
            '<InvoiceQueryRq requestID="10"><TxnID>999-1234567890</TxnID></InvoiceQueryRq>',
            on_error="continueOnError",
        ),
    )
    assert (box[0].get("requestID"), box[0].get("statusCode"), box[0].get("statusSeverity")) == (
        "6",
        "1",
        "Info",
    )
    assert box[0].get("statusMessage") == "A query request did not find a matching object in QuickBooks"
    missing_ones = ("Nobody", "Nobody", "80000999-1234567890", "999-1234567890")
    for rs, missing in zip(box[1:], missing_ones, strict=True):
        assert (rs.get("statusCode"), rs.get("statusSeverity")) == ("500", "Warn"), rs.get("requestID")
        assert rs.get("statusMessage") == (
            "The query request has not been fully completed. There was a required element "
            f'("{missing}") that could not be found in QuickBooks.'
        )
    assert box[1].findall("CustomerRet") == [] and len(box[2].findall("CustomerRet")) == 1


def test_from_modified_date_is_inclusive() -> None:
    qb = fresh()
    first = add_customer(qb, "Yilmaz")
    qb.company.clock.tick(60)  # type: ignore[attr-defined]
    add_customer(qb, "Later")
    since = first.findtext("TimeModified")
    box = run(qb, doc(f"<CustomerQueryRq><FromModifiedDate>{since}</FromModifiedDate></CustomerQueryRq>"))
    assert [c.findtext("Name") for c in box[0]] == ["Later", "Yilmaz"]
    box = run(
        qb, doc(f"<CustomerQueryRq><FromModifiedDate>{since[:19]}</FromModifiedDate></CustomerQueryRq>")
    )
    assert len(box[0]) == 2  # without an offset the time is company-local


def test_meta_data_only_counts() -> None:
    qb = fresh()
    for n in range(3):
        add_customer(qb, f"C{n}")
    rs = run(qb, doc('<CustomerQueryRq metaData="MetaDataOnly"/>'))[0]
    assert rs.get("retCount") == "3" and len(rs) == 0


def _many(qb: SimulatedQuickBooks, n: int) -> None:
    body = "".join(
        f"<CustomerAddRq><CustomerAdd><Name>Customer {i:04d}</Name></CustomerAdd></CustomerAddRq>"
        for i in range(n)
    )
    box = run(qb, doc(body))
    assert all(rs.get("statusCode") == "0" for rs in box)


def test_iterators_page_through_2000_customers_and_die_with_the_session() -> None:
    qb = fresh()
    _many(qb, 2000)
    session = qb.begin_session(company_file="", app_name="t", owner_id="0", file_id="0")
    first = run(
        qb,
        doc(
            '<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>500</MaxReturned></CustomerQueryRq>'
        ),
        session.state,
    )[0]
    iterator_id = first.get("iteratorID") or ""
    seen = [c.findtext("Name") for c in first]
    remaining = [first.get("iteratorRemainingCount")]
    while remaining[-1] != "0":
        page = run(
            qb,
            doc(
                f'<CustomerQueryRq requestID="1" iterator="Continue" iteratorID="{iterator_id}">'
                "<MaxReturned>500</MaxReturned></CustomerQueryRq>"
            ),
            session.state,
        )[0]
        remaining.append(page.get("iteratorRemainingCount"))
        seen += [c.findtext("Name") for c in page]
    assert remaining == ["1500", "1000", "500", "0"]
    assert seen == [f"Customer {i:04d}" for i in range(2000)]
    # An iterator id is valid only in the session that made it.
    other = qb.begin_session(company_file="", app_name="t", owner_id="0", file_id="0")
    start = run(
        qb,
        doc('<CustomerQueryRq iterator="Start"><MaxReturned>10</MaxReturned></CustomerQueryRq>'),
        session.state,
    )[0]
    session.close()
    dead = run(
        qb,
        doc(
            f'<CustomerQueryRq iterator="Continue" iteratorID="{start.get("iteratorID")}">'
            "<MaxReturned>10</MaxReturned></CustomerQueryRq>"
        ),
        other.state,
    )[0]
    assert dead.get("statusCode") == "3000" and dead.get("statusSeverity") == "Error"


def test_stop_on_error_answers_the_rest_with_3231_continue_runs_them() -> None:
    qb = fresh()
    add_customer(qb, "Taken")
    body = (
        '<CustomerAddRq requestID="a"><CustomerAdd><Name>Taken</Name></CustomerAdd></CustomerAddRq>'
        '<CustomerAddRq requestID="b"><CustomerAdd><Name>Fresh</Name></CustomerAdd></CustomerAddRq>'
    )
    box = run(qb, doc(body))
    assert [(rs.get("requestID"), rs.get("statusCode")) for rs in box] == [("a", "3100"), ("b", "3231")]
    assert qb.company.by_name(("Customer",), "Fresh") is None
    box = run(qb, doc(body, on_error="continueOnError"))
    assert [rs.get("statusCode") for rs in box] == ["3100", "0"]


def test_rollback_on_error_undoes_the_set() -> None:
    qb = fresh()
    add_customer(qb, "Taken")
    run(
        qb,
        doc(
            "<CustomerAddRq><CustomerAdd><Name>New</Name></CustomerAdd></CustomerAddRq>"
            "<CustomerAddRq><CustomerAdd><Name>Taken</Name></CustomerAdd></CustomerAddRq>",
            on_error="rollbackOnError",
        ),
    )
    assert qb.company.by_name(("Customer",), "New") is None


def test_error_recovery_returns_what_a_lost_response_said() -> None:
    qb = fresh()
    qb.lose_next_response = True
    try:
        qb.process(
            doc(
                "<CustomerAddRq><CustomerAdd><Name>Maybe</Name></CustomerAdd></CustomerAddRq>",
                attrs=' newMessageSetID="set-1"',
            )
        )
    except Exception as exc:  # noqa: BLE001 - the caller only sees an HRESULT
        assert getattr(exc, "hresult", "") == "0x80040401"
    assert qb.company.by_name(("Customer",), "Maybe") is not None  # it happened
    box = run(qb, doc("", attrs=' oldMessageSetID="set-1" newMessageSetID="set-1"'))
    assert box.get("messageSetStatusCode") == "0"
    assert ok(box[0]).findtext("CustomerRet/Name") == "Maybe"
    unknown = run(qb, doc("", attrs=' oldMessageSetID="never"'))
    assert unknown.get("messageSetStatusCode") != "0" and len(unknown) == 0


def test_a_targeted_lost_answer_spares_the_documents_before_it() -> None:
    """``lose_response_to``: the answer to the first document holding that text is lost after QuickBooks
    committed it (0x80040401, as the Web Connector reports a lost answer — quickbooks-webconnector.md §2
    and §8); documents before it, like the Web Connector's host query, are answered as usual."""
    qb = fresh()
    qb.lose_response_to = "<CustomerAddRq"
    session = qb.begin_session(company_file="", app_name="t", owner_id="", file_id="")
    assert "HostQueryRs" in session.process(doc("<HostQueryRq/>"))  # not this one
    try:
        session.process(
            doc("<CustomerAddRq><CustomerAdd><Name>Lost One</Name></CustomerAdd></CustomerAddRq>")
        )
        raise AssertionError("the answer should have been lost")
    except Exception as exc:  # noqa: BLE001 - the caller only sees an HRESULT
        assert getattr(exc, "hresult", "") == "0x80040401"
    assert qb.company.by_name(("Customer",), "Lost One") is not None  # QuickBooks applied it
    assert qb.history[-1].hresult == "0x80040401" and qb.history[-1].response  # what it would have said
    assert qb.lose_response_to is None  # once only
    assert "CustomerRet" in session.process(
        doc("<CustomerAddRq><CustomerAdd><Name>Heard One</Name></CustomerAdd></CustomerAddRq>")
    )


def test_txn_date_and_entity_filters() -> None:
    qb = fresh()
    add_customer(qb, "Abe")
    add_customer(qb, "Job", "<ParentRef><FullName>Abe</FullName></ParentRef>")
    add_customer(qb, "Zed")
    for who, day in (("Abe", "2026-01-10"), ("Abe:Job", "2026-02-10"), ("Zed", "2026-03-10")):
        run(
            qb,
            doc(
                f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{who}</FullName></CustomerRef>"
                f"<TxnDate>{day}</TxnDate><InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef>"
                "</InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
            ),
        )
    box = run(
        qb,
        doc(
            "<InvoiceQueryRq><TxnDateRangeFilter><FromTxnDate>2026-02-01</FromTxnDate>"
            "</TxnDateRangeFilter></InvoiceQueryRq>"
            "<InvoiceQueryRq><EntityFilter><FullNameWithChildren>Abe</FullNameWithChildren>"
            "</EntityFilter><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
        ),
    )
    assert [i.findtext("TxnDate") for i in box[0]] == ["2026-02-10", "2026-03-10"]
    assert box[0][0].find("InvoiceLineRet") is None  # lines only when asked
    assert [i.findtext("CustomerRef/FullName") for i in box[1]] == ["Abe", "Abe:Job"]
    assert box[1][0].find("InvoiceLineRet") is not None


def test_include_ret_element_trims_the_answer() -> None:
    qb = fresh()
    add_customer(qb, "Trim")
    body = (
        "<CustomerQueryRq><FullName>Trim</FullName><IncludeRetElement>ListID</IncludeRetElement>"
        "<IncludeRetElement>EditSequence</IncludeRetElement></CustomerQueryRq>"
    )
    rs = run(qb, doc(body), conform=False)[0]  # only what was asked for, so "required" ones are absent
    assert [c.tag for c in rs[0]] == ["ListID", "EditSequence"]


def test_state_is_per_session() -> None:
    assert SessionState().iterators == {}
    assert timedelta(0) == timedelta(0)
