"""The property test's vocabulary: what people, QuickBooks and the network do, one small dataclass each.

A scenario is a :class:`Setup` and a list of steps; hypothesis draws them from :data:`VOCABULARY` and
shrinks a failing list to the fewest, simplest steps, which print as readable Python
(``[Click(deal=0, preview=False), LoseAnswer(to='<InvoiceAddRq'), Retry(deal=0, times=1, at_once=False)]``).

To add a step: a frozen dataclass with ``run(self, run: Run) -> str`` (what happened, in a few words, for
the report) and, when it has parameters, a ``strategy()`` classmethod; then put it in :data:`VOCABULARY`
with a weight (higher is likelier). A step that finds nothing to act on (no preview to confirm, no failed
sync to retry) does nothing and says so: shrinking removes it. A step by which a person explicitly asks for
another document for a deal adds to ``run.scenario.another[deal_id]`` (rule a then allows one more).

Every step acts the way its real counterpart does: clicks and confirms through the page API, a person's
Bitrix24 edit in the CRM store as the UI makes it (the event fires with that user's tokens), the
bookkeeper's edits and payments by hand in the company file, faults through the simulators' switches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import requests
from hypothesis import strategies as st
from lxml import etree

from sandbox.bitrix24.store import Origin
from sandbox.qbport import QuickBooksSession

from .invariants import BITRIX24, PHONE, QUICKBOOKS, TITLE, Deal, Edit
from .truth import Scenario, deal_of, linked_customer
from .world import Sandbox, wait

DEALS = 2  # steps name deals by index: 0 and 1
TITLES = ("Umbrella Corporation", "Initech LLC", "Acme Widgets")
PHONES = ("650-555-0142", "(415) 555-0199")
# Documents whose answer a fault can lose (the deal's write, a customer's update, the lookup …).
REQUESTS = ("<InvoiceAddRq", "<InvoiceModRq", "<CustomerAddRq", "<CustomerModRq", "<CustomerQueryRq")
COMPANY = 4


@dataclass
class Run:
    box: Sandbox
    scenario: Scenario

    def deal(self, index: int) -> Deal:
        return self.scenario.deals[index % len(self.scenario.deals)]

    def syncs(self, deal: Deal) -> list[dict[str, Any]]:
        """The deal's syncs, newest first, as the sync log shows them."""
        return list(self.box.api("GET", "/syncs", params={"deal": deal.deal_id}).json()["syncs"])


