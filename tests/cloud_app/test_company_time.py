"""Dates QuickBooks sees come from the company's calendar — the QuickBooks PC's local date, which its
agent reports — not from the cloud's UTC date. The whole product runs with its clocks set to a
California evening, when UTC is already on the next day."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from .product import World, a_deal, settled, wait

LA = ZoneInfo("America/Los_Angeles")


def _evening_in_california(world: World) -> tuple[date, Callable[[], float]]:
    """Every clock of the product at 18:30 in California today (moving on from there): the cloud's, the
    agent's (on the QuickBooks PC, in California) and QuickBooks'. Returns California's date and the
    clock."""
    la_today = datetime.now(LA).date()
    click = datetime.combine(la_today, clock_time(18, 30), LA)
    assert click.astimezone(UTC).date() == la_today + timedelta(days=1)  # UTC is on the next day already
    began = time.time()

    def epoch() -> float:
        return click.timestamp() + (time.time() - began)

    world.cloud.services.portals.clock = epoch  # type: ignore[method-assign]
    world.agent.relay.local_clock = lambda: datetime.fromtimestamp(epoch(), LA)
    world.qb.company.clock = lambda: datetime.fromtimestamp(epoch(), UTC)
    assert world.qb.company.tz == LA  # the sample company file keeps California's time
    return la_today, epoch


def test_an_evening_click_in_california_dates_the_invoice_and_the_deal_by_californias_date(
    world: World,
) -> None:
    la_today, epoch = _evening_in_california(world)
    deal = a_deal(world, "Evening Builders", [(1, "Labor", "55.00", "2")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    fields = world.cloud.client().call("crm.deal.get", {"id": deal})
    invoice = world.qb_query(f"<InvoiceQueryRq><TxnID>{fields['UF_CRM_QB_TXN_ID']}</TxnID></InvoiceQueryRq>")[
        0
    ]
    assert invoice["TxnDate"] == la_today  # QuickBooks' own date for the evening, not tomorrow's
    assert invoice["TimeCreated"].date() == la_today  # …the same day QuickBooks stamped it
    sent = [
        c.params["fields"]["UF_CRM_QB_SYNCED_AT"]
        for c in world.cloud.emu.calls
        if c.method == "crm.deal.update" and str(c.params.get("id")) == str(deal)
    ]
    synced = datetime.fromisoformat(sent[-1])  # written in the company's time, with its offset
    assert synced.date() == la_today and synced.utcoffset() == datetime.now(LA).utcoffset()
    assert abs(synced - datetime.fromtimestamp(epoch(), UTC)) < timedelta(minutes=5)
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]
    assert tab["date"] == la_today.isoformat()
    assert not any("time zone" in n for n in status["detail"]["notes"])


def test_the_closing_date_is_compared_with_californias_date(world: World) -> None:
    la_today, _ = _evening_in_california(world)
    world.qb.company.closing_date = la_today - timedelta(days=1)  # yesterday closed; today is open
    deal = a_deal(world, "Late Shift Co", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    world.qb.company.closing_date = la_today  # today closed: a document dated today is refused
    deal = a_deal(world, "Later Shift Co", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    failed = settled(world, sync_id)
    assert failed["state"] == "failed"
    assert any(la_today.isoformat() in p for p in failed["detail"]["problems"])


def test_the_company_tab_counts_days_overdue_by_californias_date(world: World) -> None:
    la_today, _ = _evening_in_california(world)
    deal = a_deal(world, "Due Today Inc", [(1, "Labor", "55.00", "3")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    txn = world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    invoice = world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]
    world.qb.process(  # the bookkeeper makes it due today (California's today)
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        f"<InvoiceModRq><InvoiceMod><TxnID>{txn}</TxnID><EditSequence>{invoice['EditSequence']}</EditSequence>"
        f"<DueDate>{la_today.isoformat()}</DueDate></InvoiceMod></InvoiceModRq></QBXMLMsgsRq></QBXML>"
    )
    company = int(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    world.api("POST", f"/parties/company/{company}/refresh")
    world.web_connector_runs()

    def shown() -> dict:
        return world.api("GET", f"/parties/company/{company}/quickbooks").json()["statement"] or {}

    assert wait(lambda: bool(shown()))
    row = shown()["open_invoices"][0]
    assert row["days_overdue"] == 0 and row["status"] == "open"  # due today in California: not late yet
    assert shown()["aging"]["current"] == "165.00"


def test_an_agent_that_does_not_report_its_clock_falls_back_to_utc_and_says_so(world: World) -> None:
    world.agent.relay.local_clock = None  # an agent from before the clock was reported
    deal = a_deal(world, "Old Agent Ltd", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    assert any("time zone" in n for n in status["detail"]["notes"]), status["detail"]["notes"]
