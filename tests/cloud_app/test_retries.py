"""Failures with a ``retry_at`` come back by themselves at that time (issue 18, cases 4 and "Failure.retry_at
is scheduled"): a customer locked in QuickBooks for longer than the reconciliation's look-back still gets
the Bitrix24 edit once it unlocks, and a deal's sync refused while a record was in use is tried again
without anyone pressing Retry. The cloud's retry clock (``Services.now``) is moved, not waited out."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cloud_app import retries
from cloud_app.reconcile import OVERLAP
from cloud_app.sync import failures
from sandbox.qbport import RequestFailed

from .product import Intercepted, World, a_deal, connector, settled, wait
from .test_customer_sync import customer, linked_company, queued, quiet
from .test_deal_once import confirm, customers_named, invoices_of, preview, set_rows


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


def _retry_loop_runs_fast(world: World) -> Clock:
    clock = Clock()
    world.cloud.services.now = clock
    world.cloud.services.retries.every = 0.05  # the loop looks often; only the clock says what is due
    return clock


def _run_the_due_retry(
    world: World, clock: Clock, key: str, locked_at: datetime, landed: Callable[[], bool]
) -> None:
    """Move the clock to the scheduled retry (the record closed once ten minutes are over), let the retry
    worker ask QuickBooks by itself, run the Web Connector, and wait for the next schedule or the landing."""
    member = world.cloud.portal.member_id
    due = retries.scheduled(world.cloud.services.portals, member, key)
    assert due is not None and due.due > clock.at  # scheduled ahead, not run at once
    clock.at = due.due
    if clock.at - locked_at >= timedelta(minutes=10):
        world.qb.company.locked.clear()  # the person closed the record
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1 or sum(queued(world).values()) >= 1)
    assert wait(lambda: retries.scheduled(world.cloud.services.portals, member, key) is None)
    world.web_connector_runs()
    assert wait(lambda: retries.scheduled(world.cloud.services.portals, member, key) is not None or landed())


def test_an_edit_to_a_customer_locked_ten_minutes_reaches_quickbooks_once_it_unlocks(world: World) -> None:
    company, ret = linked_company(world, "Cyberdyne")
    quiet(world)
    clock = _retry_loop_runs_fast(world)
    locked_at = clock.at
    world.qb.company.locked.add(str(ret["ListID"]))  # someone has the customer open in QuickBooks
    world.cloud.client().call("crm.company.update", {"id": company, "fields": {"TITLE": "Cyberdyne Systems"}})
    quiet(world)
    world.web_connector_runs()  # the read, then the Mod: 3175, the record is in use
    member = world.cloud.portal.member_id
    key = "customer:company:" + str(company)
    assert wait(lambda: retries.scheduled(world.cloud.services.portals, member, key) is not None)
    assert customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne"
    tries = 1
    while customer(world, "Cyberdyne")["CompanyName"] != "Cyberdyne Systems":
        assert tries < 8, "the edit never reached QuickBooks"
        _run_the_due_retry(  # the retry worker asks QuickBooks again, by itself
            world, clock, key, locked_at,
            lambda: customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne Systems",
        )  # fmt: skip
        tries += 1
    assert clock.at - locked_at > OVERLAP  # longer than the look-back that used to lose the edit
    assert tries >= 4  # 1 + 2 + 4 + 8 minutes of backoff before the ten minutes were over
    quiet(world)
    assert queued(world) == {}
    names = world.qb_query("<CustomerQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion>"
                           "<Name>Cyberdyne</Name></NameFilter></CustomerQueryRq>")  # fmt: skip
    assert [c["CompanyName"] for c in names] == ["Cyberdyne Systems"]  # one customer
    mods = [x for x in world.qb.history if "<CustomerModRq" in x.request]
    landed = [x for x in mods if x.response and 'statusCode="0"' in x.response.split("CustomerModRs")[1]]
    assert len(landed) == 1 and len(mods) == tries  # refused while locked, then edited once


class Killed(Exception):
    """The cloud process dying at this point (its stored result is applied by the next process)."""


def test_an_edit_to_a_locked_customer_lands_through_restarts_of_the_cloud(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock outlasts two cloud processes: the first dies while handling QuickBooks' 3175 answer
    (before the retry was stored), the next stores it and is replaced while the retry waits; the third
    sends the edit once the record is closed. Nobody presses anything."""
    company, ret = linked_company(world, "Massive Dynamic")
    quiet(world)
    clock = _retry_loop_runs_fast(world)
    locked_at = clock.at
    world.qb.company.locked.add(str(ret["ListID"]))
    renamed = {"id": company, "fields": {"TITLE": "Massive Dynamic Inc"}}
    world.cloud.client().call("crm.company.update", renamed)
    quiet(world)
    member, key = world.cloud.portal.member_id, "customer:company:" + str(company)
    real, died = retries.schedule, threading.Event()

    def dies(*args: Any, **kw: Any) -> None:
        died.set()
        raise Killed("the cloud process is killed here")

    monkeypatch.setattr(retries, "schedule", dies)
    world.web_connector_runs()  # the read, then the Mod: 3175; the cloud dies handling the answer
    assert died.wait(15)
    monkeypatch.setattr(retries, "schedule", real)

    def restarted() -> Clock:
        world.cloud.restart()  # a new process on the same database: it applies what the old one did not
        assert wait(lambda: world.cloud.services.relay.online(member), timeout=30)  # type: ignore[union-attr]
        again = _retry_loop_runs_fast(world)
        again.at = clock.at
        return again

    clock = restarted()
    assert wait(lambda: retries.scheduled(world.cloud.services.portals, member, key) is not None), (
        "the 3175 answer's retry was never stored: the edit is lost"
    )
    tries, restarts = 1, 1
    while customer(world, "Massive Dynamic")["CompanyName"] != "Massive Dynamic Inc":
        assert tries < 8, "the edit never reached QuickBooks"
        if restarts < 2:  # a restart while the retry waits: the schedule is in the database
            clock, restarts = restarted(), restarts + 1
        _run_the_due_retry(
            world, clock, key, locked_at,
            lambda: customer(world, "Massive Dynamic")["CompanyName"] == "Massive Dynamic Inc",
        )  # fmt: skip
        tries += 1
    assert clock.at - locked_at > OVERLAP and restarts == 2
    quiet(world)
    assert queued(world) == {}
    mods = [x for x in world.qb.history if "<CustomerModRq" in x.request]
    landed = [x for x in mods if x.response and 'statusCode="0"' in x.response.split("CustomerModRs")[1]]
    assert len(landed) == 1 and len(mods) == tries  # refused while locked, then edited once


