"""Bitrix24 not answering — 500 ``INTERNAL_SERVER_ERROR``, a 502 HTML page, 503 ``QUERY_LIMIT_EXCEEDED`` —
for 30 s and for 10 min, in the middle of the first sync and of a deal's write-back: waited out, then
everything exactly once, nobody pressing start again (issue 18, case 3). The 10-minute outages are part of
the whole suite only (``QBB24_FAULTS=all``), like every scenario here."""

from __future__ import annotations

import pytest

from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, first_sync_done, new_deal, queued_in_agent, start_first_sync

KINDS = (500, 502, 503)
LENGTHS = (30, 600)


@pytest.mark.parametrize("seconds", LENGTHS, ids=lambda s: f"{s}s")
@pytest.mark.parametrize("status", KINDS)
def test_an_outage_during_the_first_sync_is_waited_out(world: Product, status: int, seconds: int) -> None:
    scenario = scenario_at_start(world)
    world.hold("crm.company.list")  # QuickBooks' customers are in; the cloud starts on Bitrix24 …
    start_first_sync(world)
    world.drive(world.held, 120, "the first sync reading Bitrix24")
    world.outage(status, seconds)  # … which stops answering right then
    world.release()
    world.drive(lambda: first_sync_done(world) and not world.waiting(), seconds + 150, "the first sync")
    world.settle()
    assert_whole(world, scenario, first_sync=True)


@pytest.mark.parametrize("seconds", LENGTHS, ids=lambda s: f"{s}s")
@pytest.mark.parametrize("status", KINDS)
def test_an_outage_during_a_deals_write_back_is_waited_out(world: Product, status: int, seconds: int) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.hold("user.get")  # QuickBooks made the invoice; the cloud starts writing the deal …
    world.web_connector()
    wait(world.held, 60, "the cloud applying QuickBooks' answer")
    world.outage(status, seconds)  # … and Bitrix24 stops answering
    world.release()
    world.settle(seconds + 150)
    assert_whole(world, scenario)
