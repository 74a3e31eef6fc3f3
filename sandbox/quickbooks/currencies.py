"""Multiple currencies in a company file, as QuickBooks Desktop keeps them.

Sources: Intuit's *Set up and use multicurrency* (community.intuit.com/articles/1501407) and QuickBooks'
in-product help *Multicurrency and files updated from earlier versions* (QB2K12 ``mc_updated_company_files``):

* multicurrency is a company preference (``PreferencesRet/MultiCurrencyPreferences``: ``IsMultiCurrencyOn``,
  ``HomeCurrencyRef``; qbxmlops140.xml) that, once on, cannot be turned off;
* turning it on assigns the home currency to every existing customer, vendor and account;
* each customer has exactly one currency, and it "can't be changed for names that already have
  transactions recorded against them": a client billed in two currencies is two customers, with "a
  slightly different name" (the shared name space);
* a customer's documents are in its currency; A/R accounts have a currency too, and a document posts to
  an A/R account in the customer's currency. That QuickBooks makes that account with the first foreign
  document when the file has none is what Intuit says of QuickBooks Online ("QBO automatically creates
  accounts receivable (A/R) ... accounts in the foreign currency"); for Desktop it is UNCONFIRMED.

The currency list (``CurrencyRet``: ``Name``, ``CurrencyCode``, ``ExchangeRate`` — home units per foreign
unit) holds many currencies, most of them inactive until the bookkeeper activates them (Company → Manage
Currency → Currency List). Which names QuickBooks gives each currency beyond those below is UNCONFIRMED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from lxml import etree

from .company import Company, Record, insert_ordered

if TYPE_CHECKING:
    from .processor import Processor

# (Name, CurrencyCode, active when multicurrency is turned on, exchange rate to the US dollar)
LIST: tuple[tuple[str, str, bool, str | None], ...] = (
    ("US Dollar", "USD", True, None),
    ("Euro", "EUR", True, "1.08"),
    ("British Pound Sterling", "GBP", True, "1.27"),
    ("Canadian Dollar", "CAD", True, "0.73"),
    ("Australian Dollar", "AUD", False, "0.66"),
    ("Russian Ruble", "RUB", False, "0.011"),
    ("Japanese Yen", "JPY", False, "0.0067"),
)


def turn_on(company: Company, home: str = "USD") -> None:
    """Edit → Preferences → Multiple Currencies → "Yes, I use more than one currency" (home ``home``):
    the currency list appears, and every existing customer and account gets the home currency."""
    from .processor import Processor  # records are added the way a request adds them

    if company.multi_currency:
        return
    company.multi_currency = True
    processor = Processor(company, versions=("13.0",))
    for name, code, active, rate in LIST:
        if company.by_name(("Currency",), name) is not None:
            continue
        fields = [("Name", name), ("IsActive", "true" if active or code == home else "false"),
                  ("CurrencyCode", code)]  # fmt: skip
        if rate is not None and code != home:
            fields.append(("ExchangeRate", rate))
        rq = etree.Element("CurrencyAddRq")
        add = etree.SubElement(rq, "CurrencyAdd")
        for tag, value in fields:
            etree.SubElement(add, tag).text = value
        out = processor.one(rq, None, _session())  # type: ignore[arg-type]
        if out.failed:
            raise RuntimeError(out.element.get("statusMessage"))
    home_record = by_code(company, home)
    assert home_record is not None
    company.home_currency = home_record.id
    for record in list(company.of_kind("Customer", "Vendor", "Account")):
        if record.kind == "Account" and record.text("AccountType") not in CURRENCY_ACCOUNTS:
            continue
        if record.el.find("CurrencyRef") is None:
            set_currency(company, record, home_record)


# accounts that carry a currency (Intuit: bank, credit card, A/R, A/P; income and expense stay home)
CURRENCY_ACCOUNTS = ("Bank", "CreditCard", "AccountsReceivable", "AccountsPayable")


def by_code(company: Company, code: str) -> Record | None:
    return next((r for r in company.of_kind("Currency") if r.text("CurrencyCode") == code), None)


def home(company: Company) -> Record | None:
    return company.get(company.home_currency or "")


def currency_of(company: Company, record: Record) -> Record | None:
    """The currency of a customer or account: its own, else (multicurrency on) the home currency."""
    if not company.multi_currency:
        return None
    own = company.get(record.el.findtext("CurrencyRef/ListID") or "")
    return own or home(company)


def set_currency(company: Company, record: Record, currency: Record) -> None:
    ref = etree.Element("CurrencyRef")
    etree.SubElement(ref, "ListID").text = currency.id
    etree.SubElement(ref, "FullName").text = currency.full_name
    old = record.el.find("CurrencyRef")
    if old is not None:
        record.el.replace(old, ref)
    else:
        insert_ordered(record.el, ref, company.ret_spec(record.kind))


def rate(currency: Record, home_record: Record | None) -> Decimal:
    """Home units per unit of ``currency`` (the list's ExchangeRate; the home currency is 1)."""
    if home_record is not None and currency.id == home_record.id:
        return Decimal(1)
    return Decimal(currency.text("ExchangeRate") or "1")


def has_transactions(company: Company, customer: Record) -> bool:
    return any(
        r.el.findtext("CustomerRef/ListID") == customer.id for r in company.records.values() if not r.is_list
    )


def receivable(company: Company, currency: Record, processor: Processor) -> Record:
    """The A/R account a document in ``currency`` posts to: the first active one in that currency, else
    one QuickBooks makes for it ("Accounts Receivable - EUR"; see the module's note: UNCONFIRMED for
    Desktop)."""
    for account in company.of_kind("Account"):
        mine = currency_of(company, account)
        if (
            account.text("AccountType") == "AccountsReceivable"
            and account.text("IsActive") != "false"
            and mine is not None
            and mine.id == currency.id
        ):
            return account
    rq = etree.Element("AccountAddRq")
    add = etree.SubElement(rq, "AccountAdd")
    etree.SubElement(add, "Name").text = f"Accounts Receivable - {currency.text('CurrencyCode')}"
    etree.SubElement(add, "AccountType").text = "AccountsReceivable"
    ref = etree.SubElement(add, "CurrencyRef")
    etree.SubElement(ref, "ListID").text = currency.id
    out = processor.one(rq, None, _session())  # type: ignore[arg-type]
    if out.failed:
        raise RuntimeError(out.element.get("statusMessage"))
    made = company.get(out.element[0].findtext("ListID") or "")
    assert made is not None
    return made


def _session() -> object:
    from .processor import SessionState

    return SessionState()