def test_a_retry_whose_handler_does_not_finish_comes_back_and_one_that_finishes_is_gone(world: World) -> None:
    """A retry is leased a minute ahead before its handler runs: a process dying (here: the handler
    failing) in the middle leaves it to come back, never lost; a handler that finished leaves nothing."""
    services, member = world.cloud.services, world.cloud.portal.member_id
    clock = Clock()
    services.now = clock
    ran: list[str] = []

    def dies(_services: object, _member: str, payload: dict[str, object], _attempt: int) -> None:
        ran.append(str(payload["n"]))
        raise RuntimeError("the process went away here")

    def finishes(_services: object, _member: str, payload: dict[str, object], _attempt: int) -> None:
        ran.append(str(payload["n"]))

    services.retries.handlers.update({"test.dies": dies, "test.finishes": finishes})
    store = services.portals
    retries.schedule(store, member, "t:1", "test.dies", clock.at, attempt=1, payload={"n": 1})
    retries.schedule(store, member, "t:2", "test.finishes", clock.at, attempt=1, payload={"n": 2})
    services.retries.run_due()
    assert sorted(ran) == ["1", "2"]
    back = retries.scheduled(store, member, "t:1")
    assert back is not None and back.attempt == 1
    assert abs((back.due - (clock.at + timedelta(minutes=1))).total_seconds()) < 0.001
    assert retries.scheduled(store, member, "t:2") is None
    clock.at += timedelta(minutes=1)
    services.retries.run_due()
    assert ran.count("1") == 2 and ran.count("2") == 1


