"""The QuickBooks tab on contacts and companies: the customer's statement as QuickBooks has it, read on
request (one read-only job at a person's priority), and linking a record that is not linked yet.

* :func:`refresh` queues the statement query (customer, open invoices, payments of the last 90 days,
  estimates of the last year) unless one is already on its way; :func:`on_result` keeps the answer as
  the tab's snapshot with its "as of" time. A client with customers in other currencies (one per
  currency, see :mod:`cloud_app.sync.currency`) has each read in the same job and shown apart: a balance
  is never added to another currency's. The card's own fields keep the home currency's customer.
* :func:`link` looks a name up among QuickBooks customers and links the record to it; with ``create``
  a name QuickBooks does not have becomes a new customer made from the record (the same draft a deal's
  sync would make).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.qbxml.builder import MessageSet, Request, add, build, query
from shared.qbxml.parser import parse_response

from . import company_time, deal_sync
from .agents.store import JobRow
from .b24.errors import B24Error
from .links import Link
from .sync import currency, failures
from .sync.names import ListName, alternatives, choose, fit_name
from .sync.statement import ESTIMATE_DAYS, RECENT_DAYS, card_fields, statement
from .sync.text import Unstorable

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("qb_cloud.party_tab")

STATEMENT, LOOKUP, CREATE = "party-tab:", "party-link:", "party-add:"
VERSION = "13.0"
PRIORITY = 1  # a person has the tab open
TYPES = ("contact", "company")
STALE_AFTER = 300  # seconds: a tab opened later than this asks QuickBooks again
NAME_LIMIT = 41  # CustomerAdd Name (qbxmlops140.xml)
OTHER_LISTS = ("Vendor", "Employee", "OtherName")  # QuickBooks' shared name space with customers


def known(b24_type: str, b24_id: str) -> bool:
    """A record this tab can be about: a contact or company, by a numeric id."""
    return b24_type in TYPES and b24_id.isdigit()


def _key(b24_type: str, b24_id: str) -> str:
    return f"{b24_type}:{b24_id}"


def _customers(services: Services, member_id: str, b24_type: str, b24_id: str) -> list[Link]:
    return services.links.customers_of(member_id, services.company_file(member_id), b24_type, b24_id)


def view(services: Services, member_id: str, b24_type: str, b24_id: str) -> dict[str, Any]:
    """What the tab shows: the link, the last statement read, and whether a read or link is under way;
    ``currencies``: the client's customers in other currencies, each with its own last statement."""
    linked = _customers(services, member_id, b24_type, b24_id)
    link = next((c for c in linked if not c.currency), None)
    key = _key(b24_type, b24_id)
    others = services.portals.setting(member_id, f"party.{key}.qb.currencies") or {}
    return {
        "linked": {"list_id": link.qb_id, "name": link.qb_name} if link else None,
        "statement": services.portals.setting(member_id, f"party.{key}.qb") if link else None,
        "currencies": [
            {
                "currency": c.currency,
                "linked": {"list_id": c.qb_id, "name": c.qb_name},
                "statement": others.get(c.currency),
                "credit": _in(credit(others.get(c.currency)), c.currency),
            }
            for c in linked
            if c.currency
        ],
        "refreshing": services.agents.waiting(member_id, STATEMENT + key),
        "linking": services.portals.setting(member_id, f"party.{key}.link"),
    }


def _in(shown: dict[str, Any] | None, code: str) -> dict[str, Any] | None:
    return {**shown, "currency": code} if shown else None  # the code, as the deal's money shows it


def credit_in(shown: dict[str, Any], code: str) -> dict[str, Any] | None:
    """For a deal in ``code``: the credit of the party's customer in that currency, else the home one's."""
    other = next((c for c in shown["currencies"] if c["currency"] == code and c["statement"]), None)
    if other is not None:
        return other["credit"]
    return credit(shown["statement"]) if shown["linked"] else None


def as_of(shown: dict[str, Any]) -> str | None:
    """When a :func:`view`'s statements were read (one job reads them all); None when never."""
    read = [
        shown.get("statement") or {},
        *((c.get("statement") or {}) for c in shown.get("currencies") or []),
    ]
    return next((str(s["as_of"]) for s in read if s.get("as_of")), None)


