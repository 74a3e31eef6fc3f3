"""A customer open in QuickBooks for ten minutes — longer than the reconciliation's 5-minute look-back — while
its company is renamed in Bitrix24, and the cloud killed (-9) in the middle: QuickBooks answers each
CustomerMod 3175 ("in use by another user"); the cloud keeps the edit in its retry schedule, on disk, and
once the record is closed the rename lands once, with nobody pressing anything (issue 18, case 4)."""

from __future__ import annotations

import time

from ..e2e.invariants import BITRIX24, TITLE, Edit
from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, new_deal

RENAMED = "Stark Industries Inc"
LOCKED_FOR = 600.0  # seconds


def in_quickbooks(world: Product, name: str) -> list[str]:
    """The ListIDs of the customers whose company name is ``name``."""
    qb = world.quickbooks_now()
    return [r.id for r in qb.company.of_kind("Customer") if r.el.findtext("CompanyName") == name]


def refused_as_locked(world: Product) -> int:
    return sum(1 for x in world.quickbooks_now().history if x.response and 'statusCode="3175"' in x.response)


def test_a_customer_locked_ten_minutes_gets_the_bitrix24_edit_once_it_is_closed(world: Product) -> None:
    scenario = scenario_at_start(world)
    deal = new_deal(world, scenario, "Stark Industries")
    click_sync(world, deal)
    world.settle()  # the customer made and linked
    [list_id] = in_quickbooks(world, "Stark Industries")
    world.quickbooks = {"locked": [list_id]}  # a bookkeeper opens the customer in QuickBooks
    company = deal.client[1]
    world.rest("crm.company.update", {"id": company, "fields": {"TITLE": RENAMED}})
    scenario.edits.append(Edit(BITRIX24, f"company:{company}", TITLE, RENAMED))
    locked_at = time.monotonic()
    world.drive(lambda: refused_as_locked(world) >= 1, 120, "QuickBooks refusing the Mod: in use")
    retry = "select count(*) from retries where key like 'customer:company:%'"
    wait(lambda: world.rows(retry) == [(1,)], 60, "the edit's retry stored")
    world.cloud.kill()  # the edit now lives only in the cloud's database
    world.start_cloud()
    world.drive(lambda: time.monotonic() - locked_at >= LOCKED_FOR, LOCKED_FOR + 60, "ten minutes locked")
    assert refused_as_locked(world) >= 3  # tried again and again (1, 2, 4 … minutes apart), not given up
    assert in_quickbooks(world, RENAMED) == []
    world.quickbooks = {}  # the bookkeeper closes it
    world.drive(lambda: in_quickbooks(world, RENAMED) == [list_id], 20 * 60, "the rename reaching QuickBooks")
    world.settle()
    assert_whole(world, scenario)
