"""One intent, at most one QuickBooks document — through re-syncs, lost answers, Retries and double
clicks (issue "Money lands once", cases 1, 3 and 4). The whole product on loopback (``world``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.qbport import RequestFailed

from .product import Intercepted, World, a_deal, connector, redial, settled, wait


def invoices_of(world: World, customer: str) -> list[dict[str, Any]]:
    return world.qb_query(
        f"<InvoiceQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems><IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    )


def customers_named(world: World, prefix: str) -> list[str]:
    return [
        str(c["FullName"])
        for c in world.qb_query("<CustomerQueryRq/>")
        if str(c["FullName"]).startswith(prefix)
    ]


def set_rows(world: World, deal: int, rows: list[tuple[int, str, str, str]]) -> None:
    world.cloud.client().call(
        "crm.deal.productrows.set",
        {
            "id": deal,
            "rows": [
                {"PRODUCT_ID": pid, "PRODUCT_NAME": name, "PRICE": price, "QUANTITY": qty}
                for pid, name, price, qty in rows
            ],
        },
    )


def preview(world: World, deal: int, **body: Any) -> dict[str, Any]:
    started = world.api("POST", f"/deals/{deal}/sync", json={"preview": True, **body})
    assert started.status_code == 202, started.text
    sync_id = started.json()["sync_id"]
    world.web_connector_runs()
    status: dict[str, Any] = {}
    assert wait(
        lambda: status.update(world.api("GET", f"/syncs/{sync_id}").json()) or status["state"] == "preview"
    ), status
    return status


def confirm(world: World, sync_id: str, **body: Any) -> None:
    """Confirm a preview and wait until the agent holds the write (the relay offers it a moment later)."""
    answer = world.api("POST", f"/syncs/{sync_id}/confirm", json=body)
    assert answer.status_code == 202, answer.text
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)


def next_run(world: World) -> str:
    """A Web Connector run once the cloud's follow-up job (a recovery, a marker lookup) reached the agent."""
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)
    return world.web_connector_runs()


def invoice_adds(world: World) -> int:
    """How many documents with an InvoiceAdd QuickBooks processed (lost answers included)."""
    return sum(1 for e in world.qb.history if "<InvoiceAddRq" in e.request)


def settle_through(world: World, sync_id: str, host: Any) -> dict[str, Any]:
    """Web Connector runs on ``host`` until the sync has ended (the follow-up jobs may need a second run)."""
    for _ in range(3):
        connector(world.agent, world.home, world.password, host).run_session()
        state = world.api("GET", f"/syncs/{sync_id}").json()
        if state["state"] in ("done", "failed"):
            return state
        wait(lambda: world.agent.queue.depth()["pending"] >= 1, timeout=5)
    return settled(world, sync_id)


def pay(world: World, customer: str, txn_id: str, amount: str) -> None:
    world.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<ReceivePaymentAddRq><ReceivePaymentAdd>"
        f"<CustomerRef><FullName>{customer}</FullName></CustomerRef>"
        f"<RefNumber>77</RefNumber><TotalAmount>{amount}</TotalAmount>"
        f"<AppliedToTxnAdd><TxnID>{txn_id}</TxnID><PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq></QBXMLMsgsRq></QBXML>"
    )


def test_syncing_a_deal_again_updates_its_invoice_and_a_second_one_is_an_explicit_choice(
    world: World,
) -> None:
    """Case 1: a re-sync used to add a second invoice with no warning, and once the first was paid the
    deal tab showed only the new, open one."""
    deal = a_deal(world, "Stark Industries", [(1, "Labor", "55.00", "2")])
    first = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, first)["state"] == "done"
    [invoice] = invoices_of(world, "Stark Industries")

    set_rows(world, deal, [(1, "Labor", "55.00", "5")])
    shown = preview(world, deal)
    assert shown["detail"]["document_action"] == "update"
    assert shown["detail"]["document_number"] == invoice["RefNumber"]
    assert shown["detail"]["total"] == "275.00" and shown["detail"]["can_send"] is True
    assert world.api("POST", f"/syncs/{shown['sync_id']}/confirm", json={}).status_code == 202
    world.web_connector_runs()
    done = settled(world, shown["sync_id"])
    assert done["state"] == "done", done
    assert done["outcome"] == f"Invoice {invoice['RefNumber']} updated in QuickBooks, 275.00 USD"
    [updated] = invoices_of(world, "Stark Industries")  # still one invoice, now as the deal is
    assert updated["TxnID"] == invoice["TxnID"] and updated["Subtotal"] == Decimal("275.00")
    assert [ln["Quantity"] for ln in updated["InvoiceLineRet"]] == [Decimal("5")]

    pay(world, "Stark Industries", invoice["TxnID"], "275.00")
    paid = preview(world, deal)  # QuickBooks would take the change, but the books would disagree
    assert paid["detail"]["can_send"] is False
    assert any("already has payments" in p for p in paid["detail"]["problems"])
    another = world.api("POST", f"/syncs/{paid['sync_id']}/confirm", json={"another": True})
    assert another.status_code == 202, another.text
    world.web_connector_runs()
    second = settled(world, paid["sync_id"])
    assert second["state"] == "done" and "created in QuickBooks" in second["outcome"]
    assert len(invoices_of(world, "Stark Industries")) == 2  # asked for, explicitly

    world.api("POST", f"/deals/{deal}/refresh")
    world.web_connector_runs()
    tab: dict[str, Any] = {}
    assert wait(
        lambda: (
            tab.update(world.api("GET", f"/deals/{deal}/quickbooks").json())
            or [d.get("status") for d in tab["documents"]] == ["open", "paid"]
        )
    ), tab["documents"]
    assert [d["number"] for d in tab["documents"]][1] == invoice["RefNumber"]  # the paid one is still there