def _member(world: World) -> str:
    return world.cloud.portal.member_id


def _scheduled(world: World, sync_id: str) -> retries.Retry | None:
    return retries.scheduled(world.cloud.services.portals, _member(world), f"deal:{sync_id}")


def lookup_lost(request_xml: str, process: Callable[[str], str]) -> str:
    """QuickBooks could not be reached for the deal's lookup (every lookup asks for the preferences)."""
    if "<PreferencesQueryRq" in request_xml:
        raise RequestFailed("0x80040401", "Could not access QuickBooks.")
    return process(request_xml)


def invoice_refused(request_xml: str, process: Callable[[str], str]) -> str:
    """QuickBooks adds what comes before the invoice (the customer), then answers the InvoiceAdd with an
    internal error (1000) and saves no invoice — stopOnError, as a real set stops at its failed request."""
    if "<InvoiceAddRq" not in request_xml:
        return process(request_xml)
    rid = re.search(r'<InvoiceAddRq requestID="([^"]*)"', request_xml).group(1)  # type: ignore[union-attr]
    before = re.sub(r"<InvoiceAddRq\b.*?</InvoiceAddRq>", "", request_xml, flags=re.S)
    error = (f'<InvoiceAddRs requestID="{rid}" statusCode="1000" statusSeverity="Error" '
             'statusMessage="There was an internal error when processing the request."/>')  # fmt: skip
    return process(before).replace("</QBXMLMsgsRs>", error + "</QBXMLMsgsRs>")