def home_currency(services: Services, member_id: str) -> str:
    """The company file's own currency: the home currency QuickBooks named in a deal's lookup
    (multicurrency on), else its edition's country, as the Web Connector session reported it (a customer
    without a CurrencyRef is in it); empty when not known yet."""
    session = services.portals.setting(member_id, "qb.session") or {}
    known = services.portals.setting(member_id, "qb.home_currency")
    return str(known or currency.EDITION_HOME.get(str(session.get("country") or "").upper(), ""))


def credit(statement: dict[str, Any] | None) -> dict[str, Any] | None:
    """The customer's balance against its credit limit, for the deal tab and the party tab's warning."""
    if not statement:
        return None
    customer = statement.get("customer") or {}
    balance, limit = customer.get("balance"), customer.get("credit_limit")
    over = bool(limit not in (None, "") and balance not in (None, "") and Decimal(balance) > Decimal(limit))
    return {
        "name": customer.get("name"),
        "balance": balance,
        "credit_limit": limit,
        "currency": customer.get("currency"),
        "over_limit": over,
        "as_of": statement.get("as_of"),
    }


def of_deal(services: Services, member_id: str, deal_id: str, syncs: list[Any]) -> tuple[str, str] | None:
    """The company or contact a deal's syncs were for (the latest one's), when it is linked."""
    for sync in reversed(syncs):
        party = (sync.detail or {}).get("party") or {}
        if party.get("type") in TYPES and str(party.get("id") or "0") != "0":
            return str(party["type"]), str(party["id"])
    return None


def refresh(services: Services, member_id: str, b24_type: str, b24_id: str) -> str | None:
    """Queue the statement query for a linked record — every customer it has, one per currency, in one
    job; None when not linked or one is already queued."""
    linked = _customers(services, member_id, b24_type, b24_id)
    purpose = STATEMENT + _key(b24_type, b24_id)
    if not linked or services.agents.waiting(member_id, purpose):
        return None
    today = company_time.now(services, member_id).date()  # the 90/365-day windows in QuickBooks' days
    requests = [r for link in linked for r in _statement_queries(link, today)]
    job_id = services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=purpose,
        priority=PRIORITY,
    )
    services.notify(member_id)
    return job_id


def _statement_queries(link: Link, today: date) -> list[Request]:
    """One customer's statement queries; the request ids carry its currency ("EUR.invoices"), none for
    the home currency's."""
    tag = f"{link.currency}." if link.currency else ""
    of_customer = {"EntityFilter": {"ListIDWithChildren": link.qb_id}}
    return [
        query("Customer", {"ListID": link.qb_id}, request_id=tag + "customer"),
        query("Invoice", {**of_customer, "PaidStatus": "NotPaidOnly"}, request_id=tag + "invoices"),
        query(
            "ReceivePayment",
            {
                "TxnDateRangeFilter": {"FromTxnDate": today - timedelta(days=RECENT_DAYS)},
                **of_customer,
                "IncludeLineItems": True,
            },
            request_id=tag + "payments",
        ),  # fmt: skip
        query(
            "Estimate",
            {"TxnDateRangeFilter": {"FromTxnDate": today - timedelta(days=ESTIMATE_DAYS)}, **of_customer},
            request_id=tag + "estimates",
        ),
        # every credit memo: an open one lowers the balance however old it is (QuickBooks counts it)
        query("CreditMemo", {**of_customer, "IncludeLinkedTxns": True}, request_id=tag + "credits"),
        query(
            "ARRefundCreditCard",
            {"TxnDateRangeFilter": {"FromTxnDate": today - timedelta(days=ESTIMATE_DAYS)}, **of_customer},
            request_id=tag + "refunds",
        ),
    ]


