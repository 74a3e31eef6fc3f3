"""The contact/company QuickBooks tab's API: statement on request, linking and creating, scoped per portal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .product import World, a_deal, settled, wait


def _pay(world: World, customer: str, txn: str, amount: str, ref: str) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<ReceivePaymentAddRq><ReceivePaymentAdd>"
        f"<CustomerRef><FullName>{customer}</FullName></CustomerRef>"
        f"<RefNumber>{ref}</RefNumber><TotalAmount>{amount}</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{txn}</TxnID><PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq></QBXMLMsgsRq></QBXML>"
    )


def _tab(world: World, company: int, **params: str) -> dict[str, Any]:
    return world.api("GET", f"/parties/company/{company}/quickbooks", params=params).json()


def test_the_company_tab_shows_balance_open_invoices_and_a_payment_after_refresh(world: World) -> None:
    deal = a_deal(world, "Stark Industries", [(1, "Labor", "55.00", "10")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    company = int(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])

    first = _tab(world, company, auto="1")  # opening the tab asks QuickBooks when nothing is known yet
    assert first["linked"]["name"] == "Stark Industries" and first["refreshing"] is True
    world.web_connector_runs()
    assert wait(lambda: _tab(world, company)["statement"] is not None)
    shown = _tab(world, company)["statement"]
    assert shown["customer"]["balance"] == "550.00"
    assert [i["balance"] for i in shown["open_invoices"]] == ["550.00"]
    assert shown["aging"]["current"] == "550.00" and shown["payments"] == []
    assert _tab(world, company, auto="1")["refreshing"] is False  # fresh: opening again asks nothing

    _pay(world, "Stark Industries", shown["open_invoices"][0]["txn_id"], "200.00", "PAY-77")
    assert world.api("POST", f"/parties/company/{company}/refresh").json() == {"queued": True}
    assert world.api("POST", f"/parties/company/{company}/refresh").json() == {"queued": False}
    world.web_connector_runs()
    assert wait(lambda: _tab(world, company)["statement"]["customer"]["balance"] == "350.00")
    shown = _tab(world, company)["statement"]
    assert shown["payments"][0]["amount"] == "200.00" and shown["payments"][0]["number"] == "PAY-77"
    assert shown["open_invoices"][0]["status"] == "partially paid"


def test_an_unlinked_contact_is_linked_by_name_or_created(world: World) -> None:
    client = world.cloud.client()
    known = world.qb_query("<CustomerQueryRq><MaxReturned>1</MaxReturned></CustomerQueryRq>")[0]
    contact = client.call("crm.contact.add", {"fields": {"NAME": "Ada", "LAST_NAME": "Byron"}})
    assert world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linked"] is None

    assert (
        world.api(
            "POST", f"/parties/contact/{contact}/link", json={"name": "Nobody Of That Name"}
        ).status_code
        == 202
    )
    world.web_connector_runs()
    assert wait(
        lambda: (
            (world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linking"] or {}).get("state")
            == "not_found"
        )
    )

    world.api("POST", f"/parties/contact/{contact}/link", json={"name": known["FullName"]})
    world.web_connector_runs()
    assert wait(
        lambda: world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linked"] is not None
    )
    assert (
        world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linked"]["list_id"]
        == known["ListID"]
    )

    third = client.call("crm.contact.add", {"fields": {"NAME": "Another", "LAST_NAME": "Claimant"}})
    world.api("POST", f"/parties/contact/{third}/link", json={"name": known["FullName"]})
    world.web_connector_runs()
    refused: dict[str, Any] = {}
    assert wait(
        lambda: (
            refused.update(world.api("GET", f"/parties/contact/{third}/quickbooks").json())
            or (refused["linking"] or {}).get("state") == "failed"
        )
    )
    assert "already linked to Bitrix24 contact" in refused["linking"]["message"] and refused["linked"] is None
    still = world.api("GET", f"/parties/contact/{contact}/quickbooks").json()["linked"]
    assert still["list_id"] == known["ListID"]  # the first link stays where it was

    other = client.call("crm.contact.add", {"fields": {"NAME": "Grace", "LAST_NAME": "Hopper"}})
    world.api("POST", f"/parties/contact/{other}/link", json={"create": True})
    world.web_connector_runs()
    assert wait(lambda: world.api("GET", f"/parties/contact/{other}/quickbooks").json()["linked"] is not None)
    made = world.qb_query("<CustomerQueryRq><FullName>Hopper, Grace</FullName></CustomerQueryRq>")
    assert len(made) == 1


def test_the_tab_api_refuses_bad_ids_and_other_portals_sessions(world: World) -> None:
    assert world.api("GET", "/parties/deal/1/quickbooks").status_code == 404
    assert world.api("GET", "/parties/company/1%20OR%201/quickbooks").status_code == 404
    assert world.api("POST", "/parties/company/1/link", data="nope").status_code == 415  # not JSON
    import requests

    other = requests.get(
        f"{world.cloud.url}/api/portals/someone-else/parties/company/1/quickbooks",
        headers={"X-Session": world.session},
        timeout=5,
    )
    assert other.status_code == 403


def _linking(world: World, company: int, state: str) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    assert wait(
        lambda: shown.update(_tab(world, company)) or (shown["linking"] or {}).get("state") == state
    ), shown
    return shown


def test_link_by_the_records_own_name_never_takes_a_customer_that_only_shares_a_cut_name(
    world: World,
) -> None:
    """Issue 17 case 2 on the tab: QuickBooks has "Sierra Mountain Landscaping and Snow" (another
    customer); the company "Sierra Mountain Landscaping and Snow Removal" fits to that same 41-character
    name, so it is not linked to it, and "create" makes a customer of its own with a free name."""
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<CustomerAddRq><CustomerAdd><Name>Sierra Mountain Landscaping and Snow</Name></CustomerAdd>"
        "</CustomerAddRq></QBXMLMsgsRq></QBXML>"
    )
    client = world.cloud.client()
    company = int(
        client.call("crm.company.add", {"fields": {"TITLE": "Sierra Mountain Landscaping and Snow Removal"}})
    )
    world.api("POST", f"/parties/company/{company}/link", json={})
    world.web_connector_runs()
    shown = _linking(world, company, "not_found")
    assert shown["linked"] is None and "another" in shown["linking"]["message"]

    world.api("POST", f"/parties/company/{company}/link", json={"create": True})
    world.web_connector_runs()
    assert wait(lambda: _tab(world, company)["linked"] is not None)
    assert _tab(world, company)["linked"]["name"] == "Sierra Mountain Landscaping (Customer)"
    others = world.qb_query(
        "<CustomerQueryRq><FullName>Sierra Mountain Landscaping and Snow</FullName></CustomerQueryRq>"
    )
    member = world.cloud.portal.member_id
    file = world.cloud.services.company_file(member)
    assert world.cloud.services.links.by_qb(member, file, "customer", others[0]["ListID"]) is None


def test_a_created_customer_gets_a_name_without_a_colon(world: World) -> None:
    client = world.cloud.client()
    company = int(client.call("crm.company.add", {"fields": {"TITLE": "Baker: North Yard"}}))
    world.api("POST", f"/parties/company/{company}/link", json={"create": True})
    world.web_connector_runs()
    assert wait(lambda: _tab(world, company)["linked"] is not None), _tab(world, company)
    assert _tab(world, company)["linked"]["name"] == "Baker - North Yard"
    other = int(client.call("crm.company.add", {"fields": {"TITLE": "Baker South"}}))
    world.api("POST", f"/parties/company/{other}/link", json={"name": "Baker: South Yard", "create": True})
    world.web_connector_runs()
    assert wait(lambda: _tab(world, other)["linked"] is not None), _tab(world, other)
    assert _tab(world, other)["linked"]["name"] == "Baker - South Yard"  # a typed name is fitted too


def test_a_payment_in_quickbooks_updates_the_overdue_and_last_payment_fields_on_the_company_card(
    world: World,
) -> None:
    """The phone app shows no tabs: what the rep needs is on the card's own fields, kept by the sync."""
    deal = a_deal(world, "Stark Industries", [(1, "Labor", "55.00", "10")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    client = world.cloud.client()
    company = client.call("crm.deal.get", {"id": deal})["COMPANY_ID"]
    txn = client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"]
    member = world.cloud.portal.member_id
    polls = world.cloud.services.agents.jobs
    world.api("POST", f"/deals/{deal}/refresh")  # the periodic change poll has run once (the history)
    world.web_connector_runs()
    assert wait(lambda: polls(member, purpose="qb-changes")[-1].state == "done")
    today = world.qb.company.now().date()
    world.qb.process(  # an older invoice, long past due, made in QuickBooks itself
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Stark Industries</FullName></CustomerRef>"
        f"<TxnDate>{today - timedelta(days=75)}</TxnDate><DueDate>{today - timedelta(days=45)}</DueDate>"
        "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>4</Quantity>"
        "<Rate>75.00</Rate></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq></QBXMLMsgsRq></QBXML>"
    )
    _pay(world, "Stark Industries", txn, "220.00", "PAY-90")

    assert world.api("POST", f"/deals/{deal}/refresh").json() == {"queued": True}  # the next poll
    world.web_connector_runs()
    jobs = world.cloud.services.agents.jobs
    assert wait(lambda: bool(jobs(member, purpose=f"party-tab:company:{company}")))  # queued by the payment

    def read_or_waiting() -> bool:
        done = jobs(member, purpose=f"party-tab:company:{company}")[-1].state == "done"
        return done or world.agent.queue.depth()["pending"] >= 1

    assert wait(read_or_waiting)
    if jobs(member, purpose=f"party-tab:company:{company}")[-1].state != "done":
        world.web_connector_runs()  # the statement read missed the first session: the next one runs it
    card: dict[str, Any] = {}
    assert wait(lambda: card.update(client.call("crm.company.get", {"id": company})) or bool(
        card.get("UF_CRM_QB_LAST_PAYMENT")))  # fmt: skip
    assert card["UF_CRM_QB_LAST_PAYMENT"] == f"220.00 USD on {today.isoformat()}"
    assert card["UF_CRM_QB_OVERDUE"] == "300.00|USD"  # the old invoice; the deal's is not due yet
    assert card["UF_CRM_QB_BALANCE"] == "630.00|USD"  # 550 - 220 + 300
