"""A company file kept between runs: everything QuickBooks would still have after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.quickbooks import SimulatedQuickBooks, persist
from sandbox.quickbooks.seed import seed_company

from .helpers import Clock, add_customer, doc, run


def test_a_saved_company_comes_back_with_its_records_counters_and_preferences(tmp_path: Path) -> None:
    clock = Clock()
    qb = SimulatedQuickBooks(seed_company(clock=clock))
    added = add_customer(qb, "Persisted &amp; Co")
    qb.company.closing_date = clock().date()
    path = tmp_path / "quickbooks.state"
    persist.save(qb, path)

    again = persist.load(path, clock=clock)
    found = run(again, doc("<CustomerQueryRq><FullName>Persisted &amp; Co</FullName></CustomerQueryRq>"))
    assert found.findtext("CustomerQueryRs/CustomerRet/ListID") == added.findtext("ListID")
    assert found.findtext("CustomerQueryRs/CustomerRet/EditSequence") == added.findtext("EditSequence")
    assert len(again.company.records) == len(qb.company.records)
    assert again.company.closing_date == clock().date()
    fresh = add_customer(again, "Made After The Restart")
    assert fresh.findtext("ListID") not in {r.id for r in qb.company.records.values()}  # counters went on
    invoices = "<InvoiceQueryRq><MaxReturned>3</MaxReturned></InvoiceQueryRq>"
    assert [e.findtext("TxnID") for e in run(again, doc(invoices)).iter("InvoiceRet")] == [
        e.findtext("TxnID") for e in run(qb, doc(invoices)).iter("InvoiceRet")
    ]


def test_a_file_that_is_not_a_saved_company_is_refused(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "other.state"
    path.write_bytes(pickle.dumps({"format": 99}))
    with pytest.raises(ValueError, match="not a saved QuickBooks simulator state"):
        persist.load(path)