def link(
    services: Services, member_id: str, b24_type: str, b24_id: str, *, name: str | None, create: bool
) -> None:
    """Look ``name`` (else the record's own name as QuickBooks would get it) up among customers; link it
    when found, else create it when asked to."""
    draft, _ = deal_sync.customer_for(
        services, member_id, services.company_file(member_id),
        {"COMPANY_ID": b24_id} if b24_type == "company" else {"CONTACT_ID": b24_id},
    )  # fmt: skip
    wanted = (name or "").strip() or str(draft.get("name") or "")
    key = _key(b24_type, b24_id)
    if not wanted:
        _say(services, member_id, key, "failed", "This record has no name QuickBooks could use.")
        return
    try:  # a new customer's name: fitted like every name we send (a typed one may hold a colon)
        made = fit_name(wanted) if (name or "").strip() else ListName(wanted)
    except Unstorable as exc:
        _say(services, member_id, key, "failed", str(exc))
        return
    if create and made.shortened:
        too_long = f"QuickBooks customer names are at most {NAME_LIMIT} characters; shorten “{wanted}”."
        _say(services, member_id, key, "failed", too_long)
        return
    # a typed name is the person's choice; the record's own name may have been cut to fit, and then a
    # customer of that name may be another record's that only starts the same way
    shortened = not (name or "").strip() and bool(draft.get("shortened"))
    services.portals.set_setting(
        member_id,
        f"party.{key}.link",
        {"state": "looking", "name": wanted, "create": create, "fields": draft.get("fields") or {},
         "notes": [*(draft.get("notes") or []), *made.notes], "typed": bool((name or "").strip()),
         "shortened": shortened, "new_name": made.value},
    )  # fmt: skip
    # the name to link to, and the names a new customer could take (its own, or the first free one)
    asked = {"FullName": list(dict.fromkeys([wanted, *alternatives(made.value)]))}
    requests = [query("Customer", asked, request_id="customer")]
    requests += [query(k, asked, request_id=k.lower()) for k in OTHER_LISTS]  # names a new one cannot take
    services.agents.enqueue(
        member_id,
        build(MessageSet(requests, on_error="continueOnError"), version=VERSION).xml,
        purpose=LOOKUP + key,
        priority=PRIORITY,
    )
    services.notify(member_id)


def _say(services: Services, member_id: str, key: str, state: str, message: str) -> None:
    current = services.portals.setting(member_id, f"party.{key}.link") or {}
    services.portals.set_setting(
        member_id, f"party.{key}.link", {**current, "state": state, "message": message}
    )


def on_result(services: Services, member_id: str, job: JobRow) -> bool:
    for prefix, handle in ((STATEMENT, _statement), (LOOKUP, _looked_up), (CREATE, _created)):
        if job.purpose.startswith(prefix):
            b24_type, b24_id = job.purpose[len(prefix) :].split(":", 1)
            handle(services, member_id, b24_type, b24_id, job)
            return True
    return False


def _failure(job: JobRow) -> str:
    f = failures.from_hresult(job.hresult or "", job.message or "", attempt=1, now=datetime.now(UTC))
    return f"{f.reason} {f.fix}".strip()


def _statement(services: Services, member_id: str, b24_type: str, b24_id: str, job: JobRow) -> None:
    key = _key(b24_type, b24_id)
    if job.response is None:
        log.info("statement of %s %s not read: %s", b24_type, b24_id, job.hresult)
        return
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}  # currency ("" home) -> request -> records
    for result in parse_response(job.response).results:
        if result.header.status.is_ok:  # 1 / 500: none found
            code, _, asked = (result.header.request_id or "").rpartition(".")
            found.setdefault(code, {})[asked] = [dict(r) for r in result.records]
    now = company_time.now(services, member_id)  # days overdue and aging by the company's date
    shown: dict[str, dict[str, Any]] = {}
    for code, of in found.items():
        if of.get("customer"):  # none: the customer is gone from QuickBooks; customer sync says so
            shown[code] = statement(
                of["customer"][0], of.get("invoices", []), of.get("payments", []), of.get("estimates", []),
                now, credits=of.get("credits", []), refunds=of.get("refunds", []),
            )  # fmt: skip
    others = {code: s for code, s in shown.items() if code}
    services.portals.set_setting(member_id, f"party.{key}.qb.currencies", others)
    home = shown.get("")
    if home is None:
        return  # no home-currency customer read: the card's fields are left as they are
    services.portals.set_setting(member_id, f"party.{key}.qb", home)
    # the card's own fields too: the phone app shows no tabs, only ordinary fields (one update)
    fields = card_fields(home, home_currency(services, member_id) or "USD")
    try:
        services.client(member_id).call(f"crm.{b24_type}.update", {"id": b24_id, "fields": fields})
    except B24Error as exc:  # the tab has the statement; the card catches up with the next read
        log.warning("QuickBooks fields of %s %s not written: %s", b24_type, b24_id, exc.code)


