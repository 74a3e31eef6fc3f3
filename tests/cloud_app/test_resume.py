"""The cloud killed during the first sync — while reading, while creating customers, while stamping the
QuickBooks fields on linked records, between the smart-invoice batches — and started again on the same
database: it carries on by itself from its last durable step (nobody presses start again) and every
record exists exactly once on both sides, every linked record stamped (issue 18, case 2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from cloud_app.b24.retry import Retry

from .faults import KillSwitch, nth
from .product import World, connector, wait

FAST = Retry(base=0.02, cap=0.2)  # an outage waited out in tests at a few polls a second


def state(world: World) -> dict[str, Any]:
    return world.api("GET", "/initial-sync").json()


def finished(world: World) -> bool:
    now = state(world)
    return all(bool(now[k]) and now[k]["state"] == "done" for k in ("state", "items", "documents"))


def scheduled_run(world: World) -> None:
    """The Web Connector's next scheduled run, once the agent holds work (or after a while without)."""
    wait(lambda: world.agent.queue.depth()["pending"] >= 1, timeout=10)
    connector(world.agent, world.home, world.password, world.qb).run_session()


def until_finished(world: World, runs: int = 8) -> None:
    """What a Web Connector on its schedule does: run again while the first sync has work for it."""
    for _ in range(runs):
        if wait(lambda: finished(world), timeout=10):
            return
        scheduled_run(world)
    assert wait(lambda: finished(world), timeout=60), state(world)


def counts(world: World) -> dict[str, int]:
    """What is there before the first sync: QuickBooks customers, Bitrix24 smart invoices and quotes."""
    qb = world.qb_query("<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>")
    store = world.cloud.portal.store
    return {"customers": len(qb), "smart_invoices": len(store.records[31]), "quotes": len(store.records[7])}


def assert_everything_once(world: World, before: dict[str, int]) -> None:
    store, db = world.cloud.portal.store, world.cloud.services.portals.db.conn
    # Bitrix24: one company or contact per QuickBooks customer, one smart invoice per invoice
    list_ids = [r.get("UF_CRM_QB_LIST_ID") for t in (3, 4) for r in store.records[t].values()]
    doubled = {i: n for i, n in Counter(filter(None, list_ids)).items() if n > 1}
    assert doubled == {}, doubled
    vendors = [r.get("ORIGIN_ID") for r in store.records[3].values() if r.get("TYPE_ID") == "SUPPLIER"]
    assert [v for v, n in Counter(filter(None, vendors)).items() if n > 1] == []
    xml_ids = [r.get("XML_ID") for r in store.records[31].values()]
    assert [x for x, n in Counter(filter(None, xml_ids)).items() if n > 1] == []
    links = db.execute("select kind, qb_id, b24_type, b24_id from mappings").fetchall()
    for kind, b24_type in (("invoice", "smart_invoice"), ("estimate", "quote")):
        ids = [b for k, _, t, b in links if k == kind]
        assert len(ids) == len(set(ids)), f"two {kind}s on one {b24_type}"
    made = {k: sum(1 for kind, *_ in links if kind == k) for k in ("invoice", "estimate")}
    assert len(store.records[31]) - before["smart_invoices"] == made["invoice"]  # none without its link
    assert len(store.records[7]) - before["quotes"] == made["estimate"]
    # every linked company or contact carries its QuickBooks customer
    for kind, qb_id, b24_type, b24_id in links:
        if kind == "customer":
            record = store.records[4 if b24_type == "company" else 3][int(b24_id)]
            assert record.get("UF_CRM_QB_LIST_ID") == qb_id, (b24_type, b24_id)
    # QuickBooks: each Bitrix24 party pushed once (the push is not sent again after the restart)
    qb = world.qb_query("<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>")
    first = state(world)["state"]
    assert first["failed_in_quickbooks"] == [], first["failed_in_quickbooks"][:3]
    assert len(qb) == before["customers"] + first["created_in_quickbooks"]
    assert world.cloud.services.journal.entries(world.cloud.portal.member_id) == {}


def _has(*methods: str) -> Callable[[list[str]], bool]:
    return lambda commands: any(c in methods for c in commands)


WINDOWS = {
    # (which Bitrix24 request the process dies at, whether Bitrix24 had carried it out)
    "reading Bitrix24": (nth(1, _has("crm.company.list")), False),
    "creating customers": (nth(1, _has("crm.company.add", "crm.contact.add")), True),
    "stamping linked records": (nth(3, _has("crm.company.update", "crm.contact.update")), True),
    "smart-invoice batches": (nth(1, _has("crm.item.add")), True),
}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the dead process's
@pytest.mark.parametrize("window", list(WINDOWS))
def test_a_first_sync_killed_resumes_by_itself_with_nothing_doubled(world: World, window: str) -> None:
    when, after = WINDOWS[window]
    before = counts(world)
    switch = KillSwitch(when, after=after)
    world.cloud.services.http = switch
    world.cloud.services.retry = FAST
    assert world.api("POST", "/initial-sync").status_code == 202
    for _ in range(8):  # the Web Connector on its schedule, until the process dies
        scheduled_run(world)
        if switch.dead.wait(10):
            break
    assert switch.dead.is_set(), (f"the first sync never reached {window}", state(world))

    world.cloud.restart()  # a new process on the same database; nobody presses start
    world.cloud.services.retry = FAST
    member = world.cloud.portal.member_id
    assert wait(lambda: world.cloud.services.relay.online(member), timeout=30)  # type: ignore[union-attr]
    until_finished(world)
    assert_everything_once(world, before)
