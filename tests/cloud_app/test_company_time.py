"""Dates QuickBooks sees come from the company's calendar — the QuickBooks PC's local date, which its
agent reports — not from the cloud's UTC date. The whole product runs with its clocks set to a
California evening, when UTC is already on the next day."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from .harness import CLIENT_ID
from .product import World, a_deal, settled, wait

LA = ZoneInfo("America/Los_Angeles")


def _evening_in_california(world: World) -> tuple[date, Callable[[], float]]:
    """Every clock of the product at 18:30 in California tomorrow (UTC's tomorrow), moving on from there:
    the cloud's, the agent's (on the QuickBooks PC, in California) and QuickBooks'. Returns California's
    date that evening and the clock. Tomorrow: a clock going back before the sample company's records
    (stamped a moment ago) would hide changes from the change query's watermarks; and no date the real
    clock gives today — California's or UTC's — is the answer, so only the product's clocks can get it."""
    la_today = datetime.now(UTC).date() + timedelta(days=1)
    click = datetime.combine(la_today, clock_time(18, 30), LA)
    assert click.astimezone(UTC).date() == la_today + timedelta(days=1)  # UTC is on the next day already
    began = time.time()

    def epoch() -> float:
        return click.timestamp() + (time.time() - began)

    world.cloud.services.portals.clock = epoch
    world.cloud.services.agents.clock = lambda: datetime.fromtimestamp(epoch(), UTC)  # jobs' times
    world.agent.relay.local_clock = lambda: datetime.fromtimestamp(epoch(), LA)
    world.qb.company.clock = lambda: datetime.fromtimestamp(epoch(), UTC)
    assert world.qb.company.tz == LA  # the sample company file keeps California's time
    # the page's session was issued on the cloud's old clock (it lasts an hour): open the app again
    page = world.cloud.emu.open_app(world.cloud.portal, CLIENT_ID, world.cloud.portal.admin().id)
    world.session = re.search(r"data-session='([^']+)'", page.text).group(1)  # type: ignore[union-attr]
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
    company = int(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])

    def due(day: date) -> dict[str, Any]:
        """The bookkeeper sets the invoice's due date; the tab is read again."""
        invoice = world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]
        world.qb.process(
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f"<InvoiceModRq><InvoiceMod><TxnID>{txn}</TxnID><EditSequence>{invoice['EditSequence']}"
            f"</EditSequence><DueDate>{day.isoformat()}</DueDate></InvoiceMod></InvoiceModRq>"
            "</QBXMLMsgsRq></QBXML>"
        )
        assert world.api("POST", f"/parties/company/{company}/refresh").json() == {"queued": True}
        world.web_connector_runs()
        tab = f"/parties/company/{company}/quickbooks"

        def shown() -> dict[str, Any]:
            return world.api("GET", tab).json()["statement"] or {}

        assert wait(lambda: (shown().get("open_invoices") or [{}])[0].get("due") == day.isoformat())
        return shown()

    today = due(la_today)
    row = today["open_invoices"][0]
    assert row["days_overdue"] == 0 and row["status"] == "open"  # due today in California: not late yet
    assert today["aging"]["current"] == "165.00"
    late = due(la_today - timedelta(days=3))
    assert late["open_invoices"][0]["days_overdue"] == 3 and late["open_invoices"][0]["status"] == "overdue"
    assert late["aging"]["1-30"] == "165.00"


def test_an_agent_that_does_not_report_its_clock_falls_back_to_utc_and_says_so(world: World) -> None:
    world.agent.relay.local_clock = None  # an agent from before the clock was reported
    deal = a_deal(world, "Old Agent Ltd", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    assert any("time zone" in n for n in status["detail"]["notes"]), status["detail"]["notes"]


def test_the_deals_status_after_a_change_in_quickbooks_is_overdue_by_californias_date(world: World) -> None:
    la_today, _ = _evening_in_california(world)
    deal = a_deal(world, "Due Dates LLC", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    client = world.cloud.client()
    txn = client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]

    def due(day: date) -> str:
        invoice = world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]
        modded = world.qb.process(
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f"<InvoiceModRq><InvoiceMod><TxnID>{txn}</TxnID><EditSequence>{invoice['EditSequence']}"
            f"</EditSequence><DueDate>{day.isoformat()}</DueDate></InvoiceMod></InvoiceModRq>"
            "</QBXMLMsgsRq></QBXML>"
        )
        assert 'statusCode="0"' in modded, modded
        world.api("POST", f"/deals/{deal}/refresh")
        world.web_connector_runs()
        member = world.cloud.portal.member_id
        assert wait(
            lambda: world.cloud.services.agents.jobs(member, purpose="qb-changes")[-1].state == "done"
        )
        tab = f"/deals/{deal}/quickbooks"
        assert wait(lambda: (world.api("GET", tab).json()["document"] or {}).get("due") == day.isoformat())
        return str(client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_STATUS"])

    assert due(la_today) == "open"  # due today in California: not overdue, though UTC is a day on
    assert due(la_today - timedelta(days=1)) == "overdue"