def test_a_preview_whose_lookup_failed_never_wakes_up_and_its_retry_is_a_new_preview(world: World) -> None:
    """A person who only opened a preview got a document written minutes later: the failed lookup was
    scheduled again, and the retry (by itself or the Retry button) started a sync without preview."""
    clock = _retry_loop_runs_fast(world)
    deal = a_deal(world, "Initrode Ltd", [(1, "Labor", "55.00", "2")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={"preview": True}).json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    connector(world.agent, world.home, world.password, Intercepted(world.qb, lookup_lost)).run_session()
    assert settled(world, sync_id)["state"] == "failed"
    assert _scheduled(world, sync_id) is None  # the person may have closed the preview: it stays asleep
    clock.at += timedelta(days=1)
    world.cloud.services.retries.run_due()
    syncs = world.cloud.services.links.syncs_of_deal(_member(world), str(deal))
    assert [s.sync_id for s in syncs] == [sync_id]  # nothing started by itself
    retried = world.api("POST", f"/syncs/{sync_id}/retry")  # the person presses Retry
    assert retried.status_code == 202, retried.text
    again = retried.json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    assert wait(lambda: world.api("GET", f"/syncs/{again}").json()["state"] == "preview")  # to confirm
    assert invoices_of(world, "Initrode Ltd") == []


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
def test_an_automatic_retry_sends_only_what_the_person_confirmed(world: World, changed: bool) -> None:
    """A confirmed sync whose write failed was retried from the deal as it is then: rows changed since the
    confirm reached QuickBooks unseen. Now the retry sends only the confirmed customer, total and type."""
    clock = _retry_loop_runs_fast(world)
    deal = a_deal(world, "Vandelay Industries", [(1, "Labor", "55.00", "2")])
    shown = preview(world, deal)
    assert shown["detail"]["total"] == "110.00"
    confirm(world, shown["sync_id"])
    connector(world.agent, world.home, world.password, Intercepted(world.qb, invoice_refused)).run_session()
    failed = settled(world, shown["sync_id"])
    assert failed["state"] == "failed" and failed["detail"]["code"] == "1000", failed
    due = _scheduled(world, shown["sync_id"])
    assert due is not None
    if changed:
        set_rows(world, deal, [(1, "Labor", "55.00", "5")])
    clock.at = due.due  # the retry worker starts it again by itself
    status: dict[str, Any] = {}
    assert wait(lambda: status.update(world.api("GET", f"/syncs/{shown['sync_id']}").json())
                or status["state"] == "retried")  # fmt: skip
    again = status["detail"]["retried_by"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    world.web_connector_runs()
    outcome = settled(world, again)
    assert customers_named(world, "Vandelay Industries") == ["Vandelay Industries"]  # added once, reused
    if not changed:
        assert outcome["state"] == "done", outcome
        [invoice] = invoices_of(world, "Vandelay Industries")
        assert invoice["Subtotal"] == Decimal("110.00")
        return
    assert outcome["state"] == "failed", outcome
    assert outcome["outcome"].startswith("Not sent: The deal changed since you confirmed it"), outcome
    assert invoices_of(world, "Vandelay Industries") == []
    ru = world.api("GET", f"/syncs/{again}", headers={"X-Lang": "ru"}).json()
    assert ru["outcome"].startswith("Не отправлено: Сделка изменилась после вашего подтверждения"), ru


def test_an_invoice_open_in_quickbooks_is_not_updated_again_by_itself(world: World) -> None:
    """3175 on an InvoiceMod: the bookkeeper has the invoice open. Sent again by itself later, the Mod
    would overwrite what they were editing, so it waits for a person (customers keep retrying: their
    edits go through the three-way merge)."""
    clock = _retry_loop_runs_fast(world)
    deal = a_deal(world, "Kramerica", [(1, "Labor", "55.00", "2")])
    first = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, first)["state"] == "done"
    [invoice] = invoices_of(world, "Kramerica")
    world.qb.lock_record(str(invoice["TxnID"]))  # the bookkeeper opened it
    set_rows(world, deal, [(1, "Labor", "55.00", "4")])
    second = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()  # the lookup; the Mod follows in the same session
    failed = settled(world, second)
    assert failed["state"] == "failed" and failed["detail"]["code"] == "3175", failed
    assert "would overwrite their edit" in failed["detail"]["fix"]
    ru = world.api("GET", f"/syncs/{second}", headers={"X-Lang": "ru"}).json()
    assert ru["detail"]["fix"].startswith("Кто-то редактирует этот документ в QuickBooks"), ru
    assert _scheduled(world, second) is None
    world.qb.unlock_record(str(invoice["TxnID"]))
    clock.at += timedelta(days=1)
    world.cloud.services.retries.run_due()
    assert world.agent.queue.depth()["pending"] == 0
    assert invoices_of(world, "Kramerica")[0]["EditSequence"] == invoice["EditSequence"]  # untouched


def test_a_scheduled_retry_that_fails_at_once_counts_as_the_next_attempt(world: World) -> None:
    """The attempt was patched onto the new sync after ``start()`` returned: a lookup failing before that
    was scheduled as attempt 1 again (the backoff never grew), and the patch wrote back the state it had
    read. The attempt now travels in the new sync's own detail."""
    clock = Clock()
    world.cloud.services.now = clock
    failing = Intercepted(world.qb, lookup_lost)
    deal = a_deal(world, "Pendant Publishing", [(1, "Labor", "55.00", "1")])
    first = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    connector(world.agent, world.home, world.password, failing).run_session()
    assert settled(world, first)["state"] == "failed"
    due = _scheduled(world, first)
    assert due is not None and due.attempt == 1
    services, links = world.cloud.services, world.cloud.services.links
    real_notify, armed = services.notify, threading.Event()

    def the_lookup_fails_before_start_returns(member_id: str) -> None:
        real_notify(member_id)
        if armed.is_set():
            armed.clear()
            assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
            connector(world.agent, world.home, world.password, failing).run_session()
            newest = lambda: links.syncs_of_deal(member_id, str(deal))[-1]  # noqa: E731
            assert wait(lambda: newest().sync_id != first and newest().state == "failed")

    services.notify = the_lookup_fails_before_start_returns  # type: ignore[method-assign]
    armed.set()
    clock.at = due.due
    services.retries.run_due()
    again = links.syncs_of_deal(_member(world), str(deal))[-1]
    assert again.sync_id != first and again.state == "failed"
    later = _scheduled(world, again.sync_id)
    assert later is not None and later.attempt == 2, later
    assert later.due == clock.at + failures.backoff(2)
