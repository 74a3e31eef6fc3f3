"""QuickBooks changes are found with an overlap window, repeats are dropped, and the mark only moves on."""

from datetime import UTC, datetime, timedelta, timezone

from lxml import etree

from cloud_app.sync.watermarks import OVERLAP, Watermark, advance, change_query, fresh, quiet
from shared.qbxml.builder import build

PDT, PST = timezone(timedelta(hours=-7)), timezone(timedelta(hours=-8))


def rq(mark: Watermark) -> etree._Element:
    return etree.fromstring(build([change_query(mark)]).xml.encode())[0][0]


def test_first_sync_reads_everything_in_pages_including_inactive() -> None:
    q = rq(Watermark("Customer"))
    assert q.get("iterator") == "Start" and q.findtext("MaxReturned") == "500"
    assert q.findtext("ActiveStatus") == "All" and q.find("FromModifiedDate") is None


def test_lists_and_transactions_filter_differently_with_overlap() -> None:
    mark = Watermark("Customer", datetime(2026, 11, 1, 1, 30, tzinfo=PDT))
    assert rq(mark).findtext("FromModifiedDate") == "2026-11-01T00:25:00-07:00"
    inv = rq(Watermark("Invoice", datetime(2026, 11, 1, 1, 30, tzinfo=PST)))
    assert inv.findtext("ModifiedDateRangeFilter/FromModifiedDate") == "2026-11-01T00:25:00-08:00"
    assert inv.findtext("IncludeLineItems") == "true" and inv.findtext("IncludeLinkedTxns") == "true"


def test_repeated_dst_hour_records_are_recognised_as_already_applied() -> None:
    # 01:30 PDT and 01:10 PST are 40 minutes apart although the wall clock went backwards
    a = {"ListID": "1", "EditSequence": "100", "TimeModified": datetime(2026, 11, 1, 1, 30, tzinfo=PDT)}
    b = {"ListID": "2", "EditSequence": "200", "TimeModified": datetime(2026, 11, 1, 1, 10, tzinfo=PST)}
    mark = advance(Watermark("Customer"), [a, b])
    assert mark.modified == b["TimeModified"]
    again = fresh(mark, [a, b, {**a, "EditSequence": "101"}])
    assert again == [{**a, "EditSequence": "101"}]  # only the real new change


def test_nothing_applied_leaves_the_mark_where_it_was() -> None:
    mark = Watermark("Invoice", datetime(2026, 1, 1, tzinfo=PST), frozenset({("x", "1")}))
    assert advance(mark, []) == mark
    newer = {"TxnID": "y", "EditSequence": "2", "TimeModified": datetime(2026, 1, 2, tzinfo=PST)}
    later = advance(mark, [newer])
    assert later.modified is not None and mark.modified is not None
    assert ("x", "1") not in later.seen and later.modified - OVERLAP > mark.modified


def test_every_synced_entity_gets_a_query_quickbooks_accepts() -> None:
    for entity in ("Invoice", "Estimate", "SalesOrder", "ReceivePayment", "CreditMemo", "Customer", "Vendor",
                   "ItemService", "ItemNonInventory", "ItemInventory", "SalesRep"):  # fmt: skip
        q = rq(Watermark(entity, datetime(2026, 11, 1, tzinfo=PST)))  # builds only if the schema allows it
        assert q.tag == f"{entity}QueryRq"
    payment = rq(Watermark("ReceivePayment"))
    assert payment.findtext("IncludeLineItems") == "true" and payment.find("IncludeLinkedTxns") is None


def test_a_quiet_company_is_not_read_again_from_its_last_change() -> None:
    last = {"ListID": "1", "EditSequence": "100", "TimeModified": datetime(2026, 11, 20, 9, 0, tzinfo=PST)}
    mark = advance(Watermark("Customer"), [last])
    asked = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # queued at 12:00 PST, nothing changed since
    moved = quiet(mark, asked, PST)
    assert moved.modified == datetime(2026, 11, 20, 12, 0, tzinfo=PST)
    assert rq(moved).findtext("FromModifiedDate") == "2026-11-20T10:55:00-08:00"  # still the overlap
    assert moved.seen == frozenset()  # the 09:00 change is outside the window now
    soon = quiet(mark, datetime(2026, 11, 20, 17, 30, tzinfo=UTC), PST)  # 09:30: still in it
    assert soon.seen == mark.seen
    assert quiet(mark, datetime(2026, 11, 20, 16, 0, tzinfo=UTC), PST) == mark  # never back
    assert quiet(Watermark("Invoice"), asked, None) == Watermark("Invoice")  # offset unknown: stays
