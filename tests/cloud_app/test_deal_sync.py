"""A deal's "Sync to QuickBooks", the whole way: the page's API call, the real relay and agent, the Web
Connector simulator driving the QuickBooks simulator, and the deal updated in the Bitrix24 emulator."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest

from sandbox.quickbooks import Company, SimulatedQuickBooks

from .product import World, a_deal, connector, settled, wait


def non_inventory(world: World) -> list[str]:
    return sorted(str(r["FullName"]) for r in world.qb_query("<ItemNonInventoryQueryRq/>"))


def test_sync_to_quickbooks_creates_the_invoice_and_updates_the_deal(world: World) -> None:
    before = non_inventory(world)
    deal = a_deal(world, "Kowalski & Sons", [(1, "Labor", "55.00", "10"), (7, "Concrete Slab", "25.00", "3")])
    started = world.api("POST", f"/deals/{deal}/sync", json={"kind": "Invoice"})
    assert started.status_code == 202, started.text
    sync_id = started.json()["sync_id"]
    assert world.api("GET", f"/syncs/{sync_id}").json()["state"] in ("queued", "waiting")
    assert world.web_connector_runs() == "2 requests, 0 errors"  # the lookup, then the document, one session
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    assert re.fullmatch(r"Invoice \d+ created in QuickBooks, 625\.00 USD", status["outcome"])
    lines = {ln["description"]: ln for ln in status["detail"]["lines"]}
    assert lines["Labor"]["action"] == "matched" and lines["Concrete Slab"]["action"] == "create"
    assert status["detail"]["customer_action"] == "create"

    invoices = world.qb_query(
        "<InvoiceQueryRq><EntityFilter><FullName>Kowalski &amp; Sons</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )
    assert len(invoices) == 1 and invoices[0]["Subtotal"] == Decimal("625.00")
    assert world.qb_query("<ItemQueryRq><FullName>Labor</FullName></ItemQueryRq>")[0]["ListID"]
    assert non_inventory(world) == sorted([*before, "Concrete Slab"])  # only the missing one was created

    fields = world.cloud.client().call("crm.deal.get", {"id": deal})
    assert fields["UF_CRM_QB_TXN_ID"] == invoices[0]["TxnID"]
    assert fields["UF_CRM_QB_DOC"] == f"Invoice {invoices[0]['RefNumber']}"
    assert fields["UF_CRM_QB_STATUS"] == "open"
    comments = [c for c in world.cloud.portal.store.comments if c["ENTITY_ID"] == deal]
    assert [c["COMMENT"] for c in comments] == [status["outcome"]]
    # linked: the customer, Labor (found), Concrete Slab (created) and the invoice
    assert world.cloud.operator("/status").json()["id_mappings"] == 4


def test_a_second_deal_for_the_same_company_reuses_the_customer_and_items(world: World) -> None:
    before = non_inventory(world)
    first = a_deal(world, "Initech", [(7, "Concrete Slab", "25.00", "1")])
    world.api("POST", f"/deals/{first}/sync", json={})
    world.web_connector_runs()
    company = world.cloud.client().call("crm.deal.get", {"id": first})["COMPANY_ID"]
    second = world.cloud.client().call(
        "crm.deal.add", {"fields": {"TITLE": "Again", "COMPANY_ID": company, "CURRENCY_ID": "USD"}}
    )
    world.cloud.client().call(
        "crm.deal.productrows.set",
        {
            "id": second,
            "rows": [{"PRODUCT_ID": 7, "PRODUCT_NAME": "Concrete Slab", "PRICE": "25", "QUANTITY": 2}],
        },
    )
    sync_id = world.api("POST", f"/deals/{second}/sync", json={}).json()["sync_id"]
    # all linked, yet QuickBooks is asked first: its closing date and sales reps as they are now
    assert world.web_connector_runs() == "2 requests, 0 errors"
    status = settled(world, sync_id)
    assert status["state"] == "done" and status["detail"]["customer_action"] == "matched"
    assert len(world.qb_query("<CustomerQueryRq><FullName>Initech</FullName></CustomerQueryRq>")) == 1
    assert non_inventory(world) == sorted([*before, "Concrete Slab"])


def test_a_company_named_like_a_vendor_becomes_a_distinct_customer(world: World) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<VendorAddRq><VendorAdd><Name>Acme Supply</Name></VendorAdd></VendorAddRq></QBXMLMsgsRq></QBXML>"
    )
    deal = a_deal(world, "Acme Supply", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    assert status["detail"]["customer"] == "Acme Supply (Customer)"
    assert any("taken in QuickBooks" in n for n in status["detail"]["notes"])


def test_problems_are_shown_and_nothing_is_sent(world: World) -> None:
    client = world.cloud.client()
    deal = client.call("crm.deal.add", {"fields": {"TITLE": "No client, no rows"}})
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    status = settled(world, sync_id)
    assert status["state"] == "failed"
    assert any("no client" in p for p in status["detail"]["problems"])
    assert any("no products" in p for p in status["detail"]["problems"])
    assert world.cloud.services.agents.counts(world.cloud.portal.member_id) == {}
    assert world.api("POST", "/deals/999999/sync", json={}).status_code == 409


def test_a_quickbooks_refusal_is_a_plain_reason_with_a_fix(world: World) -> None:
    world.qb = SimulatedQuickBooks(Company("Bare Co"))  # no income account for the item we would create
    deal = a_deal(world, "Globex", [(7, "Concrete Slab", "25.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "failed", status
    assert status["detail"]["code"] == "3140" and status["detail"]["fix"]
    assert status["outcome"].startswith("Failed: ")
    assert world.qb_query("<InvoiceQueryRq/>") == []  # stopOnError: no invoice without its item
    assert world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"] in (None, "")


class WebConnectorDied(Exception):
    """The Web Connector process went away after QuickBooks applied a request, before it reported back."""


class DiesAfterTheInvoice:
    """QuickBooks as the Web Connector sees it, except the Web Connector dies right after an InvoiceAdd."""

    def __init__(self, qb: SimulatedQuickBooks) -> None:
        self.qb, self.died = qb, False

    def begin_session(self, **kw: str) -> Any:
        inner, outer = self.qb.begin_session(**kw), self

        class Session:
            company_file = inner.company_file

            def process(self, request_xml: str) -> str:
                answer = inner.process(request_xml)
                if "<InvoiceAddRq" in request_xml and not outer.died:
                    outer.died = True
                    raise WebConnectorDied
                return answer

            def close(self) -> None:
                inner.close()

        return Session()


def test_a_lost_answer_is_recovered_from_quickbooks_not_sent_twice(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    deal = a_deal(world, "Umbrella Corp", [(1, "Labor", "55.00", "2")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    with pytest.raises(WebConnectorDied):
        dying = DiesAfterTheInvoice(world.qb)
        connector(world.agent, world.home, world.password, dying).run_session()
    umbrella = (
        "<InvoiceQueryRq><EntityFilter><FullName>Umbrella Corp</FullName></EntityFilter></InvoiceQueryRq>"
    )
    assert len(world.qb_query(umbrella)) == 1  # QuickBooks applied it; nobody heard
    later = datetime.now(UTC) + timedelta(minutes=31)
    world.agent.sessions.clock = lambda: later  # the silent session expires: its write is "answer lost"
    assert world.agent.sessions.active() is None
    member = world.cloud.portal.member_id
    assert wait(lambda: _recovering(world, member, sync_id))
    assert wait(lambda: world.agent.queue.depth()["pending"] == 1)
    assert world.web_connector_runs() == "1 request, 0 errors"
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    invoices = world.qb_query(umbrella)
    assert len(invoices) == 1  # recovered, not added again
    assert world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"] == invoices[0]["TxnID"]


def _recovering(world: World, member: str, sync_id: str) -> bool:
    sync = world.cloud.services.links.sync(member, sync_id)
    return sync is not None and "recovering" in sync.detail


def test_a_payment_in_quickbooks_reaches_the_deal_and_its_tab(world: World) -> None:
    deal = a_deal(world, "Wayne Enterprises", [(1, "Labor", "55.00", "4")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["status"] == "open" and tab["document"]["balance"] == "220.00"
    txn = tab["document"]["txn_id"]
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<ReceivePaymentAddRq><ReceivePaymentAdd>"
        "<CustomerRef><FullName>Wayne Enterprises</FullName></CustomerRef>"
        "<RefNumber>5521</RefNumber><TotalAmount>220.00</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>220.00</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq></QBXMLMsgsRq></QBXML>"
    )
    assert world.api("POST", f"/deals/{deal}/refresh").json() == {"queued": True}
    assert world.api("POST", f"/deals/{deal}/refresh").json() == {"queued": False}  # one at a time
    assert world.api("GET", f"/deals/{deal}/quickbooks").json()["refreshing"] is True  # the tab says so
    world.web_connector_runs()
    client = world.cloud.client()
    assert wait(lambda: client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_STATUS"] == "paid")
    tab = world.api("GET", f"/deals/{deal}/quickbooks").json()
    assert tab["document"]["balance"] == "0.00" and tab["document"]["payments"][0]["amount"] == "-220.00"
    comments = [c["COMMENT"] for c in world.cloud.portal.store.comments if c["ENTITY_ID"] == deal]
    assert comments[-1].startswith("Payment of 220.00 USD received") and "5521" in comments[-1]

    def deal_writes() -> int:
        return sum(
            1 for c in world.cloud.emu.calls if c.method in ("crm.deal.update", "crm.timeline.comment.add")
        )

    before = deal_writes()
    world.api("POST", f"/deals/{deal}/refresh")
    world.web_connector_runs()
    member = world.cloud.portal.member_id
    assert wait(lambda: world.cloud.services.agents.jobs(member, purpose="qb-changes")[-1].state == "done")
    # nothing changed: the tab stops waiting all the same (its "as of" stays the last change's)
    assert world.api("GET", f"/deals/{deal}/quickbooks").json()["refreshing"] is False
    assert deal_writes() == before  # nothing changed: nothing written again


def test_the_deals_responsible_user_becomes_the_invoices_sales_rep(world: World) -> None:
    portal = world.cloud.portal
    gregg = portal.add_user("Gregg", "Schneider", "gregg@example.com")
    stranger = portal.add_user("Nobody", "Known", "nobody@example.com")
    client = world.cloud.client()
    reps = {str(r["Initial"]): str(r["ListID"]) for r in world.qb_query("<SalesRepQueryRq/>")}

    def invoice_rep(user_id: int, company: str) -> Any:
        deal = a_deal(world, company, [(1, "Labor", "55.00", "1")])
        client.call("crm.deal.update", {"id": deal, "fields": {"ASSIGNED_BY_ID": user_id}})
        sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
        world.web_connector_runs()
        status = settled(world, sync_id)
        assert status["state"] == "done", status
        txn = client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
        found = world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]
        return status["detail"]["sales_rep"], found.get("SalesRepRef")

    shown, ref = invoice_rep(gregg.id, "Rep Test One")  # Gregg Schneider is the employee behind "GS"
    assert shown == "GS" and ref.list_id == reps["GS"]
    shown, ref = invoice_rep(stranger.id, "Rep Test Two")  # no rep, no default: none
    assert shown is None and ref is None
    assert world.api("POST", "/settings", json={"salesrep.default": reps["DM"]}).status_code == 200
    shown, ref = invoice_rep(stranger.id, "Rep Test Three")  # the portal's default rep
    assert shown == "DM" and ref.list_id == reps["DM"]
    chosen = {"salesrep.users": {str(stranger.id): reps["EM"]}}
    assert world.api("POST", "/settings", json=chosen).status_code == 200
    shown, ref = invoice_rep(stranger.id, "Rep Test Four")  # a person's choice wins
    assert shown == "EM" and ref.list_id == reps["EM"]


def test_names_with_ampersands_quotes_cyrillic_and_over_41_characters_reach_quickbooks(world: World) -> None:
    long_company = 'O\'Brien & "Sons" Heating, Cooling and Plumbing of Northern California'
    assert len(long_company) > 41
    deal = a_deal(
        world,
        long_company,
        [(0, "Монтаж трубопровода", "120.50", "2"), (0, 'Pipe 3/4" & fittings <brass>', "9.99", "10")],
    )
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    assert any("shortened" in n or "41" in n for n in status["detail"]["notes"]), status["detail"]["notes"]
    customer = status["detail"]["customer"]
    assert len(customer) <= 41 and customer.startswith('O\'Brien & "Sons" Heating')
    found = world.qb_query(f"<CustomerQueryRq><FullName>{escape(customer)}</FullName></CustomerQueryRq>")
    assert len(found) == 1  # the shortened name is the customer QuickBooks has
    txn = world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    invoice = world.qb_query(
        f"<InvoiceQueryRq><TxnID>{txn}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )[0]
    descriptions = [ln.get("Desc") for ln in invoice["InvoiceLineRet"]]
    assert descriptions[0] == "Montazh truboprovoda"  # transliterated: QuickBooks' code page has no Cyrillic
    assert descriptions[1] == 'Pipe 3/4" & fittings <brass>'  # XML specials arrive intact
    assert invoice["Subtotal"] == Decimal("340.90")
    assert any("Cyrillic" in n or "transliterat" in n for n in status["detail"]["notes"])


def test_a_deal_with_120_product_rows_becomes_one_invoice_with_120_lines(world: World) -> None:
    rows = [(0, f"Part {n % 30:02d}", f"{n}.25", str(n % 4 + 1)) for n in range(1, 121)]
    deal = a_deal(world, "Big Order Ltd", rows)
    calls_before = len(world.cloud.emu.calls)
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert world.web_connector_runs() == "2 requests, 0 errors"  # lookup + everything in one message set
    status = settled(world, sync_id)
    assert status["state"] == "done", status
    http = [c.method for c in world.cloud.emu.calls[calls_before:] if not c.in_batch]
    txn = world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    invoice = world.qb_query(
        f"<InvoiceQueryRq><TxnID>{txn}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    )[0]
    assert len(invoice["InvoiceLineRet"]) == 120
    expected = sum(Decimal(price) * Decimal(qty) for _, _, price, qty in rows)
    assert invoice["Subtotal"] == expected and status["detail"]["subtotal"] == str(expected)
    parts = {str(r["FullName"]) for r in world.qb_query("<ItemNonInventoryQueryRq/>")}
    assert {f"Part {n:02d}" for n in range(30)} <= parts  # 30 distinct items, each created once
    # one batch reads the deal and its rows, one its client, one writes its fields, one its timeline
    # comment (its own call: an update whose answer is lost is sent again, a comment is looked for
    # first) and the users are read once, to learn the sales reps: not one call per row
    assert http == ["batch", "batch", "user.get", "batch", "batch"]


def test_a_preview_waits_for_confirmation_then_sends_the_chosen_document(world: World) -> None:
    deal = a_deal(world, "Acme Preview", [(1, "Labor", "55.00", "2")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()  # the lookup only
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    )
    assert status["detail"]["customer_action"] == "create" and status["detail"]["total"] == "110.00"
    assert status["detail"]["can_send"] is True
    idle = connector(world.agent, world.home, world.password, world.qb).run_session()
    assert idle.status == "No data exchange required"  # a preview waits: nothing goes to QuickBooks
    assert (
        world.qb_query("<CustomerQueryRq><FullName>Acme Preview</FullName></CustomerQueryRq>") == []
    )  # nothing sent

    store = world.cloud.services.portals
    real = store.clock
    store.clock = lambda: real() + 31 * 60
    stale = world.api("POST", f"/syncs/{sync_id}/confirm", json={})
    store.clock = real
    assert stale.status_code == 409 and "more than 30 minutes old" in stale.json()["message"]
    confirmed = world.api("POST", f"/syncs/{sync_id}/confirm", json={"kind": "Estimate"})
    assert confirmed.status_code == 202, confirmed.text
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 409  # once only
    world.web_connector_runs()
    done = settled(world, sync_id)
    assert done["state"] == "done" and done["kind"] == "Estimate", done
    assert (
        len(
            world.qb_query(
                "<EstimateQueryRq><EntityFilter><FullName>Acme Preview</FullName></EntityFilter>"
                "</EstimateQueryRq>"
            )
        )
        == 1
    )
    log = world.api("GET", "/syncs", params={"deal": str(deal)}).json()["syncs"]
    assert [s["state"] for s in log] == ["done"]


def test_a_failed_sync_is_retried_from_the_log(world: World) -> None:
    deal = a_deal(world, "", [(1, "Labor", "55.00", "1")])  # no customer name: refused before sending
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    failed = settled(world, sync_id)
    assert failed["state"] == "failed"
    assert [s["sync_id"] for s in world.api("GET", "/syncs", params={"state": "failed"}).json()["syncs"]] == [
        sync_id
    ]
    client = world.cloud.client()
    company = client.call("crm.deal.get", {"id": deal})["COMPANY_ID"]
    client.call("crm.company.update", {"id": company, "fields": {"TITLE": "Named Now Ltd"}})
    again = world.api("POST", f"/syncs/{sync_id}/retry")
    assert again.status_code == 202, again.text
    world.web_connector_runs()
    assert settled(world, again.json()["sync_id"])["state"] == "done"
    assert world.api("POST", f"/syncs/{again.json()['sync_id']}/retry").status_code == 409


def test_a_closed_period_in_quickbooks_is_shown_in_the_preview_and_nothing_can_be_sent(world: World) -> None:
    from datetime import UTC, datetime, timedelta

    world.qb.company.closing_date = datetime.now(UTC).date() + timedelta(days=1)
    deal = a_deal(world, "Closed Books Inc", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    )
    assert status["detail"]["can_send"] is False
    assert any("closed through" in p and "Set Closing Date" in p for p in status["detail"]["problems"])

    world.qb.company.closing_date = None  # the bookkeeper moved it: the next lookup sees that
    again = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    world.web_connector_runs()
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{again}").json()) or status["state"] == "preview"
    )
    assert status["detail"]["can_send"] is True


def test_a_reopened_period_is_seen_by_the_next_sync_of_a_linked_customer_and_by_retry(world: World) -> None:
    """The closing date is read from QuickBooks in the sync's own exchange, never from an earlier one."""
    first = a_deal(world, "Reopened Books Co", [(1, "Labor", "55.00", "1")])
    assert settled(world, _synced(world, first))["state"] == "done"  # customer and item linked now
    world.qb.company.closing_date = world.qb.company.today()  # the bookkeeper closes the books
    company = world.cloud.client().call("crm.deal.get", {"id": first})["COMPANY_ID"]
    second = world.cloud.client().call(
        "crm.deal.add", {"fields": {"TITLE": "More work", "COMPANY_ID": company, "CURRENCY_ID": "USD"}}
    )
    world.cloud.client().call(
        "crm.deal.productrows.set",
        {"id": second, "rows": [{"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55", "QUANTITY": 2}]},
    )
    sync_id = world.api("POST", f"/deals/{second}/sync", json={}).json()["sync_id"]
    assert world.web_connector_runs() == "1 request, 0 errors"  # QuickBooks was asked, nothing sent
    failed = settled(world, sync_id)
    assert failed["state"] == "failed" and any("closed through" in p for p in failed["detail"]["problems"])

    world.qb.company.closing_date = None  # the bookkeeper reopens the period
    again = world.api("POST", f"/syncs/{sync_id}/retry")
    assert again.status_code == 202, again.text
    assert world.web_connector_runs() == "2 requests, 0 errors"  # asked again, then the invoice
    done = settled(world, again.json()["sync_id"])
    assert done["state"] == "done", done
    txn = world.cloud.client().call("crm.deal.get", {"id": second})["UF_CRM_QB_TXN_ID"]
    assert world.qb_query(f"<InvoiceQueryRq><TxnID>{txn}</TxnID></InvoiceQueryRq>")[0]["Subtotal"] == Decimal(
        "110.00"
    )


