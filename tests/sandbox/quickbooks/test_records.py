"""The record model (§6): ids, EditSequence, times with the company offset, one name space, references."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sandbox.quickbooks.company import Company
from sandbox.quickbooks.host import SimulatedQuickBooks

from .helpers import Clock, add_customer, doc, fresh, invoice, item, line, ok, run


def test_ids_and_times_look_like_quickbooks() -> None:
    clock = Clock(datetime(2026, 7, 1, 17, 0, tzinfo=UTC))
    qb = fresh(clock)
    ret = add_customer(qb, "Summer Co")
    assert re.fullmatch(r"[0-9A-F]{8}-\d{10}", ret.findtext("ListID") or "")
    assert ret.findtext("TimeCreated") == "2026-07-01T10:00:00-07:00"  # PDT in July
    clock.now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    ret = add_customer(qb, "Winter Co")
    assert ret.findtext("TimeCreated") == "2026-11-25T09:00:00-08:00"  # PST in November
    inv = invoice(qb, "Winter Co", line("Labor", "1"))
    assert re.fullmatch(r"[0-9A-F]+-\d{10}", inv.findtext("TxnID") or "")
    assert re.fullmatch(r"[0-9A-F]+-\d{10}", inv.findtext("InvoiceLineRet/TxnLineID") or "")


def test_customer_vendor_employee_share_one_name_space() -> None:
    qb = fresh()
    add_customer(qb, "Acme")
    box = run(
        qb,
        doc(
            "<VendorAddRq><VendorAdd><Name>ACME</Name></VendorAdd></VendorAddRq>"
            "<EmployeeAddRq><EmployeeAdd><FirstName>Acme</FirstName></EmployeeAdd></EmployeeAddRq>",
            on_error="continueOnError",
        ),
    )
    assert [rs.get("statusCode") for rs in box] == ["3100", "3100"]
    assert box[0].get("statusMessage") == 'The name "ACME" of the list element is already in use.'
    # Items have their own name space.
    ok(run(qb, doc(item("ItemService", "Acme", "Non", "Acme work", "10.00")))[0])


def test_a_name_with_a_colon_is_refused_with_3090() -> None:
    """Errata 6 of ../shared/specs/quickbooks-webconnector.md (jsgoupil/quickbooks-sync tests): the colon
    is QuickBooks' Parent:Child separator, so no list record's Name may hold one — on Add or Mod."""
    qb = fresh()
    wu = add_customer(qb, "Wu")
    box = run(
        qb,
        doc(
            "<CustomerAddRq><CustomerAdd><Name>Acme: West</Name></CustomerAdd></CustomerAddRq>"
            "<VendorAddRq><VendorAdd><Name>Tractor:Trailer</Name></VendorAdd></VendorAddRq>"
            + item("ItemService", "Pipe 3:4", "Non", "Pipe", "1.00")
            + f"<CustomerModRq><CustomerMod><ListID>{wu.findtext('ListID')}</ListID>"
            f"<EditSequence>{wu.findtext('EditSequence')}</EditSequence><Name>Wu:Li</Name>"
            "</CustomerMod></CustomerModRq>",
            on_error="continueOnError",
        ),
    )
    assert [(rs.get("statusCode"), rs.get("statusSeverity")) for rs in box] == [("3090", "Error")] * 4
    assert all("Names in this list cannot contain a colon" in (rs.get("statusMessage") or "") for rs in box)
    found = run(qb, doc("<CustomerQueryRq/><VendorQueryRq/>"))
    assert [c.findtext("Name") for c in found[0]] == ["Wu"] and len(found[1]) == 0  # nothing stored
    # a sub-record's FullName is Parent:Child; its own Name has no colon, so that is fine
    assert (
        add_customer(qb, "Kitchen", "<ParentRef><FullName>Wu</FullName></ParentRef>").findtext("FullName")
        == "Wu:Kitchen"
    )


def test_jobs_have_parent_child_full_names_and_roll_up_balances() -> None:
    qb = fresh()
    add_customer(qb, "Baker")
    job = add_customer(qb, "Kitchen", "<ParentRef><FullName>Baker</FullName></ParentRef>")
    assert job.findtext("FullName") == "Baker:Kitchen" and job.findtext("Sublevel") == "1"
    invoice(qb, "Baker:Kitchen", line("Labor", "2"))
    box = run(
        qb,
        doc(
            "<CustomerQueryRq><FullName>Baker</FullName><FullName>Baker:Kitchen</FullName></CustomerQueryRq>"
        ),
    )
    parent, child = box[0].findall("CustomerRet")
    assert (parent.findtext("Balance"), parent.findtext("TotalBalance")) == ("0.00", "110.00")
    assert (child.findtext("Balance"), child.findtext("TotalBalance")) == ("110.00", "110.00")


def test_invalid_reference_is_3140() -> None:
    qb = fresh()
    box = run(
        qb,
        doc(
            "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Nobody</FullName></CustomerRef>"
            "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd>"
            "</InvoiceAdd></InvoiceAddRq>"
        ),
    )
    assert box[0].get("statusCode") == "3140"
    assert 'invalid reference to QuickBooks Customer "Nobody" in the Invoice' in (
        box[0].get("statusMessage") or ""
    )
    assert not list(qb.company.of_kind("Invoice"))


def _mod_customer(list_id: str, seq: str, body: str) -> str:
    return doc(
        f"<CustomerModRq><CustomerMod><ListID>{list_id}</ListID><EditSequence>{seq}</EditSequence>"
        f"{body}</CustomerMod></CustomerModRq>"
    )


def test_mod_needs_the_current_edit_sequence_and_leaves_omitted_fields_alone() -> None:
    qb = fresh()
    ret = add_customer(qb, "Orloff", "<CompanyName>Orloff LLC</CompanyName><Phone>650-555-0101</Phone>")
    list_id, seq = ret.findtext("ListID") or "", ret.findtext("EditSequence") or ""
    qb.company.clock.tick()  # type: ignore[attr-defined]
    modded = ok(run(qb, _mod_customer(list_id, seq, "<Phone>650-555-0199</Phone>"))[0])[0]
    assert modded.findtext("Phone") == "650-555-0199"
    assert modded.findtext("CompanyName") == "Orloff LLC"
    assert modded.findtext("EditSequence") != seq
    assert modded.findtext("TimeModified") != ret.findtext("TimeModified")
    stale = run(qb, _mod_customer(list_id, seq, "<Phone>1</Phone>"))[0]
    assert stale.get("statusCode") == "3200"
    assert stale.get("statusMessage") == f'The provided edit sequence "{seq}" is out-of-date.'


def test_a_stale_edit_sequence_answer_carries_the_record_as_it_is_now() -> None:
    """Errata 8 of specs/quickbooks-webconnector.md (2010 captures): a retry needs no second query."""
    qb = fresh()
    ret = add_customer(qb, "Petrov", "<Phone>650-555-0101</Phone>")
    list_id, seq = ret.findtext("ListID") or "", ret.findtext("EditSequence") or ""
    qb.company.edit(list_id, Phone="650-555-7777")  # a bookkeeper's edit in between
    stale = run(qb, _mod_customer(list_id, seq, "<Phone>1</Phone>"))[0]
    assert stale.get("statusCode") == "3200"
    (current,) = stale.findall("CustomerRet")
    assert current.findtext("ListID") == list_id and current.findtext("Phone") == "650-555-7777"
    assert current.findtext("EditSequence") not in ("", seq)  # the one a retry must send


def test_a_bookkeeper_edit_mid_session_makes_our_edit_sequence_stale() -> None:
    qb = fresh()
    ret = add_customer(qb, "Vitale")
    qb.company.edit(ret.findtext("ListID") or "", Phone="650-555-7777")
    stale = run(
        qb,
        _mod_customer(ret.findtext("ListID") or "", ret.findtext("EditSequence") or "", "<Phone>1</Phone>"),
    )[0]
    assert stale.get("statusCode") == "3200"


def test_text_outside_the_code_page_becomes_question_marks() -> None:
    qb = fresh()
    ret = add_customer(qb, "Иванов &amp; Co — café")
    assert ret.findtext("Name") == "?????? & Co — café"  # em dash and é are in Windows-1252


def test_a_fresh_company_answers_host_company_and_preferences() -> None:
    qb = SimulatedQuickBooks(Company())
    box = run(qb, doc("<HostQueryRq/><CompanyQueryRq/><PreferencesQueryRq/>", version="13.0"))
    host = box[0].find("HostRet")
    assert host is not None
    versions = [v.text for v in host.findall("SupportedQBXMLVersion")]
    assert versions[0] == "1.0" and versions[-1] == "16.0"
    assert box[1].findtext("CompanyRet/CompanyName") == "Rock Castle Construction"
    assert box[2].find("PreferencesRet/AccountingPreferences") is not None


def test_answers_hold_only_what_the_declared_version_knows() -> None:
    qb = SimulatedQuickBooks(Company())
    box = run(qb, doc("<HostQueryRq/>", version="2.0"), conform=False)
    assert box[0].find("HostRet/QBFileMode") is None  # QBFileMode is newer than qbXML 2.0
    assert box[0].find("HostRet/SupportedQBXMLVersion") is not None


def test_renamed_records_are_found_by_their_new_name_only() -> None:
    qb = fresh()
    rep = ok(
        run(
            qb,
            doc(
                "<EmployeeAddRq><EmployeeAdd><FirstName>Ann</FirstName><LastName>Baker</LastName>"
                "</EmployeeAdd></EmployeeAddRq><SalesRepAddRq><SalesRepAdd><Initial>AB</Initial>"
                "<SalesRepEntityRef><FullName>Ann Baker</FullName></SalesRepEntityRef>"
                "</SalesRepAdd></SalesRepAddRq>"
            ),
        )[1]
    )[0]
    ok(
        run(
            qb,
            doc(
                f"<SalesRepModRq><SalesRepMod><ListID>{rep.findtext('ListID')}</ListID>"
                f"<EditSequence>{rep.findtext('EditSequence')}</EditSequence><Initial>CD</Initial>"
                "</SalesRepMod></SalesRepModRq>"
            ),
        )[0]
    )
    customer = add_customer(qb, "Old Name")
    qb.company.edit(customer.findtext("ListID") or "", Name="New Name")
    found = run(
        qb,
        doc(
            "<SalesRepQueryRq><FullName>CD</FullName></SalesRepQueryRq>"
            "<SalesRepQueryRq><FullName>AB</FullName></SalesRepQueryRq>"
            "<CustomerQueryRq><FullName>New Name</FullName></CustomerQueryRq>"
            "<CustomerQueryRq><FullName>Old Name</FullName></CustomerQueryRq>",
            on_error="continueOnError",
        ),
    )
    assert [rs.get("statusCode") for rs in found] == ["0", "500", "0", "500"]  # 500: lookups (errata 5)
    # The old name is free again.
    add_customer(qb, "Old Name")