def after_the_lost_answer(then: Callable[[], None]) -> Callable[[str, Callable[[str], str]], str]:
    """Something happening right after the write's answer is lost (QuickBooks closed, another
    application's message set replacing the saved one)."""

    def through(request_xml: str, process: Callable[[str], str]) -> str:
        try:
            return process(request_xml)
        except RequestFailed:
            if "<InvoiceAddRq" in request_xml:
                then()
            raise

    return through


def test_a_lost_answer_is_recovered_and_retry_never_adds_a_second_invoice(world: World) -> None:
    """Case 3: QuickBooks applied the write, the Web Connector reported 0x80040401; the sync used to fail
    ("make sure QuickBooks is running"), Retry added a second invoice and the orphaned customer came back
    as a duplicate company. Now the error starts qbXML error recovery at once (same session)."""
    deal = a_deal(world, "Umbrella Corp", [(1, "Labor", "55.00", "2")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    world.qb.lose_response_to = "<InvoiceAddRq"  # the write lands, its answer does not come back
    assert world.web_connector_runs() == "2 requests, 1 error"  # the write, then the recovery
    done = settled(world, shown["sync_id"])
    assert done["state"] == "done", done
    [invoice] = invoices_of(world, "Umbrella Corp")
    client = world.cloud.client()
    assert client.call("crm.deal.get", {"id": deal})["UF_CRM_QB_TXN_ID"] == invoice["TxnID"]
    assert customers_named(world, "Umbrella Corp") == ["Umbrella Corp"]
    member = world.cloud.portal.member_id
    company = client.call("crm.deal.get", {"id": deal})["COMPANY_ID"]
    link = world.cloud.services.links.by_b24(member, world.cloud.services.company_file(member), "company",
                                             str(company))  # fmt: skip
    assert link is not None and link.qb_id == invoice["CustomerRef"].list_id  # no orphan to come back
    assert world.api("POST", f"/syncs/{shown['sync_id']}/retry").status_code == 409  # done: nothing to retry


def test_when_quickbooks_kept_no_outcome_the_marker_decides_and_nothing_is_sent_twice(world: World) -> None:
    """Case 3, the harder half: QuickBooks may keep only the latest message set's outcome (spec §8), so
    the recovery can find nothing — then the document's ExternalGUID marker is looked for, and the
    customer it added is linked, before anything is sent again."""
    deal = a_deal(world, "Cyberdyne Systems", [(1, "Labor", "55.00", "3")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    world.qb.lose_response_to = "<InvoiceAddRq"
    forgets = Intercepted(world.qb, after_the_lost_answer(world.qb.processor.saved_sets.clear))
    done = settle_through(world, shown["sync_id"], forgets)
    assert done["state"] == "done", done
    assert invoice_adds(world) == 1  # found by its marker, not sent again
    assert len(invoices_of(world, "Cyberdyne Systems")) == 1
    assert customers_named(world, "Cyberdyne Systems") == ["Cyberdyne Systems"]


def test_a_write_that_never_landed_is_sent_again_once(world: World) -> None:
    """The marker is not there and QuickBooks kept nothing: the write did not land, so the same message
    set (same id, same marker) goes again — once."""
    deal = a_deal(world, "Oscorp", [(1, "Labor", "55.00", "1")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    refusing = Intercepted(world.qb, after_the_lost_answer(world.qb.processor.saved_sets.clear))
    real = world.qb._process

    def not_applied(request_xml: str, state: Any) -> str:  # QuickBooks dropped it before committing
        if "<InvoiceAddRq" in request_xml and not getattr(not_applied, "done", False):
            not_applied.done = True  # type: ignore[attr-defined]
            raise RequestFailed("0x80040401", "Could not access QuickBooks.")
        return real(request_xml, state)

    world.qb._process = not_applied  # type: ignore[method-assign]
    assert settle_through(world, shown["sync_id"], refusing)["state"] == "done"
    assert len(invoices_of(world, "Oscorp")) == 1
    assert invoice_adds(world) == 1  # the one that was dropped never reached the history: sent again once


def test_an_unknown_outcome_stays_unknown_until_quickbooks_answers_and_retry_checks_first(
    world: World,
) -> None:
    """Case 3 with QuickBooks closed right after the lost answer: the sync fails saying the outcome is not
    known yet; "Sync to QuickBooks" and Retry both check QuickBooks before anything is sent again."""
    deal = a_deal(world, "Tyrell Corp", [(1, "Labor", "55.00", "1")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    world.qb.lose_response_to = "<InvoiceAddRq"

    def close_quickbooks() -> None:
        world.qb.not_running = True

    closing = Intercepted(world.qb, after_the_lost_answer(close_quickbooks))
    connector(world.agent, world.home, world.password, closing).run_session()
    failed = settled(world, shown["sync_id"])
    assert failed["state"] == "failed" and failed["detail"]["unresolved"], failed
    assert "never sends the document twice" in failed["detail"]["fix"]
    world.qb.not_running = False
    again = world.api("POST", f"/deals/{deal}/sync", json={"preview": True})  # "Sync again" from the deal
    assert again.json()["sync_id"] == shown["sync_id"]  # checks the lost write, does not plan another
    assert world.api("POST", f"/syncs/{shown['sync_id']}/retry").status_code == 409  # already checking
    next_run(world)
    assert settled(world, shown["sync_id"])["state"] == "done"
    assert len(invoices_of(world, "Tyrell Corp")) == 1


def test_two_confirms_at_once_send_one_document(world: World) -> None:
    """Case 4: "is this still a preview?" and the write were two steps; two confirms could both write."""
    deal = a_deal(world, "Soylent Co", [(1, "Labor", "55.00", "1")])
    shown = preview(world, deal)
    answers: list[int] = []
    barrier = threading.Barrier(4)

    def confirm() -> None:
        barrier.wait()
        answers.append(world.api("POST", f"/syncs/{shown['sync_id']}/confirm", json={}).status_code)

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [202, 409, 409, 409]
    world.web_connector_runs()
    assert settled(world, shown["sync_id"])["state"] == "done"
    assert len(invoices_of(world, "Soylent Co")) == 1
    assert invoice_adds(world) == 1  # one write reached QuickBooks


def test_two_tabs_two_previews_one_document(world: World) -> None:
    """Case 4 across tabs: each tab previewed; the second confirm, after the first was sent, is refused
    because the deal now has a document the second preview did not show."""
    deal = a_deal(world, "Initrode", [(1, "Labor", "55.00", "1")])
    one, two = preview(world, deal), preview(world, deal)
    assert one["sync_id"] != two["sync_id"]
    assert world.api("POST", f"/syncs/{one['sync_id']}/confirm", json={}).status_code == 202
    busy = world.api("POST", f"/syncs/{two['sync_id']}/confirm", json={})
    assert busy.status_code == 409 and busy.json()["sync_id"] == one["sync_id"]  # follow the running one
    world.web_connector_runs()
    assert settled(world, one["sync_id"])["state"] == "done"
    late = world.api("POST", f"/syncs/{two['sync_id']}/confirm", json={})
    assert late.status_code == 409 and "after this preview was made" in late.json()["message"]
    assert len(invoices_of(world, "Initrode")) == 1


def test_a_double_click_and_two_retries_are_one_sync(world: World) -> None:
    """Case 4 for clicks without a preview and for Retry: the second is answered with the first."""
    deal = a_deal(world, "Hooli", [(1, "Labor", "55.00", "1")])
    a = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    b = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert a == b  # the second click follows the first
    other = a_deal(world, "", [(1, "Labor", "55.00", "1")])  # no customer name: refused before sending
    a = world.api("POST", f"/deals/{other}/sync", json={}).json()["sync_id"]
    world.web_connector_runs()
    assert settled(world, a)["state"] == "failed"
    client = world.cloud.client()
    company = client.call("crm.deal.get", {"id": other})["COMPANY_ID"]
    client.call("crm.company.update", {"id": company, "fields": {"TITLE": "Hooli XYZ"}})
    answers: list[Any] = []
    barrier = threading.Barrier(3)

    def retry() -> None:
        barrier.wait()
        answers.append(world.api("POST", f"/syncs/{a}/retry"))

    threads = [threading.Thread(target=retry) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [202, 409, 409], [r.text for r in answers]
    new = next(r.json()["sync_id"] for r in answers if r.status_code == 202)
    assert all(r.json()["sync_id"] == new for r in answers if r.status_code == 409)
    world.web_connector_runs()
    assert settled(world, new)["state"] == "done"
    assert len(invoices_of(world, "Hooli XYZ")) == 1 and len(invoices_of(world, "Hooli")) == 1


def dies_after_the_write(request_xml: str, process: Callable[[str], str]) -> str:
    """The agent's process dies while QuickBooks commits the write: nobody reads the answer."""
    answer = process(request_xml)
    if "<InvoiceAddRq" in request_xml:
        raise AgentDied
    return answer


class AgentDied(Exception):
    pass


def test_an_agent_restarted_while_quickbooks_held_the_write_recovers_it(world: World) -> None:
    """The agent stopped after QuickBooks committed the deal's invoice, before it read the answer: the sync
    used to stay "sent" forever and Sync again made a second invoice. On restart the write is reported
    as "answer lost" and the cloud asks QuickBooks."""
    from local_agent import config as cfg
    from local_agent.agent import Agent

    deal = a_deal(world, "Massive Dynamic", [(1, "Labor", "55.00", "2")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    try:
        dying = Intercepted(world.qb, dies_after_the_write)
        connector(world.agent, world.home, world.password, dying).run_session()
    except AgentDied:
        pass
    world.agent.stop()  # the process is gone; its queue still says the write was in QuickBooks' hands
    world.agent = Agent(world.home, cfg.load(world.home), follow_up_wait=1.0, delays=redial).start()
    assert wait(lambda: world.cloud.services.relay.online(world.cloud.portal.member_id))  # type: ignore[union-attr]
    done = settle_through(world, shown["sync_id"], world.qb)
    assert done["state"] == "done", done
    assert len(invoices_of(world, "Massive Dynamic")) == 1 and invoice_adds(world) == 1


def test_a_result_the_cloud_stored_but_never_acted_on_is_applied_after_a_restart(world: World) -> None:
    """The cloud stored (and acknowledged) the write's answer and died before acting on it: the sync
    stayed "sent" for good. A starting process (``create_app`` runs ``relay.replay``) acts on it."""
    from datetime import UTC, datetime

    relay = world.cloud.services.relay
    assert relay is not None
    deal = a_deal(world, "Wonka Industries", [(1, "Labor", "55.00", "1")])
    shown = preview(world, deal)
    confirm(world, shown["sync_id"])
    hooks, relay.on_result = relay.on_result, None  # the process dies right after storing the result
    world.web_connector_runs()
    member = world.cloud.portal.member_id
    write = world.cloud.services.links.sync(member, shown["sync_id"]).job_id  # type: ignore[union-attr]
    assert wait(lambda: relay.store.job(member, write).state == "done")  # type: ignore[union-attr, arg-type]
    assert world.api("GET", f"/syncs/{shown['sync_id']}").json()["state"] != "done"
    relay.on_result, relay.started_at = hooks, datetime.now(UTC)  # the next process, its hooks wired
    assert relay.replay() == 1
    assert settled(world, shown["sync_id"])["state"] == "done"
    assert relay.replay() == 0  # acted on once
    assert len(invoices_of(world, "Wonka Industries")) == 1


def test_a_deal_synced_while_the_first_sync_runs_gets_one_customer(world: World) -> None:
    """A click on a new company's deal, its title edited, then the first sync started before the Web
    Connector ran: both used to add a customer for the company ("Kowalski & Sons" and "Acme Widgets")
    and link both. Now the first sync leaves a record whose deal is being synced to that sync."""
    deal = a_deal(world, "Kowalski Racing", [(1, "Labor", "55.00", "1")])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    client = world.cloud.client()
    company = client.call("crm.deal.get", {"id": deal})["COMPANY_ID"]
    client.call("crm.company.update", {"id": company, "fields": {"TITLE": "Acme Widgets Racing"}})
    assert world.api("POST", "/initial-sync").status_code == 202
    def first_sync_done() -> bool:
        return (world.api("GET", "/initial-sync").json().get("state") or {}).get("state") == "done"

    # the deal's lookup and write (a person's job: sessions of their own), the first sync's read and its
    # customer adds (bulk: sessions after it)
    for _ in range(8):
        assert wait(lambda: world.agent.queue.depth()["pending"] >= 1 or first_sync_done())
        if first_sync_done():
            break
        world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    made = customers_named(world, "Kowalski Racing") + customers_named(world, "Acme Widgets Racing")
    assert made == ["Kowalski Racing"], made  # one customer for the company, the one the preview showed
    member = world.cloud.portal.member_id
    file = world.cloud.services.company_file(member)
    links = world.cloud.services.links
    assert links.by_b24(member, file, "company", str(company)).qb_name == "Kowalski Racing"  # type: ignore[union-attr]
