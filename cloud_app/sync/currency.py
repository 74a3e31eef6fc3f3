"""The currency of a deal's document in QuickBooks (pure).

QuickBooks Desktop keeps one currency per customer and never changes it once the customer has
transactions; a company file keeps every amount in its home currency unless multicurrency is turned on,
and then each document is in its customer's currency and posts to an A/R account in that currency
(Intuit, *Set up and use multicurrency*, community.intuit.com/articles/1501407). So:

* a deal in the home currency goes to the client's customer, as always;
* a deal in another currency, in a multicurrency file, goes to a customer of its own for that client and
  currency — named so a bookkeeper recognises it, "Acme Ltd (EUR)" (:func:`customer_name`), made with that
  ``CurrencyRef`` — with the ``ExchangeRate`` QuickBooks' currency list has (the one the preview shows) and
  the A/R account in that currency when QuickBooks has one;
* a deal in another currency in a file without multicurrency, or in a currency QuickBooks lacks (or has
  inactive, or without a rate), is refused in the preview with the fix, before anything is sent.

QuickBooks' answers come from the deal's own lookup (``preconditions``: ``PreferencesQuery``'s
``MultiCurrencyPreferences``, ``CurrencyQuery``, the A/R accounts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .names import NAME_LIMIT, ListName, fit_name

MENU = "Company → Manage Currency → Currency List"
EDITION_HOME = {"US": "USD", "CA": "CAD", "UK": "GBP", "GB": "GBP", "AU": "AUD"}  # QuickBooks editions


@dataclass(frozen=True)
class Currency:
    code: str  # the deal's currency (ISO 4217, as Bitrix24 names it)
    home: str  # the company file's home currency
    foreign: bool  # a currency other than the home one: a customer of its own, a rate
    list_id: str | None = None  # QuickBooks' CurrencyRet
    name: str | None = None  # as QuickBooks names it ("Euro")
    rate: Decimal | None = None  # home units per unit of ``code``
    ar_account: str | None = None  # the A/R account in that currency (ListID), when QuickBooks has one
    ar_name: str | None = None
    receivable: bool = False  # the document posts to an A/R account (invoices, credit memos)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def shown(self, total: Decimal) -> dict[str, Any] | None:
        """What the preview says about it (None: the home currency, nothing to say)."""
        if not self.foreign:
            return None
        home_total = (total * self.rate).quantize(Decimal("0.01")) if self.rate is not None else None
        return {
            "code": self.code,
            "name": self.name,
            "home": self.home,
            "rate": f"{self.rate.normalize():f}" if self.rate is not None else None,
            "home_total": f"{home_total}" if home_total is not None else None,
            "ar_account": self.ar_name,
            "receivable": self.receivable,
        }


def key(code: str, home: str) -> str:
    """The currency a client's customer link is kept under: "" for the home currency (every link made
    before currencies were known is one), else the code."""
    return "" if not code or code == home else code


def customer_name(base: str, code: str) -> ListName:
    """The name of a client's customer in another currency, "Acme Ltd (EUR)": the client's name cut so
    the currency always shows, within QuickBooks' 41 characters."""
    suffix = f" ({code})"
    fitted = fit_name(base, NAME_LIMIT - len(suffix))
    return ListName(fitted.value + suffix, fitted.notes, shortened=fitted.shortened)


def home_of(fresh: Mapping[str, Any] | None, edition_home: str) -> str:
    """The home currency QuickBooks reported in this lookup (multicurrency on), else the edition's."""
    if fresh and fresh.get("multi_currency"):
        found = _by_name(fresh, fresh.get("home_currency_name"))
        if found is not None and found.get("code"):
            return str(found["code"])
    return edition_home


