"""Deals in another currency (issue 25): in a multicurrency company file a deal in EUR goes to the
client's own EUR customer ("Acme Ltd (EUR)", made with that currency) at the rate the preview showed, and
posts to the A/R account in EUR; a file without multicurrency, or a currency QuickBooks lacks or has
inactive, is refused in the preview with the fix, before anything is sent."""

from __future__ import annotations

from typing import Any

from cloud_app.b24_placement.server_words import MISSED
from sandbox.quickbooks import currencies

from .product import World, a_deal, settled, wait
from .test_classes import previewed


def multicurrency(world: World) -> None:
    """The bookkeeper turns multicurrency on (Edit → Preferences → Multiple Currencies)."""
    with world.qb.lock:
        currencies.turn_on(world.qb.company, home="USD")


def in_currency(world: World, deal: int, code: str) -> None:
    world.cloud.client().call("crm.deal.update", {"id": deal, "fields": {"CURRENCY_ID": code}})


def synced(world: World, sync_id: str) -> dict[str, Any]:
    assert world.api("POST", f"/syncs/{sync_id}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    done = settled(world, sync_id)
    assert done["state"] == "done", done
    return done


def customers(world: World, name: str) -> list[dict[str, Any]]:
    return world.qb_query(
        f"<CustomerQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>{name}</Name>"
        "</NameFilter></CustomerQueryRq>"
    )


def invoices_of(world: World, customer: str) -> list[dict[str, Any]]:
    return world.qb_query(
        f"<InvoiceQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter></InvoiceQueryRq>"
    )


def test_a_deal_in_another_currency_goes_to_the_clients_customer_in_that_currency(world: World) -> None:
    multicurrency(world)
    home_deal = a_deal(world, "Acme Euro Ltd", [(1, "Labor", "55.00", "2")])
    sync_id, detail = previewed(world, home_deal)
    assert detail["currency"] is None  # the home currency: nothing to say
    synced(world, sync_id)
    [home] = customers(world, "Acme Euro Ltd")
    assert home["CurrencyRef"].full_name == "US Dollar"

    company = world.cloud.client().call("crm.deal.get", {"id": home_deal})["COMPANY_ID"]
    euro_deal = int(world.cloud.client().call("crm.deal.add", {"fields": {
        "TITLE": "Acme in euros", "COMPANY_ID": company, "CURRENCY_ID": "EUR"}}))  # fmt: skip
    world.cloud.client().call("crm.deal.productrows.set", {"id": euro_deal, "rows": [
        {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "100.00", "QUANTITY": "3"}]})  # fmt: skip
    sync_id, detail = previewed(world, euro_deal)
    assert detail["can_send"] is True, detail["problems"]
    assert detail["customer"] == "Acme Euro Ltd (EUR)" and detail["customer_action"] == "create"
    assert detail["currency"] == {  # the preview says what will be set
        "code": "EUR", "name": "Euro", "home": "USD", "rate": "1.08", "home_total": "324.00",
        "ar_account": None, "receivable": True,
    }  # fmt: skip
    assert any("makes one with this first document" in n for n in detail["notes"])
    with world.qb.lock:  # the bookkeeper updates the rate after the preview: the preview's rate is sent
        euro = currencies.by_code(world.qb.company, "EUR")
        assert euro is not None
        world.qb.company.edit(euro.id, ExchangeRate="1.2")
    done = synced(world, sync_id)
    assert "EUR" in done["outcome"]
    made = {c["FullName"]: c for c in customers(world, "Acme Euro Ltd")}
    assert set(made) == {"Acme Euro Ltd", "Acme Euro Ltd (EUR)"}
    assert made["Acme Euro Ltd (EUR)"]["CurrencyRef"].full_name == "Euro"
    [invoice] = invoices_of(world, "Acme Euro Ltd (EUR)")
    assert invoice["CurrencyRef"].full_name == "Euro" and str(invoice["ExchangeRate"]) == "1.08"
    assert invoice["ARAccountRef"].full_name == "Accounts Receivable - EUR"
    assert f"{invoice['BalanceRemaining']:.2f}" == "300.00"  # in euros, as the deal
    deal = world.cloud.client().call("crm.deal.get", {"id": euro_deal})
    assert deal["CURRENCY_ID"] == "EUR"

    # the next EUR deal: the same EUR customer (linked), and the A/R account QuickBooks now has in EUR
    again = int(world.cloud.client().call("crm.deal.add", {"fields": {
        "TITLE": "Acme again", "COMPANY_ID": company, "CURRENCY_ID": "EUR"}}))  # fmt: skip
    world.cloud.client().call("crm.deal.productrows.set", {"id": again, "rows": [
        {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "10.00", "QUANTITY": "1"}]})  # fmt: skip
    sync_id, detail = previewed(world, again)
    assert detail["customer"] == "Acme Euro Ltd (EUR)" and detail["customer_action"] == "matched"
    assert (
        detail["currency"]["rate"] == "1.2"
        and detail["currency"]["ar_account"] == "Accounts Receivable - EUR"
    )
    synced(world, sync_id)
    assert len(invoices_of(world, "Acme Euro Ltd (EUR)")) == 2
    assert len(invoices_of(world, "Acme Euro Ltd")) == 1  # the USD one stays alone on the home customer


def test_a_file_without_multicurrency_refuses_a_deal_in_another_currency_with_the_fix(world: World) -> None:
    deal = a_deal(world, "Single Currency Co", [(1, "Labor", "55.00", "1")])
    in_currency(world, deal, "EUR")
    sync_id, detail = previewed(world, deal)
    assert detail["can_send"] is False
    [problem] = [p for p in detail["problems"] if p.startswith("Currency:")]
    assert "multicurrency is off" in problem and "Edit → Preferences → Multiple Currencies" in problem
    world.api("POST", f"/syncs/{sync_id}/confirm", json={})  # confirmed anyway: nothing is sent
    done = settled(world, sync_id)
    assert done["state"] == "failed" and "multicurrency" in done["outcome"]
    assert customers(world, "Single Currency Co") == []


def test_a_currency_quickbooks_lacks_or_keeps_inactive_is_refused_with_the_fix(world: World) -> None:
    multicurrency(world)
    deal = a_deal(world, "Ruble Trading", [(1, "Labor", "55.00", "1")])
    in_currency(world, deal, "RUB")
    _, detail = previewed(world, deal)
    assert detail["can_send"] is False
    assert any("Russian Ruble (RUB) is inactive" in p and "Currency List" in p for p in detail["problems"])
    world.cloud.portal.store.currencies.append("CHF")
    in_currency(world, deal, "CHF")
    sync_id, detail = previewed(world, deal)
    assert any("QuickBooks has no currency CHF" in p for p in detail["problems"])
    world.api("POST", f"/syncs/{sync_id}/confirm", json={})
    assert settled(world, sync_id)["state"] == "failed"
    assert customers(world, "Ruble Trading") == []  # nothing was sent

    with world.qb.lock:  # the bookkeeper makes the ruble active: the next lookup sees it
        ruble = currencies.by_code(world.qb.company, "RUB")
        assert ruble is not None
        world.qb.company.edit(ruble.id, IsActive="true")
    in_currency(world, deal, "RUB")
    _, detail = previewed(world, deal)
    assert detail["can_send"] is True and detail["customer"] == "Ruble Trading (RUB)"


def test_a_name_taken_by_a_customer_in_another_currency_is_not_the_deals(world: World) -> None:
    """QuickBooks has "Beta GmbH (EUR)" already — but in dollars (made by hand): it is not the client's
    euro customer, so the deal gets a free name rather than an invoice in the wrong currency."""
    multicurrency(world)
    world.qb_query("<CustomerAddRq><CustomerAdd><Name>Beta GmbH (EUR)</Name></CustomerAdd></CustomerAddRq>")
    deal = a_deal(world, "Beta GmbH", [(1, "Labor", "55.00", "1")])
    in_currency(world, deal, "EUR")
    sync_id, detail = previewed(world, deal)
    assert detail["customer_action"] == "create" and detail["customer"] != "Beta GmbH (EUR)"
    synced(world, sync_id)
    [invoice] = invoices_of(world, detail["customer"])
    assert invoice["CurrencyRef"].full_name == "Euro"
    assert wait(lambda: invoices_of(world, "Beta GmbH (EUR)") == [])


def test_a_russian_page_reads_the_currency_refusals_and_notes_in_russian(world: World) -> None:
    MISSED.clear()
    ru = {"X-Lang": "ru"}
    deal = a_deal(world, "Rouble Partners", [(1, "Labor", "55.00", "1")])
    in_currency(world, deal, "EUR")
    sync_id, _ = previewed(world, deal)  # multicurrency off
    problems = world.api("GET", f"/syncs/{sync_id}", headers=ru).json()["detail"]["problems"]
    assert any(p.startswith("Валюта: сделка в EUR") and "мультивалютность" in p for p in problems), problems
    multicurrency(world)
    sync_id, _ = previewed(world, deal)
    detail = world.api("GET", f"/syncs/{sync_id}", headers=ru).json()["detail"]
    assert any(n.startswith("Валюта: документ в валюте «Euro» (EUR)") for n in detail["notes"]), detail[
        "notes"
    ]
    in_currency(world, deal, "RUB")
    sync_id, _ = previewed(world, deal)
    problems = world.api("GET", f"/syncs/{sync_id}", headers=ru).json()["detail"]["problems"]
    assert any("неактивна в QuickBooks" in p for p in problems), problems
    assert MISSED == set(), MISSED


def _tab(world: World, company: str, **params: str) -> dict[str, Any]:
    return world.api("GET", f"/parties/company/{company}/quickbooks", params=params).json()


def test_the_company_tab_shows_each_currencys_customer_with_its_own_balance(world: World) -> None:
    """Deal in USD and deal in EUR → two QuickBooks customers → the company's tab shows both, each
    balance in its currency (never summed), read in one job; the card's fields keep the home one."""
    multicurrency(world)
    home_deal = a_deal(world, "Acme Tab Ltd", [(1, "Labor", "55.00", "2")])
    synced(world, previewed(world, home_deal)[0])
    client = world.cloud.client()
    company = str(client.call("crm.deal.get", {"id": home_deal})["COMPANY_ID"])
    euro_deal = int(client.call("crm.deal.add", {"fields": {
        "TITLE": "Acme Tab in euros", "COMPANY_ID": company, "CURRENCY_ID": "EUR"}}))  # fmt: skip
    client.call("crm.deal.productrows.set", {"id": euro_deal, "rows": [
        {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "100.00", "QUANTITY": "3"}]})  # fmt: skip
    synced(world, previewed(world, euro_deal)[0])
    [invoice] = invoices_of(world, "Acme Tab Ltd (EUR)")
    world.qb_query(  # the client pays 100 EUR of it in QuickBooks
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Acme Tab Ltd (EUR)</FullName>"
        "</CustomerRef><RefNumber>EUR-PAY-1</RefNumber><TotalAmount>100.00</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{invoice['TxnID']}</TxnID><PaymentAmount>100.00</PaymentAmount>"
        "</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
    )

    member = world.cloud.portal.member_id
    purpose = f"party-tab:company:{company}"
    before = len(world.cloud.services.agents.jobs(member, purpose=purpose))
    calls = len(world.cloud.emu.calls)
    assert world.api("POST", f"/parties/company/{company}/refresh").json() == {"queued": True}
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    assert wait(lambda: world.cloud.services.agents.jobs(member, purpose=purpose)[-1].state == "done")
    assert len(world.cloud.services.agents.jobs(member, purpose=purpose)) == before + 1  # one job for both
    shown = _tab(world, company)
    assert shown["linked"]["name"] == "Acme Tab Ltd" and shown["currency"] == "USD"
    assert shown["statement"]["customer"]["balance"] == "110.00"
    assert [i["balance"] for i in shown["statement"]["open_invoices"]] == ["110.00"]
    [euro] = shown["currencies"]
    assert euro["currency"] == "EUR" and euro["linked"]["name"] == "Acme Tab Ltd (EUR)"
    assert euro["statement"]["customer"]["balance"] == "200.00"  # in euros, apart from the dollars
    assert [(i["number"], i["balance"]) for i in euro["statement"]["open_invoices"]] == [
        (invoice["RefNumber"], "200.00")
    ]
    assert [p["number"] for p in euro["statement"]["payments"]] == ["EUR-PAY-1"]
    assert euro["credit"]["balance"] == "200.00" and euro["credit"]["currency"] == "EUR"
    # each deal's tab shows the balance of the customer in the deal's currency
    assert world.api("GET", f"/deals/{euro_deal}/quickbooks").json()["customer"]["balance"] == "200.00"
    assert world.api("GET", f"/deals/{home_deal}/quickbooks").json()["customer"]["balance"] == "110.00"
    # Bitrix24: the one card update as for any statement read, with the home customer's figures
    updates = [
        c for c in world.cloud.emu.calls[calls:]
        if c.method == "crm.company.update" and "UF_CRM_QB_BALANCE" in str(c.params)
    ]  # fmt: skip
    assert len(updates) == 1
    assert client.call("crm.company.get", {"id": company})["UF_CRM_QB_BALANCE"] == "110.00|USD"


def test_a_client_with_only_a_euro_customer_has_it_on_the_tab_and_its_card_fields_left_alone(
    world: World,
) -> None:
    """The client's first deal is in EUR: no home-currency customer. Opening the tab reads the EUR one;
    the phone card's fields, the home currency's figures, are not written with euros."""
    multicurrency(world)
    deal = a_deal(world, "Only Euro SARL", [(1, "Labor", "40.00", "2")])
    in_currency(world, deal, "EUR")
    synced(world, previewed(world, deal)[0])
    company = str(world.cloud.client().call("crm.deal.get", {"id": deal})["COMPANY_ID"])

    first = _tab(world, company, auto="1")  # nothing read yet: opening the tab asks QuickBooks
    assert first["linked"] is None and first["refreshing"] is True
    assert [c["linked"]["name"] for c in first["currencies"]] == ["Only Euro SARL (EUR)"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    assert wait(lambda: _tab(world, company)["currencies"][0]["statement"] is not None)
    shown = _tab(world, company)
    assert shown["statement"] is None
    assert shown["currencies"][0]["statement"]["customer"]["balance"] == "80.00"
    assert _tab(world, company, auto="1")["refreshing"] is False  # fresh: opening again asks nothing
    card = world.cloud.client().call("crm.company.get", {"id": company})
    assert not card.get("UF_CRM_QB_BALANCE")


def test_a_euro_deal_whose_answer_was_lost_makes_one_euro_customer_and_one_invoice(world: World) -> None:
    """Money under a fault: the EUR customer and its invoice landed, the answer did not come back (spec §8's
    error recovery); the sync finishes on what QuickBooks did, links the EUR customer it made, and a second
    click updates that invoice — no second "(EUR)" customer, no second invoice, none on the home customer."""
    multicurrency(world)
    deal = a_deal(world, "Lost Answer GmbH", [(1, "Labor", "100.00", "1")])
    in_currency(world, deal, "EUR")
    sync_id, detail = previewed(world, deal)
    assert detail["customer"] == "Lost Answer GmbH (EUR)", detail
    world.qb.lose_response_to = "<InvoiceAddRq"  # the write lands, its answer does not come back
    done = synced(world, sync_id)
    assert "EUR" in done["outcome"]
    assert [c["FullName"] for c in customers(world, "Lost Answer GmbH")] == ["Lost Answer GmbH (EUR)"]
    [invoice] = invoices_of(world, "Lost Answer GmbH (EUR)")
    assert world.cloud.client().call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"] == invoice["TxnID"]
    again, detail = previewed(world, deal)  # the person syncs the deal again: its invoice, updated
    assert detail["customer"] == "Lost Answer GmbH (EUR)" and detail["customer_action"] == "matched", detail
    synced(world, again)
    assert len(invoices_of(world, "Lost Answer GmbH (EUR)")) == 1
    assert [c["FullName"] for c in customers(world, "Lost Answer GmbH")] == ["Lost Answer GmbH (EUR)"]
