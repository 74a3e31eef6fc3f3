"""The simulator answers as captured QuickBooks traffic shows: codes, texts, defaults (issue 19).

Each test names its capture. The fixtures here are our own, written to the captured shapes.
"""

from __future__ import annotations

import pytest

from sandbox.qbport import RequestFailed

from .helpers import add_customer, doc, fresh, invoice, line, ok, run


def test_an_element_desktop_lacks_is_ignored_with_530_and_the_request_still_runs() -> None:
    """Errata 7 of ../shared/specs/quickbooks-webconnector.md (2010 captures) and jsgoupil/quickbooks-sync
    issue #1 ("Version 13 will give a warning when using CustomerRet.Mobile", "InvoiceLineAdd.IsTaxable"):
    an element the catalogue marks "not in QBD" is a warning, not a refusal of the document."""
    qb = fresh()
    box = run(
        qb,
        doc(
            '<CustomerAddRq requestID="7"><CustomerAdd><Name>Petrov</Name><Phone>555-0100</Phone>'
            "<Mobile>555-0101</Mobile></CustomerAdd></CustomerAddRq>"
        ),
    )
    rs = box[0]
    assert (rs.get("statusCode"), rs.get("statusSeverity"), rs.get("requestID")) == ("530", "Warn", "7")
    assert '"Mobile"' in (rs.get("statusMessage") or "")
    ret = rs.find("CustomerRet")
    assert ret is not None and ret.findtext("Name") == "Petrov" and ret.findtext("Phone") == "555-0100"
    assert ret.find("Mobile") is None  # ignored, not stored
    found = run(qb, doc("<CustomerQueryRq><FullName>Petrov</FullName></CustomerQueryRq>"))[0]
    assert ok(found)[0].findtext("ListID") == ret.findtext("ListID")  # the add happened


def test_a_530_inside_a_line_warns_the_transaction_that_still_lands() -> None:
    """jsgoupil/quickbooks-sync issue #1: ``InvoiceLineAdd.IsTaxable`` (not in QBD) gives a warning."""
    qb = fresh()
    add_customer(qb, "Ivanov")
    rows = line("Labor", "2").replace("</InvoiceLineAdd>", "<IsTaxable>true</IsTaxable></InvoiceLineAdd>")
    box = run(
        qb,
        doc(
            "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Ivanov</FullName></CustomerRef>"
            f"{rows}</InvoiceAdd></InvoiceAddRq>"
        ),
    )
    assert (box[0].get("statusCode"), box[0].get("statusSeverity")) == ("530", "Warn")
    assert box[0].findtext("InvoiceRet/Subtotal") == "110.00"


def test_the_refuse_switch_keeps_the_whole_document_refusal() -> None:
    """The older reading (contract §4/§11) as a switch: the whole document refused with 0x80040400."""
    qb = fresh()
    qb.unsupported_elements = "refuse"
    with pytest.raises(RequestFailed) as caught:
        qb.process(doc("<CustomerAddRq><CustomerAdd><Name>P</Name><Mobile>1</Mobile></CustomerAdd>"
                       "</CustomerAddRq>"))
    assert caught.value.hresult == "0x80040400"
    assert qb.history[-1].reason is not None and "Mobile" in qb.history[-1].reason


def test_a_530_never_hides_an_error() -> None:
    """An error is still the error (a 3100 with an ignored element answers 3100, not 530)."""
    qb = fresh()
    add_customer(qb, "Sidorov")
    box = run(
        qb,
        doc("<CustomerAddRq><CustomerAdd><Name>Sidorov</Name><Pager>1</Pager></CustomerAdd></CustomerAddRq>"),
    )
    assert box[0].get("statusCode") == "3100"


def test_the_colon_refusal_reads_as_captured() -> None:
    """jsgoupil/quickbooks-sync test/WebConnector.Tests/Impl/GroupStepQueryResponseBaseTests.cs (3090):
    the text, its missing spaces after the full stops included."""
    colon = "<CustomerAddRq><CustomerAdd><Name>Incorrect : Name</Name></CustomerAdd></CustomerAddRq>"
    box = run(fresh(), doc(colon))
    assert box[0].get("statusMessage") == (
        'There was an error when storing "Incorrect : Name" in the "customer name" field.'
        "QuickBooks error message: Names in this list cannot contain a colon."
        "The colon is a special character used to indicate a parent/child relationship."
    )


def test_an_object_not_found_reads_as_captured() -> None:
    """qbwc/qbwc test/test_helper.rb (QBWC_CUSTOMER_QUERY_STATUS_MESSAGE_ERROR): 3120's text, two spaces
    after each full stop."""
    box = run(
        fresh(),
        doc(
            "<CustomerModRq><CustomerMod><ListID>8000001B-1405768916</ListID><EditSequence>1</EditSequence>"
            "<Phone>1</Phone></CustomerMod></CustomerModRq>"
        ),
    )
    assert (box[0].get("statusCode"), box[0].get("statusSeverity")) == ("3120", "Error")
    assert box[0].get("statusMessage") == (
        'Object "8000001B-1405768916" specified in the request cannot be found.  QuickBooks error message: '
        "Invalid argument.  The specified record does not exist in the list."
    )


