"""Multicurrency in the simulated company file (sandbox/quickbooks/currencies.py): the preference, one
currency per customer, documents in their customer's currency and A/R account."""

from __future__ import annotations

from sandbox.quickbooks import currencies

from .helpers import add_customer, doc, fresh, invoice, line, ok, run

EURO = "<CurrencyRef><FullName>Euro</FullName></CurrencyRef>"


def test_a_currency_in_a_file_without_multicurrency_is_a_feature_not_enabled() -> None:
    """Contract §7 (quickbooks-webconnector.md): 3250, "feature not enabled (e.g. multi-currency)"; the
    message's wording is UNCONFIRMED. PreferencesRet says the preference is off (qbxmlops140.xml
    MultiCurrencyPreferences)."""
    qb = fresh()
    box = run(qb, doc(f"<CustomerAddRq><CustomerAdd><Name>A</Name>{EURO}</CustomerAdd></CustomerAddRq>"))
    assert box[0].get("statusCode") == "3250"
    prefs = ok(run(qb, doc("<PreferencesQueryRq/>"))[0])[0]
    assert prefs.findtext("MultiCurrencyPreferences/IsMultiCurrencyOn") == "false"
    assert prefs.find("MultiCurrencyPreferences/HomeCurrencyRef") is None
    assert add_customer(qb, "Acme").find("CurrencyRef") is None  # no currency at all without the preference


def test_turning_multicurrency_on_gives_every_existing_name_the_home_currency() -> None:
    """Intuit, community.intuit.com/articles/1501407: "All existing customers and vendors will be assigned
    your home currency when you turn on the feature"; the currency list with inactive currencies (Company →
    Manage Currency → Currency List)."""
    qb = fresh()
    add_customer(qb, "Old Co")
    currencies.turn_on(qb.company, home="USD")
    prefs = ok(run(qb, doc("<PreferencesQueryRq/>"))[0])[0]
    assert prefs.findtext("MultiCurrencyPreferences/IsMultiCurrencyOn") == "true"
    assert prefs.findtext("MultiCurrencyPreferences/HomeCurrencyRef/FullName") == "US Dollar"
    old = ok(run(qb, doc("<CustomerQueryRq><FullName>Old Co</FullName></CustomerQueryRq>"))[0])[0]
    assert old.findtext("CurrencyRef/FullName") == "US Dollar"
    assert add_customer(qb, "New Co").findtext("CurrencyRef/FullName") == "US Dollar"  # the default
    listed = ok(run(qb, doc("<CurrencyQueryRq><ActiveStatus>All</ActiveStatus></CurrencyQueryRq>"))[0])
    by_code = {c.findtext("CurrencyCode"): c for c in listed}
    assert by_code["EUR"].findtext("Name") == "Euro" and by_code["EUR"].findtext("IsActive") == "true"
    assert by_code["RUB"].findtext("IsActive") == "false"  # listed, not active until the bookkeeper says
    active = ok(run(qb, doc("<CurrencyQueryRq/>"))[0])  # ActiveOnly by default
    assert "RUB" not in {c.findtext("CurrencyCode") for c in active}