def at_once(times: int, together: bool, call: Callable[[], requests.Response]) -> list[int]:
    """``times`` calls, one after the other or released together from threads (two tabs, two clicks)."""
    if not together or times == 1:
        return [call().status_code for _ in range(times)]
    gate, codes = threading.Barrier(times), [0] * times

    def one(n: int) -> None:
        gate.wait()
        codes[n] = call().status_code

    threads = [threading.Thread(target=one, args=(n,)) for n in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


# -- the scenario's start ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """Two companies made by a person in Bitrix24, each with one deal; the deals ``synced`` are in QuickBooks
    already (one "Sync to QuickBooks" each and a Web Connector run, nothing going wrong), so later steps
    find documents to pay, customers to edit and documents to sync again."""

    titles: tuple[str, str]
    synced: tuple[bool, bool]

    PAIRS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("Umbrella Corp", "Kowalski & Sons"),
        # the first 41 characters — QuickBooks' customer name limit — are the same (issue 17, case 2)
        ("Northern California Heating and Plumbing West", "Northern California Heating and Plumbing East"),
    )
    ROWS: ClassVar[tuple[list[dict[str, Any]], ...]] = (
        [{"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": 2}],
        [
            {"PRODUCT_ID": 1, "PRODUCT_NAME": "Labor", "PRICE": "55.00", "QUANTITY": 1},
            {"PRODUCT_ID": 7, "PRODUCT_NAME": "Concrete Slab", "PRICE": "25.00", "QUANTITY": 3},
        ],
    )

    @classmethod
    def strategy(cls) -> st.SearchStrategy[Setup]:
        return st.builds(cls, st.sampled_from(cls.PAIRS), st.tuples(st.booleans(), st.booleans()))

    def run(self, run: Run) -> str:
        client = run.box.client()
        for title, rows in zip(self.titles, self.ROWS, strict=True):
            company = str(client.call("crm.company.add", {"fields": {"TITLE": title}}))
            deal = str(
                client.call(
                    "crm.deal.add",
                    {"fields": {"TITLE": f"{title} job", "COMPANY_ID": company, "CURRENCY_ID": "USD"}},
                )
            )
            client.call("crm.deal.productrows.set", {"id": deal, "rows": rows})
            run.scenario.person_records.add(("company", company))
            run.scenario.edits.append(Edit(BITRIX24, f"company:{company}", TITLE, title))  # typed by a person
            run.scenario.deals.append(Deal(deal, ("company", company)))
        started = [
            run.box.api("POST", f"/deals/{deal.deal_id}/sync", json={}).json()["sync_id"]
            for deal, synced in zip(run.scenario.deals, self.synced, strict=True)
            if synced
        ]
        states = []
        if started:
            run.box.run_web_connector()
            states = [_settled(run.box, sync_id) for sync_id in started]
        deals = ", ".join(f"{d.deal_id} (company {d.client[1]})" for d in run.scenario.deals)
        return f"deals {deals}" + (f"; synced: {', '.join(states)}" if states else "")


def _settled(box: Sandbox, sync_id: str) -> str:
    """The sync's state once the cloud applied the last result (a moment after the Web Connector run)."""
    state: list[str] = []

    def ended() -> bool:
        state[:] = [box.api("GET", f"/syncs/{sync_id}").json()["state"]]
        return state[0] in ("done", "failed", "preview")

    wait(ended, timeout=15)
    return state[0]


# -- people in the app ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """ "Sync to QuickBooks" on a deal; with ``preview`` it stops at the plan until confirmed."""

    deal: int
    preview: bool

    @classmethod
    def strategy(cls) -> st.SearchStrategy[Click]:
        return st.builds(cls, st.integers(0, DEALS - 1), st.booleans())

    def run(self, run: Run) -> str:
        deal = run.deal(self.deal)
        answer = run.box.api("POST", f"/deals/{deal.deal_id}/sync", json={"preview": self.preview})
        return f"{answer.status_code} {answer.json().get('sync_id') or answer.json().get('message')}"


@dataclass(frozen=True)
class Confirm:
    """Confirm the deal's newest preview — once, twice, or twice at the same moment."""

    deal: int
    times: int
    at_once: bool

    @classmethod
    def strategy(cls) -> st.SearchStrategy[Confirm]:
        return st.builds(cls, st.integers(0, DEALS - 1), st.integers(1, 2), st.booleans())

    def run(self, run: Run) -> str:
        deal = run.deal(self.deal)
        previews = [s for s in run.syncs(deal) if s["state"] == "preview"]
        if not previews:
            return "no preview to confirm"
        sync_id = previews[0]["sync_id"]
        codes = at_once(
            self.times, self.at_once, lambda: run.box.api("POST", f"/syncs/{sync_id}/confirm", json={})
        )
        return f"{sync_id}: {codes}"


@dataclass(frozen=True)
class Retry:
    """Retry the deal's newest failed sync from the log — once, twice, or twice at the same moment."""

    deal: int
    times: int
    at_once: bool

    @classmethod
    def strategy(cls) -> st.SearchStrategy[Retry]:
        return st.builds(cls, st.integers(0, DEALS - 1), st.integers(1, 2), st.booleans())

    def run(self, run: Run) -> str:
        deal = run.deal(self.deal)
        failed = [s for s in run.syncs(deal) if s["state"] == "failed"]
        if not failed:
            return "no failed sync to retry"
        sync_id = failed[0]["sync_id"]
        codes = at_once(self.times, self.at_once, lambda: run.box.api("POST", f"/syncs/{sync_id}/retry"))
        return f"{sync_id}: {codes}"


@dataclass(frozen=True)
class Refresh:
    """ "Refresh" on a deal tab: QuickBooks is asked what changed at the next Web Connector run."""

    def run(self, run: Run) -> str:
        return str(run.box.api("POST", "/deals/0/refresh").json())


@dataclass(frozen=True)
class FirstSync:
    """The first sync started (again) from the app's page: customers and items matched both ways."""

    def run(self, run: Run) -> str:
        return str(run.box.api("POST", "/initial-sync").status_code)


# -- the Web Connector and QuickBooks -------------------------------------------------------------------


@dataclass(frozen=True)
class RunWebConnector:
    """One scheduled Web Connector update."""

    def run(self, run: Run) -> str:
        report = run.box.run_web_connector()
        return f"{report.outcome}: {report.status}"


@dataclass(frozen=True)
class LoseAnswer:
    """A Web Connector update in which QuickBooks applies the first document holding ``to`` and its answer
    is lost (the Web Connector reports 0x80040401 for it)."""

    to: str

    @classmethod
    def strategy(cls) -> st.SearchStrategy[LoseAnswer]:
        return st.builds(cls, st.sampled_from(REQUESTS))

    def run(self, run: Run) -> str:
        qb = run.box.qb
        qb.lose_response_to = self.to
        try:
            report = run.box.run_web_connector()
        finally:
            struck, qb.lose_response_to = qb.lose_response_to is None, None
        return f"{'lost' if struck else 'nothing to lose'}; {report.outcome}: {report.status}"


class WebConnectorDied(Exception):
    """The Web Connector process ended right after QuickBooks applied a request, before it reported back."""


@dataclass(frozen=True)
class WebConnectorDies:
    """A Web Connector update that dies right after QuickBooks applied the first document holding
    ``after`` (the PC slept, the process crashed); the agent later gives up on the silent session."""

    after: str

    @classmethod
    def strategy(cls) -> st.SearchStrategy[WebConnectorDies]:
        return st.builds(cls, st.sampled_from(REQUESTS))

    def run(self, run: Run) -> str:
        dying = _Dying(run.box, self.after)
        try:
            report = run.box.run_web_connector(dying)
        except WebConnectorDied:
            run.box.web_connector_stopped_answering()
            return "died after QuickBooks applied it; the agent's session expired"
        return f"nothing to die on; {report.outcome}: {report.status}"


class _Dying:
    """QuickBooks as the Web Connector reaches it, except that the Web Connector dies after one request."""

    def __init__(self, box: Sandbox, after: str) -> None:
        self.box, self.after = box, after

    def begin_session(self, **kw: str) -> QuickBooksSession:
        inner, after = self.box.qb.begin_session(**kw), self.after

        class Session:
            company_file = inner.company_file

            def process(self, request_xml: str) -> str:
                answer = inner.process(request_xml)
                if after in request_xml:
                    raise WebConnectorDied
                return answer

            def close(self) -> None:
                inner.close()

        return Session()


@dataclass(frozen=True)
class RestartAgent:
    """The agent's process stops and starts again (Windows update, a reboot)."""

    def run(self, run: Run) -> str:
        run.box.restart_agent()
        return "online" if run.box.online() else "not back online"


@dataclass(frozen=True)
class RestartCloud:
    """The cloud's process is replaced by a new one on the same database (a deploy, a crash)."""

    def run(self, run: Run) -> str:
        run.box.restart_cloud()
        return "online" if run.box.online() else "agent not back online"


@dataclass(frozen=True)
class DropLink:
    """The agent's connection to the cloud drops (Wi-Fi, a proxy timeout); the agent dials again."""

    def run(self, run: Run) -> str:
        run.box.drop_link()
        return "back online" if run.box.online() else "not back online"


# -- people's edits and payments ----------------------------------------------------------------------


@dataclass(frozen=True)
class EditCompany:
    """A person edits the deal's company in Bitrix24: a new title, or a new (first) phone number."""

    deal: int
    field: str
    value: str

    @classmethod
    def strategy(cls) -> st.SearchStrategy[EditCompany]:
        title = st.builds(cls, st.integers(0, DEALS - 1), st.just(TITLE), st.sampled_from(TITLES))
        phone = st.builds(cls, st.integers(0, DEALS - 1), st.just(PHONE), st.sampled_from(PHONES))
        return title | phone

    def run(self, run: Run) -> str:
        box, party = run.box, run.deal(self.deal).client
        with box.emu.lock:
            store = box.portal.store
            record = store.get(COMPANY, party[1])
            if self.field == TITLE:
                values: dict[str, Any] = {"TITLE": self.value}
            else:
                phones = record.get("PHONE") or []
                first = {"ID": phones[0]["ID"]} if phones else {"VALUE_TYPE": "WORK"}
                values = {"PHONE": [{**first, "VALUE": self.value}]}
            store.update(COMPANY, party[1], values, Origin(box.portal.admin().id))
        run.scenario.edits.append(Edit(BITRIX24, f"{party[0]}:{party[1]}", self.field, self.value))
        return f"company {party[1]}"


@dataclass(frozen=True)
class EditCustomer:
    """The bookkeeper edits the deal's customer in QuickBooks: its company name, phone, or only its notes."""

    deal: int
    field: str
    value: str

    @classmethod
    def strategy(cls) -> st.SearchStrategy[EditCustomer]:
        deal = st.integers(0, DEALS - 1)
        return (
            st.builds(cls, deal, st.just(TITLE), st.sampled_from(TITLES))
            | st.builds(cls, deal, st.just(PHONE), st.sampled_from(PHONES))
            | st.builds(cls, deal, st.just("notes"), st.just("Called about the schedule"))
        )

    def run(self, run: Run) -> str:
        box, party = run.box, run.deal(self.deal).client
        list_id = linked_customer(box, party)
        if list_id is None:
            return "the company has no QuickBooks customer yet"
        qb_field = {TITLE: "CompanyName", PHONE: "Phone", "notes": "Notes"}[self.field]
        with box.qb.lock:
            if box.qb.company.get(list_id) is None:
                return f"customer {list_id} is gone"
            box.qb.company.edit(list_id, **{qb_field: self.value})
        if self.field != "notes":
            run.scenario.edits.append(Edit(QUICKBOOKS, list_id, self.field, self.value))
        return f"customer {list_id}"


@dataclass(frozen=True)
class Pay:
    """The bookkeeper receives a payment for the deal's newest open document, in full."""

    deal: int

    @classmethod
    def strategy(cls) -> st.SearchStrategy[Pay]:
        return st.builds(cls, st.integers(0, DEALS - 1))

    def run(self, run: Run) -> str:
        box, deal = run.box, run.deal(self.deal)
        qb = box.qb
        with qb.lock:
            open_invoices = [
                r
                for r in qb.company.of_kind("Invoice")
                if deal_of(_xml(r.el)) == deal.deal_id and Decimal(r.text("BalanceRemaining") or "0") > 0
            ]
            if not open_invoices:
                return "no open invoice"
            invoice = max(open_invoices, key=lambda r: r.seq)
            body = (
                f"<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><ListID>{invoice.text('CustomerRef/ListID')}"
                f"</ListID></CustomerRef><TotalAmount>{invoice.text('BalanceRemaining')}</TotalAmount>"
                f"<AppliedToTxnAdd><TxnID>{invoice.id}</TxnID><PaymentAmount>{invoice.text('BalanceRemaining')}"
                "</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>"
            )
            armed, qb.lose_response_to = qb.lose_response_to, None  # the bookkeeper's window, not an SDK call
            try:
                qb.process(
                    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML>'
                    f'<QBXMLMsgsRq onError="stopOnError">{body}</QBXMLMsgsRq></QBXML>'
                )
            finally:
                qb.lose_response_to = armed
        return f"Invoice {invoice.text('RefNumber')} paid"


def _xml(el: Any) -> str:
    return etree.tostring(el).decode()


# -- Bitrix24's event delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldEvents:
    """Bitrix24 is slow to deliver: events wait (in order) until :class:`ReleaseEvents` or the end."""

    def run(self, run: Run) -> str:
        run.box.emu.hold_events = True
        return "held"


@dataclass(frozen=True)
class ReleaseEvents:
    def run(self, run: Run) -> str:
        emu = run.box.emu
        held = len(emu._held)  # noqa: SLF001 - only to say how many
        emu.hold_events = False
        emu.flush_events()
        emu.wait_events(10)
        return f"{held} delivered"


@dataclass(frozen=True)
class DuplicateEvents:
    """Bitrix24 delivers every event twice from now on (``on``) or once again."""

    on: bool

    @classmethod
    def strategy(cls) -> st.SearchStrategy[DuplicateEvents]:
        return st.builds(cls, st.booleans())

    def run(self, run: Run) -> str:
        run.box.emu.settings.duplicate_events = self.on
        return "twice" if self.on else "once"


# (step, weight): likelier steps are listed with a higher weight.
VOCABULARY: tuple[tuple[type, int], ...] = (
    (Click, 5),
    (RunWebConnector, 6),
    (Confirm, 3),
    (Retry, 3),
    (LoseAnswer, 3),
    (WebConnectorDies, 1),
    (EditCompany, 2),
    (EditCustomer, 2),
    (Pay, 1),
    (Refresh, 1),
    (RestartAgent, 1),
    (RestartCloud, 1),
    (DropLink, 1),
    (HoldEvents, 1),
    (ReleaseEvents, 1),
    (DuplicateEvents, 1),
    (FirstSync, 1),
)


def steps(vocabulary: tuple[tuple[type, int], ...] = VOCABULARY) -> st.SearchStrategy[Any]:
    """Any step of the vocabulary, each kind as likely as its weight (a narrower vocabulary hunts one kind
    of failure). The kind is drawn first: a nested ``one_of`` would weigh kinds by their variants instead."""
    kinds = [kind for kind, weight in vocabulary for _ in range(weight)]
    return st.sampled_from(kinds).flatmap(_strategy)


def _strategy(kind: Any) -> st.SearchStrategy[Any]:
    return kind.strategy() if hasattr(kind, "strategy") else st.builds(kind)


# -- the end of a scenario ------------------------------------------------------------------------------


def settle(run: Run, rounds: int = 8) -> list[str]:
    """Faults off, held events delivered, and Web Connector runs until nothing waits on either side —
    then QuickBooks asked once more what changed, so edits there reach Bitrix24 before the check."""
    box, notes = run.box, []
    box.qb.lose_response_to, box.qb.lose_next_response = None, False
    box.emu.settings.duplicate_events = False
    if box.emu.hold_events:
        box.emu.hold_events = False
        box.emu.flush_events()
    wait(box.online, timeout=15)
    for asked in (False, True):
        if asked:
            box.api("POST", "/deals/0/refresh")
        for _ in range(rounds):
            box.emu.wait_events(10)
            box.services.worker.idle.wait(20)
            if not _waiting(box):
                break
            report = box.run_web_connector()
            notes.append(f"settle: {report.outcome}: {report.status}")
            wait(lambda: not _in_flight(box), timeout=10)
    return notes


def _in_flight(box: Sandbox) -> bool:
    depth = box.agent.queue.depth()
    return bool(depth["results"])


def _waiting(box: Sandbox) -> bool:
    counts = box.services.agents.counts(box.member_id)
    return any(counts.get(s, 0) for s in ("queued", "offered", "acked", "sent")) or _in_flight(box)