def _synced(world: World, deal: int) -> str:
    sync_id = str(world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"])
    world.web_connector_runs()
    return sync_id


def test_a_fully_paid_invoice_moves_its_deal_to_the_stage_set_for_its_pipeline(world: World) -> None:
    def paid_in_full(company: str) -> int:
        deal = a_deal(world, company, [(1, "Labor", "55.00", "2")])
        sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
        world.web_connector_runs()
        assert settled(world, sync_id)["state"] == "done"
        txn = world.api("GET", f"/deals/{deal}/quickbooks").json()["document"]["txn_id"]
        world.qb.process(
            '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
            f"<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>{company}</FullName></CustomerRef>"
            f"<TotalAmount>110.00</TotalAmount><AppliedToTxnAdd><TxnID>{txn}</TxnID>"
            "<PaymentAmount>110.00</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
            "</QBXMLMsgsRq></QBXML>"
        )
        world.api("POST", f"/deals/{deal}/refresh")
        assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)  # the relay offers it a moment later
        world.web_connector_runs()
        client = world.cloud.client()
        assert wait(lambda: client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_STATUS"] == "paid")
        return deal

    client = world.cloud.client()
    other_pipeline = world.api("POST", "/settings", json={"paid_stages": {"5": "C5:WON"}})
    assert other_pipeline.status_code == 200, other_pipeline.text
    first = paid_in_full("Stays Put LLC")
    assert client.call("crm.deal.get", {"id": first})["STAGE_ID"] != "WON"  # not its pipeline's setting

    assert world.api("POST", "/settings", json={"paid_stages": {"0": "WON", "5": ""}}).status_code == 200
    second = paid_in_full("Moves On LLC")
    assert client.call("crm.deal.get", {"id": second})["STAGE_ID"] == "WON"
    assert world.api("POST", "/settings", json={"paid_stages": {"x": "WON"}}).status_code == 400