def test_a_foreign_customers_invoice_is_in_its_currency_rate_and_ar_account() -> None:
    """Intuit (articles/1501407): a customer's transactions are in its currency; A/R accounts carry a
    currency. The A/R account made with the first document in a currency is what Intuit says of QuickBooks
    Online (UNCONFIRMED for Desktop). ExchangeRate: the request's, else the currency list's (qbxmlops140.xml
    InvoiceAdd/ExchangeRate is optional)."""
    qb = fresh()
    currencies.turn_on(qb.company)
    add_customer(qb, "Acme (EUR)", EURO)
    inv = invoice(qb, "Acme (EUR)", line("Labor", "2", "50.00"))
    assert inv.findtext("CurrencyRef/FullName") == "Euro"
    assert inv.findtext("ExchangeRate") == "1.08"
    assert inv.findtext("ARAccountRef/FullName") == "Accounts Receivable - EUR"
    assert inv.findtext("BalanceRemaining") == "100.00"  # in euros
    assert inv.findtext("BalanceRemainingInHomeCurrency") == "108.00"
    again = invoice(qb, "Acme (EUR)", line("Labor", "1", "10.00"), "<ExchangeRate>1.1</ExchangeRate>")
    assert again.findtext("ExchangeRate") == "1.1"
    assert again.findtext("ARAccountRef/FullName") == "Accounts Receivable - EUR"  # the same account
    add_customer(qb, "Acme")
    usd = invoice(qb, "Acme", line("Labor", "1", "10.00"))
    assert usd.findtext("CurrencyRef/FullName") == "US Dollar" and usd.findtext("ExchangeRate") == "1"
    assert usd.findtext("ARAccountRef/FullName") != "Accounts Receivable - EUR"


def test_an_ar_account_in_another_currency_is_refused() -> None:
    """A document posts to an A/R account in its customer's currency (Intuit, articles/1501407); the code
    and text QuickBooks answers with are UNCONFIRMED (3210, a business rule)."""
    qb = fresh()
    currencies.turn_on(qb.company)
    add_customer(qb, "Acme (EUR)", EURO)
    invoice(qb, "Acme (EUR)", line("Labor", "1", "10.00"))  # makes the EUR A/R account
    add_customer(qb, "Acme")
    box = run(qb, doc(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Acme</FullName></CustomerRef><ARAccountRef>"
        "<FullName>Accounts Receivable - EUR</FullName></ARAccountRef>"
        f"{line('Labor', '1', '10.00')}</InvoiceAdd></InvoiceAddRq>"
    ))  # fmt: skip
    assert box[0].get("statusCode") == "3210"
    assert "currency" in (box[0].get("statusMessage") or "")


def test_a_customers_currency_cannot_change_once_it_has_transactions() -> None:
    """Intuit, community.intuit.com/articles/1501407: "The currency can't be changed for names that already
    have transactions recorded against them." Code and text UNCONFIRMED (3210 with Intuit's sentence)."""
    qb = fresh()
    currencies.turn_on(qb.company)
    ret = add_customer(qb, "Fresh Co")
    changed = ok(run(qb, doc(
        f"<CustomerModRq><CustomerMod><ListID>{ret.findtext('ListID')}</ListID><EditSequence>"
        f"{ret.findtext('EditSequence')}</EditSequence>{EURO}</CustomerMod></CustomerModRq>"
    ))[0])[0]  # fmt: skip
    assert changed.findtext("CurrencyRef/FullName") == "Euro"  # no transactions yet: allowed
    invoice(qb, "Fresh Co", line("Labor", "1", "10.00"))
    box = run(qb, doc(
        f"<CustomerModRq><CustomerMod><ListID>{ret.findtext('ListID')}</ListID><EditSequence>"
        f"{changed.findtext('EditSequence')}</EditSequence><CurrencyRef><FullName>US Dollar</FullName>"
        "</CurrencyRef></CustomerMod></CustomerModRq>"
    ))  # fmt: skip
    assert box[0].get("statusCode") == "3210"
    assert "currency can't be changed" in (box[0].get("statusMessage") or "")


def test_accounts_are_asked_for_by_type() -> None:
    """qbxmlops140.xml AccountQueryRq: ``AccountType`` (may repeat) filters the chart of accounts."""
    qb = fresh()
    currencies.turn_on(qb.company)
    add_customer(qb, "Acme (EUR)", EURO)
    invoice(qb, "Acme (EUR)", line("Labor", "1", "10.00"))
    box = run(qb, doc("<AccountQueryRq><AccountType>AccountsReceivable</AccountType></AccountQueryRq>"))
    names = {(a.findtext("FullName"), a.findtext("CurrencyRef/FullName")) for a in ok(box[0])}
    assert names == {("Accounts Receivable - EUR", "Euro")}
