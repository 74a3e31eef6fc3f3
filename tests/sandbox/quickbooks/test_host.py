"""The host's sessions and fault switches, and the seeded sample company."""

from __future__ import annotations

import pytest

from sandbox.qbport import ConnectionFailed, RequestFailed
from sandbox.quickbooks import SimulatedQuickBooks, seed_company

from .helpers import add_customer, doc, fresh, run


def test_not_running_and_wrong_file_fail_at_begin_session() -> None:
    qb = fresh()
    qb.not_running = True
    with pytest.raises(ConnectionFailed) as info:
        qb.begin_session(company_file="", app_name="t", owner_id="0", file_id="0")
    assert info.value.hresult == "0x80040408"
    qb.not_running = False
    with pytest.raises(ConnectionFailed, match="different from the one requested"):
        qb.begin_session(company_file="C:\\Other.qbw", app_name="t", owner_id="0", file_id="0")


def test_a_record_locked_by_another_user() -> None:
    qb = fresh()
    ret = add_customer(qb, "Locked")
    qb.lock_record(ret.findtext("ListID") or "")
    rs = run(
        qb,
        doc(
            f"<CustomerModRq><CustomerMod><ListID>{ret.findtext('ListID')}</ListID>"
            f"<EditSequence>{ret.findtext('EditSequence')}</EditSequence><Phone>1</Phone>"
            "</CustomerMod></CustomerModRq>"
        ),
    )[0]
    assert rs.get("statusCode") == "3175"


def test_quickbooks_closing_mid_session() -> None:
    qb = fresh()
    session = qb.begin_session(company_file="", app_name="t", owner_id="0", file_id="0")
    qb.not_running = True
    with pytest.raises(RequestFailed):
        session.process(doc("<CustomerQueryRq/>"))


def test_history_keeps_every_exchange() -> None:
    qb = fresh()
    n = len(qb.history)
    run(qb, doc("<CustomerQueryRq/>"))
    assert len(qb.history) == n + 1 and qb.history[-1].response


def test_seed_is_deterministic_and_scales() -> None:
    a, b = seed_company(7), seed_company(7)
    names = sorted(r.full_name for r in a.of_kind("Customer"))
    assert names == sorted(r.full_name for r in b.of_kind("Customer"))
    assert sorted(r.full_name for r in seed_company(8).of_kind("Customer")) != names
    kinds = {r.kind for r in a.records.values()}
    assert {
        "Customer",
        "Vendor",
        "Employee",
        "SalesRep",
        "ItemService",
        "ItemInventory",
        "ItemSalesTax",
        "StandardTerms",
        "Invoice",
        "Estimate",
        "ReceivePayment",
    } <= kinds
    assert any(":" in r.full_name for r in a.of_kind("Customer"))  # jobs
    assert any(r.text("IsPaid") == "true" for r in a.of_kind("Invoice"))
    assert len(list(seed_company(1, scale=3).of_kind("Invoice"))) == 3 * len(list(a.of_kind("Invoice")))


def test_seeded_company_answers_conforming_queries() -> None:
    qb = SimulatedQuickBooks(seed_company(1))
    box = run(
        qb,
        doc(
            "<CustomerQueryRq/><ItemQueryRq/><InvoiceQueryRq><IncludeLineItems>true</IncludeLineItems>"
            "<IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq><ReceivePaymentQueryRq/>"
            "<EstimateQueryRq/><SalesRepQueryRq/><TermsQueryRq/><VendorQueryRq/><EmployeeQueryRq/>"
        ),
    )
    assert all(rs.get("statusCode") == "0" for rs in box), [rs.get("statusMessage") for rs in box]
    item_kinds = {c.tag for c in box[1]}
    assert {"ItemServiceRet", "ItemInventoryRet", "ItemSalesTaxRet"} <= item_kinds


def test_serve_answers_qbxml_over_http_and_refuses_a_broken_document() -> None:
    import threading

    import requests
    from werkzeug.serving import make_server

    from sandbox.quickbooks.__main__ import wsgi

    server = make_server("127.0.0.1", 0, wsgi(fresh()), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/qbxml"
    try:
        good = requests.post(
            url, data=doc("<CustomerAddRq><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>")
        )
        assert good.status_code == 200
        assert "<CustomerRet>" in good.text and 'statusCode="0"' in good.text
        bad = requests.post(
            url, data=doc("<CustomerAddRq><CustomerAdd><Phone>1</Phone></CustomerAdd></CustomerAddRq>")
        )
        assert bad.status_code == 422 and bad.text.startswith("0x80040400")
        assert requests.get(url).status_code == 404
    finally:
        server.shutdown()