def choose(code: str, fresh: Mapping[str, Any] | None, edition_home: str, *, receivable: bool) -> Currency:
    """The document's currency, checked against QuickBooks' answers (``receivable``: the document posts to
    an A/R account — invoices and credit memos)."""
    home = home_of(fresh, edition_home)
    code = code or home
    if code == home:
        found = _by_name(fresh or {}, (fresh or {}).get("home_currency_name"))
        return Currency(code, home, False, (found or {}).get("list_id"), (found or {}).get("name"))
    if fresh is None or "multi_currency" not in fresh:
        return Currency(code, home, True, problems=[
            f"Currency: QuickBooks did not say which currencies it keeps, so a deal in {code} is not sent. "
            "Run the sync again in a minute."
        ])  # fmt: skip
    if not fresh["multi_currency"]:
        return Currency(code, home, True, problems=[
            f"Currency: this deal is in {code}, but this QuickBooks company file keeps its books in {home} "
            "only (multicurrency is off). Turn multicurrency on in QuickBooks (Edit → Preferences → "
            f"Multiple Currencies → Company Preferences), or change the deal's currency to {home} in "
            "Bitrix24, then sync again."
        ])  # fmt: skip
    found = next((c for c in fresh.get("currencies") or [] if c.get("code") == code), None)
    if found is None:
        return Currency(code, home, True, problems=[
            f"Currency: QuickBooks has no currency {code}. Add it in QuickBooks ({MENU}), or change the "
            "deal's currency in Bitrix24, then sync again."
        ])  # fmt: skip
    name, list_id = str(found.get("name") or code), str(found["list_id"])
    if not found.get("active"):
        return Currency(code, home, True, list_id, name, problems=[
            f"Currency: the currency {name} ({code}) is inactive in QuickBooks. Make it active there "
            f"({MENU}), then sync again."
        ])  # fmt: skip
    rate = _decimal(found.get("rate"))
    if rate is None or rate <= 0:
        return Currency(code, home, True, list_id, name, problems=[
            f"Currency: QuickBooks has no exchange rate for {name} ({code}). Enter one in QuickBooks "
            f"({MENU}), then sync again."
        ])  # fmt: skip
    notes = [f"Currency: the document is in {name} ({code}), at QuickBooks' rate of {rate.normalize():f} "
             f"{home} per {code}."]  # fmt: skip
    account = next(
        (a for a in fresh.get("receivables") or [] if a.get("currency") == name and a.get("active")), None
    )
    if receivable and account is None:
        notes.append(
            f"Currency: QuickBooks has no A/R account in {code} yet; it makes one with this first document."
        )
    chosen = account if receivable else None
    return Currency(code, home, True, list_id, name, rate, (chosen or {}).get("list_id"),
                    (chosen or {}).get("name"), receivable, notes=notes)  # fmt: skip


def customer_problem(currency: Currency, customer: str, theirs: str | None) -> str | None:
    """A linked customer QuickBooks keeps in another currency than the deal's: QuickBooks would put the
    document in the customer's currency, not the deal's."""
    if theirs is None or currency.name is None or theirs == currency.name:
        return None
    return (
        f"Currency: the QuickBooks customer “{customer}” is in {theirs}, but this deal is in "
        f"{currency.code}, and QuickBooks keeps one currency per customer. Change the deal's currency in "
        "Bitrix24 to the customer's, then sync again."
    )


def _by_name(fresh: Mapping[str, Any], name: Any) -> Mapping[str, Any] | None:
    if not name:
        return None
    return next((c for c in fresh.get("currencies") or [] if c.get("name") == name), None)


def _decimal(raw: Any) -> Decimal | None:
    try:
        return Decimal(str(raw)) if raw not in (None, "") else None
    except InvalidOperation:
        return None


def currency_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``CurrencyRet`` as the checks use it."""
    return {
        "list_id": str(record.get("ListID") or ""),
        "name": str(record.get("Name") or record.get("FullName") or ""),
        "code": str(record.get("CurrencyCode") or ""),
        "active": str(record.get("IsActive", "true")).lower() != "false",
        "rate": str(record["ExchangeRate"]) if record.get("ExchangeRate") is not None else None,
    }


def receivable_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """An A/R ``AccountRet`` as the checks use it (its currency by name)."""
    ref = record.get("CurrencyRef")
    return {
        "list_id": str(record.get("ListID") or ""),
        "name": str(record.get("FullName") or record.get("Name") or ""),
        "currency": str(getattr(ref, "full_name", None) or "") or None,
        "active": str(record.get("IsActive", "true")).lower() != "false",
    }
