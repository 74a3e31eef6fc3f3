"""An edit made in Bitrix24 while the record's QuickBooks customer is being created from it (issue 18): the
CustomerAdd carries the record as it was at the click, so the edit's event waits — durably, through a
restart — until the record is linked, and then reaches QuickBooks as a CustomerMod on the customer's
current EditSequence. Nobody's edit is dropped, nothing is created twice."""

from __future__ import annotations

from typing import Any

from .product import Intercepted, World, a_deal, connector, settled, wait
from .test_customer_sync import customer, quiet
from .test_deal_once import confirm, preview

RENAMED = "Hooli XYZ"


def held(world: World) -> list[dict[str, Any]]:
    return world.cloud.services.portals.events(world.cloud.portal.member_id, "linking")


def until_renamed(world: World, qb_name: str, sessions: int = 4) -> dict[str, Any]:
    """The Web Connector on its schedule until QuickBooks shows the rename (or ``sessions`` ran)."""
    for _ in range(sessions):
        quiet(world)
        now = customer(world, qb_name)
        if now["CompanyName"] == RENAMED:
            return now
        connector(world.agent, world.home, world.password, world.qb).run_session()  # "none": nothing to do
    return customer(world, qb_name)


def test_an_edit_while_the_customer_add_is_in_flight_reaches_quickbooks_once_linked(world: World) -> None:
    deal = a_deal(world, "Hooli", [(1, "Labor", "55.00", "1")])
    client = world.cloud.client()
    company = int(client.call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    seen: list[int] = []

    def edit_before_the_add(request_xml: str, process: Any) -> str:
        if "<CustomerAddRq" in request_xml and not seen:
            # a person renames the company and adds a phone while QuickBooks is about to add it as it was
            client.call("crm.company.update", {"id": company, "fields": {
                "TITLE": RENAMED, "PHONE": [{"VALUE": "650-555-0177", "VALUE_TYPE": "WORK"}]}})  # fmt: skip
            quiet(world)  # its event handled before the add's answer: the record is not linked yet
            seen.append(len(held(world)))
        return str(process(request_xml))

    qb = Intercepted(world.qb, edit_before_the_add)
    assert connector(world.agent, world.home, world.password, qb).run_session().outcome == "ok"
    assert settled(world, sync_id)["state"] == "done"
    got = until_renamed(world, "Hooli")
    assert got["CompanyName"] == RENAMED and got["Phone"] == "650-555-0177"  # a CustomerMod, not lost
    assert seen == [1]  # the edit had waited for the link (it came before the add's answer)
    assert len(world.qb_query("<CustomerQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion>"
                              "<Name>Hooli</Name></NameFilter></CustomerQueryRq>")) == 1  # fmt: skip
    quiet(world)
    assert held(world) == []
    assert client.call("crm.company.get", {"id": company})["TITLE"] == RENAMED  # not written back over


def test_an_edit_waiting_for_its_customer_survives_a_restart_of_the_cloud(world: World) -> None:
    deal = a_deal(world, "Pied Piper", [(1, "Labor", "55.00", "1")])
    client = world.cloud.client()
    company = int(client.call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    sync_id = world.api("POST", f"/deals/{deal}/sync", json={}).json()["sync_id"]
    assert wait(lambda: world.agent.queue.depth()["pending"] >= 1)  # the sync on its way to QuickBooks
    client.call("crm.company.update", {"id": company, "fields": {"TITLE": RENAMED}})
    quiet(world)
    waited = len(held(world))  # the customer is made from the record as clicked: the edit waits

    world.cloud.restart()  # a new process on the same database, the edit known only to the database
    member = world.cloud.portal.member_id
    assert wait(lambda: world.cloud.services.relay.online(member), timeout=30)  # type: ignore[union-attr]
    world.web_connector_runs()
    assert settled(world, sync_id)["state"] == "done"
    got = until_renamed(world, "Pied Piper")
    assert got["CompanyName"] == RENAMED
    assert waited == 1
    quiet(world)
    assert held(world) == []


def test_an_edit_between_the_preview_and_its_confirmation_reaches_quickbooks(world: World) -> None:
    """The preview shows the customer to be created as the record was at the click; confirming sends
    exactly that (the customer shown), and the edit made while the preview was open follows as a Mod."""
    deal = a_deal(world, "Initech", [(1, "Labor", "55.00", "1")])
    client = world.cloud.client()
    company = int(client.call("crm.deal.get", {"id": deal})["COMPANY_ID"])
    shown = preview(world, deal)
    assert shown["detail"]["customer"] == "Initech" and shown["detail"]["customer_action"] == "create"
    client.call("crm.company.update", {"id": company, "fields": {"TITLE": RENAMED}})
    quiet(world)
    confirm(world, shown["sync_id"])
    world.web_connector_runs()
    assert settled(world, shown["sync_id"])["state"] == "done"
    assert until_renamed(world, "Initech")["CompanyName"] == RENAMED
    quiet(world)
    assert held(world) == []
