"""The document's currency from QuickBooks' answers (cloud_app/sync/currency.py), each refusal with a fix."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cloud_app.sync.currency import choose, customer_name, customer_problem, key


def answers(**over: Any) -> dict[str, Any]:
    fresh: dict[str, Any] = {
        "multi_currency": True,
        "home_currency_name": "US Dollar",
        "currencies": [
            {"list_id": "C1", "name": "US Dollar", "code": "USD", "active": True, "rate": None},
            {"list_id": "C2", "name": "Euro", "code": "EUR", "active": True, "rate": "1.08"},
            {"list_id": "C3", "name": "Russian Ruble", "code": "RUB", "active": False, "rate": "0.011"},
            {"list_id": "C4", "name": "Swiss Franc", "code": "CHF", "active": True, "rate": None},
        ],
        "receivables": [{"list_id": "A2", "name": "A/R EUR", "currency": "Euro", "active": True}],
    }
    return {**fresh, **over}


def test_the_home_currency_changes_nothing() -> None:
    chosen = choose("USD", answers(), "USD", receivable=True)
    assert not chosen.foreign and chosen.problems == [] and chosen.shown(Decimal("10")) is None
    assert not choose("", answers(multi_currency=False), "USD", receivable=True).foreign  # no currency: home


def test_another_currency_carries_quickbooks_rate_and_its_ar_account() -> None:
    chosen = choose("EUR", answers(), "USD", receivable=True)
    assert chosen.foreign and chosen.list_id == "C2" and chosen.rate == Decimal("1.08")
    assert chosen.ar_account == "A2" and chosen.problems == []
    assert chosen.shown(Decimal("300.00")) == {"code": "EUR", "name": "Euro", "home": "USD", "rate": "1.08",
                                               "home_total": "324.00", "ar_account": "A/R EUR",
                                               "receivable": True}  # fmt: skip
    estimate = choose("EUR", answers(), "USD", receivable=False)
    assert estimate.ar_account is None  # an estimate posts to no A/R account
    none_yet = choose("EUR", answers(receivables=[]), "USD", receivable=True)
    assert none_yet.ar_account is None and any(
        "makes one with this first document" in n for n in none_yet.notes
    )


def test_each_refusal_says_what_to_do() -> None:
    off = choose("EUR", answers(multi_currency=False), "USD", receivable=True).problems
    assert len(off) == 1 and "multicurrency is off" in off[0] and "Edit → Preferences" in off[0]
    missing = choose("GBP", answers(), "USD", receivable=True).problems
    assert "QuickBooks has no currency GBP" in missing[0] and "Currency List" in missing[0]
    inactive = choose("RUB", answers(), "USD", receivable=True).problems
    assert "inactive in QuickBooks" in inactive[0]
    no_rate = choose("CHF", answers(), "USD", receivable=True).problems
    assert "no exchange rate" in no_rate[0]
    unasked = choose("EUR", {}, "USD", receivable=True).problems
    assert "did not say" in unasked[0]


def test_a_home_currency_other_than_the_dollar_is_quickbooks_own() -> None:
    euro_home = answers(home_currency_name="Euro")
    assert not choose("EUR", euro_home, "USD", receivable=True).foreign
    assert choose("USD", euro_home, "USD", receivable=True).problems == [
        "Currency: QuickBooks has no exchange rate for US Dollar (USD). Enter one in QuickBooks "
        "(Company → Manage Currency → Currency List), then sync again."
    ]


def test_a_currency_customers_name_always_shows_the_code_within_41_characters() -> None:
    assert customer_name("Acme Ltd", "EUR").value == "Acme Ltd (EUR)"
    long = customer_name("A" * 50, "EUR")
    assert long.value.endswith(" (EUR)") and len(long.value) == 41 and long.shortened
    assert key("EUR", "USD") == "EUR" and key("USD", "USD") == "" and key("", "USD") == ""


def test_a_linked_customer_in_another_currency_is_a_problem() -> None:
    chosen = choose("EUR", answers(), "USD", receivable=True)
    assert customer_problem(chosen, "Acme", "Euro") is None
    assert "is in US Dollar" in (customer_problem(chosen, "Acme", "US Dollar") or "")