def _linked(services: Services, member_id: str, b24_type: str, b24_id: str, ret: dict[str, Any]) -> None:
    file = services.company_file(member_id)
    holder = services.links.claim(
        member_id, file, Link("customer", str(ret["ListID"]), str(ret["FullName"]), b24_type, b24_id)
    )
    if holder is not None:  # linked to another record since the lookup: the link stays where it is
        _say(services, member_id, _key(b24_type, b24_id), "failed",
             f"QuickBooks customer “{ret['FullName']}” is already linked to Bitrix24 {holder.b24_type} "
             f"{holder.b24_id}; one customer is linked to one record.")  # fmt: skip
        return
    _say(services, member_id, _key(b24_type, b24_id), "linked", f"Linked to {ret['FullName']}.")
    refresh(services, member_id, b24_type, b24_id)


def _looked_up(services: Services, member_id: str, b24_type: str, b24_id: str, job: JobRow) -> None:
    key = _key(b24_type, b24_id)
    asked = services.portals.setting(member_id, f"party.{key}.link") or {}
    if job.response is None:
        _say(services, member_id, key, "failed", _failure(job))
        return
    wanted = str(asked.get("name") or "")
    found: dict[str, Any] | None = None
    names: set[str] = set()  # every name of the shared name space the lookup saw
    for result in parse_response(job.response).results:
        if not result.header.status.is_ok:  # 1 / 500 without records: not found
            continue
        names |= {str(r.get("FullName") or r.get("Name") or "") for r in result.records}
        if result.header.request_id == "customer":
            found = next(
                (dict(r) for r in result.records if str(r["FullName"]).casefold() == wanted.casefold()), None
            )
    holder = (
        services.links.by_qb(member_id, services.company_file(member_id), "customer", str(found["ListID"]))
        if found is not None
        else None
    )
    if holder is not None and (holder.b24_type, holder.b24_id) == (b24_type, b24_id):
        holder = None
    if found is not None and holder is not None and (asked.get("typed") or not asked.get("create")):
        _say(services, member_id, key, "failed",
             f"QuickBooks customer “{found['FullName']}” is already linked to Bitrix24 {holder.b24_type} "
             f"{holder.b24_id}; one customer is linked to one record.")  # fmt: skip
        return
    if found is not None and (asked.get("typed") or not asked.get("shortened")) and holder is None:
        _linked(services, member_id, b24_type, b24_id, found)
        return
    choice = choose(
        ListName(str(asked.get("new_name") or wanted), shortened=bool(asked.get("shortened"))),
        (str(found["ListID"]), str(found["FullName"])) if found else None,
        names,
        linked_elsewhere=holder is not None,
    )
    if not asked.get("create"):
        said = (
            f"QuickBooks has no customer named “{wanted}”."
            if found is None
            else f"QuickBooks customer “{found['FullName']}” may be another record: this record's name was "
            f"shortened to {NAME_LIMIT} characters to look it up. Type the customer's exact name to link "
            "it, or create a customer of this record's own."
        )
        _say(services, member_id, key, "not_found", said)
        return
    fields = {**(asked.get("fields") or {}), "Name": choice.name}
    services.agents.enqueue(
        member_id,
        build(MessageSet([add("Customer", fields)]), version=VERSION, truncate=True).xml,
        purpose=CREATE + key,
        priority=PRIORITY,
    )
    why = f" ({choice.note})" if choice.note else ""
    _say(services, member_id, key, "creating", f"Creating “{choice.name}” in QuickBooks{why}.")
    services.notify(member_id)


def _created(services: Services, member_id: str, b24_type: str, b24_id: str, job: JobRow) -> None:
    key = _key(b24_type, b24_id)
    if job.response is None:
        _say(services, member_id, key, "failed", _failure(job))
        return
    result = parse_response(job.response).results[0]
    status = result.header.status
    if not status.is_ok or not result.records:  # 530: the add ran, an element ignored
        f = failures.from_status(
            status.code, status.severity, status.message, attempt=1, now=datetime.now(UTC)
        )
        _say(services, member_id, key, "failed", f"{f.reason} {f.fix}".strip())
        return
    _linked(services, member_id, b24_type, b24_id, dict(result.records[0]))