def test_a_missing_lookup_is_500_by_default_and_3120_behind_the_switch() -> None:
    """The captures disagree: qbwc/qbwc test/test_helper.rb holds a CustomerQueryRs 500/Warn (FullName
    "bleech") and a CustomerQueryRs 3120/Error (a ListID); errata 5's two 2026 probes answered 500. The
    default is 500; ``missing_lookup = "3120"`` gives the other."""
    qb = fresh()
    warn = run(qb, doc("<CustomerQueryRq><FullName>bleech</FullName></CustomerQueryRq>"))[0]
    assert (warn.get("statusCode"), warn.get("statusSeverity")) == ("500", "Warn")
    assert warn.get("statusMessage") == (
        "The query request has not been fully completed. There was a required element "
        '("bleech") that could not be found in QuickBooks.'
    )
    qb.processor.missing_lookup = "3120"
    error = run(qb, doc("<CustomerQueryRq><ListID>8000001B-1405768916</ListID></CustomerQueryRq>"))[0]
    assert (error.get("statusCode"), error.get("statusSeverity")) == ("3120", "Error")
    filtered = run(qb, doc("<CustomerQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion>"
                           "<Name>zz</Name></NameFilter></CustomerQueryRq>"))[0]
    assert filtered.get("statusCode") == "1"  # a filter matching nothing stays 1/Info either way


def test_a_new_customer_carries_the_captured_defaults() -> None:
    """consolibyte/quickbooks-php 740d2f8 QuickBooks/dev/quickbooks_log.txt and qbwc/qbwc test/test_helper.rb
    (CustomerAddRs): IsActive true, Sublevel 0, Balance/TotalBalance 0.00, JobStatus None; the EditSequence
    is digits; ListID and TimeCreated/TimeModified as QuickBooks writes them (hex-digits, offset)."""
    ret = add_customer(fresh(), "Joseph Customer")
    assert ret.findtext("IsActive") == "true" and ret.findtext("Sublevel") == "0"
    assert ret.findtext("Balance") == ret.findtext("TotalBalance") == "0.00"
    assert ret.findtext("JobStatus") == "None"
    assert (ret.findtext("EditSequence") or "").isdigit()
    list_id = ret.findtext("ListID") or ""
    head, _, tail = list_id.partition("-")
    assert int(head, 16) >= 0 and tail.isdigit()
    created = ret.findtext("TimeCreated") or ""
    assert created == ret.findtext("TimeModified") and created[19] in "+-" and len(created) == 25


def test_an_answer_document_opens_as_quickbooks_writes_it() -> None:
    """consolibyte/quickbooks-php 740d2f8 QuickBooks/dev/quickbooks_log.txt: ``<?xml version="1.0" ?>``
    then ``<QBXML><QBXMLMsgsRs>``; a request without requestID gets an answer without one."""
    out = fresh().process(doc("<CustomerQueryRq><MaxReturned>1</MaxReturned></CustomerQueryRq>"))
    assert out.startswith('<?xml version="1.0" ?>')
    assert "<QBXML><QBXMLMsgsRs><CustomerQueryRs " in out and "requestID" not in out


def test_an_invoice_lands_with_a_stale_retry_needing_no_query() -> None:
    """Errata 8 (2010 captures): the 3200 answer holds the record as it is now, so its EditSequence works."""
    qb = fresh()
    add_customer(qb, "Orlov")
    inv = invoice(qb, "Orlov", line("Labor", "1"))
    qb.company.clock.tick(5)  # type: ignore[attr-defined]
    mod = (
        f"<InvoiceModRq><InvoiceMod><TxnID>{inv.findtext('TxnID')}</TxnID><EditSequence>{{}}</EditSequence>"
        "<Memo>{}</Memo></InvoiceMod></InvoiceModRq>"
    )
    ok(run(qb, doc(mod.format(inv.findtext("EditSequence"), "first")))[0])
    stale = run(qb, doc(mod.format(inv.findtext("EditSequence"), "second")))[0]
    assert stale.get("statusCode") == "3200"
    current = stale.findtext("InvoiceRet/EditSequence")
    assert current and current != inv.findtext("EditSequence")
    assert ok(run(qb, doc(mod.format(current, "second")))[0]).findtext("InvoiceRet/Memo") == "second"


def test_the_web_connectors_first_connection_stamps_the_file_id() -> None:
    """PG Table 4-1 p.36 (FileID) and errata 9; the shape as a captured CompanyRet holds it (qbwc/qbwc
    test/test_helper.rb, SEND_REQUEST_PARAMS strHCPResponse): a DataExtRet named FileID under the app's
    OwnerID. The first FileID stays: a second .qwc with another FileID does not re-stamp the file."""
    owner = "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}"
    first, second = "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}", "{11111111-2222-3333-4444-555555555555}"
    qb = fresh()
    query = doc(f'<CompanyQueryRq requestID="1"><OwnerID>{owner}</OwnerID></CompanyQueryRq>', version="13.0")
    assert run(qb, query)[0].find("CompanyRet/DataExtRet") is None  # never connected yet
    for file_id in (first, second):
        qb.begin_session(company_file="", app_name="sync", owner_id=owner, file_id=file_id).close()
    ext = ok(run(qb, query)[0]).find("CompanyRet/DataExtRet")
    assert ext is not None
    assert [ext.findtext(t) for t in ("OwnerID", "DataExtName", "DataExtType", "DataExtValue")] == [
        owner, "FileID", "STR255TYPE", first]
    other = doc("<CompanyQueryRq><OwnerID>{AAAAAAAA-2222-3333-4444-555555555555}</OwnerID>"
                "</CompanyQueryRq>")
    assert run(qb, other)[0].find("CompanyRet/DataExtRet") is None  # private to its owner
