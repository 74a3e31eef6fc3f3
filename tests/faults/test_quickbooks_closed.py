"""QuickBooks closed, or another company file open, when the Web Connector runs: the deal and Health say so
within a minute — what is wrong and which file is expected — and once QuickBooks is opened on the right
file the sync finishes by itself (issue 18, case 4)."""

from __future__ import annotations

import json
import re

from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, new_deal, queued_in_agent, sync_state

CLOSED = re.compile(r"quickbooks is (closed|not running|not open)", re.IGNORECASE)
OTHER_FILE = re.compile(r"(another|different|wrong) company file", re.IGNORECASE)
EXPECTED = "Rock Castle Construction"  # the sample company's file, the one the agent was set up with
OTHER = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Sample Bakery.qbw"


def shown(world: Product, sync_id: str) -> str:
    """What the deal's sync view and Health show, as one text."""
    deal = world.api("GET", f"/syncs/{sync_id}").json()
    health = world.api("GET", "/status").json()
    return json.dumps([deal, health], ensure_ascii=False)


def test_quickbooks_closed_is_shown_on_the_deal_and_health_then_the_sync_finishes(world: Product) -> None:
    scenario = scenario_at_start(world)
    sync_id = click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.quickbooks = {"not_running": True}
    world.web_connector()
    wait(lambda: CLOSED.search(shown(world, sync_id)), 60, "the deal and Health saying QuickBooks is closed")
    assert sync_state(world, sync_id) != "done"
    world.quickbooks = {}  # someone opens QuickBooks
    world.settle()
    assert not CLOSED.search(shown(world, sync_id))  # cleared once fixed
    assert_whole(world, scenario)


def test_another_company_file_is_named_on_the_deal_and_health_then_the_sync_finishes(world: Product) -> None:
    scenario = scenario_at_start(world)
    click_sync(world, new_deal(world, scenario, "Initech LLC"))
    world.settle()  # the agent knows its company file now
    sync_id = click_sync(world, new_deal(world, scenario, "Umbrella Corp"))
    queued_in_agent(world)
    world.quickbooks = {"open_file": OTHER}
    world.web_connector()

    def named() -> bool:
        text = shown(world, sync_id)
        return bool(OTHER_FILE.search(text)) and EXPECTED in text and "Could not start QuickBooks" not in text

    wait(named, 60, "the deal and Health naming the wrong company file and the expected one")
    world.quickbooks = {}  # the right file opened
    world.settle()
    assert not OTHER_FILE.search(shown(world, sync_id))
    assert_whole(world, scenario)
