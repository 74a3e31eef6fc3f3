"""QuickBooks closed, or another company file open, when the Web Connector runs: the deal and Health say so
within a minute — what is wrong and which file is expected — and once QuickBooks is opened on the right
file the sync finishes by itself (issue 18, case 4)."""

from __future__ import annotations

from typing import Any

from .checks import assert_whole, scenario_at_start
from .harness import Product, wait
from .scenario import click_sync, new_deal, queued_in_agent, sync_state

EXPECTED = "Rock Castle Construction"  # the sample company's file, the one the agent was set up with
OTHER = "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Sample Bakery.qbw"


def why(world: Product, sync_id: str) -> list[Any]:
    """Why nothing moves, as the deal's waiting sync and Health give it to their pages (``why_waiting``:
    the cause, since when, the machine, the expected file, what to do)."""
    deal = world.api("GET", f"/syncs/{sync_id}").json()
    health = world.api("GET", "/status").json()
    return [deal.get("why_waiting"), health.get("why_waiting")]


def causes(world: Product, sync_id: str) -> list[str | None]:
    return [(w or {}).get("cause") for w in why(world, sync_id)]


def test_quickbooks_closed_is_shown_on_the_deal_and_health_then_the_sync_finishes(world: Product) -> None:
    scenario = scenario_at_start(world)
    sync_id = click_sync(world, new_deal(world, scenario))
    queued_in_agent(world)
    world.quickbooks = {"not_running": True}
    world.web_connector()
    wait(lambda: causes(world, sync_id) == ["closed", "closed"], 60, "the deal and Health: QuickBooks closed")
    assert sync_state(world, sync_id) != "done"
    world.quickbooks = {}  # someone opens QuickBooks
    world.settle()
    assert why(world, sync_id) == [None, None]  # cleared once fixed
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
        found = why(world, sync_id)
        return all(
            w and w["cause"] == "wrong_file" and EXPECTED in str(w.get("file"))
            and "Could not start QuickBooks" not in str(w.get("detail"))
            for w in found
        )  # fmt: skip

    wait(named, 60, "the deal and Health naming the wrong company file and the expected one")
    world.quickbooks = {}  # the right file opened
    world.settle()
    assert why(world, sync_id) == [None, None]
    assert_whole(world, scenario)
