"""Failures with a ``retry_at`` come back by themselves at that time (issue 18, cases 4 and "Failure.retry_at
is scheduled"): a customer locked in QuickBooks for longer than the reconciliation's look-back still gets
the Bitrix24 edit once it unlocks, and a deal's sync refused while a record was in use is tried again
without anyone pressing Retry. The cloud's retry clock (``Services.now``) is moved, not waited out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud_app import retries
from cloud_app.reconcile import OVERLAP

from .product import World, wait
from .test_customer_sync import customer, linked_company, queued, quiet


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
        due = retries.scheduled(world.cloud.services.portals, member, key)
        assert due is not None and due.due > clock.at  # scheduled ahead, not run at once
        clock.at = due.due
        if clock.at - locked_at >= timedelta(minutes=10):
            world.qb.company.locked.clear()  # the person closed the record
        # the retry worker sees the time has come and asks QuickBooks again, by itself
        assert wait(lambda: world.agent.queue.depth()["pending"] >= 1 or sum(queued(world).values()) >= 1)
        assert wait(lambda: retries.scheduled(world.cloud.services.portals, member, key) is None)
        world.web_connector_runs()
        assert wait(
            lambda: (
                retries.scheduled(world.cloud.services.portals, member, key) is not None
                or customer(world, "Cyberdyne")["CompanyName"] == "Cyberdyne Systems"
            )
        )
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
